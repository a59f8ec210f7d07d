"""`y2005-fixed`: a candidate correction of the June 2005 form (a first cut, like `fixed` for
the seed's era; docs/versions.md, docs/findings.md "The July 2004 rework").

The 2005 wait walk with three changes, each against one finding pagefuzz reports for y2005:

1. PG_error makes the result -EIO only when the page's wait returned 0: y2005 let it replace a
   -EIOCBRETRY whose entry was queued, and the iocb completed with its entry still on the queue
   (kernel_bug).
2. AS_ENOSPC and AS_EIO are consumed only by a walk that ends (not by one that returns
   -EIOCBRETRY): y2005 turned a queued wait into -EIO there too (kernel_bug), and lost the
   flag for the caller whose page it was.
3. A walk that ends with 0 looks at every page of the range, tagged or not, and returns -EIO if
   one has PG_error: a write-out that failed before the walk's tagged lookup left no WRITEBACK tag,
   and its error reached the caller only through AS_EIO, which the bio completion path does not
   set (JR4) and any other caller may consume first (J19).

Everything else, sync_page_range and the 2005 generic_file_aio_write around it, is y2005's.
"""

from pagefuzz.impls.y2005 import Y2005
from pagefuzz.sim.cint import EIO, EIOCBRETRY, ENOSPC, PAGEVEC_SIZE, unsigned
from pagefuzz.sim.july.filemap import WRITEBACK
from pagefuzz.sim.points import LOOKUP, PAGE, Gen
from pagefuzz.sim.world import Actor, Kernel


class Y2005Fixed(Y2005):
    name = "y2005-fixed"
    summary = "y2005 with errors that never replace a queued wait and are never lost"
    stateless = True  # all its state is in the world (sim/storm.py)

    def wait_on_page_writeback_range_wq(
        self, k: Kernel, ctx: Actor, start: int, end: int
    ) -> Gen[int]:
        ret = 0
        if end < start:
            return 0
        index = start
        while not ret and index <= end:
            pvec, index = k.pagevec_lookup_tag(
                ctx, index, WRITEBACK, unsigned(min(unsigned(end - index), PAGEVEC_SIZE - 1) + 1)
            )
            yield LOOKUP
            if not pvec:
                break
            for page in pvec:
                if ret:
                    break
                if page.index > end:
                    continue
                yield PAGE
                ret = yield from k.wait_on_page_writeback_bit(ctx, page)
                if ret == 0 and page.error:  # change 1
                    ret = -EIO
            k.pagevec_release(pvec)
        if ret == -EIOCBRETRY:
            return ret  # change 2: the flags stay for the walk that ends
        if k.test_and_clear_bit("AS_ENOSPC"):
            ret = -ENOSPC
        if k.test_and_clear_bit("AS_EIO"):
            ret = -EIO
        if ret == 0:  # change 3: every page of the range, whatever its tags
            index = start
            while not ret and index <= end:
                pvec = k.pagevec_lookup(ctx, index, min(unsigned(end - index) + 1, PAGEVEC_SIZE))
                if not pvec:
                    break
                for page in pvec:
                    index = page.index + 1
                    if page.index <= end and page.error:
                        ret = -EIO
                k.pagevec_release(pvec)
        return ret
