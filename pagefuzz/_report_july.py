"""docs/findings.md's chapter on the July 2004 rework (`config.era = "2004-07"`): its facts,
gathered like the first chapter's (every case replayed while the report is written), and its
Markdown.

Inputs: the era's minimal cases in `corpus/findings/` (promoted by `pagefuzz triage --promote`
from campaigns of the era), its hand-traced examples in `corpus/examples/` (the two cases of
SUSE bug 40701 and the regression of patch 19), the certificates in `evidence/certificates/`
whose name starts with `july-`, and the campaigns in `evidence/campaigns/` that ran the era's
versions. Each finding is replayed under every combination of the era's switches (`i_sem`,
`io_error_sets_as_eio`) to say whether it depends on a CHOICE of kernel-model-2004-07.md.
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from pagefuzz._casefile import collect_case_files, load_case
from pagefuzz._explain import anchor
from pagefuzz._minimize import sanitise
from pagefuzz.fuzz.campaign.known import case_name
from pagefuzz.fuzz.campaign.summary import CampaignSummary
from pagefuzz.impls.registry import ERA_OF, get_version
from pagefuzz.oracle.evaluate import Evaluation, FindingKey, evaluate
from pagefuzz.sim import Case

ERA: Final = "2004-07"
#: The versions the chapter compares: the three of the era and the candidate fix.
JULY_VERSIONS: Final = ("p17", "p19", "y2005", "y2005-fixed")
#: The era's switches a finding is replayed under (the defaults first).
SWITCHES: Final = tuple(
    (i_sem, as_eio) for as_eio in (True, False) for i_sem in ("full", "copy-only", "off")
)
#: The hand-traced examples that answer the bug report's question (tests/test_golden_july.py).
BUG_40701: Final = (
    "corpus/examples/j17-partial-count-unaligned.json",
    "corpus/examples/j17-bug40701-paused-walk.json",
)
P19_REGRESSION: Final = "corpus/examples/j18-fix-loses-partial-pos.json"

#: What each finding means, by (version, check, request kind): written from the minimal cases'
#: timelines and the addendum's rules; a finding without one says so.
EXPLANATIONS: Final[dict[tuple[str, str], str]] = {
    ("completion", "aio_write"): (
        "The iocb completes while a page of its range is still under writeback. In p17 and p19 "
        "the first run's copy moves `ki_pos` to `pos + count` and the -EIOCBRETRY that follows "
        "leaves it there (J22: `ki_pos = pos + ret` only for `ret >= 0`), so every SYNCED retry "
        "waits on the range *after* the one written, finds nothing under writeback there, and "
        "counts the whole range done (J17 step 4, J21's clamp); with one aligned two-page write "
        "and no other step the drain's first completion is enough. p17 also completes early "
        "through the partial count of bug 40701 (J17: `curr - start` pages, the first page "
        "counted as 4096 bytes). y2005's form of it needs the bio completion path "
        "(`io_error_sets_as_eio` false): a write-out that failed before the walk's lookup left "
        "no WRITEBACK tag and no AS_EIO, so the walk reports success for a page whose data "
        "never reached the disk."
    ),
    ("completion", "sync_write"): (
        "A blocking O_SYNC write returns its count while its data is not on disk: its page's "
        "write-out failed, and the error was lost: p17 and p19 overwrite a page's -EIO with the "
        "next page's wait result (J19), y2005 loses it when another caller's walk consumed "
        "AS_EIO first (J19) or when the page's I/O ended before the lookup; the page is dirty "
        "again with another writer's data when the write returns."
    ),
    ("byte_count", "aio_write"): (
        "Bug 40701 itself: on -EIOCBRETRY past the first page p17 returns `curr - start` pages, "
        "and sync_page_range turns them into bytes from `pos` with the first page counted as "
        "4096 bytes though an unaligned `pos` puts fewer of them in the range (J17, J21): the "
        "call claims bytes of the page it is still waiting on as synced."
    ),
    ("error", "aio_write"): (
        "An I/O error on a page of the request is not reported: with the bio completion path "
        "(`io_error_sets_as_eio` false) a write-out that failed before the wait walk's tagged "
        "lookup leaves neither a WRITEBACK tag nor AS_EIO (JR4), and the walk, which looks at "
        "PG_error only on pages it found under writeback (J19), returns success. All three "
        "versions of the era do this."
    ),
    ("error", "sync_write"): (
        "A blocking O_SYNC write loses its page's I/O error: p17 and p19 set -EIO for the "
        "failed page and then overwrite it with the next page's wait result (J19, first "
        "consequence); y2005, which stops at the first error, loses it when another caller "
        "consumed AS_EIO (J19, second consequence)."
    ),
    ("kernel_bug", "aio_write"): (
        "aio_complete with the iocb's wait entry still queued (J27 step 3): the walk broke out "
        "with -EIOCBRETRY and its entry queued, then the AS_EIO test after the loop (J17 step "
        "3) or, in y2005, a page's sticky PG_error (J31) replaced -EIOCBRETRY with -EIO, so the "
        "iocb completed while still waiting; the completion of the page it waited on then wakes "
        "the completed iocb's entry. In p17 the early completions of bug 40701 do the same."
    ),
    ("retry_bound", "aio_write"): (
        "A retry storm: p17 and p19 lock and unlock every WRITEBACK-tagged page of the range "
        "before waiting on it (J17), and each unlock kicks every AIO entry on the page's hashed "
        "queue (J10: AIO entries ignore the key in 2.6.7), so two iocbs whose pages share a "
        "queue kick each other's retries until the settle bound stops them. y2005 takes no page "
        "lock in the walk and filters its wait-bit entries (J33): no storm."
    ),
}


@dataclass
class JulyFinding:
    key: FindingKey
    path: Path
    case: Case
    evaluation: Evaluation
    #: Version -> whether it shows the finding's check for the same kind of request.
    shown_by: dict[str, bool]
    #: (i_sem, io_error_sets_as_eio) -> whether the finding's version still shows it.
    holds_under: dict[tuple[str, bool], bool]


@dataclass
class JulyReport:
    findings: list[JulyFinding]
    #: Each bug-40701 example: (path, p17's checks, p19's checks).
    bug_40701: list[tuple[str, tuple[str, ...], tuple[str, ...]]]
    #: The example where p19 fails and p17 passes: (path, p17's checks, p19's checks).
    regression: tuple[str, tuple[str, ...], tuple[str, ...]]
    cases: int
    fixed_passes: int
    certificates: list[tuple[str, dict[str, Any]]]
    campaigns: list[tuple[str, CampaignSummary]]
    fixed_diff: list[str]

    def shortest(self) -> dict[str, tuple[int, str]]:
        """Finding key -> (its shortest counterexample's steps, the certificate), over the era's
        certificates (explored with the era's default switches)."""
        out: dict[str, tuple[int, str]] = {}
        for name, cert in self.certificates:
            for found in cert.get("versions", {}).values():
                if isinstance(found, dict):
                    for key, entry in found.items():
                        steps = int(entry["steps"])
                        if key not in out or steps < out[key][0]:
                            out[key] = (steps, name)
        return out


def _checks(evaluation: Evaluation, version: str) -> tuple[str, ...]:
    return tuple(evaluation.verdicts[version].checks)


def gather_july(
    root: Path,
    certificates: list[tuple[str, dict[str, Any]]],
    campaigns: list[tuple[str, CampaignSummary]],
) -> JulyReport:
    """The chapter's facts for the checkout at `root` (the evidence already read)."""
    versions = [get_version(v) for v in JULY_VERSIONS]
    findings = []
    directory = root / "corpus" / "findings"
    for path in collect_case_files([directory]) if directory.exists() else []:
        case = replace(load_case(path), expect=None)
        if case.config.era != ERA:
            continue
        evaluation = evaluate(case, versions)
        key = next(
            (k for k in evaluation.keys if sanitise(case_name(k, k.signature[:6])) == case.name),
            None,
        )
        if key is None:
            continue
        shown = {
            v: any(
                (k.check, k.kind) == (key.check, key.kind)
                for k in evaluation.keys
                if k.version == v
            )
            for v in JULY_VERSIONS
        }
        holds = {}
        for i_sem, as_eio in SWITCHES:
            config = replace(case.config, i_sem=i_sem, io_error_sets_as_eio=as_eio)
            again = evaluate(replace(case, config=config), [get_version(key.version)])
            holds[(i_sem, as_eio)] = any(
                (k.check, k.kind) == (key.check, key.kind) for k in again.keys
            )
        findings.append(JulyFinding(key, path.relative_to(root), case, evaluation, shown, holds))
    pair = [get_version("p17"), get_version("p19")]
    bug = []
    for example in BUG_40701:
        ev = evaluate(replace(load_case(root / example), expect=None), pair)
        bug.append((example, _checks(ev, "p17"), _checks(ev, "p19")))
    ev = evaluate(replace(load_case(root / P19_REGRESSION), expect=None), pair)
    regression = (P19_REGRESSION, _checks(ev, "p17"), _checks(ev, "p19"))
    era_cases = [replace(load_case(p), expect=None) for p in collect_case_files([root / "corpus"])]
    era_cases = [c for c in era_cases if c.config.era == ERA]
    fixed = get_version("y2005-fixed")
    passes = sum(evaluate(c, [fixed]).verdicts["y2005-fixed"].passed for c in era_cases)
    y2005 = inspect.getsource(type(get_version("y2005")).wait_on_page_writeback_range_wq)  # type: ignore[attr-defined]
    fix = inspect.getsource(type(fixed).wait_on_page_writeback_range_wq)  # type: ignore[attr-defined]
    diff = list(
        difflib.unified_diff(
            y2005.splitlines(),
            fix.splitlines(),
            "impls/y2005.py",
            "impls/y2005_fixed.py",
            lineterm="",
            n=2,
        )
    )
    return JulyReport(
        findings=sorted(findings, key=lambda f: f.key),
        bug_40701=bug,
        regression=regression,
        cases=len(era_cases),
        fixed_passes=passes,
        certificates=[(n, c) for n, c in certificates if n.startswith("july-")],
        campaigns=[(n, s) for n, s in campaigns if s.versions and ERA_OF.get(s.versions[0]) == ERA],
        fixed_diff=diff,
    )


def _keys(findings: list[JulyFinding]) -> str:
    return ", ".join(f"`{f.key}`" for f in findings) or "none"


def _cert_verdict(cert: dict[str, Any], version: str) -> str:
    verdict = cert.get("versions", {}).get(version, "-")
    return verdict if isinstance(verdict, str) else ", ".join(sorted(verdict))


def july_answer_lines(r: JulyReport) -> list[str]:
    """The chapter's answer, as Markdown bullets (docs/findings.md and the HTML page)."""
    p17 = [f for f in r.findings if f.key.version == "p17"]
    p19 = [f for f in r.findings if f.key.version == "p19"]
    y2005 = [f for f in r.findings if f.key.version == "y2005"]
    fixed_by_19 = [f for f in p17 if not f.shown_by["p19"]]
    p19_only = [f for f in p19 if not f.shown_by["p17"]]
    bug_words = "; ".join(
        f"[{Path(path).stem}](../{path}): p17 {', '.join(a) or 'passes'}, "
        f"p19 {', '.join(b) or 'passes'}"
        for path, a, b in r.bug_40701
    )
    fixed_40701 = all(a and not b for _, a, b in r.bug_40701)
    reg_path, reg_p17, reg_p19 = r.regression
    shortest = r.shortest()
    y2005_errors = [f for f in y2005 if any(s.error for s in f.case.steps)]
    y2005_defaults = [f for f in y2005 if f.holds_under[("full", True)] or str(f.key) in shortest]
    return [
        f"- **Did patch 19 fix bug 40701?** {'Yes' if fixed_40701 else 'No'}: on the "
        f"hand-traced cases of the bug, {bug_words}.",
        f"- **Did it fix everything?** No: p19 has {len(p19)} findings of its own "
        f"({_keys(p19)}). Of p17's {len(p17)} findings it removes "
        f"{len(fixed_by_19)} ({_keys(fixed_by_19)}).",
        "- **Did it break anything?** "
        + (
            f"Yes: on [{Path(reg_path).stem}](../{reg_path}) p17 "
            f"{', '.join(reg_p17) or 'passes'} and p19 {', '.join(reg_p19) or 'passes'}: "
            "p17's partial count moved `ki_pos` forward, p19's -EIOCBRETRY leaves it at "
            "`pos + count` (J22), and a retry waits on the wrong range."
            if reg_p19 and not reg_p17
            else "No case shows p19 failing where p17 passes."
        )
        + f" Findings p19 shows and p17 does not on the same minimal case: {_keys(p19_only)}.",
        f"- **Is the June 2005 form correct?** No: y2005 has {len(y2005)} findings "
        f"({_keys(y2005)}), {len(y2005_defaults)} of them under the spec's default switches "
        f"(on the minimal case or in an explore certificate of the era); the minimal cases of "
        f"{len(y2005_errors)} of them hold a failed write-out, and within the era's default "
        "bound, which has none, y2005 has no violation (the certificates at the end).",
        f"- **A fix:** `y2005-fixed` (below) passes {r.fixed_passes} of the era's {r.cases} "
        "corpus cases, shows none of the findings on their minimal cases, and has the "
        "certificates listed at the end.",
    ]


def render_july(r: JulyReport) -> list[str]:
    """The chapter, as Markdown lines."""
    shortest = r.shortest()
    out = [
        "",
        "## The July 2004 rework (era 2004-07)",
        "",
        "The -mm AIO O_SYNC path as posted on 2 Jul 2004 ([PATCH 0/22] against 2.6.7): a "
        "DIRTY-tag range write-out and a WRITEBACK-tag wait walk replaced "
        "`operate_on_page_range`. `p17` is patch 17's walk, `p19` patch 19's fix of SUSE bug "
        '40701 (Chris Mason: "the aio code thinking the write is complete while we are still '
        "waiting for some pages\"), `y2005` the June 2005 repost; `y2005-fixed` is pagefuzz's "
        "candidate fix. Rules: kernel-model-2004-07.md (J1-J34), restated in "
        "[model.md](model.md#eras-the-july-2004-rework-configera--2004-07).",
        "",
        "### The answer",
        "",
        *july_answer_lines(r),
        "",
        "### Summary",
        "",
        "x: the version violates the finding's check, for the same kind of request, on the "
        "finding's minimal case. CHOICE: on the minimal case, the finding's version shows it "
        "under every combination of `i_sem` (full, copy-only, off) and `io_error_sets_as_eio`, "
        "or only under some (named). explore: the shortest counterexample in the era's "
        "certificates, which explore the default switches (a finding that needs a CHOICE on "
        "its minimal case may still have a schedule under the defaults).",
        "",
        "| finding | "
        + " | ".join(JULY_VERSIONS)
        + " | CHOICE | explore | found by (executions to first) |",
        "|---" * (len(JULY_VERSIONS) + 4) + "|",
    ]
    found: dict[FindingKey, list[str]] = {}
    for name, summary in r.campaigns:
        for line in summary.findings:
            found.setdefault(line.key, []).append(
                f"{summary.engine} {line.first_seen_executions} ({name})"
            )
    for f in r.findings:
        marks = " | ".join("x" if f.shown_by[v] else "." for v in JULY_VERSIONS)
        short = shortest.get(str(f.key))
        explored = f"{short[0]} steps ({short[1]})" if short else "-"
        out.append(
            f"| [`{f.key}`](#{anchor(f.key)}) | {marks} | "
            f"{choice_words(f)} | {explored} | "
            f"{'; '.join(sorted(found.get(f.key, []))) or '-'} |"
        )
    out += ["", "### Findings of the era", ""]
    for f in r.findings:
        steps = len(f.case.steps)
        violation = next(
            (v for v in f.evaluation.verdicts[f.key.version].violations if v.check == f.key.check),
            None,
        )
        out += [
            f"#### {f.key}",
            "",
            "- versions showing it on the minimal case: "
            + ", ".join(v for v in JULY_VERSIONS if f.shown_by[v]),
            f"- minimal case: [{f.path}](../{f.path}), {steps} step{'s' if steps != 1 else ''}: "
            + "; ".join(_step_words(s.to_json()) for s in f.case.steps)
            + f" (i_sem {f.case.config.i_sem}, io_error_sets_as_eio "
            f"{'true' if f.case.config.io_error_sets_as_eio else 'false'})",
            f"- under the era's switches: {choice_words(f)}",
            *([f"- the oracle: {violation.line()}"] if violation is not None else []),
            "",
            explanation(f),
            "",
        ]
    out += [
        "### The candidate fix: `y2005-fixed`",
        "",
        "Its wait walk's difference from y2005's:",
        "",
        "```diff",
        *r.fixed_diff,
        "```",
        "",
    ]
    if r.certificates:
        out += [
            "### Explore certificates of the era",
            "",
            "| certificate | bound | closed | states | " + " | ".join(JULY_VERSIONS) + " |",
            "|---" * (4 + len(JULY_VERSIONS)) + "|",
        ]
        for name, cert in r.certificates:
            cells = " | ".join(_cert_verdict(cert, v) for v in JULY_VERSIONS)
            out.append(
                f"| {name} | {cert.get('bound')} | depth {cert.get('depth_closed')}"
                f"{'' if cert.get('complete') else ' (time limit)'} | "
                f"{cert.get('distinct_states')} | {cells} |"
            )
        out.append("")
    if r.campaigns:
        out += [
            "### Campaigns of the era",
            "",
            "| campaign | engine | seconds | executions | findings |",
            "|---|---|---|---|---|",
        ]
        for name, s in r.campaigns:
            keys = sorted({str(line.key) for line in s.findings})
            out.append(f"| {name} | {s.engine} | {s.seconds} | {s.executions} | {len(keys)} |")
        out.append("")
    return out


def explanation(f: JulyFinding) -> str:
    """What the finding means (EXPLANATIONS), or a line saying none is written yet."""
    return EXPLANATIONS.get(
        (f.key.check, f.key.kind), "No explanation written yet: read the timeline."
    )


def choice_words(f: JulyFinding) -> str:
    """`every switch`, or the one switch value it needs when that says it all (JR4's
    completion path, J25's i_sem), else every combination it holds under."""
    if all(f.holds_under.values()):
        return "every switch"
    held = [key for key, ok in f.holds_under.items() if ok]
    every_i_sem = {i for i, _ in f.holds_under}
    every_as_eio = {a for _, a in f.holds_under}
    as_eio = {a for _, a in held}
    if len(as_eio) == 1 and len(held) == len(every_i_sem):
        return f"only with io_error_sets_as_eio {'true' if as_eio.pop() else 'false'} (JR4)"
    i_sems = {i for i, _ in held}
    if len(i_sems) == 1 and len(held) == len(every_as_eio):
        return f"only with i_sem {i_sems.pop()} (J25)"
    return "only " + "; ".join(
        f"i_sem {i}, io_error_sets_as_eio {'true' if a else 'false'}" for i, a in held
    )


def _step_words(step: dict[str, Any]) -> str:
    rest = " ".join(f"{k} {v}" for k, v in step.items() if k != "op")
    return f"{step['op']} {rest}".strip()
