"""The page cache of 2.6.7 as the July 2004 era's kernel code uses it (kernel-model-2004-07.md):
radix-tree tags and the tagged gang lookup (J1-J6), 2.6.7's page wake-ups (J7-J11), writepage
and I/O completion with their tags and the mapping's AS_EIO (J3, J15, JR4). Background
write-out (J16) is sim/truncate.py's flush, calling this writepage. Functions the era shares with
the seed's (references, page removal, the hashed queue of a page) are sim/filemap.py's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagefuzz.sim.actors import Actor, Iocb, WaitEntry
from pagefuzz.sim.cint import EIOCBRETRY, PAGEVEC_SIZE
from pagefuzz.sim.events import Message
from pagefuzz.sim.filemap import (
    clear_page_locked,
    clear_page_writeback,
    page_waitqueue,
    start_writeback,
)
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import SLEEP, Gen

if TYPE_CHECKING:
    from pagefuzz.sim.world import World

#: The tags of a page-cache slot (J1), as `pagevec_lookup_tag` names them.
DIRTY = "dirty"
WRITEBACK = "writeback"


def pagevec_lookup_tag(
    k: World, ctx: Actor, index: int, tag: str, nr: int
) -> tuple[list[Page], int]:
    """pagevec_lookup_tag(&pvec, mapping, &index, tag, nr) (J4, J5): up to `nr` present pages
    at or after `index` whose slot carries `tag`, ascending, no upper bound, each referenced;
    and the cursor: one past the last page returned, unchanged when none is."""
    pages = k.cache.find_get_pages_tag(index, tag, min(nr, PAGEVEC_SIZE))
    nxt = pages[-1].index + 1 if pages else index
    k.log(ctx.name, Message.LOOKUP_TAG, (index, tag, nr, tuple([p.index for p in pages]), nxt))
    return pages, nxt


def test_and_clear_bit(k: World, flag: str) -> bool:
    """test_and_clear_bit(AS_EIO or AS_ENOSPC, &mapping->flags) (J17 step 3, J19): the mapping's
    error flag, consumed by whoever reads it first."""
    cache = k.cache
    if flag == "AS_EIO":
        was, cache.as_eio = cache.as_eio, False
    elif flag == "AS_ENOSPC":
        was, cache.as_enospc = cache.as_enospc, False
    else:
        raise ValueError(f"test_and_clear_bit: no mapping flag {flag!r} (AS_EIO, AS_ENOSPC)")
    if was:
        k.log(k.sched.current.name if k.sched.current else "kernel", Message.AS_CLEAR, (flag,))
    return was


# ------------------------------------------------------------------ sleeping and waking


def _sleep_on(
    k: World, ctx: Actor, page: Page, function: str, bit: str, exclusive: bool
) -> Gen[None]:
    """prepare_to_wait(_exclusive) with the actor's own filtered entry {page, bit} (J8, J9): a
    non-exclusive entry goes in at the head, an exclusive one at the tail, each only if it is on
    no queue; then sleep."""
    entry = ctx.sync_entry
    if entry is None:
        entry = ctx.sync_entry = WaitEntry(owner=ctx, aio=False)
    if entry.queue is None:
        entry.page = page
        entry.bit = bit
        entry.exclusive = exclusive
        queue = k.waits.queues[page_waitqueue(k, page)]
        if exclusive:
            queue.add_tail(entry)
        else:
            queue.add(entry)
    ctx.slept_at = (function, page.index, entry.queue)
    k.log(ctx.name, Message.SLEEP, ctx.slept_at, page)
    yield SLEEP


def lock_page(k: World, ctx: Actor, page: Page) -> Gen[None]:
    """__lock_page (J9): sleep exclusively until the lock bit is seen clear, then take it; a
    woken locker that finds the lock taken again queues at the tail again."""
    while page.locked:
        yield from _sleep_on(k, ctx, page, "lock_page", "locked", exclusive=True)
    page.locked = True
    page.lock_owner = ctx.name
    k.log(ctx.name, Message.LOCK, (page.index,), page)


def unlock_page(k: World, ctx: Actor, page: Page) -> None:
    """Clear the lock bit, then wake_up_page (J7)."""
    clear_page_locked(k, ctx, page)
    wake_up_page(k, ctx.name, page)


def _bit_set(page: Page, bit: str) -> bool:
    return page.locked if bit == "locked" else page.writeback


def wake_up_page(k: World, waker: str, page: Page) -> None:
    """__wake_up(page_waitqueue(page), mode, 1, page) of 2.6.7 (J7-J10, JR5): walk the queue
    from the head. An AIO entry ignores the key: it is removed and its iocb kicked, and being
    non-exclusive it uses up nothing (J10). A synchronous entry ignores the wake-up unless it
    waits on this page and its bit is now clear (J8); then it is removed and its task woken,
    and if it waited exclusively (lock_page) the wake-one budget is spent: the walk stops (J9).
    """
    queue = k.waits.queues[page_waitqueue(k, page)]
    waking_iocb = k.sched.iocbs.get(waker)
    real = waking_iocb is None or waking_iocb.retries <= 1
    for entry in queue.snapshot():
        if entry.queue is None:
            continue
        owner = entry.owner
        if entry.aio:
            assert isinstance(owner, Iocb)
            if entry.bit and (entry.page is not page or _bit_set(page, entry.bit)):
                continue  # a wait-bit entry whose key does not match stays queued (J33)
            queue.remove(entry)
            k.aio_wake_function(owner, waker, page, real)
            continue
        if entry.page is not page or _bit_set(page, entry.bit):
            continue
        queue.remove(entry)
        k.log(waker, Message.WAKE, (owner.name, queue.index), page)
        k.make_runnable(owner)
        if entry.exclusive:
            break


# --------------------------------------------------------------------- dirty and writeback


def set_page_dirty(k: World, page: Page) -> None:
    """__set_page_dirty_nobuffers (J2): the flag, and the DIRTY tag while the page is in the
    mapping."""
    page.dirty = True
    if page.mapping:
        page.tag_dirty = True


def clear_page_dirty_for_io(page: Page) -> bool:
    """J3: clear the dirty flag of a locked page for write-out, leaving the DIRTY tag; whether
    it was set."""
    was = page.dirty
    page.dirty = False
    return was


def wait_on_page_writeback(k: World, ctx: Actor, page: Page) -> Gen[None]:
    """wait_on_page_bit(page, PG_writeback) (J8): a filtered, non-exclusive sleep until the
    writeback bit is clear."""
    while page.writeback:
        yield from _sleep_on(k, ctx, page, "wait_on_page_writeback", "writeback", exclusive=False)


def wait_on_page_writeback_wq(k: World, ctx: Actor, page: Page) -> Gen[int]:
    """J11: 0 at once without writeback; an AIO entry (ctx.io_wait) is queued at the head if on
    no queue and -EIOCBRETRY returned with it left queued; a synchronous caller sleeps."""
    return (yield from _wait_writeback(k, ctx, page, keyed=False))


def wait_on_page_writeback_bit(k: World, ctx: Actor, page: Page) -> Gen[int]:
    """__wait_on_page_writeback(page, wait) of the Nov 2004 wait-bit patches (J31, J33), which
    the 2005 form calls: as J11, but an AIO entry is a wait-bit entry keyed by (page,
    writeback), which ignores every wake-up but its own page's writeback ending. A synchronous
    caller waits as wait_on_page_writeback does (its own entry is filtered the same way)."""
    return (yield from _wait_writeback(k, ctx, page, keyed=True))


def _wait_writeback(k: World, ctx: Actor, page: Page, keyed: bool) -> Gen[int]:
    """The body both waits share: 0 without writeback; the AIO entry queued at the head if it is
    on no queue (`keyed`: a wait-bit entry, keyed by the page and its writeback bit), and
    -EIOCBRETRY; a synchronous caller sleeps until writeback ends."""
    if not page.writeback:
        k.log(ctx.name, Message.WAIT_IDLE, (page.index,), page)
        return 0
    wait = ctx.io_wait
    if wait is not None:
        if wait.queue is None:
            if keyed:
                wait.page = page
                wait.bit = "writeback"
            k.waits.queues[page_waitqueue(k, page)].add(wait)
        k.log(ctx.name, Message.QUEUE, (page.index, wait.queue), page)
        return -EIOCBRETRY
    yield from wait_on_page_writeback(k, ctx, page)
    k.log(ctx.name, Message.WAIT_DONE, (page.index,), page)
    return 0


def test_set_page_writeback(k: World, ctx: Actor, page: Page) -> None:
    """J3, J15: set writeback and submit the I/O as the seed's era does (one write-out per page
    at a time, R12: a second one is the kernel's BUG), then set the WRITEBACK tag and clear the
    DIRTY tag unless the page is dirty again."""
    start_writeback(k, ctx, page)
    page.tag_writeback = True
    if not page.dirty:
        page.tag_dirty = False


def writepage(k: World, ctx: Actor, page: Page) -> int:
    """->writepage of a locked page whose dirty flag write-out cleared (J15): writeback and its
    tag set, the I/O started, the page unlocked (a wake-up, J7). One indivisible step (JR6)."""
    test_set_page_writeback(k, ctx, page)
    unlock_page(k, ctx, page)
    return 0


def end_page_writeback(k: World, page: Page, error: bool) -> None:
    """I/O completion (J3, J7, JR4): an error sets PG_error and, with `io_error_sets_as_eio`,
    AS_EIO on the mapping; then writeback and its tag are cleared and the queue woken (the
    seed era's completion, and its BUG for a page with no write-out in flight)."""
    if not clear_page_writeback(k, page, error):
        return
    if error and k.config.io_error_sets_as_eio:
        k.cache.as_eio = True
    page.tag_writeback = False
    wake_up_page(k, "disk", page)
