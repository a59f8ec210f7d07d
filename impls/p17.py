"""`p17`: the wait walk of patch 17 of the July 2004 series ("AIO wait on writeback",
Suparna Bhattacharya), with 2.6.9's lines for what the diff leaves out (J17, JR3).

Each WRITEBACK-tagged page of the range is locked to check its mapping and read its index into
`curr`, unlocked (a wake-up of its whole hashed queue), then waited on with the caller's entry.
On -EIOCBRETRY the walk stops and, past the first page, returns `curr - start`: the pages before
the one still under writeback, which patch 18's sync_page_range turns into bytes. Every page's
wait result overwrites `ret`; the mapping's AS_ENOSPC and AS_EIO are read (and cleared) even
after the -EIOCBRETRY break; 0 becomes the whole range's page count.
"""

from pagefuzz.impls.july import JulyVersion
from pagefuzz.sim.cint import EIO, EIOCBRETRY, ENOSPC, PAGEVEC_SIZE, unsigned
from pagefuzz.sim.july.filemap import WRITEBACK
from pagefuzz.sim.points import LOOKUP, PAGE, Gen
from pagefuzz.sim.world import Actor, Kernel


def int32(value: int) -> int:
    """The value a C `int` holds (the walk's local `ret` is an int)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


class P17(JulyVersion):
    name = "p17"
    summary = "July 2004 patch 17: lock/unlock each WRITEBACK-tagged page, partial page count"
    stateless = True  # all its state is in the world (sim/storm.py)

    #: Whether -EIOCBRETRY past the first page returns `curr - start` (patch 17) or stays
    #: -EIOCBRETRY (patch 19 removed it).
    partial_count = True

    def wait_on_page_writeback_range_wq(
        self, k: Kernel, ctx: Actor, start: int, end: int
    ) -> Gen[int]:
        ret = 0
        done = False
        curr = start
        if end < start:
            return 0
        index = start
        while not done and index <= end:
            pvec, index = k.pagevec_lookup_tag(
                ctx, index, WRITEBACK, unsigned(min(unsigned(end - index), PAGEVEC_SIZE - 1) + 1)
            )
            yield LOOKUP
            if not pvec:
                break
            for page in pvec:
                if page.index > end:
                    continue
                yield from k.lock_page(ctx, page)
                if not page.mapping:
                    k.unlock_page(ctx, page)
                    continue
                curr = page.index
                k.unlock_page(ctx, page)
                yield PAGE
                ret = yield from k.wait_on_page_writeback_wq(ctx, page)
                if ret == -EIOCBRETRY:
                    if self.partial_count and curr > start:
                        ret = int32(curr - start)
                    done = True
                    break
                if page.error:
                    ret = -EIO
            k.pagevec_release(pvec)
        if k.test_and_clear_bit("AS_ENOSPC"):
            ret = -ENOSPC
        if k.test_and_clear_bit("AS_EIO"):
            ret = -EIO
        if ret == 0:
            ret = int32(end - start + 1)
        return ret
