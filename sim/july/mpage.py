"""The range write-out of the July 2004 era (J12-J15 of kernel-model-2004-07.md):
filemap_fdatawrite_range ([P15]) and mpage_writepages over the DIRTY tag ([P12], [P14], the rest
of fs/mpage.c from 2.6.9, JR3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagefuzz.sim.actors import Actor
from pagefuzz.sim.cint import ENOSPC, PAGE_CACHE_SHIFT, PAGEVEC_SIZE, unsigned
from pagefuzz.sim.events import Message
from pagefuzz.sim.july.filemap import DIRTY, clear_page_dirty_for_io
from pagefuzz.sim.points import Gen

if TYPE_CHECKING:
    from pagefuzz.sim.world import World

#: (pgoff_t)-1: the end of a whole-file sweep.
PGOFF_MAX = unsigned(-1)


def filemap_fdatawrite_range(k: World, ctx: Actor, start: int, end: int) -> Gen[int]:
    """J12: a WB_SYNC_ALL write-out of the bytes [start, end], `nr_to_write` twice the
    mapping's pages; do_writepages is mpage_writepages."""
    return (yield from mpage_writepages(k, ctx, start, end, len(k.cache.indices) * 2))


def mpage_writepages(k: World, ctx: Actor, start: int, end: int, nr_to_write: int) -> Gen[int]:
    """J13, J14. Range mode only when `start` or `end` is nonzero: a write of one byte at 0
    sweeps the whole file. Each DIRTY-tagged page found is locked (sleeping, exclusive),
    skipped if truncated, ends the walk if past the range, has its writeback waited for
    synchronously with the lock held, and is written if it is still dirty."""
    ret = 0
    done = False
    ranged = bool(start or end)
    if ranged:
        index = start >> PAGE_CACHE_SHIFT
        last = end >> PAGE_CACHE_SHIFT
    else:
        index = 0
        last = PGOFF_MAX
    if ranged:
        k.log(ctx.name, Message.WRITEPAGES, (index, last))
    else:
        k.log(ctx.name, Message.WRITEPAGES_ALL)
    while not done and index <= last:
        pvec, index = k.pagevec_lookup_tag(
            ctx, index, DIRTY, unsigned(min(unsigned(last - index), PAGEVEC_SIZE - 1) + 1)
        )
        if not pvec:
            break
        for page in pvec:
            yield from k.lock_page(ctx, page)
            if not page.mapping:
                k.unlock_page(ctx, page)
                continue
            if ranged and page.index > last:
                done = True
                k.unlock_page(ctx, page)
                continue
            yield from k.wait_on_page_writeback(ctx, page)
            if page.writeback or not clear_page_dirty_for_io(page):
                k.unlock_page(ctx, page)
                continue
            ret = k.writepage(ctx, page)
            if ret:
                if ret == -ENOSPC:
                    k.cache.as_enospc = True
                else:
                    k.cache.as_eio = True
            nr_to_write -= 1
            if ret or nr_to_write <= 0:
                done = True
        k.pagevec_release(pvec)
    return ret
