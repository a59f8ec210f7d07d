"""The July 2004 era as a whole capability: its case format, its versions chosen by the shell,
its generated cases, its storm cut, its explorer, and the fix that pagefuzz proposes for it.
The rules are kernel-model-2004-07.md's (docs/model.md, "Eras"); hand-traced facts of single
cases are in tests/test_golden_july.py."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from pagefuzz._cli import main
from pagefuzz.fuzz.campaign.worker import random_bytes
from pagefuzz.fuzz.explore.search import explore
from pagefuzz.fuzz.explore.space import Bound
from pagefuzz.fuzz.generation.decode import decode
from pagefuzz.fuzz.versions.resolve import era_of_names
from pagefuzz.impls.registry import ERA_DEFAULT_VERSIONS, built_in, get_version
from pagefuzz.oracle.evaluate import evaluate
from pagefuzz.sim.case import InvalidCase, parse_case
from pagefuzz.sim.world import EraMismatch, World, run_case

ROOT = Path(__file__).resolve().parent.parent
ONE_PAGE = [{"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096}]


def _case(
    config: dict[str, object], steps: list[dict[str, object]] = ONE_PAGE
) -> dict[str, object]:
    return {"format": "pagefuzz/case-v1", "name": "t", "config": config, "steps": steps}


def test_a_case_of_the_seed_era_reads_and_writes_as_before() -> None:
    """No `era` in, no `era` out: every existing case and output stays byte-identical."""
    case = parse_case(_case({"file_pages": 1}))
    assert case.config.era == "2004-01"
    assert list(case.config.to_json()) == [
        "file_pages",
        "wait_queues",
        "queue_of",
        "lookup_next",
        "filtered_wakeups",
        "auto_settle",
        "settle_bound",
    ]


def test_a_case_of_the_july_era_writes_its_era_and_its_own_switches() -> None:
    case = parse_case(_case({"era": "2004-07", "i_sem": "copy-only"}))
    assert case.config.to_json() == {
        "era": "2004-07",
        "file_pages": 4,
        "wait_queues": 4,
        "queue_of": {},
        "i_sem": "copy-only",
        "io_error_sets_as_eio": True,
        "y2005_null_io_wait": "sync",
        "auto_settle": True,
        "settle_bound": 10000,
    }
    assert parse_case(case.to_json()) == case
    assert case.config.switches() == {
        "era": "2004-07",
        "i_sem": "copy-only",
        "io_error_sets_as_eio": True,
        "y2005_null_io_wait": "sync",
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"era": "2004-07", "lookup_next": "cursor"},
            "config.lookup_next: a setting of era 2004-01, meaningless in era 2004-07",
        ),
        (
            {"era": "2004-07", "filtered_wakeups": True},
            "config.filtered_wakeups: a setting of era 2004-01, meaningless in era 2004-07",
        ),
        ({"i_sem": "off"}, "config.i_sem: a setting of era 2004-07, meaningless in era 2004-01"),
        (
            {"era": "2004-07", "i_sem": "some"},
            "config.i_sem: must be one of full, copy-only, off, got 'some'",
        ),
        ({"era": "2005-06"}, "config.era: must be one of 2004-01, 2004-07, got '2005-06'"),
    ],
)
def test_a_setting_of_another_era_is_refused_naming_the_field_and_the_era(
    config: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidCase) as caught:
        parse_case(_case(config))
    assert str(caught.value) == message


def test_a_version_runs_only_in_its_own_era() -> None:
    case = parse_case(_case({"era": "2004-07"}))
    with pytest.raises(
        EraMismatch, match="version post is of era 2004-01; case t is of era 2004-07"
    ):
        World(case, get_version("post"))
    assert type(World(case, get_version("p19"))).__name__ == "JulyWorld"


def test_the_eras_versions() -> None:
    assert ERA_DEFAULT_VERSIONS["2004-07"] == ("p17", "p19", "y2005")
    assert built_in("2004-07") == ("p17", "p19", "y2005", "y2005-fixed", "july-reference")
    assert era_of_names(["p19", "y2005-fixed"]) == "2004-07"
    assert era_of_names([]) == "2004-01"
    with pytest.raises(ValueError, match=r"two eras cannot run together: post \(2004-01\), p19"):
        era_of_names(["post", "p19"])


def test_replay_runs_each_case_in_the_versions_of_its_era(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory of both eras replays with no --versions: every case in its era's defaults;
    --versions of one era on a case of the other is one line naming the case and its era."""
    seed = tmp_path / "seed.json"
    july = tmp_path / "july.json"
    seed.write_text(json.dumps(_case({"file_pages": 1})))
    july.write_text(json.dumps(_case({"era": "2004-07", "file_pages": 1})))
    assert main(["replay", str(tmp_path), "--json", "--no-events"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    runs = {Path(c["source"]["file"]).stem: list(c["versions"]) for c in lines if "source" in c}
    assert runs == {"july": ["p17", "p19", "y2005"], "seed": ["pre", "post", "recheck-locked"]}
    assert main(["replay", str(july), "--versions", "pre"]) == 2
    assert capsys.readouterr().err == (
        f"pagefuzz: error: {july}: a case of era 2004-07, and none of the versions pre is of it "
        "(that era's: p17, p19, y2005)\n"
    )


def test_generated_cases_are_of_the_era_asked_for() -> None:
    """The decoder reads the same bytes into either era; the era's switches come from the bits
    the seed era reads lookup_next and filtered_wakeups from (bits 4-5 for i_sem, bit 9 for the
    completion path): byte 0 = 0b00010000 gives i_sem index 1 (copy-only); byte 1 = 0b10 sets
    bit 9 (AS_EIO off)."""
    data = bytes([0b00010000, 0b10]) + bytes(range(30))
    seed, july = decode(data), decode(data, "2004-07")
    assert seed.config.era == "2004-01" and july.config.era == "2004-07"
    assert (july.config.i_sem, july.config.io_error_sets_as_eio) == ("copy-only", False)
    assert seed.steps == july.steps


def test_the_candidate_fix_and_the_reference_pass_2000_random_cases_of_the_era() -> None:
    """y2005-fixed shows none of the era's findings, and the era's reference proves the oracle
    raises no false alarm, on 2,000 decoded random cases (seed 11); p19 fails some of the same
    cases, so the cases reach the bugs (else this test could not fail)."""
    rng = random.Random(11)
    versions = [get_version(n) for n in ("p19", "y2005-fixed", "july-reference")]
    p19_failed = 0
    for _ in range(2000):
        evaluation = evaluate(decode(random_bytes(rng), "2004-07"), versions)
        assert evaluation.verdicts["y2005-fixed"].passed
        assert evaluation.verdicts["july-reference"].passed
        p19_failed += not evaluation.verdicts["p19"].passed
    assert p19_failed > 100


def test_storms_of_the_era_are_cut_exactly() -> None:
    """p17 and p19 storm (J10); the storm cut applies to the era's world as to the seed's:
    each cut record equals the uncut one, on 200 random cases with a settle bound of 1,000."""
    rng = random.Random(5)
    cut_any = 0
    for _ in range(200):
        case = decode(random_bytes(rng), "2004-07")
        case = replace(case, config=replace(case.config, settle_bound=1000))
        for name in ("p17", "p19"):
            cut = World(case, get_version(name))
            uncut = World(case, get_version(name), cut_storms=False)
            assert repr(cut.run()) == repr(uncut.run())
            cut_any += cut.sched.dispatches_skipped > 0
    assert cut_any > 0


def test_explore_in_the_era_finds_the_shortest_counterexamples() -> None:
    """Every schedule of up to 4 steps over 2 pages, 2 iocbs, 2 queues (default ops). Shortest:
    p17's and p19's completion in 1 step (one aligned two-page aio_write: the first run leaves
    ki_pos at pos + count after -EIOCBRETRY, and the drain's first completion lets a retry wait
    on pages 2-3, find none under writeback and complete: J22, J17 step 4); their retry storm in
    2 (two iocbs on the shared queues kick each other through the walk's lock/unlock, J10);
    p17's kernel_bug in 3 (bug 40701's partial count ending ki_left while the entry is
    queued). y2005 and y2005-fixed: none within the bound."""
    bound = Bound(max_steps=4, pages=2, iocbs=2, queues=2, era="2004-07")
    cert = explore(bound, ["p17", "p19", "y2005", "y2005-fixed"], clock=lambda: 0.0)
    shortest = {str(k): c.depth for k, c in cert.shortest.items()}
    assert shortest == {
        "p17/completion/aio_write": 1,
        "p17/kernel_bug/aio_write": 3,
        "p17/retry_bound/aio_write": 2,
        "p19/completion/aio_write": 1,
        "p19/retry_bound/aio_write": 2,
    }
    assert cert.complete and cert.depth_done == 4


def test_the_corpus_holds_both_eras_and_every_case_meets_its_expectation() -> None:
    cases = [
        parse_case(json.loads(p.read_text())) for p in sorted((ROOT / "corpus").rglob("*.json"))
    ]
    eras = {c.config.era for c in cases}
    assert eras == {"2004-01", "2004-07"}
    july = [c for c in cases if c.config.era == "2004-07"]
    assert len(july) >= 30
    for case in july:
        assert evaluate(
            case, [get_version(n) for n in ERA_DEFAULT_VERSIONS["2004-07"]]
        ).expectation_ok, case.name


def test_a_run_of_the_era_is_deterministic() -> None:
    case = decode(bytes(range(40)), "2004-07")
    assert repr(run_case(case, get_version("p17"))) == repr(run_case(case, get_version("p17")))


def test_versions_of_two_eras_or_against_era_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A campaign or an exploration runs in one era: versions of two eras, or versions against
    --era, are refused before anything is written (exit 2, one line naming the flag)."""
    assert main(["fuzz", "--versions", "pre,p19", "--time", "5", "--out", str(tmp_path / "c")]) == 2
    assert capsys.readouterr().err == (
        "pagefuzz: error: --versions: versions of two eras cannot run together: pre (2004-01), "
        "p19 (2004-07)\n"
    )
    argv = ["explore", "--era", "2004-01", "--versions", "p19", "--max-steps", "2"]
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err == (
        "pagefuzz: error: --era 2004-01: --versions p19 are of era 2004-07\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_report_has_the_eras_chapter_in_markdown_and_html(tmp_path: Path) -> None:
    """docs/findings.md and the HTML page both answer for the era: the bug report's question
    (yes, on both hand-traced cases), each of the era's 18 findings with its section, and in
    the page the timelines of the era's four versions side by side."""
    from pagefuzz._report import build
    from pagefuzz._report_html import render_html

    text, report = build(ROOT)
    chapter = text[text.index("## The July 2004 rework (era 2004-07)") :]
    assert "- **Did patch 19 fix bug 40701?** Yes: " in chapter
    assert chapter.count("\n#### ") == len(report.july.findings) == 18
    page = render_html(tmp_path / "h", report).read_text()
    assert "<h2 id='july'>" in page
    for f in report.july.findings:
        assert f"<section id='{str(f.key).replace('/', '').lower()}'>" in page
    assert "data-version='y2005-fixed'" in page


@pytest.mark.parametrize(
    "bound",
    [
        Bound(max_steps=4, pages=2, iocbs=2, queues=1, era="2004-07"),
        Bound(
            max_steps=3,
            pages=2,
            iocbs=1,
            queues=1,
            ops=("aio_write", "complete_io", "io_error", "sync_write", "lock_page", "unlock_page"),
            era="2004-07",
        ),
    ],
    ids=["default-ops", "errors-and-locks"],
)
def test_pruning_by_state_loses_nothing_in_the_era(bound: Bound) -> None:
    """The state key covers the era's own state (tags, AS_EIO, i_sem, a wait entry's bit and
    exclusivity): exploring with pruning finds the same findings with the same shortest lengths
    as exploring every schedule, on bounds where both close."""
    versions = ["p17", "p19", "y2005"]
    pruned = explore(bound, versions, clock=lambda: 0.0)
    full = explore(bound, versions, clock=lambda: 0.0, prune=False)
    assert pruned.complete and full.complete
    assert {str(k): c.depth for k, c in pruned.shortest.items()} == {
        str(k): c.depth for k, c in full.shortest.items()
    }
    assert pruned.states < full.schedules  # pruning did prune (else this could not fail)
