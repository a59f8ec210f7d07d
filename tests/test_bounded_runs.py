"""One run's memory is bounded (sim/eventlog.py) and a storm's trace is collapsed
(pagefuzz/_output.py), without changing any fact the oracle reads.

A valid case may ask for a million dispatches (settle_bound 1,000,000), about nine million events;
the log keeps the first and the last of them. These tests shrink the log instead of growing the
run: a tiny `EventLog` injected into `World` drops events from a storm of a few hundred, and every
fact and verdict must equal the unbounded run's. Speed and memory are measured by benchmarks, not
here.

The storm worked by hand (corpus/examples/storm-shared-queue.json, recheck-locked; p0 and p1 share
q0, settle_bound 50):
  step 0 (seq 0..14, 15 events): io_submit A; A's run 1 copies p0 (lock, copy, unlock), writes it
    out (lookup, lock, start I/O, unlock), waits (lookup, lock, unlock, queue on q0), sync, pwrite.
  step 1 (seq 15..473, 459 events): io_submit B; B's run 1 is A's 14 lines plus "wakes iocb A" and
    "kick_iocb A" after its copy's unlock (16); then 49 storm runs of 9 events each (run, lookup,
    lock, unlock, wake the other iocb, its kick, queue, sync, pwrite), dispatches 2..50, A on the
    even ones; then the bound line "settle bound 50 reached; still runnable: B": 1 + 16 + 441 + 1.
  step 2 (seq 474..500, 27): p0's I/O done (seq 474) wakes A, A's kick; B runs without waking
    anyone (A's entry is off the queue; 7 events); A runs: lookup, lock, unlock wakes B, B's kick,
    p0 not under writeback, sync, pwrite, "A completes" (10 events, complete at seq 493); B runs
    again (7).
  step 3 (seq 501..511, 11): p1's I/O done (seq 501), wake, kick; B's run: run, lookup, lock,
    unlock, not under writeback, sync, pwrite, "B completes" (seq 511).
  drain (step 4, seq 512): 513 events in all.
  A runs 1 + 25 + 1 = 27 times, B 25 + 2 + 1 = 28.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import pagefuzz
from rich.console import Console

from pagefuzz._casefile import load_case
from pagefuzz._output import Repeat, collapse_repeats, print_timelines
from pagefuzz.impls.registry import DEFAULT_VERSIONS, get_version
from pagefuzz.oracle import differential, judge
from pagefuzz.oracle.verdict import OBSERVABLE_KINDS, Divergence, first_divergence
from pagefuzz.sim import RunRecord, parse_case, run_case
from pagefuzz.sim.eventlog import ELIDED_KIND, EVENTS_HEAD_KEPT, EVENTS_TAIL_KEPT, EventLog
from pagefuzz.sim.events import Event, Message
from pagefuzz.sim.world import World

ROOT = Path(__file__).resolve().parent.parent
STORM = load_case(ROOT / "corpus" / "examples" / "storm-shared-queue.json")
R1 = ROOT / "corpus" / "examples" / "r1-wake-order.json"
#: The tiny log of these tests: 20 events kept at the start, 10 at the end.
HEAD, TAIL = 20, 10


def bounded_run(version: str, head: int = HEAD, tail: int = TAIL) -> RunRecord:
    return World(STORM, get_version(version), EventLog(head, tail)).run()


def _seqs(events: Iterable[Event]) -> list[int]:
    return [e.seq for e in events]


# ----------------------------------------------------------------------------- the log itself


def test_event_log_keeps_head_and_tail_and_counts_the_rest() -> None:
    """Ten events "aio_run_iocb A (run n)", seq n = 0..9, step n // 4 (0,0,0,0,1,1,1,1,2,2), into a
    log keeping 3 + 2: head seq 0,1,2; tail seq 8,9; dropped seq 3..7 (5 events), the first of
    them in step 0. Frozen: the head, one marker (seq 3, step 0, its values 5 dropped from seq 3
    to 7: "... 5 events elided (seq 3..7) ..."), the tail.
    since(0): kept 0,1,2,8,9 and 5 dropped; since(2): 2,8,9 and 5; since(5): 8,9 and 3 (5,6,7);
    since(8): 8,9 and 0; since(9): 9 and 0."""
    log = EventLog(3, 2)
    for seq in range(10):
        assert log.seq == seq
        log.log(seq // 4, "A", Message.RUN, ("A", seq))
    assert (log.seq, log.elided) == (10, 5)
    frozen = log.frozen()
    assert _seqs(frozen) == [0, 1, 2, 3, 8, 9]
    assert frozen[3] == Event(3, 0, "log", Message.ELIDED, (5, 3, 7))
    assert frozen[3].text == "... 5 events elided (seq 3..7) ..."
    assert [e.text for e in frozen if e.kind != ELIDED_KIND] == [
        f"aio_run_iocb A (run {s})" for s in (0, 1, 2, 8, 9)
    ]
    expected = {0: ([0, 1, 2, 8, 9], 5), 2: ([2, 8, 9], 5), 5: ([8, 9], 3), 8: ([8, 9], 0)}
    expected[9] = ([9], 0)
    for since, (kept, dropped) in expected.items():
        events, count = log.since(since)
        assert (_seqs(events), count) == (kept, dropped), since


def test_event_log_under_its_size_keeps_everything_and_no_marker() -> None:
    """Five events into 3 + 2 fill head and tail exactly: nothing dropped, no marker."""
    log = EventLog(3, 2)
    for _ in range(5):
        log.log(0, "A", Message.RUN, ("A", 1))
    assert (log.elided, _seqs(log.frozen())) == (0, [0, 1, 2, 3, 4])


def test_event_log_without_a_tail_drops_from_the_head_on() -> None:
    """Head 2, tail 0, four events with steps 0,1,2,3: seq 2 and 3 are dropped, the first of
    them in step 2, so the marker is seq 2, step 2."""
    log = EventLog(2, 0)
    for seq in range(4):
        log.log(seq, "A", Message.RUN, ("A", 1))
    assert log.elided == 2
    assert [(e.seq, e.step, e.kind) for e in log.frozen()] == [
        (0, 0, "run"),
        (1, 1, "run"),
        (2, 2, ELIDED_KIND),
    ]


def test_the_corpus_fits_the_default_log() -> None:
    """The largest corpus run is r1-wake-order's recheck-locked storm: step 0 15 events; step 1
    1 + 16 + 9999 * 9 + 1 = 90,009 (settle_bound 10,000); step 2 27, step 3 11, drain 1:
    90,063 events, under head + tail = 100,000, so it keeps every event and no marker."""
    assert EVENTS_HEAD_KEPT + EVENTS_TAIL_KEPT == 100_000
    record = run_case(load_case(R1), get_version("recheck-locked"))
    assert (len(record.events), record.events_elided) == (90_063, 0)
    assert _seqs(record.events) == list(range(90_063))


def test_elided_marker_is_not_observable() -> None:
    assert ELIDED_KIND not in OBSERVABLE_KINDS


# --------------------------------------------------------- the oracle's facts do not change


def test_tiny_log_keeps_exact_sequence_numbers() -> None:
    """recheck-locked on the storm with 20 + 10 events kept: 513 - 30 = 483 dropped, seq 20..502,
    the first (seq 20) in step 1. The facts carrying sequence numbers lie in the dropped stretch
    (I/O done at 474 and 501, A complete at 493) or the tail (B complete at 511) and stay exact.
    The record holds 20 + 1 + 10 = 31 events."""
    record = bounded_run("recheck-locked")
    assert record.events_elided == 483
    assert len(record.events) == 31
    marker = record.events[HEAD]
    assert (marker.seq, marker.step, marker.actor, marker.kind) == (20, 1, "log", ELIDED_KIND)
    assert marker.text == "... 483 events elided (seq 20..502) ..."
    assert _seqs(record.events) == [*range(20), 20, *range(503, 513)]
    assert [(io.seq, io.index) for io in record.io_log] == [(474, 0), (501, 1)]
    assert [(r.name, r.completed_seq, r.retries) for r in record.requests] == [
        ("A", 493, 27),
        ("B", 511, 28),
    ]
    assert record.to_json()["events_elided"] == 483


@pytest.mark.parametrize("version", [*DEFAULT_VERSIONS, "reference", "fixed"])
def test_tiny_log_changes_no_fact_and_no_verdict(version: str) -> None:
    """Everything but the timeline is equal with a 20 + 10 log and an unbounded one (requests
    with their wakeups and completion seqs, BUGs, bound hits, progress, I/O log, final state),
    and so is the verdict; the kept events are the full timeline's first 20 and last 10."""
    full = run_case(STORM, get_version(version))
    small = bounded_run(version)
    assert full.events_elided == 0
    assert small.events_elided == len(full.events) - HEAD - TAIL > 0
    assert replace(small, events=(), events_elided=0) == replace(full, events=(), events_elided=0)
    assert judge(small) == judge(full)
    assert small.events[:HEAD] == full.events[:HEAD]
    assert small.events[HEAD + 1 :] == full.events[-TAIL:]


def test_differential_is_unchanged_when_the_divergence_is_kept() -> None:
    """post and recheck-locked part in step 0 (recheck-locked's waiter locks and unlocks p0, seq
    < 20): the divergence lies in the kept head, so the whole differential (class, divergence,
    signature) equals the unbounded one."""
    full = {v: run_case(STORM, get_version(v)) for v in ("post", "recheck-locked")}
    small = {v: bounded_run(v) for v in ("post", "recheck-locked")}
    assert all(r.events_elided for r in small.values())
    d_full = differential(
        full["post"], judge(full["post"]), full["recheck-locked"], judge(full["recheck-locked"])
    )
    d_small = differential(
        small["post"], judge(small["post"]), small["recheck-locked"], judge(small["recheck-locked"])
    )
    assert d_full.first_divergence is not None and d_full.first_divergence.step == 0
    assert d_small == d_full


def test_first_divergence_past_the_head_reports_the_gap() -> None:
    """The same run bounded (20 + 10) against itself unbounded. Observable events before seq 20:
    step 0 has 15 events of which the two lookups, sync and pwrite are not observable (11), then
    B's submit, run, lock, copy and unlock (seq 15..19): 16. Position 16 is the marker on the left
    and "B: wakes iocb A (q0)" (seq 20, step 1) on the right. Two equal bounded runs: None."""
    small = bounded_run("recheck-locked")
    full = run_case(STORM, get_version("recheck-locked"))
    assert first_divergence(small, full) == Divergence(
        16, 1, "log: ... 483 events elided (seq 20..502) ...", "B: wakes iocb A (q0)"
    )
    assert first_divergence(small, bounded_run("recheck-locked")) is None


def test_state_key_with_dropped_history_equals_no_other() -> None:
    """T's sync_write sleeps on p0's writeback (q0) from step 0 while A and B storm on q0 in step
    2; every storm unlock wakes T, which sleeps again, so T's code (seq 1 on) is still running
    after the steps. Unbounded, two identical runs reach equal keys; with a 3 + 2 log T's history
    is partly dropped, and such a key must equal no other (the explorer never prunes it)."""
    case = parse_case(
        {
            "format": "pagefuzz/case-v1",
            "config": {"file_pages": 3, "queue_of": {"0": 0, "1": 0, "2": 0}, "settle_bound": 50},
            "steps": [
                {"op": "sync_write", "task": "T", "pos": 0, "count": 4096},
                {"op": "aio_write", "iocb": "A", "pos": 4096, "count": 4096},
                {"op": "aio_write", "iocb": "B", "pos": 8192, "count": 4096},
            ],
        }
    )

    def world(log: EventLog | None) -> World:
        w = World(case, get_version("recheck-locked"), log)
        w.run_steps()
        return w

    full = world(None)
    assert full.sched.tasks["T"].state == "asleep" and full.sched.tasks["T"].gen is not None
    assert full.events.elided == 0 and full.history.bound_hits
    assert full.state_key() == world(None).state_key()
    small = world(EventLog(3, 2))
    assert small.events.since(full.sched.tasks["T"].work_started)[1] > 0
    assert small.state_key() != world(EventLog(3, 2)).state_key()


# ------------------------------------------------------------------------ trace collapse


def _events(*lines: tuple[str, Message, tuple[int, ...]]) -> list[Event]:
    return [Event(seq, 1, actor, what, args) for seq, (actor, what, args) in enumerate(lines)]


def test_collapse_shows_first_and_last_repeat_around_one_line() -> None:
    """X "drain", then (A "locks pn", B "unlocks pn") for n = 1..6, then Y "resumes": lines
    1..12 repeat a 2-line block 6 times once numbers are blanked. Shown: X, the first block (seq
    1, 2), a Repeat of the 4 hidden repeats (seq 3..10), the last block (seq 11, 12), Y."""
    pairs = [
        line
        for n in range(1, 7)
        for line in (("A", Message.LOCK, (n,)), ("B", Message.UNLOCK, (n,)))
    ]
    events = _events(("X", Message.DRAIN, ()), *pairs, ("Y", Message.RESUME, ()))
    out = collapse_repeats(events)
    assert out == [events[0], events[1], events[2], Repeat(2, 4, 3, 10), *events[11:]]
    repeat = out[3]
    assert isinstance(repeat, Repeat)
    assert repeat.text() == "… the 2 lines above repeat 4 more times (events 3..10) …"


def test_collapse_leaves_three_repeats_alone() -> None:
    """Three repeats of a line: collapsing would show 3 lines for 3; nothing changes."""
    events = _events(*[("A", Message.LOCK, (i,)) for i in range(3)])
    assert collapse_repeats(events) == events
    four = _events(*[("A", Message.LOCK, (i,)) for i in range(4)])
    assert collapse_repeats(four) == [four[0], Repeat(1, 2, 1, 2), four[3]]
    assert Repeat(1, 1, 5, 5).text() == "… the line above repeats 1 more time (events 5..5) …"


def test_storm_trace_is_collapsed_and_the_rest_untouched() -> None:
    """`replay r1-wake-order --impl recheck-locked --trace`, piped (one line per event otherwise).
    Step 1 holds 90,009 events (seq 15..90,023): B's submit and first run (17 lines, index
    0..16), 9,999 storm runs of 9 lines (index 17..90,007) and the bound line. From index 14 (B's
    "p1 under writeback" line; nothing earlier starts 4 repeats) the 18-line block of a B run's
    last three lines, an A run and a B run's first six repeats to index 90,007: 89,994 lines,
    4,999 whole blocks and 12 lines over. Shown: 14 lines, the first block, one repeat line for
    4,997 hidden blocks (index 32..89,977, seq 47..89,992), the last block, the 12 lines, the
    bound line: 64 lines for step 1. Steps 0, 2, 3 and the drain have 15, 27, 11 and 1 events
    and no 4 repeats: 15 + 64 + 27 + 11 + 1 = 118 timeline lines."""
    proc = pagefuzz("replay", str(R1), "--impl", "recheck-locked", "--trace")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) < 400
    start = lines.index("  timeline recheck-locked") + 1
    end = lines.index("", start)
    timeline = lines[start:end]
    assert len(timeline) == 118
    repeats = [line for line in timeline if "repeat" in line]
    assert repeats == [
        "     1           … the 18 lines above repeat 4,997 more times (events 47..89,992) …"
    ]
    assert timeline[15 + 14 + 18] == repeats[0]
    assert (
        timeline[15 + 14] == "     1  B        p1 under writeback: entry queued on q0, -EIOCBRETRY"
    )
    assert timeline[15 + 62] == "     1  A        aio_pwrite -> -530, left 4096"
    assert timeline[-1] == "     4  sched    drain"


def test_trace_shows_the_elided_marker() -> None:
    """The 20 + 10 run's timeline, plain: the head's 15 step-0 lines and 5 step-1 lines, the
    marker in step 1, then the tail: seq 503..511 in step 3 (kick_iocb B onwards, 9 lines) and
    the drain. No block repeats 4 times in so short a timeline: 31 lines, each event shown."""
    buf = io.StringIO()
    print_timelines(Console(file=buf, width=100), {"recheck-locked": bounded_run("recheck-locked")})
    lines = buf.getvalue().splitlines()
    assert lines[0] == "  timeline recheck-locked"
    assert len(lines) == 1 + 31
    assert lines[1 + 20] == "     1  log      ... 483 events elided (seq 20..502) ..."
    assert lines[1 + 21] == "     3  B        kick_iocb B"
