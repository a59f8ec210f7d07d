"""The write(2) paths around the loop (mm/filemap.c's generic_file_write of 2.6.0 and the -mm
O_SYNC path): the copy into the page cache, the blocking O_SYNC write, the buffered write, and
what each request leaves for the oracle (rules 17-19, R10, R15 of kernel-model.md, the project's
kernel-semantics spec kept outside this repository).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagefuzz.sim.actors import Actor, Request, Task
from pagefuzz.sim.events import Message
from pagefuzz.sim.mm import page_range
from pagefuzz.sim.points import Gen
from pagefuzz.sim.record import Progress

if TYPE_CHECKING:
    from pagefuzz.sim.world import World


def copy_pages(k: World, ctx: Actor, req: Request, pos: int, count: int) -> Gen[int]:
    """Copy user data into the cache, page by page (rule 17, R10): find or create, lock,
    copy (a new data generation, dirty), unlock."""
    if count == 0:
        return 0
    for index in page_range(pos, count):
        while True:
            page = k.cache.get(index)
            if page is None:
                # __grab_cache_page: a new page goes in locked; no sleep, no wakeup.
                page = k.page_cache_alloc(index)
                page.locked = True
                page.lock_owner = ctx.name
                page.refs += 1
                k.cache.insert(page)
                k.log(ctx.name, Message.CREATE, (index, k.page_waitqueue(page)), page)
                break
            page.refs += 1
            yield from k.lock_page(ctx, page)
            if page.mapping:
                break
            # Truncated while we slept: let go and look again.
            k.unlock_page(ctx, page)
            page.refs -= 1
        page.gen = k.next_gen
        k.next_gen += 1
        k.set_page_dirty(page)
        req.generations[index] = (page.serial, page.gen)
        k.log(ctx.name, Message.COPY, (index, page.gen), page)
        k.unlock_page(ctx, page)
        page.refs -= 1
    k.i_size = max(k.i_size, pos + count)
    return count


def sync_write(k: World, task: Task, req: Request) -> Gen[None]:
    """Blocking O_SYNC write(2): copy, then sync_page_range; a partial count is a short
    write (rule 18)."""
    copied = yield from copy_pages(k, task, req, req.pos, req.count)
    ret = yield from k.version.sync_page_range(k, task, req.pos, copied)
    k.log(task.name, Message.SYNC, (req.pos, copied, ret))
    note_progress(k, req, req.pos, ret)
    complete_request(k, req, task, ret)


def buffered_write(k: World, task: Task, req: Request) -> Gen[None]:
    copied = yield from copy_pages(k, task, req, req.pos, req.count)
    complete_request(k, req, task, copied)


def note_progress(k: World, req: Request, pos: int, nbytes: int) -> None:
    """Record the pages a positive sync_page_range result claims are on disk (oracle)."""
    if nbytes <= 0:
        return
    pages = tuple(
        k.page_state(p) for i in page_range(pos, nbytes) if (p := k.cache.get(i)) is not None
    )
    k.history.progress.append(
        Progress(
            step=k.step_index,
            seq=k.events.seq,
            request=req.id,
            pos=pos,
            nbytes=nbytes,
            pages=pages,
        )
    )


def complete_request(k: World, req: Request, ctx: Actor, result: int) -> None:
    """The request's result is reported: record it with the states of its range's pages."""
    req.result = result
    req.completed_at = k.step_index
    req.completed_seq = k.events.seq
    states = []
    not_on_disk = []
    for index in req.index_range():
        page = k.cache.get(index)
        if page is None:
            continue
        states.append(k.page_state(page))
        if page.dirty or page.writeback:
            not_on_disk.append(index)
    req.not_on_disk = tuple(not_on_disk)
    req.pages_at_completion = tuple(states)
    k.log(ctx.name, Message.COMPLETE, (req.id, result, req.not_on_disk))
