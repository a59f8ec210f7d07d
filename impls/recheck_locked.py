"""`recheck-locked`: the fix the seed's description rejected.

The pre-patch loop unchanged (lock_page for every page, page_waiter unlocks before waiting), but
a page is counted only once its operator returned without -EIOCBRETRY, as post does. Correct
progress, but every retry's unlock wakes all iocbs hashed to the same queue: the retry storm.
"""

from pagefuzz.impls.common import range_result
from pagefuzz.impls.pre import Pre
from pagefuzz.sim.cint import EIO, EIOCBRETRY, PAGE_CACHE_SHIFT, PAGEVEC_SIZE, unsigned
from pagefuzz.sim.points import LOOKUP, PAGE, Gen
from pagefuzz.sim.world import Actor, Kernel, Operator


class RecheckLocked(Pre):
    name = "recheck-locked"
    summary = "pre's locked loop, counting a page only after its wait succeeded"
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
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error and not ret:
                    ret = -EIO
                nxt = unsigned(page.index + 1)  # counted only now
                if nxt > last:
                    break
            k.pagevec_release(pvec)
            if nxt > last or ret == -EIOCBRETRY:
                break
        return range_result(nxt, pos, count, ret)
