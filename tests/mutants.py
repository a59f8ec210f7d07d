"""Versions with one deliberate bug each, to prove the oracle (tests/test_oracle.py).

Each mutant starts from a correct version and overrides the least it can. Its docstring says what
it breaks and which check must catch it; test_oracle replays the shipped case named in
`MUTANT_CASES` and asserts that exactly that check fires. A check that also fired for an
unrelated reason would make the oracle's answer ambiguous; a check that stayed silent would mean
the oracle misses that bug.

`AioWaiting` is not a mutant: it is the reference with the real asynchronous AIO wait (queue the
iocb's entry, return -EIOCBRETRY, let the retry come back), so that the mutants of the retry path
have a correct base to break. It passes every case its mutants are caught on.
"""

from __future__ import annotations

from pagefuzz.impls.reference import Reference
from pagefuzz.sim.cint import EIO, EIOCBRETRY, PAGE_CACHE_SHIFT
from pagefuzz.sim.kernel import Kernel
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import Gen
from pagefuzz.sim.world import Actor, Operator


class AioWaiting(Reference):
    """Correct, asynchronous: an AIO retry queues its entry on the page's queue and returns
    -EIOCBRETRY; the reference loop then counts only the pages before it, and the retry that
    the wakeup brings starts again from that page and checks it again."""

    name = "aio-waiting"

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        ret = yield from k.wait_on_page_writeback_wq(ctx, page)
        if ret == -EIOCBRETRY:
            return ret
        return -EIO if page.error else 0


class CompletesWithoutWaiting(Reference):
    """page_waiter does not wait at all: the write reports success while its pages are still in
    flight. Caught by `completion` (the pages are late when success is reported)."""

    name = "mutant-no-wait"

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        return -EIO if page.error else 0
        yield  # a generator, like every operator


class CountsWaitedPage(AioWaiting):
    """Counts the page it is waiting for, as pre's `next = page->index + 1` before the operator
    did: a call that stops at page i with -EIOCBRETRY claims the bytes through page i, and no
    retry ever checks page i again. Caught by `byte_count` (a progress report counts a page
    still under writeback) on a case where that page still reaches the disk before the write
    completes, so `completion` has nothing to say."""

    name = "mutant-counts-waited"

    def operate_on_page_range(
        self, k: Kernel, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        ret = yield from super().operate_on_page_range(k, ctx, pos, count, operator)
        if ret == -EIOCBRETRY or (0 <= ret < count):
            done = max(ret, 0)  # bytes before the page it stopped at
            waited = (pos + done) >> PAGE_CACHE_SHIFT  # that page
            return min(count, ((waited + 1) << PAGE_CACHE_SHIFT) - pos)
        return ret


class DropsWakeup(AioWaiting):
    """Queues the iocb's entry on the wrong wait queue (the next one, not the page's): the I/O
    completion wakes the page's queue, finds nobody, and the iocb is never retried. Caught by
    `hang` (after the drain nothing can wake the request). The case needs wait_queues >= 2 and
    nothing else touching the wrong queue."""

    name = "mutant-drops-wakeup"

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        wait = ctx.io_wait
        if wait is None or not page.writeback:
            return (yield from super().page_waiter(k, ctx, page))
        if wait.queue is None:
            k.add_wait_queue((k.page_waitqueue(page) + 1) % k.wait_table_size(), wait)
        return -EIOCBRETRY


class LeavesPageLocked(Reference):
    """page_waiter takes the page lock (as pre's loop did, to stabilise the index) and never
    drops it. Caught by `kernel_bug` (a page still locked by kernel code at the end), on a case
    where nobody needs that lock afterwards (or they would sleep forever: a hang)."""

    name = "mutant-leaves-locked"

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        yield from k.lock_page(ctx, page)
        return (yield from super().page_waiter(k, ctx, page))


class CountsDespiteError(Reference):
    """Waits, but ignores PG_error: a write whose page failed to reach the disk reports its full
    count. Caught by `error` (an I/O error on the request's data, and no -EIO)."""

    name = "mutant-ignores-error"

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        yield from k.wait_on_page_writeback(ctx, page)
        return 0


class NeverRechecksWokenPage(AioWaiting):
    """Trusts a wakeup: the retry after the iocb was woken takes the page it had queued on as
    done without looking at it again (the bug the seed's description says pre had). Any unlock
    on a shared queue then completes the write early. Caught by `completion` on a case where a
    spurious wakeup (another page's unlock on the same queue) arrives while the page is still
    under writeback and the write completes on that retry."""

    name = "mutant-never-rechecks"

    def __init__(self) -> None:
        self.queued_on: dict[str, Page] = {}  # iocb -> the page its entry was queued for

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        if self.queued_on.pop(ctx.name, None) is page:
            return 0  # woken, so it must be done: the missing re-check
        ret = yield from super().page_waiter(k, ctx, page)
        if ret == -EIOCBRETRY:
            self.queued_on[ctx.name] = page
        return ret


class SpinsOnWriteback(Reference):
    """Busy-waits for the writeback bit instead of sleeping: while the page is under writeback
    it looks the page up again and again, and nothing it does can end the write-out. Caught by
    `timeout` (the world's budget of world calls without sleeping, sim/failure.py): a loop in
    kernel code is a finding, not a hung pagefuzz."""

    name = "mutant-spins"

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        while page.writeback:
            k.pagevec_release(k.pagevec_lookup(ctx, page.index, 1))
        return (yield from super().page_waiter(k, ctx, page))


class OopsesOnIoError(Reference):
    """Dies on an I/O error instead of returning -EIO: after the wait it divides the pages it
    counted by the pages that reached the disk, none when the I/O failed. Caught by `crash` (an
    exception out of a version's code, run as one from outside the package is)."""

    name = "mutant-oopses"

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        yield from k.wait_on_page_writeback(ctx, page)
        on_disk = 0 if page.error else 1
        return 1 // on_disk - 1


#: mutant class -> (its shipped case under corpus/examples, the one check that must catch it).
MUTANT_CASES: dict[type[Reference], tuple[str, str]] = {
    CompletesWithoutWaiting: ("mutant-sync-write.json", "completion"),
    CountsWaitedPage: ("check-byte_count.json", "byte_count"),
    DropsWakeup: ("check-hang.json", "hang"),
    LeavesPageLocked: ("mutant-sync-write.json", "kernel_bug"),
    CountsDespiteError: ("check-error.json", "error"),
    NeverRechecksWokenPage: ("mutant-spurious-wakeup.json", "completion"),
    SpinsOnWriteback: ("check-timeout.json", "timeout"),
    OopsesOnIoError: ("check-crash.json", "crash"),
}
