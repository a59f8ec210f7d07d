"""Everything else that acts on the file's pages: truncation (mm/truncate.c of 2.6.0), reclaim
(mm/vmscan.c's shrink_list), background write-out (the writepage path of pdflush), and another
task holding a page lock: rules 22-23 and R5-R7, R16, R17 of kernel-model.md (the project's
kernel-semantics spec kept outside this repository).

Reclaim and background write-out run as `World.vm`, act at once and never sleep; truncation and
a task's page lock are a task's work and may sleep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagefuzz.sim.actors import Task
from pagefuzz.sim.cint import PAGE_CACHE_SHIFT, PAGE_CACHE_SIZE, PAGEVEC_SIZE
from pagefuzz.sim.events import Message
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import Gen

if TYPE_CHECKING:
    from pagefuzz.sim.world import World


def truncate_inode_pages(k: World, task: Task, size: int) -> Gen[None]:
    """truncate_inode_pages of 2.6.0 (rule 22, R7): try-lock pass, partial page, then the
    sleeping pass until no page at or after `start` is left."""
    k.i_size = size
    start = (size + PAGE_CACHE_SIZE - 1) >> PAGE_CACHE_SHIFT
    partial = size & (PAGE_CACHE_SIZE - 1)
    k.log(task.name, Message.TRUNCATE, (size, start))
    nxt = start
    while True:
        pvec = k.cache.find_get_pages(nxt, PAGEVEC_SIZE)
        if not pvec:
            break
        for page in pvec:
            nxt = max(nxt, page.index) + 1
            if not k.trylock_page(task, page):
                continue
            if page.writeback:
                k.unlock_page(task, page)
                continue
            if page.mapping:
                k.remove_from_page_cache(task, page)
            k.unlock_page(task, page)
        k.pagevec_release(pvec)
    if partial:
        tail = yield from k.find_lock_page(task, start - 1)
        if tail is not None:
            yield from k.wait_on_page_writeback(task, tail)
            k.log(task.name, Message.ZERO, (tail.index, partial), tail)
            k.unlock_page(task, tail)
            tail.refs -= 1
    nxt = start
    while True:
        pvec = k.cache.find_get_pages(nxt, PAGEVEC_SIZE)
        if not pvec:
            if nxt == start:
                break
            nxt = start
            continue
        for page in pvec:
            yield from k.lock_page(task, page)
            yield from k.wait_on_page_writeback(task, page)
            nxt = max(nxt, page.index) + 1
            if page.mapping:
                k.remove_from_page_cache(task, page)
            k.unlock_page(task, page)
        k.pagevec_release(pvec)
    k.log(task.name, Message.TRUNCATE_DONE)


def reclaim(k: World, index: int) -> None:
    """shrink_list on one page (rule 23, R6): try-lock; evict only a clean, idle page that
    only the cache references; unlock (and so wake the queue) on every path."""
    page = k.cache.get(index)
    if page is None:
        k.log(k.vm.name, Message.RECLAIM_NO_PAGE, (index,))
        return
    if not k.trylock_page(k.vm, page):
        k.log(k.vm.name, Message.RECLAIM_LOCKED, (index,), page)
        return
    if not page.dirty and not page.writeback and page.refs == 1:
        k.remove_from_page_cache(k.vm, page)
    else:
        k.log(k.vm.name, Message.RECLAIM_BUSY, (index, page.flags(), page.refs), page)
    k.unlock_page(k.vm, page)


def flush(k: World, index: int) -> None:
    """Background writepage (R5): only a present, dirty, unlocked page not under writeback."""
    page = k.cache.get(index)
    if page is None:
        k.log(k.vm.name, Message.FLUSH_NO_PAGE, (index,))
        return
    if not page.dirty or page.locked or page.writeback:
        k.log(k.vm.name, Message.FLUSH_IDLE, (index, page.flags()))
        return
    k.trylock_page(k.vm, page)
    # Write-out clears the dirty flag (in the July 2004 era leaving the DIRTY tag, J3), then
    # the era's writepage starts the I/O and unlocks (rule 20; J15).
    page.dirty = False
    k.writepage(k.vm, page)


def hold_page_lock(k: World, task: Task, index: int) -> Gen[None]:
    """Another task takes a page lock and keeps it (a reference held with it)."""
    page = k.cache.get(index)
    if page is None:
        k.log(task.name, Message.LOCK_NO_PAGE, (index,))
        return
    page.refs += 1
    page.task_refs += 1
    yield from k.lock_page(task, page)
    page.task_locked = True


def page_lock_of_other(k: World, task: str, index: int) -> Page | None:
    """The page at `index` if it is locked by someone other than `task`."""
    page = k.cache.get(index)
    if page is not None and page.locked and page.lock_owner != task:
        return page
    return None


def drop_page_lock(k: World, task: Task, index: int) -> Gen[None]:
    """Another task drops a lock it holds. It never releases a lock someone else holds: that
    would break the holder's mutual exclusion, which no kernel path does."""
    held = [
        p
        for p in k.cache.allocated
        if p.task_locked and p.lock_owner == task.name and p.index == index
    ]
    page = held[0] if held else k.cache.get(index)
    if page is None:
        k.log(task.name, Message.UNLOCK_NO_PAGE, (index,))
        return
    if not held and page.locked:
        k.log(task.name, Message.UNLOCK_NOT_OURS, (index, page.lock_owner))
        return
    k.unlock_page(task, page)
    if held:
        page.refs -= 1
        page.task_refs -= 1
    yield from ()
