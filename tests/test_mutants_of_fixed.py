"""The single-change mutants of `fixed` (benchmarks/mutants.toml, built by benchmarks/mutants.py)
that the mutation benchmark searches for (fuzz/bench/mutation.py, docs/mutants.md).

For each mutant, a small case worked by hand from kernel-model.md (the working is in the test's
docstring; steps are case step indices, the drain counts as step len(steps)): the mutant fails
the named checks on it and `fixed` passes every check. The two mutants argued to be equivalent
are run on a case that goes through the changed line: both versions pass and end the same, and
the test shows where the runs differ (harmlessly). Also: each mutant is fixed's code with one
change, the mutants stay out of the registry, `--stop-on-finding` ends a campaign at its first
finding, and the benchmark's explorer and page work on a small input.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import pagefuzz

from pagefuzz.fuzz.bench.mutation import (
    _explore_in,
    explore_mutant,
    mutants,
    run_campaign,
    version_spec,
)
from pagefuzz.fuzz.bench.mutation_render import render_mutants
from pagefuzz.impls.fixed import Fixed
from pagefuzz.impls.registry import REGISTRY
from pagefuzz.oracle import Verdict, judge
from pagefuzz.sim import RunRecord, Version, filemap, run_case
from pagefuzz.sim.case import FORMAT, Case, parse_case
from pagefuzz.sim.cint import EIO
from pagefuzz.sim.events import Message


def case(steps: list[dict[str, Any]], **config: Any) -> Case:
    return parse_case({"format": FORMAT, "name": "mutant-case", "config": config, "steps": steps})


def run(c: Case, version: type[Version]) -> tuple[RunRecord, Verdict]:
    record = run_case(c, version())
    return record, judge(record)


def caught(c: Case, mutant: type[Version], expected: set[str]) -> RunRecord:
    """The mutant fails exactly `expected` on `c`; fixed passes every check. The mutant's run."""
    _, fixed = run(c, Fixed)
    assert fixed.passed, [v.line() for v in fixed.violations]
    record, verdict = run(c, mutant)
    assert set(verdict.checks) == expected, [v.line() for v in verdict.violations]
    return record


def aio(iocb: str, pos: int, count: int) -> dict[str, Any]:
    return {"op": "aio_write", "iocb": iocb, "pos": pos, "count": count}


def io(page: int, error: bool = False) -> dict[str, Any]:
    return {"op": "complete_io", "page": page, **({"error": True} if error else {})}


# ------------------------------------------------------------------ the set of mutants


MUTANTS = mutants()
#: The mutant classes by class name (`mut.LastOffByOne`), as `py:benchmarks/mutants.py:Class`.
mut = SimpleNamespace(**{cls.__name__: cls for cls in MUTANTS.values()})
#: The module that built them (benchmarks/mutants.py), for its helpers.
built = sys.modules[next(iter(MUTANTS.values())).__module__]


def test_at_least_twelve_mutants_named_after_fixed_and_not_registered() -> None:
    assert len(MUTANTS) >= 12
    for name, cls in MUTANTS.items():
        assert name == cls.name and name.startswith("fixed~"), name
        assert issubclass(cls, Fixed) and cls is not Fixed
        assert cls not in REGISTRY.values() and name not in REGISTRY
        assert cls.__doc__ and cls.summary


@pytest.mark.parametrize("cls", list(MUTANTS.values()), ids=list(MUTANTS))
def test_each_mutant_is_fixed_with_one_marked_change(cls: type[Version]) -> None:
    """A mutant overrides exactly the method its change names; the changed source differs from
    the original (fixed's method, or the kernel function it sees) by one change (one run of
    replaced, added or removed lines, or a line moved: two runs) carrying the one `# MUTANT:`."""
    change = cls.change  # type: ignore[attr-defined]
    overridden = [m for m in built.METHODS if m in vars(cls)]
    assert overridden == [change.method]
    if change.kernel:
        original = built.source_of(getattr(filemap, change.kernel))
    else:
        original = built.source_of(getattr(Fixed, change.method))
    theirs = original.splitlines()
    ours = built.changed_source(original, change).splitlines()
    hunks = [
        (tag, theirs[i1:i2], ours[j1:j2])
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=theirs, b=ours).get_opcodes()
        if tag != "equal"
    ]
    assert 1 <= len(hunks) <= 2, hunks
    assert sum(line.count("# MUTANT:") for line in ours) == 1
    assert any("# MUTANT:" in line for _, _, new in hunks for line in new), hunks


def test_a_change_that_no_longer_applies_is_an_error_naming_the_mutant() -> None:
    """When fixed's code moves on so that a change's `old` text is gone (or occurs twice), the
    mutant is not silently built from other code: building it names the mutant, the field and
    where it looked."""
    change = mut.NoBreakOnRetry.change
    gone = dataclasses.replace(change, old="                retry()\n")
    with pytest.raises(ValueError) as info:
        built.build(gone)
    assert str(info.value) == (
        "mutants.toml: mutant NoBreakOnRetry: field 'old' occurs 0 times in "
        "Fixed.operate_on_page_range (expected once: was the original changed?)"
    )
    twice = dataclasses.replace(change, old="                break\n")
    with pytest.raises(ValueError, match=r"field 'old' occurs [2-9] times"):
        built.build(twice)


def test_a_malformed_mutant_table_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(
        '[[mutant]]\nclass = "X"\nname = "fixed~x"\nsummary = "s"\n'
        'method = "page_writer"\nold = "a"\nnew = ""\ndoc = "d"\n'
    )
    with pytest.raises(ValueError) as info:
        built.load_changes(path)
    assert str(info.value) == f"{path}: mutant 0: field 'new' must be a non-empty string"
    path.write_text(path.read_text().replace("page_writer", "writepage"))
    with pytest.raises(ValueError, match="field 'method' must be one of"):
        built.load_changes(path)


def test_a_kernel_change_reaches_only_the_calls_it_names() -> None:
    """fixed~writer-unlock-no-wakeup changes unlock_page only as the writepage its page_writer
    calls sees it: the kernel it runs with has a writepage compiled again around the changed
    unlock_page, and every other call (page_writer's own unlock_page of a clean or truncated
    page among them) is the world's. fixed~lost-wakeup changes wait_on_page_writeback_wq
    itself, the one call it names."""
    calls = built.changed_calls(mut.WriterUnlockWithoutWakeup.change)
    assert list(calls) == ["writepage"]
    unlock = calls["writepage"].__globals__["unlock_page"]
    assert unlock is not filemap.unlock_page
    assert unlock.__code__.co_filename == (
        "<sim/filemap.py:unlock_page as WriterUnlockWithoutWakeup changes it>"
    )
    calls = built.changed_calls(mut.LostWakeup.change)
    assert list(calls) == ["wait_on_page_writeback_wq"]
    assert calls["wait_on_page_writeback_wq"].__code__.co_filename == (
        "<sim/filemap.py:wait_on_page_writeback_wq as LostWakeup changes it>"
    )


# ------------------------------------------------------------------ caught, worked by hand


def test_last_off_by_one_completes_with_entry_on_the_next_page() -> None:
    """Two pages. Step 0: B's AIO write of p1: B copies p1, writes it out and queues on p1's
    queue (q1), -EIOCBRETRY. Step 1: A's AIO write of p0: the mutant's last = (0 + 4096) >> 12 =
    1. Write-out phase: p0 written out, p1 clean (B took its dirty bit): 0. Wait phase: p0 under
    writeback, A queues on q0. Step 2: p0's I/O ends and wakes q0; A's retry finds p0 done
    (curr = 1) and p1, beyond A's range, still under B's write-out: A's entry goes on q1 and the
    call returns -EIOCBRETRY with done = (1 << 12) - 0 = 4096 = count: aio_pwrite has nothing
    left and completes A at step 2 with its entry queued: kernel_bug (and again at the drain,
    when p1's I/O wakes the completed iocb's entry). fixed: last = 0, the retry ends on curr =
    1 > last, nothing queued; B completes at the drain."""
    c = case([aio("B", 4096, 4096), aio("A", 0, 4096), io(0)], file_pages=2, wait_queues=2)
    record = caught(c, mut.LastOffByOne, {"kernel_bug"})
    assert record.request("A").completed_at == 2
    assert record.kernel_bugs[0].what == "aio_complete of A while its wait entry is on q1"


def test_nr_off_by_one_never_syncs_the_last_page() -> None:
    """One page. Step 0: A copies p0 (dirty). Both phases ask the lookup for min(16, last - curr)
    = 0 pages, find none and take the range as done (curr = last + 1): 4096, and A completes at
    step 0 with p0 dirty, never written out: completion. Nothing was queued: no BUG. fixed asks
    for 1 page, writes p0 out, queues, and completes at the drain (step 1)."""
    c = case([aio("A", 0, 4096)], file_pages=1)
    record = caught(c, mut.LookupNrOffByOne, {"completion"})
    assert record.request("A").completed_at == 0 and record.request("A").result == 4096


def test_first_rounds_up_skips_the_partial_first_page() -> None:
    """Two pages, A writes bytes 512..4607 (p0 and p1). The mutant's first = (512 + 4095) >> 12 =
    1 = last: only p1 is written out and waited on. Step 0: A queues on p1, returning done =
    (1 << 12) - 512 = 3584. The drain (step 1) completes p1's I/O; A's retry from pos 4096 finds
    p1 done and A completes 4096 at step 1 with p0 still dirty: completion (which also covers the
    3584-byte progress report, so byte_count stays silent). fixed writes and waits on both."""
    c = case([aio("A", 512, 4096)], file_pages=2)
    record = caught(c, mut.FirstRoundsUp, {"completion"})
    assert record.request("A").completed_at == 1


@pytest.mark.parametrize("mutant", [mut.NoBreakOnRetry, mut.CountsBeforeWait])
def test_a_page_counted_before_its_wait(mutant: type[Version]) -> None:
    """One page, one AIO write: the walk-through case of pre's bug. Step 0: A writes p0 out; in
    the wait phase p0 is under writeback, A's entry goes on q0 and the operator returns
    -EIOCBRETRY. No-break-on-retry goes on to `curr++`; counts-before-wait did `curr++` before the
    operator: either way curr = 1, done = 4096 = count, and A completes at step 0 with p0 under
    writeback (completion) and its entry queued (kernel_bug; the drain's I/O end then wakes the
    completed iocb's entry, a second BUG). fixed completes at step 1, after the I/O."""
    c = case([aio("A", 0, 4096)], file_pages=1)
    record = caught(c, mutant, {"completion", "kernel_bug"})
    assert record.request("A").completed_at == 0 and len(record.kernel_bugs) == 2


def test_skips_page_error_reports_a_failed_write_as_done() -> None:
    """One page. Step 0: A queues on p0. Step 1: p0's I/O fails (PG_error) and wakes q0; A's
    retry (SYNCED: wait phase only) finds p0 no longer under writeback: 0. Without the PageError
    test, curr = 1 and A completes 4096 at step 1: error (no -EIO). p0 is neither dirty nor
    under writeback, so completion has nothing to say. fixed returns -EIO at step 1."""
    c = case([aio("A", 0, 4096), io(0, error=True)], file_pages=1)
    record = caught(c, mut.SkipsPageError, {"error"})
    assert record.request("A").result == 4096
    assert run(c, Fixed)[0].request("A").result == -EIO


def test_error_overwritten_by_the_next_page() -> None:
    """Two pages, a synchronous O_SYNC write. Step 0: T copies and writes out p0 and p1, then
    sleeps on p0. Step 1: p0's I/O fails and wakes T: the wait returns 0, PG_error sets ret =
    -EIO, but the loop goes on (curr = 1) to p1, still under writeback: T sleeps. The drain
    (step 2) completes p1: the wait returns 0, ret = 0, curr = 2: T returns 8192: error. fixed
    returns -EIO at step 1."""
    c = case(
        [{"op": "sync_write", "task": "T", "pos": 0, "count": 8192}, io(0, error=True)],
        file_pages=2,
    )
    record = caught(c, mut.ErrorOverwritten, {"error"})
    assert record.request("T").result == 8192 and record.request("T").completed_at == 2


def test_clamp_without_floor_returns_a_negative_count() -> None:
    """Two pages, A writes bytes 512..4607. Step 0: both pages written out; in the wait phase p0
    is under writeback, A queues on q0, curr = 0: done = (0 << 12) - 512 = -512, and min(-512,
    4096) = -512, not 0, is returned. aio_write passes it up as it is (negative), aio_pwrite
    completes A with -512 at step 0, entry queued: byte_count (-512 is no errno of this path)
    and kernel_bug. fixed clamps to 0, returns -EIOCBRETRY and completes 4096 at step 1."""
    c = case([aio("A", 512, 4096)], file_pages=2)
    record = caught(c, mut.ClampWithoutFloor, {"byte_count", "kernel_bug"})
    assert record.request("A").result == -512


def test_no_upper_bound_waits_on_a_page_beyond_the_range() -> None:
    """corpus/examples/post-lookup-beyond-last.json, run in fixed and the mutant. Step 1: A copies
    p0, writes it out, queues on q0. Step 2: p0's I/O ends (A kicked, not run: auto_settle off).
    Step 3: reclaim evicts p0 (clean, idle, only the cache's reference): a hole at A's page.
    Steps 4-5: W's buffered write dirties p1; step 6: flush starts p1's write-out. Step 7: A's
    retry looks up 1 page from 0 and gets p1 (no upper bound). fixed: 1 > last = 0, curr = 1,
    4096, done. The mutant waits on p1: under writeback, A's entry goes on q1 and done = 4096 =
    count: A completes at step 7 with its entry queued: kernel_bug."""
    c = case(
        [
            aio("A", 0, 4096),
            {"op": "run", "iocb": "A"},
            io(0),
            {"op": "reclaim", "page": 0},
            {"op": "write", "task": "W", "pos": 4096, "count": 4096},
            {"op": "run", "task": "W"},
            {"op": "flush", "page": 1},
            {"op": "run", "iocb": "A"},
        ],
        file_pages=2,
        auto_settle=False,
    )
    record = caught(c, mut.NoUpperBound, {"kernel_bug"})
    assert record.request("A").completed_at == 7


def _truncation_race(pages: int) -> Case:
    """A writes `pages` pages and stops twice at a lookup (the write-out phase's, then the wait
    phase's, holding [p0..]); truncation to 0 then runs, and A resumes last."""
    steps: list[dict[str, Any]] = [
        aio("A", 0, 4096 * pages),
        {"op": "run", "iocb": "A", "until": "lookup"},
        {"op": "run", "iocb": "A", "until": "lookup"},
        {"op": "truncate", "task": "T", "size": 0},
        {"op": "run", "task": "T"},
        io(0),
        {"op": "run", "task": "T"},
        {"op": "run", "iocb": "A"},
    ]
    return case(steps, file_pages=pages, auto_settle=False)


def test_truncated_ends_range_credits_a_page_still_in_flight() -> None:
    """Two pages. Steps 1-2: A copies p0, p1, writes both out (both under writeback) and stops
    after the wait phase's lookup, holding [p0, p1]. Steps 3-4: truncation to 0: pass 1 skips
    both (under writeback); pass 2 locks p0 and sleeps on its write-out. Step 5: p0's I/O ends;
    step 6: T removes p0, unlocks it, locks p1 and sleeps on its write-out. Step 7: A resumes:
    p0 has no mapping. fixed skips it (curr = 1) and queues on p1, still under writeback; it
    completes at the drain. The mutant takes the truncated page for the end of the range,
    curr = last + 1 = 2: A completes 8192 at step 7 with p1 still under writeback (and locked
    by the truncation): completion."""
    record = caught(_truncation_race(2), mut.TruncatedEndsRange, {"completion"})
    assert record.request("A").completed_at == 7 and record.request("A").result == 8192


def test_lost_wakeup_hangs_the_iocb() -> None:
    """Two pages, two queues, both pages pinned to q0. Step 0: A's AIO write of p1: A writes p1
    out; in the wait phase the mutant's helper queues A's entry on q(1 % 2) = q1, not on p1's
    queue q0, and returns -EIOCBRETRY. The drain completes p1's I/O, whose end wakes q0, where
    nobody waits; nothing touches q1: A is never retried: hang. fixed queues on q0, is woken and
    completes at step 1."""
    c = case([aio("A", 4096, 4096)], file_pages=2, wait_queues=2, queue_of={"0": 0, "1": 0})
    record = caught(c, mut.LostWakeup, {"hang"})
    assert record.request("A").completed_at is None


def test_retry_without_queueing_storms() -> None:
    """One page. Step 0: A writes p0 out; the wait finds p0 under writeback and the mutant's
    helper returns -EIOCBRETRY without queueing A's entry. aio_run_iocb sees -EIOCBRETRY with
    the entry on no queue and kicks A again at once (rule 15), and again, until the settle bound
    (64 runs) stops step 0: retry_bound (a storm). The drain then completes p0 and A: no other
    check fires. fixed queues once and is retried once, by the I/O end."""
    c = case([aio("A", 0, 4096)], file_pages=1, settle_bound=64)
    record = caught(c, mut.RetryWithoutQueueing, {"retry_bound"})
    assert record.settle_bound_hits and record.settle_bound_hits[0].step == 0


# ------------------------------------------------------------------ argued equivalent


def _lookups(record: RunRecord, actor: str) -> int:
    return sum(1 for e in record.events if e.actor == actor and e.message is Message.LOOKUP_NEXT)


def test_truncated_no_advance_is_equivalent_on_its_own_path() -> None:
    """One page: the truncation race of test_truncated_ends_range with one page. Step 7: A resumes
    with [p0], p0 removed. fixed: curr = 1 > last, 4096. The mutant leaves curr = 0 and looks up
    once more from 0: p0 is gone, the lookup finds nothing, curr = last + 1 = 1, 4096: the same
    result at the same step, one lookup more; both pass every check (p0 left the file, so its
    state is not A's to answer for)."""
    c = _truncation_race(1)
    fixed, fixed_verdict = run(c, Fixed)
    mutant, mutant_verdict = run(c, mut.TruncatedNoAdvance)
    assert fixed_verdict.passed and mutant_verdict.passed
    assert mutant.request("A").result == fixed.request("A").result == 4096
    assert mutant.request("A").completed_at == fixed.request("A").completed_at == 7
    assert _lookups(mutant, "A") == _lookups(fixed, "A") + 1  # the changed line ran


def _lock_step(record: RunRecord, actor: str) -> int:
    return next(e.step for e in record.events if e.actor == actor and e.message is Message.LOCK)


def test_writer_unlock_without_wakeup_wakes_late_not_never() -> None:
    """One page. Steps 0-1: W's buffered write dirties p0, flush starts its write-out (#1). Step
    2: A's AIO write copies p0 (dirty again); page_writer locks p0, clears dirty and sleeps
    holding the lock until write-out #1 ends. Step 3: L's lock_page sleeps on q0. Step 4: #1 ends
    and wakes q0: L first (queued last), finds p0 still locked and sleeps again; A starts
    write-out #2 and unlocks. fixed's unlock wakes q0: L takes the lock at step 4. The mutant's
    wakes nobody: L sleeps on until the drain (step 5) ends #2, whose end_page_writeback wakes
    q0 (A's AIO entry and L): L takes the lock at step 5, late but not lost. Both pass every
    check; A completes at the drain in both."""
    c = case(
        [
            {"op": "write", "task": "W", "pos": 0, "count": 4096},
            {"op": "flush", "page": 0},
            aio("A", 0, 4096),
            {"op": "lock_page", "task": "L", "page": 0},
            io(0),
        ],
        file_pages=1,
    )
    fixed, fixed_verdict = run(c, Fixed)
    mutant, mutant_verdict = run(c, mut.WriterUnlockWithoutWakeup)
    assert fixed_verdict.passed and mutant_verdict.passed
    assert (_lock_step(fixed, "L"), _lock_step(mutant, "L")) == (4, 5)
    assert mutant.request("A").completed_at == fixed.request("A").completed_at == 5


# ------------------------------------------------------------------ the benchmark's parts


def test_explorer_finds_a_mutant_shortest_and_not_fixed_within_the_same_bound() -> None:
    """The benchmark's explorer: the no-break mutant shows at length 1 (the one-page AIO write of
    test_a_page_counted_before_its_wait) in the first bound. The exploration stops once length 1
    is judged in full (explore's `stop`): depth 1 closed, the bound not complete. Length 1 of
    `auto` is 5 schedules (A's writes of p0, p0-p1, p1 and the unaligned one, and T's
    synchronous write; complete_io cannot act on an empty disk), after the empty one: 6, all
    distinct. The first write judged (schedule 2, A's write of p0) shows both checks."""
    result = explore_mutant("fixed~no-break-on-retry", 5.0)
    assert result["found"] and result["shortest"] == 1 and result["bound"] == "auto"
    tried = result["tried"][0]
    assert {"completion", "kernel_bug"} <= set(tried["checks"])
    assert (tried["depth_closed"], tried["complete"]) == (1, False)
    assert (tried["schedules"], tried["states"], tried["schedules_to_first"]) == (6, 6, 2)
    assert tried["case"]["steps"] == [{"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096}]


def test_the_benchmark_explores_in_a_spawned_process_as_in_this_one() -> None:
    """measure_mutants runs each mutant's exploration in a spawned process (no CLI, nothing
    parsed from output): what comes back is what explore_mutant returns here, but the seconds."""

    def timeless(result: dict[str, Any]) -> dict[str, Any]:
        return {**result, "tried": [{**t, "seconds": None} for t in result["tried"]]}

    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as explorers:
        there = _explore_in(explorers, "fixed~no-break-on-retry", 5.0)
    assert "error" not in there, there
    assert timeless(there) == timeless(explore_mutant("fixed~no-break-on-retry", 5.0))


def test_a_campaign_row_comes_from_the_campaign_directory() -> None:
    """run_campaign reads the campaign's campaign.json (and its first finding's file): the
    no-break mutant's first finding is minimised to its one-step case (the one-page AIO write),
    which fixed passes and the mutant fails with completion and kernel_bug. A campaign that
    cannot start (an unknown engine: no campaign.json) is a row with the error it printed."""
    row = run_campaign("fixed~no-break-on-retry", "random", 1, 600.0)
    assert row["found"] and "error" not in row, row
    assert row["finding"] in ("completion/aio_write", "kernel_bug/aio_write")
    assert row["steps_minimized"] == 1 and 1 <= row["executions"] <= row["campaign_executions"]
    assert (row["fixed_checks"], row["mutant_checks"]) == ([], ["completion", "kernel_bug"])
    failed = run_campaign("fixed~no-break-on-retry", "no-such-engine", 1, 1.0)
    assert failed["found"] is False and "invalid choice: 'no-such-engine'" in failed["error"]


def test_render_names_every_mutant_and_the_reason_nothing_found_one() -> None:
    runs = [
        {"found": True, "executions": 5, "steps_minimized": 1},
        {"found": True, "executions": 10, "steps_minimized": 2},
    ]
    engines = {"random": {"found": 2, "seeds": 2, "median_executions": 7.5, "runs": runs}}
    missed = {"random": {"found": 0, "seeds": 2, "median_executions": None, "runs": []}}
    result = {
        "settings": {
            "seeds": 2,
            "campaign_seconds": 60.0,
            "explore_seconds_per_bound": 30.0,
            "explore_bounds": {"auto": "max_steps=8"},
            "jobs_side_by_side": 2,
            "engines": ["random"],
        },
        "machine": {"cpus": 2},
        "mutants": [
            {"name": "fixed~a", "summary": "breaks a", "engines": engines,
             "explore": {"found": True, "shortest": 1, "bound": "auto"}},
            {"name": "fixed~b", "summary": "breaks b", "engines": missed,
             "explore": {"found": False}, "reason": "equivalent within the bounds"},
        ],
    }  # fmt: skip
    text = render_mutants(result)
    assert text.startswith("## Search power on unplanted bugs: mutants of `fixed`")
    assert "| `fixed~a` | breaks a | 1 (auto) | 1 | 2/2, 8 |" in text
    assert "| `fixed~b` | breaks b | none | - | 0/2, - |" in text
    assert "Best: random, 1 of 1: met." in text
    assert "`fixed~b`: found by no engine: equivalent within the bounds." in text


def test_stop_on_finding_ends_the_campaign_at_its_first_finding(tmp_path: Path) -> None:
    """An hour-long random campaign on a mutant found in a few executions ends at its first
    finding, with the executions to it: that it returns at all (within the helper's bound on
    any command) is the proof; no clock is read here."""
    out = tmp_path / "c"
    proc = pagefuzz(
        "fuzz", "--engine", "random", "--versions", version_spec(mut.NoBreakOnRetry),
        "--time", "3600", "--fresh", "--out", str(out), "--stop-on-finding", "--json",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # new findings
    summary = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert summary["status"] == "done" and summary["findings"]
    first = summary["findings"][0]
    assert first["key"].endswith(("/completion/aio_write", "/kernel_bug/aio_write"))
    assert 1 <= first["first_seen_executions"] <= summary["executions"]
    assert "--stop-on-finding" in pagefuzz("fuzz", "--help").stdout
