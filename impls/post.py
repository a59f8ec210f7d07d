"""`post`: the loop after the seed patch (the patch's `+` lines and their context).

The gang lookup hands back the next index (`&next`), so no page lock is needed for the index;
`curr` counts a page only after the operator returned for it. The unchanged `if (next > last)`
now tests the lookup cursor, not the page just processed. page_writer takes the lock itself.
"""

from pagefuzz.impls.common import range_result
from pagefuzz.sim.cint import EIO, EIOCBRETRY, PAGE_CACHE_SHIFT, PAGEVEC_SIZE, unsigned
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import LOOKUP, PAGE, Gen
from pagefuzz.sim.world import Actor, Kernel, Operator, Version


class Post(Version):
    name = "post"
    summary = "the seed patch: pagevec_lookup(&next), progress counted in curr after the wait"
    stateless = True  # all its state is in the world (sim/storm.py)

    def operate_on_page_range(
        self, k: Kernel, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        nxt = first
        curr = first
        ret = 0
        if count == 0:
            return 0
        while True:
            pvec, nxt = k.pagevec_lookup_next(ctx, nxt, min(PAGEVEC_SIZE, unsigned(last - nxt + 1)))
            yield LOOKUP
            if not pvec:
                break
            for page in pvec:
                curr = page.index
                if curr > nxt or not page.mapping:  # truncated?
                    curr = nxt
                    break
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error and not ret:
                    ret = -EIO
                curr = unsigned(curr + 1)
                if nxt > last:
                    break
            k.pagevec_release(pvec)
            if nxt > last or ret == -EIOCBRETRY:
                break
        return range_result(curr, pos, count, ret)

    def page_writer(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        yield from k.lock_page(ctx, page)
        if not page.mapping:  # truncated
            k.unlock_page(ctx, page)
            return 0
        if not k.test_clear_page_dirty(page):
            k.unlock_page(ctx, page)
            return 0
        yield from k.wait_on_page_writeback(ctx, page)
        return k.writepage(ctx, page)

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        return (yield from k.wait_on_page_writeback_wq(ctx, page))
