"""Bounded-exhaustive exploration: certificates, shortest counterexamples, sound pruning."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import wait_for

from pagefuzz._casefile import load_case
from pagefuzz._cli import main
from pagefuzz.fuzz.campaign.target import Evaluator
from pagefuzz.fuzz.explore.search import Bound, Certificate, Counterexample, explore
from pagefuzz.fuzz.explore.space import case_of
from pagefuzz.oracle.evaluate import FindingKey

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ["pre", "post", "recheck-locked"]


def test_acceptance_bound_8_two_pages_two_iocbs_two_queues(tmp_path: Path) -> None:
    """Issue 5 acceptance: 2 pages, 2 iocbs, 2 queues, 8 steps closes, and each headline finding
    has its shortest counterexample. By hand: one AIO write of both pages already shows pre's
    and post's completion bugs (1 step: the drain does the rest), and the storm needs two iocbs
    on one page (2 steps): their entries share the page's queue and each retry's unlock_page in
    recheck-locked's page_waiter kicks the other."""
    out = tmp_path / "x"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pagefuzz",
            "explore",
            "--max-steps",
            "8",
            "--pages",
            "2",
            "--iocbs",
            "2",
            "--queues",
            "2",
            "--ops",
            "aio_write,complete_io,run",
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CI": "true"},
        timeout=600,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr  # counterexamples found (exit codes: docs/explore.md)
    cert = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert cert["complete"] and cert["depth_closed"] == 8 and not cert["interrupted"]
    assert cert["distinct_states"] > 0 and cert["schedules"] >= cert["distinct_states"]
    assert cert["versions"]["pre"]["pre/completion/aio_write"]["steps"] == 1
    assert cert["versions"]["post"]["post/completion/aio_write"]["steps"] == 1
    assert cert["versions"]["recheck-locked"]["recheck-locked/retry_bound/aio_write"]["steps"] == 2
    assert json.loads((out / "certificate.json").read_text()) == cert
    for version in VERSIONS:
        for key, info in cert["versions"][version].items():
            case = load_case(out / f"{info['case']}.json")
            assert len(case.steps) == info["steps"]
            shown = {str(f.key) for f in Evaluator(VERSIONS).evaluate(case).failures}
            assert key in shown


def test_reference_has_no_violation_within_a_bound() -> None:
    """The correct-by-construction version is certified clean at a small bound."""
    cert = explore(Bound(max_steps=4, pages=2, iocbs=2, queues=2), ["reference"], time.monotonic)
    assert cert.complete
    assert cert.to_json()["versions"]["reference"] == "no violation within the bound"


def test_pruning_keeps_every_finding_at_its_shortest_depth() -> None:
    """Soundness, checked: with pauses at depth 4, exploring every schedule and exploring with
    state pruning find the same findings at the same shortest lengths."""
    bound = Bound(max_steps=4, pages=2, iocbs=2, queues=1)
    pruned = explore(bound, VERSIONS, time.monotonic)
    full = explore(bound, VERSIONS, time.monotonic, prune=False)
    assert pruned.complete and full.complete
    assert pruned.pruned > 0 and full.pruned == 0
    assert full.schedules > pruned.states
    assert {k: c.depth for k, c in pruned.shortest.items()} == {
        k: c.depth for k, c in full.shortest.items()
    }


def test_pauses_are_explored() -> None:
    """With the pause op, schedules stop iocbs at the named points: more states than without."""
    with_pauses = explore(Bound(max_steps=4, pages=2, iocbs=2, queues=2), VERSIONS, time.monotonic)
    without = explore(
        Bound(max_steps=4, pages=2, iocbs=2, queues=2, ops=("aio_write", "complete_io", "run")),
        VERSIONS,
        time.monotonic,
    )
    assert with_pauses.states > without.states


def test_fixed_is_certified_at_ci_bounds() -> None:
    """The candidate fix: no violation in any schedule of up to 5 steps with pauses, nor in any
    schedule of up to 6 steps with I/O errors and truncation (2 pages, 2 iocbs). Larger bounds are
    recorded in evidence/certificates/ (docs/findings.md)."""
    pauses = explore(Bound(max_steps=5, pages=2, iocbs=2, queues=2), ["fixed"], time.monotonic)
    errors = explore(
        Bound(
            max_steps=6,
            pages=2,
            iocbs=2,
            queues=1,
            ops=("aio_write", "complete_io", "io_error", "truncate"),
        ),
        ["fixed"],
        time.monotonic,
    )
    for cert in (pauses, errors):
        assert cert.complete
        assert cert.to_json()["versions"]["fixed"] == "no violation within the bound"


#: One page, one iocb, no pauses: depth 1 has two schedules, the aligned one-page AIO write and
#: the unaligned one (pos 512, one page's worth).
SMALL = ["--max-steps", "1", "--pages", "1", "--iocbs", "1", "--ops", "aio_write,complete_io,run"]


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0: no version has a counterexample within the bound (reference is correct by
    construction); 1: one has (pre's aligned write is one-page-aio: completion and kernel_bug;
    its unaligned write also counts 3584 bytes from 512 as synced while page 0 is in flight:
    byte_count); 2: bad input. The help says so, with 130 for an interrupted run."""
    assert main(["explore", *SMALL, "--versions", "reference", "--out", str(tmp_path / "r")]) == 0
    assert "reference: no violation within the bound" in capsys.readouterr().out
    assert main(["explore", *SMALL, "--versions", "pre", "--out", str(tmp_path / "p")]) == 1
    out = capsys.readouterr().out
    for key in ("byte_count", "completion", "kernel_bug"):
        assert f"pre/{key}/aio_write" in out
    assert main(["explore", *SMALL, "--pages", "9", "--out", str(tmp_path / "b")]) == 2
    assert capsys.readouterr().err == "pagefuzz: error: --pages: must be between 1 and 4, got 9\n"
    assert not (tmp_path / "b").exists()
    (tmp_path / "f").write_text("")
    assert main(["explore", *SMALL, "--out", str(tmp_path / "f")]) == 2
    assert capsys.readouterr().err == f"pagefuzz: error: --out: {tmp_path / 'f'}: not a directory\n"
    with pytest.raises(SystemExit):
        main(["explore", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for code in (
        "0 no version has a counterexample within the bound",
        "1 a version has one",
        "2 bad input",
        "130 interrupted",
    ):
        assert code in text, code


def test_a_second_exploration_replaces_what_the_first_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exploring again into the same --out removes the certificate and every shortest-*.json
    there (the first run's three counterexamples and one left by an older run), so that no stale
    counterexample sits beside a certificate that does not list it; the user's other files stay.
    Files are written with the umask's mode (0644 under 022)."""
    out = tmp_path / "x"
    old = os.umask(0o022)
    try:
        assert main(["explore", *SMALL, "--versions", "pre", "--out", str(out)]) == 1
        first = sorted(p.name for p in out.iterdir())
        assert len(first) == 4 and "certificate.json" in first
        assert {stat.S_IMODE((out / name).stat().st_mode) for name in first} == {0o644}
        (out / "shortest-post-error-aio_write-0a1b2c.json").write_text("{}")
        (out / "notes.txt").write_text("mine")
        (out / "other.json").write_text("{}")
        capsys.readouterr()
        assert main(["explore", *SMALL, "--versions", "reference", "--out", str(out)]) == 0
    finally:
        os.umask(old)
    assert f"replaced 5 files an earlier exploration wrote in {out}" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["certificate.json", "notes.txt", "other.json"]
    cert = json.loads((out / "certificate.json").read_text())
    assert cert["versions"] == {"reference": "no violation within the bound"}
    assert (out / "notes.txt").read_text() == "mine"


def test_ctrl_c_writes_the_partial_certificate(tmp_path: Path) -> None:
    """SIGINT once depth 2 is closed: the run stops with 130 and leaves what a time limit
    would, marked interrupted. By depth 2 the certificate must hold pre's and post's 1-step
    completion findings and recheck-locked's 2-step storm (see the acceptance test)."""
    out = tmp_path / "x"
    log = tmp_path / "stdout.txt"
    with log.open("w") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pagefuzz", "explore", "--max-steps", "12", "--out", str(out)],
            cwd=ROOT,
            env={**os.environ, "CI": "true"},
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(log, 120, "explore: depth 2 closed")
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130, err
    path = out / "certificate.json"
    assert err == f"pagefuzz: interrupted; the partial certificate is {path}\n"
    cert = json.loads(path.read_text())
    assert cert["complete"] is False and cert["interrupted"] is True
    assert 2 <= cert["depth_closed"] < 12
    found = cert["versions"]
    assert found["pre"]["pre/completion/aio_write"]["steps"] == 1
    assert found["post"]["post/completion/aio_write"]["steps"] == 1
    assert found["recheck-locked"]["recheck-locked/retry_bound/aio_write"]["steps"] == 2
    for version in VERSIONS:
        for info in found[version].values():
            assert len(load_case(out / f"{info['case']}.json").steps) == info["steps"]
    text = log.read_text()
    assert f"certificate (interrupted after depth {cert['depth_closed']} was closed)" in text
    assert f"certificate: {path}" in text


#: One page, one iocb, settled steps: the alphabet at the start holds A's two writes of page 0
#: (aligned: pos 0, count 4096; unaligned: pos 512, count 4096), and complete_io of page 0
#: once a write-out is in flight.
TINY = Bound(max_steps=3, pages=1, iocbs=1, queues=1, ops=("aio_write", "complete_io"))


def _judged(cert: Certificate) -> dict[str, object]:
    """A certificate as JSON without its seconds (the one figure a clock decides)."""
    return {k: v for k, v in cert.to_json().items() if k != "seconds"}


@pytest.mark.parametrize("prune", [True, False], ids=["pruned", "unpruned"])
def test_stop_ends_the_search_after_the_first_whole_length_it_says_yes_to(prune: bool) -> None:
    """`stop` is asked once a length is closed. Length 0 (the empty schedule: 1 schedule)
    shows nothing: asked, no. Length 1 judges A's two writes (schedules 2 and 3; complete_io
    cannot act yet). The aligned one is the README's walk-through: pre counts page 0 before
    waiting on it and completes A at step 0 with page 0 under writeback (completion) and A's
    entry still queued (kernel_bug). The unaligned one also reports 3584 bytes from 512 as
    synced while page 0 is under writeback (byte_count). Asked again: yes. The search ends
    with depth 1 closed, not complete and not interrupted, 3 schedules where the whole bound
    judges 5 (each write, then complete_io of page 0); what it judged is exactly what the
    bound of 1 step judges when it closes, but for `complete`."""
    asked: list[tuple[int, int, list[str]]] = []

    def stop(cert: Certificate) -> bool:
        asked.append((cert.depth_done, cert.schedules, sorted(map(str, cert.shortest))))
        return bool(cert.shortest)

    cert = explore(TINY, ["pre"], time.monotonic, prune=prune, stop=stop)
    found = ["pre/byte_count/aio_write", "pre/completion/aio_write", "pre/kernel_bug/aio_write"]
    assert asked == [(0, 1, []), (1, 3, found)]
    assert (cert.depth_done, cert.complete, cert.interrupted) == (1, False, False)
    assert (cert.schedules, cert.states) == (3, 3)
    assert {str(k): (c.depth, c.schedules) for k, c in cert.shortest.items()} == {
        "pre/completion/aio_write": (1, 2),
        "pre/kernel_bug/aio_write": (1, 2),
        "pre/byte_count/aio_write": (1, 3),
    }
    assert explore(TINY, ["pre"], time.monotonic, prune=prune).schedules == 5
    one_step = explore(replace(TINY, max_steps=1), ["pre"], time.monotonic, prune=prune)
    assert one_step.complete
    assert _judged(cert) == {
        **_judged(one_step),
        "bound": TINY.describe(),
        "complete": False,
    }


def test_stop_is_not_asked_after_the_last_length_and_no_changes_nothing() -> None:
    """With max_steps 1, stop is asked after length 0 only (length 1 is the bound's last: a
    bound that closes is complete, whatever stop would say). A stop that always says no leaves
    the certificate as no stop does."""
    asked: list[int] = []

    def never(cert: Certificate) -> bool:
        asked.append(cert.depth_done)
        return False

    bound = replace(TINY, max_steps=1)
    cert = explore(bound, ["pre"], time.monotonic, stop=never)
    assert asked == [0] and cert.complete and cert.depth_done == 1
    assert _judged(cert) == _judged(explore(bound, ["pre"], time.monotonic))
    asked.clear()
    cert = explore(TINY, ["pre"], time.monotonic, stop=never)
    assert cert.complete and asked == list(range(cert.depth_done))
    assert _judged(cert) == _judged(explore(TINY, ["pre"], time.monotonic))


def test_certificate_summary_has_the_fields_every_benchmark_reports() -> None:
    """A certificate made by hand: two findings of different lengths, given out of key order.
    The summary has the bound's description, complete, the depth closed, the counts, the seconds
    as they are (unrounded) and each finding's shortest length, by key string in key order;
    nothing else (not pruned, not the cases)."""
    steps = [
        {"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096},
        {"op": "complete_io", "page": 0},
    ]
    storm = FindingKey("recheck-locked", "retry_bound", "aio_write")
    early = FindingKey("pre", "completion", "aio_write")
    cert = Certificate(
        TINY,
        ["pre", "recheck-locked"],
        schedules=7,
        states=5,
        pruned=2,
        depth_done=2,
        seconds=1.23456,
        shortest={
            storm: Counterexample(storm, storm.signature, case_of(TINY, steps, "s"), 2, 6),
            early: Counterexample(early, early.signature, case_of(TINY, steps[:1], "e"), 1, 2),
        },
    )
    summary = cert.summary()
    assert summary == {
        "bound": "max_steps=3 pages=1 iocbs=1 queues=1 ops=aio_write,complete_io "
        "lookup_next=last+1 filtered_wakeups=off",
        "complete": False,
        "depth_closed": 2,
        "states": 5,
        "schedules": 7,
        "seconds": 1.23456,
        "shortest": {"pre/completion/aio_write": 1, "recheck-locked/retry_bound/aio_write": 2},
    }
    assert list(summary["shortest"]) == [str(early), str(storm)]
