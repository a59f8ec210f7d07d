"""`y2005`: the June 2005 repost ("[PATCH 2/2] Filesystem AIO write", on the AIO wait-bit
patches of Nov 2004; J31-J34).

The wait walk no longer locks pages or counts them: it waits on each WRITEBACK-tagged page of
the range with the caller's wait-bit entry, stops at the first nonzero result, and a page with
PG_error makes it -EIO, even over a -EIOCBRETRY whose entry is queued. sync_page_range returns 0
or an error (no conversion), and generic_file_aio_write keeps its byte count on success and
resets ki_pos on an error (the world's "2005-06" form, sim/july/write.py). Its AIO entry is a
wait-bit entry, filtered by page and bit like every other waiter (J33).
"""

from typing import ClassVar

from pagefuzz.impls.july import JulyVersion
from pagefuzz.sim.cint import EIO, ENOSPC, PAGE_CACHE_SHIFT, PAGEVEC_SIZE, unsigned
from pagefuzz.sim.july.filemap import WRITEBACK
from pagefuzz.sim.points import LOOKUP, PAGE, Gen
from pagefuzz.sim.world import Actor, Kernel


class Y2005(JulyVersion):
    name = "y2005"
    summary = "June 2005 repost: wait-bit waits without page locks, 0 or an error, ki_pos reset"
    stateless = True  # all its state is in the world (sim/storm.py)
    form: ClassVar[str] = "2005-06"

    def wait_on_page_writeback_range_wq(
        self, k: Kernel, ctx: Actor, start: int, end: int
    ) -> Gen[int]:
        """__wait_on_page_writeback_range (J31)."""
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
                if page.error:
                    ret = -EIO
            k.pagevec_release(pvec)
        if k.test_and_clear_bit("AS_ENOSPC"):
            ret = -ENOSPC
        if k.test_and_clear_bit("AS_EIO"):
            ret = -EIO
        return ret

    def sync_page_range(self, k: Kernel, ctx: Actor, pos: int, count: int) -> Gen[int]:
        """The 2005 sync_page_range (J32): as patch 18's, returning the walk's 0 or error."""
        start = unsigned(pos >> PAGE_CACHE_SHIFT)
        end = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)
        ret = 0
        if count == 0:
            return 0
        if not (ctx.io_wait is not None and k.kiocb_try_sync(ctx)):
            ret = yield from k.filemap_fdatawrite_range(ctx, pos, pos + count - 1)
            if ret >= 0:
                ret = yield from k.generic_osync_inode(ctx)
        if ret >= 0:
            ret = yield from self.wait_on_page_writeback_range_wq(k, ctx, start, end)
        return ret
