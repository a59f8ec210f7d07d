"""`reference`: correct by construction, to prove the oracle (never run by default).

No cleverness to get wrong: every index of [first, last] is looked up on its own, page_writer
locks the page itself, page_waiter sleeps until the writeback bit clears even for an AIO retry
(so an iocb never queues its entry and never retries), and the count is exactly the bytes of the
pages finished. No page lock is taken in the wait path, so it wakes nobody.
"""

from pagefuzz.sim.cint import EIO, EIOCBRETRY, PAGE_CACHE_SHIFT
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import LOOKUP, PAGE, Gen
from pagefuzz.sim.world import Actor, Kernel, Operator, Version


class Reference(Version):
    name = "reference"
    summary = "correct by construction: one lookup per index, synchronous waits, exact count"
    stateless = True  # all its state is in the world (sim/storm.py)

    def operate_on_page_range(
        self, k: Kernel, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        if count == 0:
            return 0
        first = pos >> PAGE_CACHE_SHIFT
        last = (pos + count - 1) >> PAGE_CACHE_SHIFT  # inclusive
        ret = 0
        done = first  # every page below `done` has been handled without error
        stopped = False
        for index in range(first, last + 1):
            pvec = k.pagevec_lookup(ctx, index, 1)
            yield LOOKUP
            # The gang lookup has no upper bound: a page past `index` means a hole here, and
            # holes (reclaimed or truncated pages) hold nothing of ours in memory.
            page = pvec[0] if pvec and pvec[0].index == index else None
            if page is not None and page.mapping:
                yield PAGE
                err = yield from operator(k, ctx, page)
                if err == -EIOCBRETRY:
                    # Only an asynchronous waiter (a test subclass) gets here: this page is not
                    # done, so it is not counted and the next retry starts from it.
                    k.pagevec_release(pvec)
                    stopped = True
                    break
                if err and not ret:
                    ret = err  # the first error wins; later pages are still written and waited
            k.pagevec_release(pvec)
            if not ret:
                done = index + 1  # a failed page is never counted: a retry meets PG_error again
        if ret and not stopped:
            return ret
        # Exactly the bytes of the pages handled: all of [pos, pos + count) once done > last;
        # never the negative `(done << 12) - pos` that C's unsigned clamp turns into `count`.
        nbytes = count if done > last else max(0, (done << PAGE_CACHE_SHIFT) - pos)
        return nbytes if nbytes else -EIOCBRETRY  # 0 only when stopped at the first page

    def page_writer(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        yield from k.lock_page(ctx, page)
        if not page.mapping:  # truncated while we slept: nothing of ours left to write
            k.unlock_page(ctx, page)
            return 0
        if not k.test_clear_page_dirty(page):
            k.unlock_page(ctx, page)
            return 0
        yield from k.wait_on_page_writeback(ctx, page)  # one I/O per page at a time (R12)
        return k.writepage(ctx, page)  # starts the I/O and unlocks

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        # Synchronous even in AIO context: the iocb's entry is never queued, so no wakeup can be
        # lost, spurious, or delivered after completion. PG_error is sticky (R12).
        yield from k.wait_on_page_writeback(ctx, page)
        return -EIO if page.error else 0
