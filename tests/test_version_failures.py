"""A version's code that does not come back to the world, in the world itself (sim/failure.py):
the budget of world calls, exceptions caught for versions from outside the package, a version
that breaks the world's interface, and a kernel rule a version breaks (R12) recorded as the
kernel's BUG rather than tripping the simulator. Every expected value is worked out by hand in
the docstring from kernel-model.md (the project's spec, kept outside the repository) and
sim/failure.py's rules."""

from __future__ import annotations

import pytest
from misbehaving import TWO_WRITES
from mutants import SpinsOnWriteback

from pagefuzz.impls.fixed import Fixed
from pagefuzz.oracle import judge
from pagefuzz.sim import parse_case, run_case
from pagefuzz.sim.events import Message
from pagefuzz.sim.failure import WORLD_CALLS_MAX, VersionFailure
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import Gen
from pagefuzz.sim.record import RequestId
from pagefuzz.sim.world import Actor, World

ONE_PAGE = {
    "format": "pagefuzz/case-v1",
    "name": "one-page",
    "config": {"file_pages": 1},
    "steps": [{"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096}],
}


class Raises(Fixed):
    name = "raises"
    source_file = __file__

    def page_waiter(self, k: World, ctx: Actor, page: Page) -> Gen[int]:
        return page.index // 0
        yield  # a generator, like every operator


class YieldsGarbage(Fixed):
    name = "yields-garbage"

    def page_waiter(self, k: World, ctx: Actor, page: Page) -> Gen[int]:
        yield 42  # type: ignore[misc]
        return 0


def test_a_loop_that_calls_the_world_runs_out_of_its_budget_at_the_same_event() -> None:
    """one-page, in tests/mutants.py's SpinsOnWriteback (the reference, busy-waiting with gang
    lookups): step 0 submits A (SUBMIT, seq 0) and settles: A's dispatch starts with the log
    at seq 1, so its budget ends past seq 1 + 100,000. A copies p0 and writes it out, then the
    waiter looks p0 up once per turn, for ever. The event that would be seq 100,001 takes the log
    past the budget: it is counted, not kept, and the version's code is stopped there; the
    failure's own line is seq 100,002. The run ends at step 0 with no drain. The bounded log
    keeps seq 0..49,999 and the last 50,000 events, 50,002..100,000 and 100,002: it drops 2.
    Checks: `timeout` alone, for A (aio_write): the hang and end-of-run checks do not judge a
    run its version's failure cut short. Built-in versions are held to this budget too: no
    catching needed."""
    assert WORLD_CALLS_MAX == 100_000
    record = run_case(parse_case(ONE_PAGE), SpinsOnWriteback())
    failure = record.failure
    assert failure == VersionFailure(
        check="timeout",
        how="world calls",
        detail="100000 world calls without sleeping, ending or pausing",
        where="",
        step=0,
        actor="A",
        request=RequestId("A"),
        kind="aio_write",
    )
    last = record.events[-1]
    assert (last.seq, last.step, last.message) == (100_002, 0, Message.VERSION_FAILED)
    assert record.events_elided == 2
    assert not any(e.message is Message.DRAIN for e in record.events)
    verdict = judge(record)
    assert verdict.checks == ("timeout",)
    assert [str(k) for k in verdict.finding_keys] == ["mutant-spins/timeout/aio_write"]
    # The same run, again: the same event ends it.
    assert run_case(parse_case(ONE_PAGE), SpinsOnWriteback()).events[-1] == last


def test_an_exception_is_a_crash_only_where_the_world_catches_it() -> None:
    """one-page: A's first run copies p0, writes it out and calls the waiter, which divides by
    zero. Caught (a version from outside the package runs so): `crash` for A at step 0, the
    innermost frame in the version's own file named, the run ended there. Not caught (a
    built-in version, trusted not to raise): the exception is pagefuzz's, and propagates."""
    record = run_case(parse_case(ONE_PAGE), Raises(), catch_version_errors=True)
    failure = record.failure
    assert failure is not None
    assert (failure.check, failure.how, failure.step, failure.actor, failure.kind) == (
        "crash",
        "exception",
        0,
        "A",
        "aio_write",
    )
    assert failure.detail == "ZeroDivisionError: integer division or modulo by zero"
    line = Raises.page_waiter.__code__.co_firstlineno + 1
    assert failure.where == f"test_version_failures.py:{line} in page_waiter"
    assert judge(record).checks == ("crash",)
    assert record.requests[0].completed_at is None
    with pytest.raises(ZeroDivisionError):
        run_case(parse_case(ONE_PAGE), Raises())


def test_yielding_what_is_not_a_point_is_a_misuse() -> None:
    """The waiter yields 42 to the scheduler, which takes only sleeps and named points: a crash
    of kind `misuse` (only where errors are caught: a version from outside)."""
    record = run_case(parse_case(ONE_PAGE), YieldsGarbage(), catch_version_errors=True)
    assert record.failure is not None
    assert (record.failure.how, record.failure.detail) == (
        "misuse",
        "yielded 42, neither a sleep nor a named point",
    )


class WritesBackTwice(Fixed):
    """page_writer without the wait for a write-out already running (R12's one I/O per page)."""

    name = "writes-back-twice"

    def page_writer(self, k: World, ctx: Actor, page: Page) -> Gen[int]:
        yield from k.lock_page(ctx, page)
        if not page.mapping or not k.test_clear_page_dirty(page):
            k.unlock_page(ctx, page)
            return 0
        return k.writepage(ctx, page)


def test_a_second_write_out_in_flight_is_the_kernels_bug_not_the_simulators() -> None:
    """Two one-page AIO writes of p0. Step 0: A copies gen 1, writes it out (I/O of gen 1 in
    flight) and queues its entry. Step 1: B copies gen 2 into p0 (its unlock wakes A's entry:
    A is kicked) and B's writer, which does not wait for the write-out already running,
    starts a second one: the 2.6 writepage paths BUG_ON(PageWriteback(page)), so the world
    records a kernel BUG (R12), charged to B at step 1, and, as if BUG() returned (R14), the
    write-out in flight now carries gen 2. Both then wait; the drain's one completion puts
    gen 2 on disk and both complete with 4096 at step 2 (the drain). Checks: kernel_bug alone
    (completion is clean: gen 2 is A's and B's page's data on disk). `fixed` waits for the
    first write-out instead, writes gen 2 after it, and passes."""
    record = run_case(parse_case(TWO_WRITES), WritesBackTwice())
    assert [(b.kind, b.step, b.request) for b in record.kernel_bugs] == [
        ("writeback-in-flight", 1, RequestId("B"))
    ]
    assert "R12" in record.kernel_bugs[0].what
    assert [(r.name, r.result, r.completed_at) for r in record.requests] == [
        ("A", 4096, 2),
        ("B", 4096, 2),
    ]
    assert [(io.index, io.gen, io.error) for io in record.io_log] == [(0, 2, False)]
    assert judge(record).checks == ("kernel_bug",)
    assert judge(run_case(parse_case(TWO_WRITES), Fixed())).passed
