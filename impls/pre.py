"""`pre`: the loop before the seed patch (the patch's `-` lines and their context).

Each page is locked to stabilise `page->index`, and `next` is moved past the page *before* the
operator runs, so a page the waiter could not wait for is already counted. page_waiter drops the
lock first, which wakes every entry on the hashed queue.
"""

from pagefuzz.impls.common import range_result
from pagefuzz.sim.cint import EIO, EIOCBRETRY, PAGE_CACHE_SHIFT, PAGEVEC_SIZE, unsigned
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import LOOKUP, PAGE, Gen
from pagefuzz.sim.world import Actor, Kernel, Operator, Version


class Pre(Version):
    name = "pre"
    summary = "before the seed patch: lock_page per page, next counts the page before the wait"
    stateless = True  # all its state is in the world (sim/storm.py)

    def operate_on_page_range(
        self, k: Kernel, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        nxt = first
        ret = 0
        if count == 0:
            return 0
        while True:
            pvec = k.pagevec_lookup(ctx, nxt, min(PAGEVEC_SIZE, unsigned(last - nxt + 1)))
            yield LOOKUP
            if not pvec:
                break
            for page in pvec:
                yield from k.lock_page(ctx, page)  # stabilise ->index
                if not page.mapping:  # truncated
                    k.unlock_page(ctx, page)
                    nxt = unsigned(nxt + 1)
                    continue
                nxt = unsigned(page.index + 1)
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error and not ret:
                    ret = -EIO
                if nxt > last:
                    break
            k.pagevec_release(pvec)
            if nxt > last or ret == -EIOCBRETRY:
                break
        return range_result(nxt, pos, count, ret)

    def page_writer(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        # Called with the page locked by the loop.
        if not k.test_clear_page_dirty(page):
            k.unlock_page(ctx, page)
            return 0
        yield from k.wait_on_page_writeback(ctx, page)
        return k.writepage(ctx, page)

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        k.unlock_page(ctx, page)  # wakes every waiter hashed to this queue
        return (yield from k.wait_on_page_writeback_wq(ctx, page))
