"""`pagefuzz report`: docs/findings.md (and an HTML page) generated from what is on disk.

Inputs, all committed so that the report is reproducible: the minimal cases in
`corpus/findings/`, campaign summaries in `evidence/campaigns/`, explore certificates in
`evidence/certificates/`, and the versions' sources. Everything is replayed, nothing is copied from
an earlier report: a change to the world, a version or the oracle shows up as a changed report,
and CI fails while docs/findings.md is stale.
"""

from __future__ import annotations

import difflib
import html
import inspect
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from fuzz.files import write_atomic
from fuzz.pct import bound_words
from impls.registry import get_version
from oracle import CHECKS, Violation, finding_keys, judge
from oracle.verdict import OBSERVABLE_KINDS
from pagefuzz._explain import explain
from pagefuzz._replay import CaseFileError, collect_case_files, load_case
from sim import Case, RunRecord, run_case
from sim.record import Event

REPORT_VERSIONS: Final = ("pre", "post", "recheck-locked", "fixed")
#: The consequences for post that section 5 of kernel-model.md (the project's kernel-semantics
#: spec, kept outside this repository) derives by hand from the seed, each with the hand-traced
#: example case that shows it (tests/test_golden.py has the working).
PREDICTIONS: Final = (
    (
        "a batch reaching `last` sets `next > last`: only its first page is written out, one page "
        "of progress per wait-phase call",
        "corpus/examples/post-two-page-last1.json",
    ),
    (
        "a page found without mapping after the lookup: `curr = next` credits the rest of the "
        "batch",
        "corpus/examples/post-unmapped-credits-batch.json",
    ),
    (
        "`pos` not page-aligned, first page under writeback: negative `bytes` clamped to "
        "`count` by the unsigned compare",
        "corpus/examples/post-unaligned-clamp.json",
    ),
    (
        "the range's own page gone, a later page present: the lookup returns a page beyond `last`, "
        "waited on and credited",
        "corpus/examples/post-lookup-beyond-last.json",
    ),
)
CHOICES: Final = (("last+1", False), ("last+1", True), ("cursor", False), ("cursor", True))
#: The events drawn in lanes: the observable ones the differential aligns on.
LANE_KINDS: Final = OBSERVABLE_KINDS - {"start", "skip"}


@dataclass
class Finding:
    key: str
    path: Path
    case: Case
    records: dict[str, RunRecord]
    shown_by: dict[str, bool]  # version -> shows this finding's check/kind on the case
    holds_under: dict[tuple[str, bool], bool]

    @property
    def version(self) -> str:
        return self.key.split("/")[0]

    @property
    def check(self) -> str:
        return self.key.split("/")[1]


def _keys(record: RunRecord) -> set[str]:
    return set(finding_keys(record, judge(record)))


def _strip(key: str) -> str:
    return key.split("/", 1)[1]


def load_findings(corpus: Path, root: Path) -> list[Finding]:
    """One finding per case in corpus/findings (the case's name says which; verified)."""
    findings = []
    directory = corpus / "findings"
    files = collect_case_files([directory]) if directory.exists() else []
    for path in files:
        case = replace(load_case(path), expect=None)
        records = {v: run_case(case, get_version(v)) for v in REPORT_VERSIONS}
        keys = {v: _keys(r) for v, r in records.items()}
        wanted = [k for ks in keys.values() for k in ks if _name_of(k) in case.name]
        if not wanted:
            continue  # no longer a finding: the report says so through the summary counts
        key = sorted(wanted)[0]
        shown = {v: any(_strip(k) == _strip(key) for k in keys[v]) for v in REPORT_VERSIONS}
        holds = {}
        for rule, filtered in CHOICES:
            config = replace(case.config, lookup_next=rule, filtered_wakeups=filtered)
            variant = replace(case, config=config)
            holds[(rule, filtered)] = key in _keys(
                run_case(variant, get_version(key.split("/")[0]))
            )
        findings.append(Finding(key, path.relative_to(root), case, records, shown, holds))
    return sorted(findings, key=lambda f: f.key)


def _name_of(key: str) -> str:
    return key.replace("/", "-")


def load_json_dir(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    if directory.exists():
        for path in sorted(directory.glob("*.json")):
            try:
                out.append((path.stem, json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError) as exc:
                raise CaseFileError(f"{path}: unreadable: {exc}") from None
    return out


def _timeline_table(f: Finding, left: str, right: str) -> list[str]:
    lines = [f"| step | {left} | {right} |", "|---|---|---|"]
    steps = sorted({e.step for v in (left, right) for e in f.records[v].events})
    for step in steps:
        cells = []
        for v in (left, right):
            texts = [
                f"{e.actor}: {e.text}"
                for e in f.records[v].events
                if e.step == step and e.kind in LANE_KINDS
            ]
            cells.append("<br>".join(t.replace("|", "\\|") for t in texts) or "")
        lines.append(f"| {step} | {cells[0]} | {cells[1]} |")
    return lines


def _post_fixed_diff(root: Path) -> list[str]:
    post = inspect.getsource(type(get_version("post")).operate_on_page_range).splitlines()
    fixed = inspect.getsource(type(get_version("fixed")).operate_on_page_range).splitlines()
    return list(
        difflib.unified_diff(post, fixed, "impls/post.py", "impls/fixed.py", lineterm="", n=2)
    )


def _campaign_rows(campaigns: list[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """finding key -> ["engine: N executions (campaign)"]."""
    found: dict[str, list[str]] = {}
    for name, summary in campaigns:
        for f in summary.get("findings", []):
            found.setdefault(f["key"], []).append(
                f"{summary.get('engine', '?')} {f.get('first_seen_executions', '?')} ({name})"
            )
    return found


SUMMARY_LEGEND: Final = (
    "x: the version violates the finding's check, for the same kind of request, on the "
    "finding's minimal case."
)


def answer_lines(findings: list[Finding], corpus_cases: int, fixed_passes: int) -> list[str]:
    """The answer to the project's question, as Markdown bullets: the report's and the HTML
    page's opening."""
    pre_completion = [f for f in findings if f.version == "pre" and f.check == "completion"]
    fixed_by_post = [f for f in findings if f.version == "pre" and not f.shown_by["post"]]
    post_new = [f for f in findings if f.version == "post" and not f.shown_by["pre"]]
    post_all = [f for f in findings if f.version == "post"]
    return [
        f"- **Did the patch fix the premature completion?** Of pre's "
        f"{sum(1 for f in findings if f.version == 'pre')} findings, post no longer shows "
        f"{len(fixed_by_post)} on their minimal cases "
        f"({', '.join(f'`{f.key}`' for f in fixed_by_post) or 'none'}). "
        + (
            "Pre's completion findings: "
            + ", ".join(
                f"`{f.key}` ({'post passes it' if not f.shown_by['post'] else 'post shows it too'})"
                for f in pre_completion
            )
            + "."
            if pre_completion
            else ""
        ),
        f"- **Did it break anything?** Yes: post has {len(post_all)} findings, "
        f"{len(post_new)} of which pre does not show on the same minimal case "
        f"({', '.join(f'`{f.key}`' for f in post_new) or 'none'}).",
        f"- **A correct version:** `fixed` (below) passes {fixed_passes} of {corpus_cases} corpus "
        "cases and shows none of the findings on their minimal cases; its certificates and "
        "campaigns are listed at the end.",
    ]


def _found_by(f: Finding, by_campaign: dict[str, list[str]]) -> str:
    return "; ".join(sorted(by_campaign.get(f.key, []))) or "-"


def render_markdown(
    findings: list[Finding],
    campaigns: list[tuple[str, dict[str, Any]]],
    certificates: list[tuple[str, dict[str, Any]]],
    corpus_cases: int,
    fixed_passes: int,
    root: Path,
) -> str:
    by_campaign = _campaign_rows(campaigns)
    out = [
        "# What pagefuzz finds in the 2004 patch",
        "",
        "Generated by `pagefuzz report` from the minimal cases in `corpus/findings/`, the campaign "
        "summaries in `evidence/campaigns/` and the explore certificates in "
        "`evidence/certificates/`; every case is replayed against every version while the report "
        "is written. Do not edit: CI regenerates it (`pagefuzz report --check`) and fails when it "
        "differs.",
        "",
        "## The answer",
        "",
        *answer_lines(findings, corpus_cases, fixed_passes),
        "",
        "## Summary",
        "",
        SUMMARY_LEGEND,
        "",
        "| finding | " + " | ".join(REPORT_VERSIONS) + " | found by (executions to first) |",
        "|---" * (len(REPORT_VERSIONS) + 2) + "|",
    ]
    for f in findings:
        marks = " | ".join("x" if f.shown_by[v] else "." for v in REPORT_VERSIONS)
        out.append(f"| [`{f.key}`](#{_anchor(f.key)}) | {marks} | {_found_by(f, by_campaign)} |")
    out += ["", "## Findings", ""]
    for f in findings:
        choices = ", ".join(
            f"{rule}/{'filtered' if filtered else 'wake-all'}: {'holds' if ok else 'gone'}"
            for (rule, filtered), ok in f.holds_under.items()
        )
        depends = (
            "does not depend on a modelling choice"
            if all(f.holds_under.values())
            else "**depends on a modelling choice**"
        )
        other = "fixed" if f.version != "fixed" else "post"
        out += [
            f"### {f.key}",
            "",
            f"- check `{f.check}`; versions showing it on the minimal case: "
            + ", ".join(v for v in REPORT_VERSIONS if f.shown_by[v]),
            f"- minimal case: [{f.path}](../{f.path}), {len(f.case.steps)} step"
            f"{'s' if len(f.case.steps) != 1 else ''}: "
            + "; ".join(_step_text(s.to_json()) for s in f.case.steps),
            "- under each modelling choice the sources leave open (`lookup_next`, "
            f"`filtered_wakeups`: docs/case-format.md), replayed: {choices}: {depends}",
            "",
            explain(f.key),
            "",
            f"<details><summary>timeline, {f.version} beside {other}</summary>",
            "",
            *_timeline_table(f, f.version, other),
            "",
            "</details>",
            "",
        ]
    choice_certs = [(n, c) for n, c in certificates if n.startswith("choice-")]
    if choice_certs:
        out += _choice_table(choice_certs)
    out += [
        "## The spec's predictions for post",
        "",
        "Section 5 of kernel-model.md, the project's kernel-semantics spec (kept outside this "
        "repository), describes both loops in words and derives these consequences for post by "
        "hand. Each prediction, its hand-traced example, what post and fixed violate on it "
        "(replayed now), and the campaign finding of the same check and kind.",
        "",
        "| prediction | example | post | fixed | finding |",
        "|---|---|---|---|---|",
    ]
    keys = {f.key for f in findings}
    for text, example in PREDICTIONS:
        case = replace(load_case(root / example), expect=None)
        post_checks = judge(run_case(case, get_version("post"))).checks
        fixed_checks = judge(run_case(case, get_version("fixed"))).checks
        matching = [f"`post/{c}/aio_write`" for c in post_checks if f"post/{c}/aio_write" in keys]
        out.append(
            f"| {text} | [{Path(example).name}](../{example}) | "
            f"{', '.join(post_checks) or 'pass'} | {', '.join(fixed_checks) or 'pass'} | "
            f"{', '.join(matching) or '-'} |"
        )
    out += [""]
    out += [
        "## The candidate fix: `fixed`",
        "",
        "Its difference from `post`:",
        "",
        "```diff",
        *_post_fixed_diff(root),
        "```",
        "",
        f"It passes {fixed_passes} of {corpus_cases} corpus cases.",
        "",
    ]
    if certificates:
        out += [
            "### Explore certificates",
            "",
            "| certificate | bound | closed | states | fixed |",
            "|---|---|---|---|---|",
        ]
        for name, cert in certificates:
            if "fixed" not in cert.get("versions", {}):
                continue  # the choice certificates are in their own table above
            verdict = cert.get("versions", {}).get("fixed", "-")
            verdict = verdict if isinstance(verdict, str) else ", ".join(sorted(verdict))
            out.append(
                f"| {name} | {cert.get('bound')} | depth {cert.get('depth_closed')}"
                f"{'' if cert.get('complete') else ' (time limit)'} | "
                f"{cert.get('distinct_states')} | {verdict} |"
            )
        out.append("")
    fixed_campaigns = [(n, s) for n, s in campaigns if "fixed" in s.get("versions", [])]
    if fixed_campaigns:
        out += [
            "### Campaigns including `fixed`",
            "",
            "| campaign | engine | seconds | executions | findings in fixed | PCT |",
            "|---|---|---|---|---|---|",
        ]
        for name, s in fixed_campaigns:
            mine = [f["key"] for f in s.get("findings", []) if f["key"].startswith("fixed/")]
            out.append(
                f"| {name} | {s.get('engine')} | {s.get('seconds')} | "
                f"{s.get('executions')} | {', '.join(mine) or 'none'} | {_pct(s)} |"
            )
        out.append("")
    return "\n".join(out)


def _choice_table(choice_certs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Per finding, its shortest counterexample under each CHOICE setting, explored."""
    names = [n.removeprefix("choice-") for n, _ in choice_certs]
    bound = str(choice_certs[0][1].get("bound", "")).split(" lookup_next")[0]
    closed = ", ".join(
        f"{n} to depth {c.get('depth_closed')}"
        for n, (_, c) in zip(names, choice_certs, strict=True)
    )
    out = [
        "## Which findings depend on a modelling choice (exploration)",
        "",
        "The same bound explored under each modelling choice the sources leave open "
        "(`lookup_next`, `filtered_wakeups`: docs/case-format.md; certificates in "
        "`evidence/certificates/choice-*.json`): the shortest counterexample's length per "
        "finding, or `-` where the bound shows none.",
        "",
        f"Bound: {bound}; closed: {closed}.",
        "",
        f"| finding | {' | '.join(names)} | depends on the choice |",
        "|---" * (len(names) + 2) + "|",
    ]
    per: dict[str, dict[str, int]] = {}
    for name, cert in choice_certs:
        for found in cert.get("versions", {}).values():
            if isinstance(found, dict):
                for key, info in found.items():
                    per.setdefault(key, {})[name] = int(info["steps"])
    for key in sorted(per):
        cells = [str(per[key].get(n, "-")) for n, _ in choice_certs]
        depends = "no" if len(per[key]) == len(choice_certs) else "**yes**"
        out.append(f"| `{key}` | " + " | ".join(cells) + f" | {depends} |")
    return [*out, ""]


def _pct(summary: dict[str, Any]) -> str:
    """PCT's guarantee for a campaign: runs, n, k, d and the bound on missing a depth-d bug."""
    pct = summary.get("pct")
    if not pct:
        return "-"
    bound = float(pct.get("bound_if_not_found", 1.0))
    words = bound_words(bound)
    return (
        f"{pct['runs']:,} runs, n={pct['actors_max']}, k={pct['steps_max']}, "
        f"d={pct['depth']}: a missed bug of depth <= {pct['depth']} has probability {words}"
    )


def _anchor(key: str) -> str:
    return key.replace("/", "").replace("+", "").lower()


def _step_text(step: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in step.items())


def corpus_passes(root: Path) -> tuple[int, int]:
    """(corpus cases, cases `fixed` passes): the answer's last line."""
    files = collect_case_files([root / "corpus"])
    fixed = get_version("fixed")
    passes = 0
    for path in files:
        case = replace(load_case(path), expect=None)
        passes += not judge(run_case(case, fixed)).violations
    return len(files), passes


def build(root: Path) -> tuple[str, list[Finding], list[tuple[str, dict[str, Any]]]]:
    corpus = root / "corpus"
    findings = load_findings(corpus, root)
    campaigns = load_json_dir(root / "evidence" / "campaigns")
    certificates = load_json_dir(root / "evidence" / "certificates")
    cases, passes = corpus_passes(root)
    text = render_markdown(findings, campaigns, certificates, cases, passes, root)
    return text + "\n", findings, campaigns


# ---------------------------------------------------------------------- HTML

#: One colour per check, for the marks in the lanes and their legend.
CHECK_COLOURS: Final = {
    "completion": "#f4a3a3",
    "byte_count": "#f0b3df",
    "retry_bound": "#cdb8f5",
    "hang": "#a9c8f0",
    "error": "#ffe27a",
    "kernel_bug": "#ffc27d",
}

_BASE_CSS: Final = """
body { font-family: sans-serif; margin: 1.5em; color: #222; line-height: 1.35; }
h2 { border-bottom: 2px solid #888; margin-top: 1.4em; } h3 { margin-top: 1.6em; }
code { font-family: monospace; background: #f2f2f2; padding: 0 2px; }
#answer + ul li { margin: 0.3em 0; }
table.summary { border-collapse: collapse; font-size: 14px; }
table.summary td, table.summary th { border: 1px solid #ccc; padding: 2px 8px; }
table.summary td.x { background: #f4a3a3; text-align: center; font-weight: bold; }
table.summary td.dot { color: #999; text-align: center; }
table.lanes { border-collapse: collapse; width: 100%; font: 12px monospace; }
table.lanes td, table.lanes th { border: 1px solid #ccc; padding: 2px 6px; vertical-align: top; }
table.lanes th.own { background: #eee; }
.complete { background: #d8f5d8; } .bug { background: #ffe3c4; }
.wake { color: #1a5fb4; } .io { color: #6a1b9a; }
.hit { font-weight: bold; border-left: 3px solid #c01c28; padding-left: 3px; }
.violation { border: 1px solid #c01c28; margin: 1px 0; padding: 1px 3px; }
span.violation { display: inline-block; font: 12px monospace; }
img { max-width: 48%; border: 1px solid #ddd; margin: 4px; }
"""
_CSS: Final = _BASE_CSS + "".join(f".v-{c} {{ background: {CHECK_COLOURS[c]}; }}\n" for c in CHECKS)

_CODE_SPAN: Final = re.compile(r"`([^`]+)`")
_LINK: Final = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD: Final = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC: Final = re.compile(r"\*(?=\S)([^*]+?)(?<=\S)\*")
_KEPT: Final = re.compile("\x00(\\d+)\x00")
_LIST_ITEM: Final = re.compile(r"(?:[-*]|(\d+)\.) +(\S.*)")


def md_inline(text: str) -> str:
    """The inline Markdown the report's texts use, as HTML: `code`, **bold**, *italics* and
    [links](url). Escaped first, so `<`, `>` and `&` (kernel code has them) stay text; code spans
    are set aside before the rest, so `*operator` in code is not emphasis."""
    kept: list[str] = []

    def keep(fragment: str) -> str:
        kept.append(fragment)
        return f"\x00{len(kept) - 1}\x00"

    out = _CODE_SPAN.sub(lambda m: keep(f"<code>{m[1]}</code>"), html.escape(text))
    out = _LINK.sub(lambda m: keep(f'<a href="{m[2]}">{_emphasis(m[1])}</a>'), out)
    out = _emphasis(out)
    while "\x00" in out:  # a kept link may hold a kept code span
        out = _KEPT.sub(lambda m: kept[int(m[1])], out)
    return out


def _emphasis(text: str) -> str:
    return _ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", text))


def md_html(text: str) -> str:
    """Markdown blocks as HTML: blank-line separated paragraphs, and lists (`- `, `* ` or `1. `
    items; a line that starts no item continues the one before)."""
    blocks = []
    for block in re.split(r"\n[ \t]*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines()]
        first = _LIST_ITEM.fullmatch(lines[0])
        if first is None:
            blocks.append(f"<p>{md_inline(' '.join(lines))}</p>")
            continue
        items: list[str] = []
        for line in lines:
            item = _LIST_ITEM.fullmatch(line)
            if item is not None:
                items.append(item[2])
            else:
                items[-1] += " " + line
        tag = "ul" if first[1] is None else "ol"
        body = "".join(f"<li>{md_inline(item)}</li>" for item in items)
        blocks.append(f"<{tag}>{body}</{tag}>")
    return "\n".join(blocks)


def _event_class(event: Event) -> str:
    if event.kind == "complete":
        return "complete"
    if event.kind == "BUG":
        return "bug"
    if event.kind in ("wake", "kick"):
        return "wake"
    if event.kind in ("io_done", "io_error", "writeback"):
        return "io"
    return ""


def violation_seq(record: RunRecord, violation: Violation) -> int | None:
    """The event a violation is about, where the record tells: the BUG itself, the progress
    report that counted unsynced pages, the settle bound a storm hit, or the request's
    completion. None for what is judged only at the end (hangs, leaks)."""
    if violation.check == "kernel_bug":
        bugs = (b for b in record.kernel_bugs if b.step == violation.step)
        return next((b.seq for b in bugs if b.what == violation.explanation), None)
    if violation.check == "byte_count" and violation.evidence:
        # Only a progress report's over-count carries pages; they are among the pages it claimed.
        late = {(p.index, p.serial) for p in violation.evidence}
        for prog in record.progress:
            claimed = {(p.index, p.serial) for p in prog.pages}
            if (prog.request, prog.step) == (violation.request, violation.step) and late <= claimed:
                return prog.seq
    if violation.check == "retry_bound":
        bound = (e for e in record.events if e.kind == "bound" and e.step == violation.step)
        storm = next(bound, None)
        if storm is not None and violation.explanation.startswith("retry storm"):
            return storm.seq
    request = next((r for r in record.requests if r.name == violation.request), None)
    if request is not None and request.completed_at == violation.step:
        return request.completed_seq
    return None


def _mark(violation: Violation) -> str:
    check = html.escape(violation.check)
    words = html.escape(violation.explanation)
    return (
        f"<div class='violation v-{check}' data-check='{check}' title='{words}'>"
        f"✗ {check}: {words}</div>"
    )


def lane_cell(record: RunRecord, step: int, violations: list[Violation]) -> str:
    """One version's events of one step, each violation marked right after the event it is
    about (before the first event when that event is not drawn, at the end when it has none)."""
    events = [e for e in record.events if e.step == step and e.kind in LANE_KINDS]
    at: dict[int, list[Violation]] = {}
    first: list[Violation] = []
    last: list[Violation] = []
    for v in violations:
        seq = violation_seq(record, v)
        anchor = max((e.seq for e in events if seq is not None and e.seq <= seq), default=None)
        if seq is None:
            last.append(v)
        elif anchor is None:
            first.append(v)
        else:
            at.setdefault(anchor, []).append(v)
    bug_seqs = {violation_seq(record, v) for v in violations if v.check == "kernel_bug"}
    lines = [_mark(v) for v in first]
    for e in events:
        marks = at.get(e.seq, [])
        if not (e.kind == "BUG" and e.seq in bug_seqs):  # the mark says it: not twice
            cls = "hit" if marks else _event_class(e)
            attr = f" class='{cls}'" if cls else ""
            lines.append(f"<div{attr}>{html.escape(e.actor)}: {html.escape(e.text)}</div>")
        lines.extend(_mark(v) for v in marks)
    lines.extend(_mark(v) for v in last)
    return "".join(lines)


def _verdict_cell(violations: list[Violation]) -> str:
    if not violations:
        return "passes"
    counts = {c: sum(1 for v in violations if v.check == c) for c in CHECKS}
    return " ".join(
        f"<span class='violation v-{c}'>{c}{f' ×{n}' if n > 1 else ''}</span>"
        for c, n in counts.items()
        if n
    )


def _lanes(f: Finding) -> str:
    versions = list(REPORT_VERSIONS)
    verdicts = {v: list(judge(f.records[v]).violations) for v in versions}
    steps = sorted(
        {e.step for v in versions for e in f.records[v].events if e.kind in LANE_KINDS}
        | {x.step for v in versions for x in verdicts[v]}
    )
    own = {v: " class='own'" if v == f.version else "" for v in versions}
    head = "".join(f"<th{own[v]}>{html.escape(v)}</th>" for v in versions)
    verdict_row = "".join(f"<td>{_verdict_cell(verdicts[v])}</td>" for v in versions)
    rows = [f"<tr><th>step</th>{head}</tr>", f"<tr><th>verdict</th>{verdict_row}</tr>"]
    for step in steps:
        # The step after the last is the drain: the world runs until nothing can.
        label = f"{step}" if step < len(f.case.steps) else f"{step}<br>drain"
        cells = "".join(
            f"<td data-version='{html.escape(v)}'>"
            + lane_cell(f.records[v], step, [x for x in verdicts[v] if x.step == step])
            + "</td>"
            for v in versions
        )
        rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    return f"<table class='lanes'>{''.join(rows)}</table>"


def _plots(out: Path, name: str, summary: dict[str, Any]) -> list[str]:
    """Findings and coverage against executions and time, exec/s per worker (matplotlib)."""
    timeline = summary.get("timeline") or []
    if len(timeline) < 2:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = [s["seconds"] for s in timeline]
    # Findings as they were first seen (exact), coverage and exec/s as sampled every 5 s.
    first = summary.get("findings", [])
    by_exec = sorted(int(f.get("first_seen_executions") or 0) for f in first)
    by_time = sorted(float(f.get("first_seen_s") or 0.0) for f in first)
    end_exec, end_time = int(summary.get("executions", 0)), float(summary.get("seconds", 0.0))
    files = []
    plots = (
        (
            "findings-executions",
            [0, *by_exec, end_exec],
            [0, *range(1, len(by_exec) + 1), len(by_exec)],
            "executions",
            "findings",
        ),
        (
            "findings-time",
            [0.0, *by_time, end_time],
            [0, *range(1, len(by_time) + 1), len(by_time)],
            "seconds",
            "findings",
        ),
        ("coverage-time", seconds, [s["coverage"] for s in timeline], "seconds", "coverage"),
    )
    for label, xs, ys, xlabel, ylabel in plots:
        fig, ax = plt.subplots(figsize=(5, 3), dpi=90)
        ax.plot(xs, ys, drawstyle="steps-post")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{name}: {ylabel} / {xlabel}")
        fig.tight_layout()
        path = out / f"{name}-{label}.png"
        fig.savefig(path)
        plt.close(fig)
        files.append(path.name)
    fig, ax = plt.subplots(figsize=(5, 3), dpi=90)
    workers = max(len(s.get("exec_per_s", [])) for s in timeline)
    for w in range(workers):
        ax.plot(
            seconds,
            [s["exec_per_s"][w] if w < len(s.get("exec_per_s", [])) else 0 for s in timeline],
            label=f"worker {w}",
        )
    ax.set_xlabel("seconds")
    ax.set_ylabel("exec/s")
    ax.set_title(f"{name}: exec/s per worker")
    ax.legend()
    fig.tight_layout()
    path = out / f"{name}-exec-per-worker.png"
    fig.savefig(path)
    plt.close(fig)
    files.append(path.name)
    return files


def render_html(
    out: Path,
    findings: list[Finding],
    campaigns: list[tuple[str, dict[str, Any]]],
    root: Path | None = None,
) -> Path:
    """DIR/index.html: the answer and the summary first, then each finding's lanes, then the
    campaigns' plots. `root` is the checkout the findings came from (default: the working
    directory, where `pagefuzz report` runs)."""
    out.mkdir(parents=True, exist_ok=True)
    cases, passes = corpus_passes(Path.cwd() if root is None else root)
    by_campaign = _campaign_rows(campaigns)
    head = "".join(f"<th>{html.escape(v)}</th>" for v in REPORT_VERSIONS)
    rows = [f"<tr><th>finding</th>{head}<th>found by (executions to first)</th></tr>"]
    for f in findings:
        marks = "".join(
            "<td class='x'>x</td>" if f.shown_by[v] else "<td class='dot'>.</td>"
            for v in REPORT_VERSIONS
        )
        rows.append(
            f"<tr><td><a href='#{_anchor(f.key)}'><code>{html.escape(f.key)}</code></a></td>"
            f"{marks}<td>{html.escape(_found_by(f, by_campaign))}</td></tr>"
        )
    legend = ", ".join(f"<span class='violation v-{c}'>{c}</span>" for c in CHECKS)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>pagefuzz findings</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>What pagefuzz finds in the 2004 patch</h1>",
        "<h2 id='answer'>The answer</h2>",
        md_html("\n".join(answer_lines(findings, cases, passes))),
        "<h2 id='summary'>Summary</h2>",
        md_html(SUMMARY_LEGEND + " Each finding links to its timelines."),
        f"<table class='summary'>{''.join(rows)}</table>",
        "<h2 id='timelines'>Timelines</h2>",
        "<p>Per finding, every version's timeline of its minimal case as lanes side by side, one "
        "row per case step and one for the drain after the last; the finding's own version has "
        "the grey heading. Every violation the oracle reports is marked in its version's lane, "
        f"after the event it is about: {legend}. "
        "A bold line with a red edge is that event; <span class='complete'>green</span>: a "
        "request completing; blue: wakeups and kicks; purple: I/O.</p>",
    ]
    for f in findings:
        steps = len(f.case.steps)
        shown = ", ".join(v for v in REPORT_VERSIONS if f.shown_by[v])
        parts += [
            f"<section id='{_anchor(f.key)}'>",
            f"<h3>{html.escape(f.key)}</h3>",
            md_html(
                f"Check `{f.check}`, shown on the minimal case by {shown}; minimal case "
                f"`{f.path}`, {steps} step{'s' if steps != 1 else ''}."
            ),
            md_html(explain(f.key)),
            _lanes(f),
            "<p><a href='#summary'>back to the summary</a></p>",
            "</section>",
        ]
    parts.append("<h2>Campaigns</h2>")
    for name, summary in campaigns:
        parts.append(
            f"<h3>{html.escape(name)}: {html.escape(str(summary.get('engine')))}, "
            f"{summary.get('executions')} executions in {summary.get('seconds')} s</h3>"
        )
        for png in _plots(out, name, summary):
            parts.append(f"<img src='{html.escape(png)}' alt='{html.escape(png)}'>")
    parts.append("</body></html>")
    index = out / "index.html"
    write_atomic(index, "\n".join(parts).encode())
    return index
