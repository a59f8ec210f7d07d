"""The fuzzing shell: the decoder is total, minimisation keeps findings and is 1-minimal,
campaigns with every engine find the seed's known findings, and killed workers lose nothing."""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import (
    new_corpus,
    raw_findings,
    run_target,
    start_campaign,
    wait_until,
    worker_stats,
)
from helpers import pagefuzz as _pagefuzz
from hypothesis import given, settings
from hypothesis import strategies as st

import pagefuzz.fuzz.campaign.minimize
from pagefuzz._casefile import load_case
from pagefuzz.fuzz.campaign.minimize import Minimizer, is_one_minimal, minimize, sort_key
from pagefuzz.fuzz.campaign.target import Evaluator
from pagefuzz.fuzz.generation.decode import decode
from pagefuzz.fuzz.generation.grammar import DECODED_STEPS_MAX
from pagefuzz.fuzz.generation.strategies import cases
from pagefuzz.impls.registry import DEFAULT_VERSIONS, built_in
from pagefuzz.oracle.evaluate import FindingKey
from pagefuzz.sim import Case, Step, parse_case

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "corpus" / "examples"
VERSIONS = list(DEFAULT_VERSIONS)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_decoder_is_total(data: bytes) -> None:
    """Any byte string decodes to a valid case of at most DECODED_STEPS_MAX steps that runs to a
    verdict in every version: no exception escapes the world or the oracle."""
    case = decode(data)
    assert len(case.steps) <= DECODED_STEPS_MAX
    Evaluator(VERSIONS).evaluate(case)


def test_decoder_is_deterministic_and_local() -> None:
    """Same bytes, same case; changing one step's bytes changes only that step."""
    data = bytes([5, 0, 0, 0, 1, 0, 0, 3])
    a, b = decode(data), decode(data)
    assert a == b and a.to_json() == b.to_json()
    assert [s.op for s in a.steps] == ["aio_write", "complete_io", "aio_write"]
    changed = decode(bytes([5, 0, 0, 0, 1, 0, 5, 3]))
    assert changed.steps[:2] == a.steps[:2]
    assert changed.steps[2].op == "flush"  # opcode 5


def test_empty_input_is_an_empty_case() -> None:
    case = decode(b"")
    assert case.steps == () and case.config.file_pages == 1


#: Every version that ships, instantiated once and reused across cases, as a campaign does.
BUILT_IN_EVALUATOR = Evaluator(list(built_in("2004-01")))


@settings(max_examples=100, deadline=None)
@given(cases())
def test_strategy_cases_run(case: Case) -> None:
    """Each case the hypothesis strategy draws (the hypothesis engine's cases):

    - is its own JSON: written out and parsed back (`parse_case`, what reading a finding file
      does) it is the same case, so a finding recorded from it replays as found;
    - runs in each of the five built-in versions to a record without a harness error: no
      exception escapes the world or the oracle, and no run ends in a version failure (a
      built-in version is trusted not to raise, and no dispatch of a 16-step case over 4
      pages comes near the 100,000 world calls of the `timeout` budget: docs/model.md);
    - runs deterministically: evaluated again with the same version objects (a version keeps
      no state between runs) and with new ones, every record has the same repr (each event,
      request, page state and bound hit) and the same findings;
    - shows nothing in `reference` (correct by construction, impls/reference.py) nor in
      `fixed` (the candidate fix: 500,000 hypothesis executions found nothing in it,
      docs/findings.md).
    """
    raw = case.to_json()
    again = parse_case(json.loads(json.dumps(raw)))
    assert again == case and again.to_json() == raw
    first = BUILT_IN_EVALUATOR.evaluate(case)
    assert list(first.records) == list(built_in("2004-01"))
    assert [name for name, r in first.records.items() if r.failure is not None] == []
    second = BUILT_IN_EVALUATOR.evaluate(case)
    fresh = Evaluator(list(built_in("2004-01"))).evaluate(case)
    for other in (second, fresh):
        assert repr(other.records) == repr(first.records)
        assert other.keys == first.keys
    assert [str(k) for k in first.keys if k.version in ("reference", "fixed")] == []


@pytest.mark.parametrize(
    ("name", "finding"),
    [
        ("one-page-aio.json", "pre/completion/aio_write"),
        ("post-two-page-last1.json", "post/completion/aio_write"),
        ("storm-shared-queue.json", "recheck-locked/retry_bound/aio_write"),
    ],
)
def test_minimised_examples_are_one_minimal_and_no_longer(name: str, finding: str) -> None:
    """Minimising a shipped example keeps its finding, ends 1-minimal, and is no longer than the
    hand-written case."""
    case = load_case(EXAMPLES / name)
    evaluator = Evaluator(VERSIONS)
    shown = {f.key: f.signature for f in evaluator.evaluate(case).failures}
    target = frozenset({shown[FindingKey.parse(finding)]})
    small, _removed = minimize(case, evaluator, target)
    assert len(small.steps) <= len(case.steps)

    def keeps(c) -> bool:
        return target <= {f.signature for f in evaluator.evaluate(c).failures}

    assert keeps(small)
    assert is_one_minimal(small, keeps)


def test_minimise_reduces_a_fuzzed_case() -> None:
    """A 16-step decoded case showing post's completion bug shrinks to the one AIO write that
    shows it: post writes out only page 0 of a multi-page write (the first of the predictions
    for post in docs/findings.md)."""
    data = bytes([0, 0] + [0, 8, 1, 0] * 8)  # two-page aio writes and completions
    case = decode(data)
    evaluator = Evaluator(VERSIONS)
    sig = {f.key: f.signature for f in evaluator.evaluate(case).failures}[
        FindingKey("post", "completion", "aio_write")
    ]
    small, removed = minimize(case, evaluator, frozenset({sig}))
    assert [s.op for s in small.steps] == ["aio_write"]
    assert small.steps[0].count == 8192
    assert removed


def test_minimiser_refuses_a_larger_candidate() -> None:
    """one-page-aio (A writes 4096 bytes at 0; page 0 completes) shows pre's completion bug.
    The same case with A's count raised to 8192 still shows it (and more), but it is larger:
    same steps, same file, and its first step's key (no pause, no error, pos 0, count 8192)
    is above (.., 0, 4096). try_case keeps the case it had, without running the candidate."""
    case = load_case(EXAMPLES / "one-page-aio.json")
    evaluator = Evaluator(VERSIONS)
    target = frozenset({FindingKey("pre", "completion", "aio_write").signature})
    larger = replace(case, steps=(replace(case.steps[0], count=8192), *case.steps[1:]))
    assert target <= {f.signature for f in evaluator.evaluate(larger).failures}
    assert sort_key(case) < sort_key(larger)
    m = Minimizer(evaluator, target)
    assert m.try_case(case, larger, "count 4096 -> 8192") is case
    assert m.tries == 0 and m.removed == []
    smaller = replace(case, config=replace(case.config, file_pages=0))
    assert m.try_case(case, smaller, "config.file_pages 1 -> 0") is smaller
    assert m.tries == 1 and m.removed == ["config.file_pages 1 -> 0"]


def test_a_pass_that_grows_the_case_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value pass that first offers every step's count one page up (each keeping the
    findings, as above) is refused at every offer: the minimised case and what was removed are
    those of the passes as they are."""
    case = load_case(EXAMPLES / "post-two-page-last1.json")
    evaluator = Evaluator(VERSIONS)
    target = frozenset({FindingKey("post", "completion", "aio_write").signature})
    expected = minimize(case, evaluator, target)
    real = pagefuzz.fuzz.campaign.minimize._simpler_steps
    offered = []

    def growing(step: Step) -> Iterator[tuple[Step, str]]:
        if step.count is not None:
            offered.append(step)
            yield replace(step, count=step.count + 4096), "count up"
        yield from real(step)

    monkeypatch.setattr(pagefuzz.fuzz.campaign.minimize, "_simpler_steps", growing)
    assert minimize(case, evaluator, target) == expected
    assert offered


@settings(max_examples=100, deadline=None)
@given(cases(max_steps=6))
def test_every_candidate_of_the_passes_is_smaller(case: Case) -> None:
    """The sort key refuses nothing the passes offer: each of their candidates (drop one step,
    simplify one step, simplify the config) is below the case it came from."""
    key = sort_key(case)
    for i in range(len(case.steps)):
        assert sort_key(replace(case, steps=case.steps[:i] + case.steps[i + 1 :])) < key
        for step, _what in pagefuzz.fuzz.campaign.minimize._simpler_steps(case.steps[i]):
            steps = (*case.steps[:i], step, *case.steps[i + 1 :])
            assert sort_key(replace(case, steps=steps)) < key
    for config, _what in pagefuzz.fuzz.campaign.minimize._simpler_configs(case.config):
        assert sort_key(replace(case, config=config)) < key


KNOWN = {
    "pre/completion/aio_write",
    "post/completion/aio_write",
    "recheck-locked/retry_bound/aio_write",
}


@pytest.mark.parametrize("engine", ["random", "hypothesis", "atheris"])
def test_smoke_campaign_finds_the_known_findings(engine: str, tmp_path: Path) -> None:
    """A 20-second campaign from an empty corpus finds and minimises the three findings of the
    issue: pre's and post's premature completions and recheck-locked's storm."""
    out = tmp_path / engine
    proc = _pagefuzz(
        "fuzz", "--engine", engine, "--time", "20", "--out", str(out), "--fresh", "--json"
    )
    assert proc.returncode == 1, proc.stderr  # from an empty corpus every finding is new
    summary = json.loads(proc.stdout[proc.stdout.index("{") :])
    keys = {f["key"] for f in summary["findings"]}
    assert keys >= KNOWN, keys
    assert summary["executions"] > 0 and summary["status"] == "done"
    for f in summary["findings"]:
        finding = json.loads((out / "findings" / f"{f['signature']}.json").read_text())
        assert finding["steps_minimized"] <= finding["steps_found"]
        assert (out / "findings" / "raw" / f"{f['signature']}.json").exists()
    if engine == "hypothesis":  # its example database, by default in the campaign directory
        assert [p for p in (out / "hypothesis-db").rglob("*") if p.is_file()]


def test_killed_worker_loses_no_finding_and_is_restarted(tmp_path: Path) -> None:
    """SIGKILL the worker mid-campaign: what it had found is on disk, the campaign restarts it,
    and the summary stays consistent.

    The kill waits for events, not for time: the worker's first raw finding on disk (from an
    empty corpus the random engine shows the seed's bugs within its first executions) and its
    statistics naming its pid. It then comes early in the 20 s campaign, far more than the
    RESTART_MIN_S (2 s) a restart needs to be left (fuzz/campaign/supervisor.py). One kill:
    exactly one restart; exit 1, new findings from an empty corpus."""
    out = tmp_path / "kill"
    proc = start_campaign(out, "20", "--json")
    try:
        wait_until(lambda: bool(raw_findings(out)), "the worker's first raw finding")
        wait_until(lambda: "pid" in worker_stats(out), "the worker's statistics")
        pid = worker_stats(out)["pid"]
        assert isinstance(pid, int)
        raw_before = raw_findings(out)
        os.kill(pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, stderr  # new findings (an empty corpus)
    summary = json.loads(stdout[stdout.index("{") :])
    assert summary["status"] == "done" and summary["crashes"] == 0
    assert summary["worker_restarts"] == 1
    assert summary["workers"][0]["restarts"] == 1
    assert worker_stats(out)["pid"] != pid  # the statistics are the restarted process's
    assert raw_before <= raw_findings(out)
    minimized = {f["signature"] for f in summary["findings"]}
    assert raw_before <= minimized


def test_atheris_target_runs_standalone(tmp_path: Path) -> None:
    """`python fuzz/campaign/differential_fuzzer.py DIR -atheris_runs=N` works on its own and
    records findings in PAGEFUZZ_OUT (run as a subprocess: atheris must never run inside pytest)."""
    corpus = new_corpus(tmp_path)
    proc = run_target(tmp_path, str(corpus), "-atheris_runs=300", "-seed=1", "-max_len=34")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list((tmp_path / "out" / "findings" / "raw").glob("*.json"))


def test_readme_campaign_with_default_engine_and_relative_out(tmp_path: Path) -> None:
    """The README's main command: default engine (atheris), default --out (relative, under the
    current directory). It must execute cases, not restart a failing worker for a minute. How
    many it executes is the machine's business (speed is the benchmarks'): some, with no
    restart, and nothing new against the shipped corpus (exit 0)."""
    env = {**os.environ, "CI": "true"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pagefuzz",
            "fuzz",
            "--time",
            "8",
            "--json",
            "--corpus",
            str(ROOT / "corpus"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert summary["engine"] == "atheris" and summary["status"] == "done"
    assert summary["executions"] > 0 and summary["new"] == 0 and summary["crashes"] == 0
    assert summary.get("worker_restarts", 0) == 0
    (made,) = (tmp_path / "campaigns").iterdir()
    assert json.loads((made / "campaign.json").read_text()) == summary


def test_corrupt_campaign_summary_is_refused_on_resume(tmp_path: Path) -> None:
    """--resume of a campaign whose summary names an unknown version: one line naming the file
    and the field, exit 2, no traceback, nothing started."""
    out = tmp_path / "c"
    out.mkdir()
    (out / "campaign.json").write_text(
        json.dumps(
            {
                "format": "pagefuzz/campaign-v1",
                "engine": "random",
                "versions": ["nosuch"],
                "next_seed": 5,
                "seconds": 0,
                "executions": 0,
                "findings": [],
                "status": "stopped",
            }
        )
    )
    proc = _pagefuzz("fuzz", "--resume", "--out", str(out), "--time", "30")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"pagefuzz: error: {out / 'campaign.json'}: versions: unknown version 'nosuch'; "
        "known: pre, post, recheck-locked, reference, fixed, "
        "p17, p19, y2005, y2005-fixed, july-reference"
    ]
    assert not (out / "workers").exists()


def test_raw_inputs_re_decode_to_their_recorded_case(tmp_path: Path) -> None:
    """Every raw input atheris recorded decodes, in this process, to exactly the case recorded
    beside it (less the versions it was found with, which the bytes do not hold and the record
    does: the target's default three): a finding can always be rebuilt from its bytes."""
    corpus = new_corpus(tmp_path)
    proc = run_target(tmp_path, str(corpus), "-atheris_runs=400", "-seed=5", "-max_len=34")
    assert proc.returncode == 0, proc.stderr[-2000:]
    raws = sorted((tmp_path / "out" / "findings" / "raw").glob("*.bin"))
    assert raws
    for raw in raws:
        recorded = json.loads(raw.with_suffix(".json").read_text())["case"]
        versions = recorded.pop("versions")
        assert versions == [{"name": "pre"}, {"name": "post"}, {"name": "recheck-locked"}]
        assert decode(raw.read_bytes()).to_json() == recorded


def test_state_feedback_mode_runs(tmp_path: Path) -> None:
    """PAGEFUZZ_STATE_FEEDBACK=1 reserves its counters before fuzzing and still records
    findings (the private counter API of the pinned atheris works)."""
    corpus = new_corpus(tmp_path)
    proc = run_target(
        tmp_path,
        str(corpus),
        "-atheris_runs=300",
        "-seed=1",
        "-max_len=34",
        env={"PAGEFUZZ_STATE_FEEDBACK": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list((tmp_path / "out" / "findings" / "raw").glob("*.json"))


def test_the_last_timeline_point_keeps_the_workers_figures(tmp_path: Path) -> None:
    """A campaign's last sample is taken after its workers stopped; it keeps their last exec/s
    and coverage (it once recorded 0 and 0, and every plot of the report ended in a collapse).
    Coverage, a count of behaviours seen, never goes down within a run of one worker."""
    out = tmp_path / "c"
    proc = _pagefuzz("fuzz", "--engine", "random", "--fresh", "--time", "3", "--out", str(out))
    assert proc.returncode == 1, proc.stderr  # the seed's bugs, from an empty corpus
    timeline = json.loads((out / "campaign.json").read_text())["timeline"]
    last = timeline[-1]
    assert last["coverage"] > 0 and last["exec_per_s"] and all(last["exec_per_s"])
    assert last["coverage"] == max(sample["coverage"] for sample in timeline)
