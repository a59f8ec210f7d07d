"""The world: scheduler, wait queues, block device, AIO engine, tasks: sections 1-4, 6 and 8 of
kernel-model.md (the project's kernel-semantics spec, kept outside this repository; docs/model.md
restates the rules cases depend on most, with these rule numbers, and what pagefuzz settled where
the spec is silent).

Kernel code paths are generators that yield only `sim.points` values. The world resumes one actor
at a time (R2: one FIFO run list; the running actor goes on until it sleeps, ends or pauses), so a
case's steps fully determine the run: no randomness, no wall clock, no hash order.

The versions under test (`impls/`) subclass `Version` and supply operate_on_page_range, page_writer
and page_waiter; everything around them (sync_page_range, aio_pwrite, aio_run_iocb, truncation...)
lives here so that every version runs in the same world.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Final

from sim.case import Case, Step
from sim.cint import EAGAIN, EIOCBRETRY, PAGE_CACHE_SHIFT, PAGE_CACHE_SIZE, PAGEVEC_SIZE
from sim.eventlog import EventLog
from sim.mm import Page, PageCache, page_range
from sim.points import LOOKUP, PAGE, SLEEP, Gen, Point, Yield
from sim.record import (
    FinalState,
    IoCompletion,
    KernelBug,
    PageState,
    Progress,
    RequestResult,
    RunRecord,
    SettleBoundHit,
    Wakeup,
)

#: aio_run_iocb gives up with -EAGAIN past this many retries (rule 15 of the spec above).
AIO_RETRIES_MAX: Final = 1_048_576
_GEN_TEXT: Final = re.compile(r" \(gen \d+( on disk)?\)")
#: Dispatches one run may make in all, whatever the settle bounds: a hard stop for totality.
DISPATCHES_MAX: Final = 1_000_000

Operator = Callable[["World", "Actor", Page], Gen[int]]


class Version:
    """An algorithm version: the three functions the seed changes, plus the -mm caller.

    Subclasses implement `operate_on_page_range`, `page_writer` and `page_waiter` as generators
    mirroring the C. `sync_page_range` is the 2004 -mm caller (rule 19); a candidate fix may
    override it too.
    """

    name: ClassVar[str] = "?"
    summary: ClassVar[str] = ""

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        raise NotImplementedError

    def page_writer(self, k: World, ctx: Actor, page: Page) -> Gen[int]:
        raise NotImplementedError

    def page_waiter(self, k: World, ctx: Actor, page: Page) -> Gen[int]:
        raise NotImplementedError

    def sync_page_range(self, k: World, ctx: Actor, pos: int, count: int) -> Gen[int]:
        """Write out then wait (rule 19); an AIO retry with SYNCED set only waits."""
        if isinstance(ctx, Iocb):
            already = ctx.synced
            ctx.synced = True
            if already:
                return (yield from self.operate_on_page_range(k, ctx, pos, count, self.page_waiter))
        ret = yield from self.operate_on_page_range(k, ctx, pos, count, self.page_writer)
        # The metadata sync between the phases is instant in the model.
        if ret >= 0:
            ret = yield from self.operate_on_page_range(k, ctx, pos, count, self.page_waiter)
        return ret


@dataclass(eq=False)
class WaitEntry:
    """An entry on a hashed wait queue: a sleeping actor's, or an iocb's `ki_wait`."""

    owner: Actor
    aio: bool
    page: Page | None = None  # the page a synchronous sleeper waits on (filtered wakeups)
    queue: int | None = None


@dataclass(eq=False)
class Actor:
    """Anything the scheduler runs: a task, or an iocb's runs on the AIO workqueue."""

    name: str
    gen: Gen[None] | None = None
    state: str = "idle"  # idle | runnable | running | asleep | paused
    sync_entry: WaitEntry | None = None
    work_started: int = 0  # the seq of the first event of its current code

    @property
    def io_wait(self) -> WaitEntry | None:
        """`current->io_wait`: the AIO entry for an iocb run, None (synchronous) for a task."""
        return None


@dataclass(eq=False)
class Task(Actor):
    request: Request | None = None
    doing: str = ""  # the op of its current or last piece of work


@dataclass(eq=False)
class Iocb(Actor):
    request: Request | None = None
    nbytes: int = 0
    left: int = 0
    pos: int = 0
    kicked: bool = False
    synced: bool = False
    completed: bool = False
    retries: int = 0
    entry: WaitEntry | None = None

    @property
    def io_wait(self) -> WaitEntry | None:
        return self.entry


@dataclass(eq=False)
class Request:
    """What an O_SYNC or buffered write asked for and how it ended."""

    name: str
    kind: str
    pos: int
    count: int
    submitted_at: int
    task: str = ""
    result: int | None = None
    completed_at: int | None = None
    completed_seq: int | None = None
    not_on_disk: tuple[int, ...] = ()
    generations: dict[int, tuple[int, int]] = field(default_factory=dict)
    pages_at_completion: tuple[PageState, ...] = ()
    wakeups: list[Wakeup] = field(default_factory=list)

    def index_range(self) -> range:
        return page_range(self.pos, self.count)


class World:
    """One run of one case against one version."""

    def __init__(self, case: Case, version: Version, events: EventLog | None = None) -> None:
        self.case = case
        self.config = case.config
        self.version = version
        self.cache = PageCache()
        self.all_pages: list[Page] = []
        self.queues: list[list[WaitEntry]] = [[] for _ in range(self.config.wait_queues)]
        self.pins = dict(self.config.queue_of)
        self.disk_gen: dict[int, int] = {}
        self.outstanding: list[Page] = []  # pages with I/O in flight, oldest first
        self.run_list: list[Actor] = []
        self.paused: list[Actor] = []
        self.tasks: dict[str, Task] = {}
        self.iocbs: dict[str, Iocb] = {}
        self.requests: list[Request] = []
        self.events = EventLog() if events is None else events
        self.bugs: list[KernelBug] = []
        self.bound_hits: list[SettleBoundHit] = []
        self.skipped: list[int] = []
        self.progress: list[Progress] = []
        self.io_log: list[IoCompletion] = []
        self.step_index = 0
        self.next_gen = 1
        self.dispatches = 0
        self.budget_hit = False
        self.current: Actor | None = None
        self.i_size = self.config.file_pages * PAGE_CACHE_SIZE
        for index in range(self.config.file_pages):
            page = self._new_page(index)
            self.cache.insert(page)
            self.disk_gen[index] = 0

    # ----------------------------------------------------------------- events and evidence

    def log(self, actor: str, kind: str, text: str, page: Page | None = None) -> None:
        self.events.log(self.step_index, actor, kind, text, None if page is None else page.index)

    def bug(self, kind: str, what: str, request: str | None = None, by_case: bool = False) -> None:
        self.bugs.append(
            KernelBug(
                by_case=by_case,
                step=self.step_index,
                seq=self.events.seq,
                what=what,
                kind=kind,
                request=request,
            )
        )
        self.log("kernel", "BUG", what)

    def page_state(self, page: Page) -> PageState:
        return PageState(
            index=page.index,
            serial=page.serial,
            in_file=page.mapping,
            locked=page.locked,
            dirty=page.dirty,
            writeback=page.writeback,
            error=page.error,
            refs=page.refs,
            gen=page.gen,
            io_gen=page.io_gen,
            disk_gen=self.disk_gen.get(page.index),
            lock_owner=page.lock_owner,
            task_refs=page.task_refs,
            task_locked=page.task_locked,
        )

    # ------------------------------------------------------------------ pages and lookups

    def _new_page(self, index: int) -> Page:
        page = Page(serial=len(self.all_pages), index=index)
        self.all_pages.append(page)
        return page

    def page_waitqueue(self, page: Page) -> int:
        """The hashed queue of a page: pinned by index, else identity mod table size (R9)."""
        pinned = self.pins.get(page.index)
        return pinned if pinned is not None else page.serial % self.config.wait_queues

    def pagevec_lookup(self, ctx: Actor, start: int, nr: int) -> list[Page]:
        """Gang lookup by value: up to nr pages at or after start, no upper bound (rule 3)."""
        pages = self.cache.find_get_pages(start, nr)
        self.log(ctx.name, "lookup", f"pagevec_lookup({start}, {nr}) -> {_pages(pages)}")
        return pages

    def pagevec_lookup_next(self, ctx: Actor, start: int, nr: int) -> tuple[list[Page], int]:
        """Gang lookup that also returns the next index to look up (rule 4, R13)."""
        pages = self.cache.find_get_pages(start, nr)
        if self.config.lookup_next == "last+1":
            nxt = pages[-1].index + 1 if pages else start
        elif len(pages) == nr and pages:
            nxt = pages[-1].index + 1
        else:
            # The radix-tree scan ran to the end of its 64-slot leaf.
            nxt = ((pages[-1].index if pages else start) // 64 + 1) * 64
        self.log(
            ctx.name,
            "lookup",
            f"pagevec_lookup(&next={start}, {nr}) -> {_pages(pages)}, next={nxt}",
        )
        return pages, nxt

    def pagevec_release(self, pages: list[Page]) -> None:
        for page in pages:
            page.refs -= 1

    def remove_from_page_cache(self, actor: str, page: Page) -> None:
        """Truncation or eviction: the page leaves the file; its dirty data is thrown away."""
        self.cache.remove(page)
        page.mapping = False
        page.dirty = False
        page.refs -= 1
        self.log(actor, "remove", f"removes p{page.index} from the page cache", page)

    # ---------------------------------------------------------- locks, wakeups, writeback

    def _sleep_on(self, ctx: Actor, page: Page, why: str) -> Gen[None]:
        entry = ctx.sync_entry
        if entry is None:
            entry = ctx.sync_entry = WaitEntry(owner=ctx, aio=False)
        entry.page = page
        self._enqueue(entry, page)
        self.log(ctx.name, "sleep", f"sleeps in {why} p{page.index} (q{entry.queue})", page)
        yield SLEEP

    def _enqueue(self, entry: WaitEntry, page: Page) -> None:
        queue = self.page_waitqueue(page)
        self.queues[queue].insert(0, entry)  # prepare_to_wait adds at the head (R1)
        entry.queue = queue

    def lock_page(self, ctx: Actor, page: Page) -> Gen[None]:
        """Sleep on the page's queue until the lock is free, then take it (rule 9)."""
        while page.locked:
            yield from self._sleep_on(ctx, page, "lock_page")
        page.locked = True
        page.lock_owner = ctx.name
        self.log(ctx.name, "lock", f"locks p{page.index}", page)

    def trylock_page(self, actor: str, page: Page) -> bool:
        if page.locked:
            return False
        page.locked = True
        page.lock_owner = actor
        self.log(actor, "lock", f"trylocks p{page.index}", page)
        return True

    def unlock_page(self, actor: str, page: Page) -> None:
        """Clear the lock bit, then wake every entry on the page's queue (rule 7)."""
        if not page.locked:
            # A case's own unlock_page step on an unlocked page is the case's doing.
            task = self.tasks.get(actor)
            by_case = task is not None and task.doing == "unlock_page"
            self.bug(
                "unlock-unlocked-page",
                f"{actor} unlocks p{page.index}, which is not locked",
                by_case=by_case,
            )
        page.locked = False
        page.lock_owner = None
        page.task_locked = False
        self.log(actor, "unlock", f"unlocks p{page.index}", page)
        self.wake_up_page(actor, page)

    def wake_up_page(self, waker: str, page: Page) -> None:
        """wake_up_all on the page's hashed queue: no key, every entry, head first (rule 7, R1).

        With `filtered_wakeups` a synchronous sleeper for another page ignores the wakeup (2.6.7
        rule 11); AIO entries are never filtered.
        """
        queue = self.queues[self.page_waitqueue(page)]
        # Real events: I/O completion and unlocks by anything but an AIO *retry* (an iocb's runs
        # after its first, which io_submit started: its copy and write-out unlocks are real).
        waking_iocb = self.iocbs.get(waker)
        real = waking_iocb is None or waking_iocb.retries <= 1
        for entry in list(queue):
            if entry.queue is None:
                continue
            owner = entry.owner
            if entry.aio:
                assert isinstance(owner, Iocb)
                self._dequeue(entry)
                self.aio_wake_function(owner, waker, page, real)
            else:
                if self.config.filtered_wakeups and entry.page is not page:
                    continue
                self._dequeue(entry)
                self.log(waker, "wake", f"wakes {owner.name} (q{self.page_waitqueue(page)})", page)
                self.make_runnable(owner)

    def _dequeue(self, entry: WaitEntry) -> None:
        assert entry.queue is not None
        self.queues[entry.queue].remove(entry)
        entry.queue = None

    def wait_on_page_writeback(self, ctx: Actor, page: Page) -> Gen[None]:
        """Synchronous wait for the writeback bit to clear (always sleeps, even in AIO)."""
        while page.writeback:
            yield from self._sleep_on(ctx, page, "wait_on_page_writeback")

    def wait_on_page_writeback_wq(self, ctx: Actor, page: Page) -> Gen[int]:
        """0 at once if no writeback; an AIO entry is queued and -EIOCBRETRY returned (rule 10)."""
        if not page.writeback:
            self.log(ctx.name, "wait", f"p{page.index} not under writeback: wait returns 0", page)
            return 0
        wait = ctx.io_wait
        if wait is not None:
            if wait.queue is None:
                self._enqueue(wait, page)
            self.log(
                ctx.name,
                "queue",
                f"p{page.index} under writeback: entry queued on q{wait.queue}, -EIOCBRETRY",
                page,
            )
            return -EIOCBRETRY
        yield from self.wait_on_page_writeback(ctx, page)
        self.log(ctx.name, "wait", f"p{page.index} writeback done: wait returns 0", page)
        return 0

    def test_clear_page_dirty(self, page: Page) -> bool:
        was = page.dirty
        page.dirty = False
        return was

    def start_writeback(self, actor: str, page: Page) -> None:
        """set_page_writeback and submit: the I/O completes when the schedule says (rule 8)."""
        page.writeback = True
        page.io_gen = page.gen
        self.outstanding.append(page)
        self.log(actor, "writeback", f"starts I/O on p{page.index} (gen {page.gen})", page)

    def writepage(self, ctx: Actor, page: Page) -> int:
        """The filesystem's writepage on a locked page: start the I/O, unlock (rule 20)."""
        self.start_writeback(ctx.name, page)
        self.unlock_page(ctx.name, page)
        return 0

    def end_page_writeback(self, page: Page, error: bool) -> None:
        """I/O completion: clear writeback (error sets PG_error), wake the queue (rule 8, R12)."""
        self.outstanding.remove(page)
        page.writeback = False
        assert page.io_gen is not None
        self.io_log.append(
            IoCompletion(
                step=self.step_index,
                seq=self.events.seq,
                index=page.index,
                serial=page.serial,
                gen=page.io_gen,
                error=error,
            )
        )
        if error:
            page.error = True
            self.log("disk", "io_error", f"I/O on p{page.index} fails: PG_error set", page)
        else:
            assert page.io_gen is not None
            self.disk_gen[page.index] = page.io_gen
            self.log(
                "disk", "io_done", f"I/O on p{page.index} done (gen {page.io_gen} on disk)", page
            )
        page.io_gen = None
        self.wake_up_page("disk", page)

    # ------------------------------------------------------------------ the AIO engine

    def aio_wake_function(self, iocb: Iocb, waker: str, page: Page, real: bool) -> None:
        """Remove the entry (already done by the caller) and kick the iocb (rule 13, R14)."""
        if iocb.completed:
            self.bug(
                "wake-completed-iocb",
                f"{waker} wakes the entry of completed iocb {iocb.name} (p{page.index})",
                iocb.name,
            )
            return
        assert iocb.request is not None
        iocb.request.wakeups.append(
            Wakeup(step=self.step_index, waker=waker, page=page.index, real=real)
        )
        self.log(waker, "wake", f"wakes iocb {iocb.name} (q{self.page_waitqueue(page)})", page)
        self.kick_iocb(iocb)

    def kick_iocb(self, iocb: Iocb) -> None:
        """Queue the iocb for a retry, once; a kick during a run re-queues it at the end (14)."""
        if iocb.kicked:
            return
        iocb.kicked = True
        self.log(iocb.name, "kick", f"kick_iocb {iocb.name}")
        if iocb.gen is None:
            self.make_runnable(iocb)

    def aio_run_iocb(self, iocb: Iocb) -> Gen[None]:
        """One retry of an iocb on the AIO workqueue (rule 15)."""
        iocb.retries += 1
        self.log(iocb.name, "run", f"aio_run_iocb {iocb.name} (run {iocb.retries})")
        if iocb.retries > AIO_RETRIES_MAX:
            self.aio_complete(iocb, -EAGAIN)
            return
        iocb.kicked = False
        ret = yield from self.aio_pwrite(iocb)
        if ret != -EIOCBRETRY:
            self.aio_complete(iocb, ret)
        elif iocb.entry is not None and iocb.entry.queue is None:
            self.log(iocb.name, "retry", "progress and nothing queued: kicked again at once")
            self.kick_iocb(iocb)

    def aio_pwrite(self, iocb: Iocb) -> Gen[int]:
        """Rule 16: progress becomes -EIOCBRETRY; 0 or nothing left completes with the total."""
        ret = yield from self.aio_write(iocb)
        if ret > 0:
            iocb.left -= ret
            ret = -EIOCBRETRY
        if ret == 0 or iocb.left == 0:
            ret = iocb.nbytes - iocb.left
        self.log(iocb.name, "aio_pwrite", f"aio_pwrite -> {ret}, left {iocb.left}")
        return ret

    def aio_write(self, iocb: Iocb) -> Gen[int]:
        """Rule 17: copy on the first run only, then sync_page_range; pos advances by progress."""
        assert iocb.request is not None
        if not iocb.synced:
            ret = yield from self.copy_pages(iocb, iocb.request, iocb.pos, iocb.left)
        else:
            ret = iocb.left
        ret2 = yield from self.version.sync_page_range(self, iocb, iocb.pos, ret)
        self.log(iocb.name, "sync", f"sync_page_range({iocb.pos}, {ret}) -> {ret2}")
        self.note_progress(iocb.request, iocb.pos, ret2)
        if ret2 >= 0:
            iocb.pos += ret2
        return ret2

    def aio_complete(self, iocb: Iocb, result: int) -> None:
        """Report the result. Completing with the entry still queued is a BUG (rule 15, R14)."""
        if iocb.entry is not None and iocb.entry.queue is not None:
            self.bug(
                "complete-with-queued-wait",
                f"aio_complete of {iocb.name} while its wait entry is on q{iocb.entry.queue}",
                iocb.name,
            )
        iocb.completed = True
        assert iocb.request is not None
        self.complete_request(iocb.request, iocb.name, result)

    def note_progress(self, req: Request, pos: int, nbytes: int) -> None:
        """Record the pages a positive sync_page_range result claims are on disk (oracle)."""
        if nbytes <= 0:
            return
        pages = tuple(
            self.page_state(p)
            for i in page_range(pos, nbytes)
            if (p := self.cache.get(i)) is not None
        )
        self.progress.append(
            Progress(
                step=self.step_index,
                seq=self.events.seq,
                request=req.name,
                pos=pos,
                nbytes=nbytes,
                pages=pages,
            )
        )

    def complete_request(self, req: Request, actor: str, result: int) -> None:
        req.result = result
        req.completed_at = self.step_index
        req.completed_seq = self.events.seq
        states = []
        not_on_disk = []
        for index in req.index_range():
            page = self.cache.get(index)
            if page is None:
                continue
            states.append(self.page_state(page))
            if page.dirty or page.writeback:
                not_on_disk.append(index)
        req.not_on_disk = tuple(not_on_disk)
        req.pages_at_completion = tuple(states)
        late = f", not on disk: {_indices(not_on_disk)}" if not_on_disk else ""
        self.log(actor, "complete", f"{req.name} completes: {result}{late}")

    # ------------------------------------------------------------- the write paths

    def copy_pages(self, ctx: Actor, req: Request, pos: int, count: int) -> Gen[int]:
        """Copy user data into the cache, page by page (rule 17, R10): find or create, lock,
        copy (a new data generation, dirty), unlock."""
        if count == 0:
            return 0
        for index in page_range(pos, count):
            while True:
                page = self.cache.get(index)
                if page is None:
                    # __grab_cache_page: a new page goes in locked; no sleep, no wakeup.
                    page = self._new_page(index)
                    page.locked = True
                    page.lock_owner = ctx.name
                    page.refs += 1
                    self.cache.insert(page)
                    self.log(
                        ctx.name,
                        "create",
                        f"creates p{index} locked (q{self.page_waitqueue(page)})",
                        page,
                    )
                    break
                page.refs += 1
                yield from self.lock_page(ctx, page)
                if page.mapping:
                    break
                # Truncated while we slept: let go and look again.
                self.unlock_page(ctx.name, page)
                page.refs -= 1
            page.gen = self.next_gen
            self.next_gen += 1
            page.dirty = True
            req.generations[index] = (page.serial, page.gen)
            self.log(ctx.name, "copy", f"copies into p{index} (gen {page.gen}), dirty", page)
            self.unlock_page(ctx.name, page)
            page.refs -= 1
        self.i_size = max(self.i_size, pos + count)
        return count

    def sync_write(self, task: Task, req: Request) -> Gen[None]:
        """Blocking O_SYNC write(2): copy, then sync_page_range; a partial count is a short
        write (rule 18)."""
        copied = yield from self.copy_pages(task, req, req.pos, req.count)
        ret = yield from self.version.sync_page_range(self, task, req.pos, copied)
        self.log(task.name, "sync", f"sync_page_range({req.pos}, {copied}) -> {ret}")
        self.note_progress(req, req.pos, ret)
        self.complete_request(req, task.name, ret)

    def buffered_write(self, task: Task, req: Request) -> Gen[None]:
        copied = yield from self.copy_pages(task, req, req.pos, req.count)
        self.complete_request(req, task.name, copied)

    # ------------------------------------------------------- truncation, reclaim, flush

    def truncate_inode_pages(self, task: Task, size: int) -> Gen[None]:
        """truncate_inode_pages of 2.6.0 (rule 22, R7): try-lock pass, partial page, then the
        sleeping pass until no page at or after `start` is left."""
        name = task.name
        self.i_size = size
        start = (size + PAGE_CACHE_SIZE - 1) >> PAGE_CACHE_SHIFT
        partial = size & (PAGE_CACHE_SIZE - 1)
        self.log(name, "truncate", f"truncate to {size}: pages from {start}")
        nxt = start
        while True:
            pvec = self.cache.find_get_pages(nxt, PAGEVEC_SIZE)
            if not pvec:
                break
            for page in pvec:
                nxt = max(nxt, page.index) + 1
                if not self.trylock_page(name, page):
                    continue
                if page.writeback:
                    self.unlock_page(name, page)
                    continue
                if page.mapping:
                    self.remove_from_page_cache(name, page)
                self.unlock_page(name, page)
            self.pagevec_release(pvec)
        if partial:
            tail = yield from self.find_lock_page(task, start - 1)
            if tail is not None:
                yield from self.wait_on_page_writeback(task, tail)
                self.log(name, "zero", f"zeroes the tail of p{tail.index} past {partial}", tail)
                self.unlock_page(name, tail)
                tail.refs -= 1
        nxt = start
        while True:
            pvec = self.cache.find_get_pages(nxt, PAGEVEC_SIZE)
            if not pvec:
                if nxt == start:
                    break
                nxt = start
                continue
            for page in pvec:
                yield from self.lock_page(task, page)
                yield from self.wait_on_page_writeback(task, page)
                nxt = max(nxt, page.index) + 1
                if page.mapping:
                    self.remove_from_page_cache(name, page)
                self.unlock_page(name, page)
            self.pagevec_release(pvec)
        self.log(name, "done", "truncate done")

    def find_lock_page(self, task: Task, index: int) -> Gen[Page | None]:
        while True:
            page = self.cache.get(index)
            if page is None:
                return None
            page.refs += 1
            yield from self.lock_page(task, page)
            if page.mapping:
                return page
            self.unlock_page(task.name, page)
            page.refs -= 1

    def reclaim(self, index: int) -> None:
        """shrink_list on one page (rule 23, R6): try-lock; evict only a clean, idle page that
        only the cache references; unlock (and so wake the queue) on every path."""
        page = self.cache.get(index)
        if page is None:
            self.log("vm", "reclaim", f"reclaim p{index}: no page")
            return
        if not self.trylock_page("vm", page):
            self.log("vm", "reclaim", f"reclaim p{index}: locked, skipped", page)
            return
        if not page.dirty and not page.writeback and page.refs == 1:
            self.remove_from_page_cache("vm", page)
        else:
            self.log(
                "vm",
                "reclaim",
                f"reclaim p{index}: busy ({page.flags()}, refs {page.refs}), kept",
                page,
            )
        self.unlock_page("vm", page)

    def flush(self, index: int) -> None:
        """Background writepage (R5): only a present, dirty, unlocked page not under writeback."""
        page = self.cache.get(index)
        if page is None or not page.dirty or page.locked or page.writeback:
            state = "no page" if page is None else page.flags()
            self.log("vm", "flush", f"flush p{index}: nothing to do ({state})")
            return
        self.trylock_page("vm", page)
        page.dirty = False
        self.start_writeback("vm", page)
        self.unlock_page("vm", page)

    def complete_io(self, index: int, error: bool) -> None:
        for page in self.outstanding:
            if page.index == index:
                self.end_page_writeback(page, error)
                return
        self.log("disk", "io", f"complete_io p{index}: no I/O outstanding")

    def hold_page_lock(self, task: Task, index: int) -> Gen[None]:
        """Another task takes a page lock and keeps it (a reference held with it)."""
        page = self.cache.get(index)
        if page is None:
            self.log(task.name, "lock", f"lock_page p{index}: no page")
            return
        page.refs += 1
        page.task_refs += 1
        yield from self.lock_page(task, page)
        page.task_locked = True

    def _page_lock_of_other(self, task: str, index: int) -> Page | None:
        """The page at `index` if it is locked by someone other than `task`."""
        page = self.cache.get(index)
        if page is not None and page.locked and page.lock_owner != task:
            return page
        return None

    def drop_page_lock(self, task: Task, index: int) -> Gen[None]:
        """Another task drops a lock it holds. It never releases a lock someone else holds: that
        would break the holder's mutual exclusion, which no kernel path does."""
        held = [
            p
            for p in self.all_pages
            if p.task_locked and p.lock_owner == task.name and p.index == index
        ]
        page = held[0] if held else self.cache.get(index)
        if page is None:
            self.log(task.name, "unlock", f"unlock_page p{index}: no page")
            return
        if not held and page.locked:
            self.log(
                task.name,
                "unlock",
                f"unlock_page p{index}: locked by {page.lock_owner}, not ours: nothing done",
            )
            return
        self.unlock_page(task.name, page)
        if held:
            page.refs -= 1
            page.task_refs -= 1
        yield from ()

    # ------------------------------------------------------------------ scheduling

    def make_runnable(self, actor: Actor) -> None:
        if actor.state != "runnable":
            actor.state = "runnable"
            self.run_list.append(actor)

    def dispatch(self, actor: Actor, until: str | None = None) -> None:
        """Run one actor until it sleeps, ends, or passes the named point `until`."""
        self.dispatches += 1
        if isinstance(actor, Iocb) and actor.gen is None:
            actor.gen = self.aio_run_iocb(actor)
            actor.work_started = self.events.seq
        assert actor.gen is not None
        if actor.state == "paused":
            self.log(actor.name, "resume", "resumes")
        actor.state = "running"
        self.current = actor
        while True:
            try:
                point: Yield = next(actor.gen)
            except StopIteration:
                actor.gen = None
                actor.state = "idle"
                if isinstance(actor, Iocb) and actor.kicked and not actor.completed:
                    self.make_runnable(actor)
                break
            if point is SLEEP:
                actor.state = "asleep"
                break
            assert isinstance(point, Point)
            if point.name == until:
                actor.state = "paused"
                self.paused.append(actor)
                self.log(actor.name, "pause", f"paused at '{point.name}'")
                break
        self.current = None

    def settle(self) -> None:
        """Run the run list until it is empty or the settle bound is reached (R2)."""
        runs: dict[str, int] = {}
        dispatched = 0
        while self.run_list:
            if dispatched >= self.config.settle_bound:
                storm = tuple(
                    sorted(
                        ((n, c) for n, c in runs.items() if n in self.iocbs),
                        key=lambda item: (-item[1], item[0]),
                    )
                )
                self.bound_hits.append(SettleBoundHit(step=self.step_index, iocbs=storm))
                self.log(
                    "sched",
                    "bound",
                    f"settle bound {self.config.settle_bound} reached; "
                    f"still runnable: {', '.join(a.name for a in self.run_list)}",
                )
                return
            if self.dispatches >= DISPATCHES_MAX:
                self.budget_hit = True
                return
            actor = self.run_list.pop(0)
            dispatched += 1
            runs[actor.name] = runs.get(actor.name, 0) + 1
            self.dispatch(actor)

    # ------------------------------------------------------------------ steps

    def _task_work(self, step: Step) -> bool:
        assert step.task is not None
        task = self.tasks.get(step.task)
        if task is None:
            task = self.tasks[step.task] = Task(name=step.task)
        if task.gen is not None:
            self.log(step.task, "skip", f"{step.op} skipped: {step.task} is {task.state}")
            return False
        if step.op == "unlock_page" and step.page is not None:
            other = self._page_lock_of_other(step.task, step.page)
            if other is not None:
                self.log(
                    step.task,
                    "skip",
                    f"unlock_page skipped: p{step.page} is locked by {other.lock_owner}",
                )
                return False
        if step.op in ("sync_write", "write"):
            assert step.pos is not None and step.count is not None
            req = Request(
                name=step.task,
                kind=step.op,
                pos=step.pos,
                count=step.count,
                submitted_at=self.step_index,
                task=step.task,
            )
            # A task may make several requests: the second is reported as "T#2", and so on.
            earlier = sum(1 for r in self.requests if r.kind != "aio_write" and r.task == step.task)
            if earlier:
                req.name = f"{step.task}#{earlier + 1}"
            self.requests.append(req)
            task.request = req
            work = (
                self.sync_write(task, req)
                if step.op == "sync_write"
                else self.buffered_write(task, req)
            )
        elif step.op == "truncate":
            assert step.size is not None
            work = self.truncate_inode_pages(task, step.size)
        elif step.op == "lock_page":
            assert step.page is not None
            work = self.hold_page_lock(task, step.page)
        else:
            assert step.page is not None
            work = self.drop_page_lock(task, step.page)
        task.doing = step.op
        self.log(step.task, "start", f"{step.op} {_step_args(step)}")
        task.gen = work
        task.work_started = self.events.seq
        self.make_runnable(task)
        return True

    def do_step(self, step: Step) -> None:
        op = step.op
        ok = True
        if op == "aio_write":
            assert step.iocb is not None and step.pos is not None and step.count is not None
            req = Request(
                name=step.iocb,
                kind=op,
                pos=step.pos,
                count=step.count,
                submitted_at=self.step_index,
            )
            self.requests.append(req)
            iocb = Iocb(
                name=step.iocb, request=req, nbytes=step.count, left=step.count, pos=step.pos
            )
            iocb.entry = WaitEntry(owner=iocb, aio=True)
            self.iocbs[step.iocb] = iocb
            self.log(step.iocb, "submit", f"io_submit aio_write pos {step.pos} count {step.count}")
            iocb.kicked = True
            self.make_runnable(iocb)
        elif op in ("sync_write", "write", "truncate", "lock_page", "unlock_page"):
            ok = self._task_work(step)
        elif op == "flush":
            assert step.page is not None
            self.flush(step.page)
        elif op == "complete_io":
            assert step.page is not None
            self.complete_io(step.page, step.error)
        elif op == "reclaim":
            assert step.page is not None
            self.reclaim(step.page)
        elif op == "run":
            ok = self._run_step(step)
        elif op == "settle":
            self.settle()
        if not ok:
            self.skipped.append(self.step_index)
        if self.config.auto_settle:
            self.settle()

    def _run_step(self, step: Step) -> bool:
        name = step.actor
        assert name is not None
        actor: Actor | None = (
            self.iocbs.get(name) if step.iocb is not None else self.tasks.get(name)
        )
        if actor is None or actor.state not in ("runnable", "paused"):
            state = "unknown" if actor is None else actor.state
            self.log(name, "skip", f"run {name} skipped: {state}")
            return False
        if actor.state == "runnable":
            self.run_list.remove(actor)
        else:
            self.paused.remove(actor)
        self.dispatch(actor, step.until)
        return True

    def drain(self) -> None:
        """After the last step: resume paused actors, settle, complete I/O oldest first (R4)."""
        self.step_index = len(self.case.steps)
        self.log("sched", "drain", "drain")
        for actor in self.paused:
            self.make_runnable(actor)
        self.paused.clear()
        self.settle()
        while self.outstanding and not self.budget_hit:
            self.end_page_writeback(self.outstanding[0], error=False)
            self.settle()

    def run(self) -> RunRecord:
        self.run_steps()
        return self.finish()

    def run_steps(self) -> None:
        """Take every step of the case, without the drain."""
        for index, step in enumerate(self.case.steps):
            self.step_index = index
            self.do_step(step)
            if self.budget_hit:
                break

    def finish(self) -> RunRecord:
        """Drain and freeze."""
        if not self.budget_hit:
            self.drain()
        return self.freeze()

    def state_key(self) -> tuple[object, ...]:
        """Everything the rest of a run can depend on, as a hashable value (the explorer prunes
        schedules that reach a key it has seen; docs/explore.md argues why that is sound).

        The world's state, the history the oracle reads (results, retries, real and spurious
        wakeups, the generations each request wrote), and for every actor with code still to
        run, the events it logged since that code started: its generator's locals are a
        function of its arguments and of what the world answered it, and those answers are in
        its events (lookups with their pages and next, wait results, locks, sleeps). Where some
        of those events were dropped from a bounded log, the key equals no other: never pruned.

        Data generations are replaced by their rank: no version reads them, and the oracle only
        compares them, so two runs that differ only in how many copies came before are the same
        state."""
        gens = {0}
        for p in self.all_pages:
            gens.add(p.gen)
            if p.io_gen is not None:
                gens.add(p.io_gen)
        gens.update(self.disk_gen.values())
        gens.update(io.gen for io in self.io_log)
        for r in self.requests:
            gens.update(g for _serial, g in r.generations.values())
            gens.update(ps.gen for ps in r.pages_at_completion)
            gens.update(ps.disk_gen for ps in r.pages_at_completion if ps.disk_gen is not None)
        for prog in self.progress:
            gens.update(ps.gen for ps in prog.pages)
            gens.update(ps.disk_gen for ps in prog.pages if ps.disk_gen is not None)
        rank = {g: i for i, g in enumerate(sorted(gens))}

        def state(ps: PageState) -> tuple[object, ...]:
            disk = None if ps.disk_gen is None else rank[ps.disk_gen]
            return (ps.serial, ps.in_file, ps.dirty, ps.writeback, rank[ps.gen], disk)

        pages = tuple(
            (
                p.serial,
                p.index,
                p.mapping,
                p.locked,
                p.lock_owner,
                p.dirty,
                p.writeback,
                p.error,
                p.refs,
                rank[p.gen],
                None if p.io_gen is None else rank[p.io_gen],
                p.task_refs,
                p.task_locked,
            )
            for p in self.all_pages
        )
        queues = tuple(
            tuple((e.owner.name, e.aio, None if e.page is None else e.page.serial) for e in q)
            for q in self.queues
        )
        # The history the oracle reads: results, what each request wrote, the pages as they were
        # at its completion and at each progress report, failed I/O.
        requests = tuple(
            (
                r.name,
                r.result,
                r.completed_at is not None,
                tuple(sorted((i, s, rank[g]) for i, (s, g) in r.generations.items())),
                tuple(state(ps) for ps in r.pages_at_completion),
            )
            for r in self.requests
        )
        progress = tuple(
            (prog.request, prog.pos, prog.nbytes, tuple(state(ps) for ps in prog.pages))
            for prog in self.progress
        )
        failed_io = tuple((io.serial, rank[io.gen]) for io in self.io_log if io.error)
        actors = []
        for actor in self._actors():
            history: tuple[object, ...] = ()
            if actor.gen is not None:
                kept, dropped = self.events.since(actor.work_started)
                history = tuple(
                    (e.kind, _GEN_TEXT.sub("", e.text)) for e in kept if e.actor == actor.name
                )
                if dropped:
                    # Answers this code read may be among the dropped events: its locals cannot
                    # be shown equal to any other state's, so this key equals no other key.
                    history += (("elided", dropped, _Unmatched()),)
            extra: tuple[object, ...] = ()
            if isinstance(actor, Iocb) and actor.request is not None:
                # retry_bound compares runs with real wakeups: only their difference matters.
                real = sum(1 for w in actor.request.wakeups if w.real)
                extra = (
                    actor.left,
                    actor.pos,
                    actor.kicked,
                    actor.synced,
                    actor.completed,
                    actor.retries - real,
                )
            actors.append((actor.name, actor.state, extra, history))
        return (
            pages,
            tuple(sorted((i, rank[g]) for i, g in self.disk_gen.items())),
            queues,
            tuple(p.serial for p in self.outstanding),
            tuple(a.name for a in self.run_list),
            tuple(a.name for a in self.paused),
            requests,
            progress,
            failed_io,
            tuple(actors),
            tuple((b.kind, b.by_case, b.request) for b in self.bugs),
            tuple(hit.iocbs for hit in self.bound_hits),
        )

    def freeze(self) -> RunRecord:
        requests = tuple(
            RequestResult(
                name=req.name,
                kind=req.kind,
                pos=req.pos,
                count=req.count,
                submitted_at=req.submitted_at,
                result=req.result,
                completed_at=req.completed_at,
                retries=self.iocbs[req.name].retries if req.kind == "aio_write" else 0,
                not_on_disk_at_completion=req.not_on_disk,
                generations=tuple((i, s, g) for i, (s, g) in sorted(req.generations.items())),
                pages_at_completion=req.pages_at_completion,
                wakeups=tuple(req.wakeups),
                completed_seq=req.completed_seq,
            )
            for req in self.requests
        )
        queued = tuple(
            (q, entry.owner.name) for q, queue in enumerate(self.queues) for entry in queue
        )
        sleepers = [a for a in self._actors() if a.state == "asleep"]
        asleep = tuple(a.name for a in sleepers)
        # What each sleeper waits on, and whether a case task's own lock_page holds it there.
        asleep_on = tuple(
            (a.name, e.page.index, e.page.task_locked)
            for a in sleepers
            if (e := a.sync_entry) is not None and e.page is not None
        )
        final = FinalState(
            pages=tuple(self.page_state(p) for p in self.all_pages),
            queued=queued,
            asleep=asleep,
            asleep_on=asleep_on,
            outstanding_io=tuple(p.index for p in self.outstanding),
            runnable=tuple(a.name for a in self.run_list),
            paused=tuple(a.name for a in self.paused),
        )
        return RunRecord(
            case=self.case,
            version=self.version.name,
            requests=requests,
            kernel_bugs=tuple(self.bugs),
            settle_bound_hits=tuple(self.bound_hits),
            skipped_steps=tuple(self.skipped),
            events=self.events.frozen(),
            events_elided=self.events.elided,
            final=final,
            budget_hit=self.budget_hit,
            progress=tuple(self.progress),
            io_log=tuple(self.io_log),
        )

    def _actors(self) -> Iterator[Actor]:
        yield from self.tasks.values()
        yield from self.iocbs.values()


class _Unmatched:
    """Equal only to itself (object identity): stands in a state key for dropped history."""

    __slots__ = ()


def run_case(case: Case, version: Version) -> RunRecord:
    """Run one case against one version and return the frozen record."""
    return World(case, version).run()


def _pages(pages: list[Page]) -> str:
    return "[" + ", ".join(f"p{p.index}" for p in pages) + "]"


def _indices(indices: list[int]) -> str:
    return ", ".join(f"p{i}" for i in indices)


def _step_args(step: Step) -> str:
    return " ".join(f"{k}={v}" for k, v in step.to_json().items() if k not in ("op", "task"))


__all__ = ["LOOKUP", "PAGE", "Actor", "Iocb", "Task", "Version", "World", "run_case"]
