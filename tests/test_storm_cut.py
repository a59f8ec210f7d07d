"""Retry storms cut short (sim/storm.py): skipping whole cycles changes nothing a run records.

The proof the speed issue asks for: the corpus replays byte-identically (tests/test_golden.py
and CI's replay comparison), the explorer's shortest counterexamples are unchanged
(tests/test_explore.py), and here a random differential against the uncut run, plus a storm
worked by hand whose size is known for any settle bound.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from pagefuzz.fuzz.campaign.worker import random_bytes
from pagefuzz.fuzz.generation.decode import decode
from pagefuzz.impls.post import Post
from pagefuzz.impls.registry import built_in, get_version
from pagefuzz.oracle.evaluate import evaluate, evaluate_records
from pagefuzz.sim.case import parse_case
from pagefuzz.sim.world import World


def _storm_case(settle_bound: int) -> dict[str, object]:
    return {
        "format": "pagefuzz/case-v1",
        "name": "two-iocbs-one-page",
        "config": {"file_pages": 0, "wait_queues": 1, "settle_bound": settle_bound},
        "steps": [
            {"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096},
            {"op": "aio_write", "iocb": "B", "pos": 0, "count": 4096},
        ],
    }


@pytest.mark.parametrize("settle_bound", [64, 1000, 20000])
def test_a_storm_worked_by_hand(settle_bound: int) -> None:
    """recheck-locked, A and B each write page 0 (one wait queue), bound N:

    - step 0: A's run 1 copies into p0, starts its I/O, and queues its entry (p0 under
      writeback); step 1: B's run 1 copies (waking A: kick), then sleeps in
      wait_on_page_writeback; A's run 2 sleeps in lock_page (B holds p0).
    - drain (step 2): the I/O completes and wakes both; its settle dispatches A (woken in
      lock_page's loop, p0 still locked: sleeps again, same loop), B (ends run 1: new I/O,
      unlock wakes A, then -EIOCBRETRY queued), A (ends run 2: its unlock wakes B), then B run 2,
      A run 3, ...: dispatch d >= 4 is B's run d/2 (d even) or A's run (d+1)/2 (d odd), each
      waking the other on q0: the storm, a cycle of 2 dispatches. The bound stops it after
      dispatch N (B's run N/2, A's run N/2 before it), both kicked.
    - the second I/O completes; the next settle gives each one more run, which completes it.

    So each iocb runs N/2 + 1 times (33 at N = 64, as the corpus case shows) and completes
    with 4096. Cut and uncut runs record exactly the same; the cut one simulates few
    dispatches: after 8 dispatches it watches, and skips all whole cycles but the last."""
    case = parse_case(_storm_case(settle_bound), "storm")
    version = get_version("recheck-locked")
    cut = World(case, version)
    uncut = World(case, version, cut_storms=False)
    cut_record, uncut_record = cut.run(), uncut.run()
    assert repr(cut_record) == repr(uncut_record)
    runs = {r.name: (r.retries, r.result) for r in cut_record.requests}
    assert runs == {"A": (settle_bound // 2 + 1, 4096), "B": (settle_bound // 2 + 1, 4096)}
    assert cut.sched.dispatches == uncut.sched.dispatches
    assert uncut.sched.dispatches_skipped == 0
    # Everything past the watch's first cycles and the last whole cycle is skipped.
    assert cut.sched.dispatches_skipped >= settle_bound - 16


@pytest.mark.parametrize("settle_bound", [64, 1000])
def test_cut_runs_equal_uncut_runs_on_random_cases(settle_bound: int) -> None:
    """120 decoded random inputs (seed 3) in every built-in version: each record (every event,
    request, page state and bound hit) and every verdict is the uncut run's; and storms were
    cut at all (else this test could not fail)."""
    rng = random.Random(3)
    versions = [get_version(name) for name in built_in("2004-01")]
    skipped = 0
    for _ in range(120):
        case = decode(random_bytes(rng))
        case = replace(case, config=replace(case.config, settle_bound=settle_bound))
        for version in versions:
            cut = World(case, version)
            uncut = World(case, version, cut_storms=False)
            a, b = cut.run(), uncut.run()
            assert repr(a) == repr(b), case.to_json()
            skipped += cut.sched.dispatches_skipped
        cut_eval = evaluate_records(case, [World(case, v).run() for v in versions])
        uncut_eval = evaluate_records(
            case, [World(case, v, cut_storms=False).run() for v in versions]
        )
        assert [f.signature for f in cut_eval.failures] == [
            f.signature for f in uncut_eval.failures
        ]
    assert skipped > 0


def test_only_versions_declared_stateless_are_cut() -> None:
    """A subclass that does not declare `stateless` itself (it may keep state of its own, as a
    user's version or a C version may) runs every dispatch."""

    class Counting(Post):
        name = "counting"

    case = parse_case(_storm_case(64), "storm")
    assert World(case, get_version("post")).cut_storms
    assert not World(case, Counting()).cut_storms


def test_runs_without_timelines_record_the_same_facts() -> None:
    """A campaign's runs keep no timeline (`run_case(..., events=False)`, a `MessageLog`), and
    the explorer drops a world's timeline before draining it (`World.drop_timeline`): 80
    decoded random inputs (seed 5) at settle bounds 64 and 1,000 in every built-in version give
    records equal to the full run's in everything but the timeline (requests with their
    sequence numbers, bugs, bound hits, final state, progress, I/O log), the full run's messages
    in order, and the same verdicts. Storms are cut in all three."""
    from pagefuzz.sim.world import run_case

    rng = random.Random(5)
    versions = [get_version(name) for name in built_in("2004-01")]
    for _ in range(80):
        case = decode(random_bytes(rng))
        for bound in (64, 1000):
            case = replace(case, config=replace(case.config, settle_bound=bound))
            for version in versions:
                full = run_case(case, version)
                light = run_case(case, version, events=False)
                dropped = World(case, version)
                dropped.run_steps()
                dropped.drop_timeline()
                late = dropped.finish()
                bare = replace(full, events=(), events_elided=0)
                assert repr(replace(light, messages=())) == repr(bare)
                assert repr(replace(late, messages=())) == repr(bare)
                if not full.events_elided:
                    assert light.messages == tuple(e.message for e in full.events)
            assert [f.signature for f in evaluate(case, versions).failures] == [
                f.signature for f in evaluate(case, versions, events=False).failures
            ]
