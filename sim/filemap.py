"""The page cache as kernel code uses it (mm/filemap.c and mm/swap.c of 2.6.0): gang lookups,
page locks, the hashed wait queues' wakeups, writeback and its waits: sections 1-2 of
kernel-model.md (the project's kernel-semantics spec kept outside this repository; docs/model.md
restates the rules cases depend on most).

Every function takes the world as `k`, as the versions do, and is one of the world's `k.*`
operations (sim/world.py). Who holds or takes a page lock is always an `Actor` (`World.vm` for
the VM's own work); the page records its owner's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagefuzz.sim.actors import Actor, Iocb, Task, WaitEntry, request_id
from pagefuzz.sim.cint import EIOCBRETRY
from pagefuzz.sim.events import Message
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import SLEEP, Gen

if TYPE_CHECKING:
    from pagefuzz.sim.world import World


def page_cache_alloc(k: World, index: int) -> Page:
    """A new struct page for file index `index`; its serial is its identity (R9)."""
    page = Page(serial=len(k.cache.allocated), index=index)
    k.cache.allocated.append(page)
    return page


def page_waitqueue(k: World, page: Page) -> int:
    """The hashed queue of a page: pinned by index, else identity mod table size (R9)."""
    pinned = k.waits.pinned.get(page.index)
    return pinned if pinned is not None else page.serial % k.config.wait_queues


# ------------------------------------------------------------------ lookups (mm/swap.c)


def pagevec_lookup(k: World, ctx: Actor, start: int, nr: int) -> list[Page]:
    """Gang lookup by value: up to nr pages at or after start, no upper bound (rule 3)."""
    pages = k.cache.find_get_pages(start, nr)
    k.log(ctx.name, Message.LOOKUP, (start, nr, tuple([p.index for p in pages])))
    return pages


def pagevec_lookup_next(k: World, ctx: Actor, start: int, nr: int) -> tuple[list[Page], int]:
    """Gang lookup that also returns the next index to look up (rule 4, R13)."""
    pages = k.cache.find_get_pages(start, nr)
    if k.config.lookup_next == "last+1":
        nxt = pages[-1].index + 1 if pages else start
    elif len(pages) == nr and pages:
        nxt = pages[-1].index + 1
    else:
        # The radix-tree scan ran to the end of its 64-slot leaf.
        nxt = ((pages[-1].index if pages else start) // 64 + 1) * 64
    k.log(ctx.name, Message.LOOKUP_NEXT, (start, nr, tuple([p.index for p in pages]), nxt))
    return pages, nxt


def pagevec_release(k: World, pages: list[Page]) -> None:
    for page in pages:
        page.refs -= 1


def page_cache_get(k: World, page: Page) -> None:
    """Take a reference to the page (get_page)."""
    page.refs += 1


def page_cache_release(k: World, page: Page) -> None:
    """Drop a reference to the page (put_page)."""
    page.refs -= 1


def wait_table_size(k: World) -> int:
    """How many queues the zone's hashed wait table has."""
    return len(k.waits.queues)


def add_wait_queue(k: World, queue: int, entry: WaitEntry) -> None:
    """prepare_to_wait on the table's queue `queue`: the entry goes in at the head (R1)."""
    k.waits.queues[queue].add(entry)


def find_lock_page(k: World, task: Task, index: int) -> Gen[Page | None]:
    """The page at `index`, referenced and locked, or None; retried if truncated meanwhile."""
    while True:
        page = k.cache.get(index)
        if page is None:
            return None
        page.refs += 1
        yield from lock_page(k, task, page)
        if page.mapping:
            return page
        unlock_page(k, task, page)
        page.refs -= 1


def remove_from_page_cache(k: World, ctx: Actor, page: Page) -> None:
    """Truncation or eviction: the page leaves the file; its dirty data is thrown away."""
    k.cache.remove(page)
    page.mapping = False
    page.dirty = False
    # Its slot goes, and the slot's tags with it (J1; never set in the seed's era).
    page.tag_dirty = page.tag_writeback = False
    page.refs -= 1
    k.log(ctx.name, Message.REMOVE, (page.index,), page)


# ---------------------------------------------------------------- page locks and wakeups


def _prepare_to_wait(k: World, entry: WaitEntry, page: Page) -> None:
    add_wait_queue(k, page_waitqueue(k, page), entry)


def _sleep_on(k: World, ctx: Actor, page: Page, function: str) -> Gen[None]:
    entry = ctx.sync_entry
    if entry is None:
        entry = ctx.sync_entry = WaitEntry(owner=ctx, aio=False)
    entry.page = page
    _prepare_to_wait(k, entry, page)
    ctx.slept_at = (function, page.index, entry.queue)
    k.log(ctx.name, Message.SLEEP, ctx.slept_at, page)
    yield SLEEP


def lock_page(k: World, ctx: Actor, page: Page) -> Gen[None]:
    """Sleep on the page's queue until the lock is free, then take it (rule 9)."""
    while page.locked:
        yield from _sleep_on(k, ctx, page, "lock_page")
    page.locked = True
    page.lock_owner = ctx.name
    k.log(ctx.name, Message.LOCK, (page.index,), page)


def trylock_page(k: World, ctx: Actor, page: Page) -> bool:
    """TestSetPageLocked: take the lock if it is free, never sleep."""
    if page.locked:
        return False
    page.locked = True
    page.lock_owner = ctx.name
    k.log(ctx.name, Message.TRYLOCK, (page.index,), page)
    return True


def unlock_page(k: World, ctx: Actor, page: Page) -> None:
    """Clear the lock bit, then wake every entry on the page's queue (rule 7)."""
    clear_page_locked(k, ctx, page)
    wake_up_page(k, ctx.name, page)


def clear_page_locked(k: World, ctx: Actor, page: Page) -> None:
    """unlock_page's first half in both eras: clear the lock bit (a BUG if it was clear)."""
    if not page.locked:
        # A case's own unlock_page step on an unlocked page is the case's doing.
        by_case = isinstance(ctx, Task) and ctx.doing == "unlock_page"
        k.bug(
            "unlock-unlocked-page",
            f"{ctx.name} unlocks p{page.index}, which is not locked",
            by_case=by_case,
        )
    page.locked = False
    page.lock_owner = None
    page.task_locked = False
    k.log(ctx.name, Message.UNLOCK, (page.index,), page)


def wake_up_page(k: World, waker: str, page: Page) -> None:
    """wake_up_all on the page's hashed queue: no key, every entry, head first (rule 7, R1).

    With `filtered_wakeups` a synchronous sleeper for another page ignores the wakeup (2.6.7
    rule 11); AIO entries are never filtered.
    """
    queue = k.waits.queues[page_waitqueue(k, page)]
    # Real events: I/O completion and unlocks by anything but an AIO *retry* (an iocb's runs
    # after its first, which io_submit started: its copy and write-out unlocks are real).
    waking_iocb = k.sched.iocbs.get(waker)
    real = waking_iocb is None or waking_iocb.retries <= 1
    for entry in queue.snapshot():
        if entry.queue is None:
            continue
        owner = entry.owner
        if entry.aio:
            assert isinstance(owner, Iocb)
            queue.remove(entry)
            k.aio_wake_function(owner, waker, page, real)
        else:
            if k.config.filtered_wakeups and entry.page is not page:
                continue
            queue.remove(entry)
            k.log(waker, Message.WAKE, (owner.name, queue.index), page)
            k.make_runnable(owner)


# --------------------------------------------------------------------- writeback


def set_page_dirty(k: World, page: Page) -> None:
    """Mark the page dirty (the copy's, R10)."""
    page.dirty = True


def test_clear_page_dirty(k: World, page: Page) -> bool:
    was = page.dirty
    page.dirty = False
    return was


def wait_on_page_writeback(k: World, ctx: Actor, page: Page) -> Gen[None]:
    """Synchronous wait for the writeback bit to clear (always sleeps, even in AIO)."""
    while page.writeback:
        yield from _sleep_on(k, ctx, page, "wait_on_page_writeback")


def wait_on_page_writeback_wq(k: World, ctx: Actor, page: Page) -> Gen[int]:
    """0 at once if no writeback; an AIO entry is queued and -EIOCBRETRY returned (rule 10)."""
    if not page.writeback:
        k.log(ctx.name, Message.WAIT_IDLE, (page.index,), page)
        return 0
    wait = ctx.io_wait
    if wait is not None:
        if wait.queue is None:
            _prepare_to_wait(k, wait, page)
        k.log(ctx.name, Message.QUEUE, (page.index, wait.queue), page)
        return -EIOCBRETRY
    yield from wait_on_page_writeback(k, ctx, page)
    k.log(ctx.name, Message.WAIT_DONE, (page.index,), page)
    return 0


def start_writeback(k: World, ctx: Actor, page: Page) -> None:
    """set_page_writeback and submit: the I/O completes when the schedule says (rule 8).

    One write-out per page at a time (R12): the 2.6 writepage paths BUG on a page already under
    writeback (`BUG_ON(PageWriteback(page))` in __block_write_full_page and mpage_writepage).
    The BUG is recorded and, as if BUG() returned (R14), the write-out in flight carries the
    page's newer data: the disk still answers once (docs/model.md, "A second write-out")."""
    if page.io_gen is not None:
        k.bug(
            "writeback-in-flight",
            f"{ctx.name} starts a write-out of p{page.index} while one is in flight (R12: "
            "BUG_ON(PageWriteback(page)) in __block_write_full_page)",
            request_id(ctx),
        )
        page.io_gen = page.gen
    else:
        page.writeback = True
        k.device.submit(page)
    k.log(ctx.name, Message.WRITEBACK, (page.index, page.gen), page)


def writepage(k: World, ctx: Actor, page: Page) -> int:
    """The filesystem's writepage on a locked page: start the I/O, unlock (rule 20)."""
    start_writeback(k, ctx, page)
    unlock_page(k, ctx, page)
    return 0


def end_page_writeback(k: World, page: Page, error: bool) -> None:
    """I/O completion: clear writeback (error sets PG_error), wake the queue (rule 8, R12).

    Only the disk calls it here, for a write-out in flight; kernel code that called it for a
    page with none (a version from outside reaching the world's own functions) would hit the
    kernel's BUG in end_page_writeback (`if (!TestClearPageWriteback(page)) BUG();`): recorded,
    and nothing else done."""
    if clear_page_writeback(k, page, error):
        wake_up_page(k, "disk", page)


def clear_page_writeback(k: World, page: Page, error: bool) -> bool:
    """end_page_writeback's first half in both eras: the write-out in flight ends (PG_error on
    an error) and writeback is cleared; False, after the BUG, when none was in flight."""
    if page.io_gen is None:
        k.bug(
            "end-writeback-not-under-writeback",
            f"end_page_writeback of p{page.index}, which has no write-out in flight (R12: "
            "BUG in end_page_writeback)",
            request_id(k.sched.current),
        )
        return False
    done = k.device.finish(page, error, k.step_index, k.events.seq)
    page.writeback = False
    if error:
        page.error = True
        k.log("disk", Message.IO_ERROR, (page.index,), page)
    else:
        k.log("disk", Message.IO_DONE, (page.index, done.gen), page)
    return True
