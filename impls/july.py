"""What the July 2004 era's versions share: patch 18's sync_page_range (J21) around the wait
walk each version supplies, `wait_on_page_writeback_range_wq` (J17, J18, J31).

A version of the era (`era = "2004-07"`) runs only in that era's world (sim/july/), where
generic_file_aio_write and generic_file_write call its `sync_page_range` (J22, J24). The seed
era's three functions (operate_on_page_range, page_writer, page_waiter) do not exist here.
"""

from typing import ClassVar

from pagefuzz.sim.cint import PAGE_CACHE_SHIFT, signed, unsigned
from pagefuzz.sim.points import Gen
from pagefuzz.sim.world import Actor, Kernel, Version


class JulyVersion(Version):
    """A version of the July 2004 era: the wait walk, and patch 18's sync_page_range."""

    era: ClassVar[str] = "2004-07"
    #: Which form of generic_file_aio_write's tail runs around sync_page_range (sim/july/
    #: write.py): "2004-07", where sync_page_range returns bytes and sets ki_pos = pos + ret
    #: (J22), or "2005-06", where it returns 0 or an error and an error resets ki_pos (J32).
    form: ClassVar[str] = "2004-07"

    def wait_on_page_writeback_range_wq(
        self, k: Kernel, ctx: Actor, start: int, end: int
    ) -> Gen[int]:
        """Wait for writeback on pages start..end (inclusive), the wait entry `ctx.io_wait`
        (NULL for a synchronous caller)."""
        raise NotImplementedError

    def sync_page_range(self, k: Kernel, ctx: Actor, pos: int, count: int) -> Gen[int]:
        """sync_page_range of patch 18 (J21): write the range out (skipped on an AIO retry
        with KIF_SYNCED already set), the metadata under i_sem, then the wait walk; a
        positive page count becomes bytes, `<<= PAGE_CACHE_SHIFT`, clamped to `count`."""
        start = unsigned(pos >> PAGE_CACHE_SHIFT)
        end = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)
        ret = 0
        if count == 0:
            return 0
        if not (ctx.io_wait is not None and k.kiocb_try_sync(ctx)):
            ret = yield from k.filemap_fdatawrite_range(ctx, pos, pos + count - 1)
            if ret >= 0:
                ret = yield from k.generic_osync_inode(ctx)
        # do_wait:
        if ret >= 0:
            ret = yield from self.wait_on_page_writeback_range_wq(k, ctx, start, end)
            if ret > 0:
                ret = signed(ret << PAGE_CACHE_SHIFT)
                if unsigned(ret) > count:
                    ret = count
        return ret
