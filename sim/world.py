"""The world of one run: its state, and the kernel operations kernel code calls on it (`k.*`):
sections 1-4, 6 and 8 of kernel-model.md (the project's kernel-semantics spec, kept outside this
repository; docs/model.md restates the rules cases depend on most, with these rule numbers, and
what pagefuzz settled where the spec is silent).

Kernel code paths are generators that yield only `sim.points` values. The world resumes one actor
at a time (R2: one FIFO run list; the running actor goes on until it sleeps, ends or pauses), so a
case's steps fully determine the run: no randomness, no wall clock, no hash order.

The versions under test (`impls/`) subclass `Version` and supply operate_on_page_range, page_writer
and page_waiter; everything around them lives in the modules named after what they model, and
`World` binds their functions as its methods, so that every version runs in the same world and
calls it the same way (`k.lock_page(ctx, page)`):

- sim/filemap.py: the page cache as kernel code uses it: gang lookups, page locks, wakeups,
  writeback and its waits;
- sim/waitqueue.py: a wait queue and its entries;
- sim/blockdev.py: the block device: write-outs in flight, the disk, its fault model;
- sim/aio.py: the AIO retry engine: io_submit, kick_iocb, aio_run_iocb, aio_pwrite;
- sim/write.py: the write(2) paths: the copy, O_SYNC and buffered writes, what requests record;
- sim/truncate.py: truncation, reclaim, background write-out, a task holding a page lock;
- sim/sched.py: the run list, dispatches, settles, pauses, the drain, and `runnable()`;
- sim/steps.py: what each op of a case does;
- sim/snapshot.py: reading a world out: the frozen record, the explorer's state key.

A module calls its own functions directly and every other module's through the world, as the
versions do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pagefuzz.sim import (
    aio,
    blockdev,
    filemap,
    keys,
    sched,
    snapshot,
    steps,
    storm,
    truncate,
    write,
)
from pagefuzz.sim.actors import Actor, Iocb, Scheduler, Semaphore, Task
from pagefuzz.sim.case import Case, Step
from pagefuzz.sim.cint import PAGE_CACHE_SIZE
from pagefuzz.sim.eventlog import EventLog, MessageLog, RunLog
from pagefuzz.sim.events import Message, MessageType
from pagefuzz.sim.history import History
from pagefuzz.sim.july import filemap as july_filemap
from pagefuzz.sim.july import mpage as july_mpage
from pagefuzz.sim.july import write as july_write
from pagefuzz.sim.kernel import Kernel
from pagefuzz.sim.mm import Page, PageCache
from pagefuzz.sim.points import LOOKUP, PAGE, Gen
from pagefuzz.sim.record import (
    KernelBug,
    PageState,
    RequestId,
    RunRecord,
)
from pagefuzz.sim.waitqueue import WaitTable

#: A page operator (page_writer, page_waiter) as operate_on_page_range calls it.
Operator = Callable[[Kernel, Actor, Page], Gen[int]]


class Version:
    """An algorithm version: the three functions the seed changes, plus the -mm caller. Each
    receives the kernel as `k`, and calls only what `sim.kernel.Kernel` declares.

    Subclasses implement `operate_on_page_range`, `page_writer` and `page_waiter` as generators
    mirroring the C. `sync_page_range` is the 2004 -mm caller (rule 19); a candidate fix may
    override it too.
    """

    name: ClassVar[str] = "?"
    summary: ClassVar[str] = ""
    #: The kernel era whose world the version's code is written for (sim/case.py ERAS): it
    #: runs only in cases of that era.
    era: ClassVar[str] = "2004-01"
    #: Declared True in a version's own class body when its functions keep no state of their
    #: own between calls (all of it is in the world): then its retry storms may be cut short
    #: (sim/storm.py). Not inherited: a subclass that adds state must not be cut by mistake.
    stateless: ClassVar[bool] = False
    #: The file a version from outside the package was loaded from (set by its loader): a
    #: failure's `where` is the innermost frame in it (sim/failure.py).
    source_file: ClassVar[str | None] = None

    def operate_on_page_range(
        self, k: Kernel, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        raise NotImplementedError

    def page_writer(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        raise NotImplementedError

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        raise NotImplementedError

    def sync_page_range(self, k: Kernel, ctx: Actor, pos: int, count: int) -> Gen[int]:
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


class EraMismatch(ValueError):
    """A version asked to run in a case of another era (the shell picks versions by the case's
    era, so this is a harness error)."""


class World:
    """One run of one case against one version. A case of the July 2004 era gets a
    `JulyWorld`, which binds that era's kernel functions (sim/july/)."""

    def __new__(cls, case: Case, *args: Any, **kwargs: Any) -> World:
        if cls is World and case.config.era == "2004-07":
            cls = JulyWorld
        return object.__new__(cls)

    def __init__(
        self,
        case: Case,
        version: Version,
        events: RunLog | None = None,
        cut_storms: bool | None = None,
        catch_version_errors: bool = False,
    ) -> None:
        if version.era != case.config.era:
            raise EraMismatch(
                f"version {version.name} is of era {version.era}; case {case.name} is of era "
                f"{case.config.era}"
            )
        self.case = case
        self.config = case.config
        self.version = version
        #: Whether settles skip the whole cycles of a retry storm (sim/storm.py): by default
        #: when the version is declared stateless; False runs every dispatch (the proof's
        #: uncut run).
        self.cut_storms = storm.cuttable(self) if cut_storms is None else cut_storms
        # The world's state, one component per thing modelled (sim/keys.py derives the
        # explorer's and the storm cut's keys from their declared fields).
        self.cache = PageCache()
        self.waits = WaitTable.of_size(self.config.wait_queues, dict(self.config.queue_of))
        self.device = blockdev.BlockDevice.for_file(self.config.file_pages)
        self.sched = Scheduler()
        #: The inode's i_sem (July 2004 era, J25; never taken in the seed's era).
        self.i_sem = Semaphore()
        self.history = History()
        #: The VM's own kernel threads (reclaim, background write-out): they lock pages, never
        #: sleep, and are never scheduled.
        self.vm = Actor(name="vm")
        self.events: RunLog = EventLog() if events is None else events
        if isinstance(self.events, MessageLog):
            self.log = self.events.world_log  # type: ignore[method-assign]  # one call per event
        self.step_index = 0
        self.steps_taken = 0
        self.next_gen = 1
        self.i_size = self.config.file_pages * PAGE_CACHE_SIZE
        #: Whether an exception from the version's code is a finding (`crash`) rather than a
        #: harness error: for versions from outside the package (sim/failure.py).
        self.catch_version_errors = catch_version_errors
        #: Called with the actor at each dispatch, if set: how the process hosting a version
        #: from outside the package knows what was running when it died.
        self.observer: Callable[[Actor], None] | None = None
        for index in range(self.config.file_pages):
            self.cache.insert(self.page_cache_alloc(index))

    # ------------------------------------------------------------- the kernel, by file
    # mm/filemap.c, mm/swap.c: the page cache, page locks, wakeups, writeback
    page_cache_alloc = filemap.page_cache_alloc
    page_waitqueue = filemap.page_waitqueue
    pagevec_lookup = filemap.pagevec_lookup
    pagevec_lookup_next = filemap.pagevec_lookup_next
    pagevec_release = filemap.pagevec_release
    page_cache_get = filemap.page_cache_get
    page_cache_release = filemap.page_cache_release
    wait_table_size = filemap.wait_table_size
    add_wait_queue = filemap.add_wait_queue
    find_lock_page = filemap.find_lock_page
    remove_from_page_cache = filemap.remove_from_page_cache
    lock_page = filemap.lock_page
    trylock_page = filemap.trylock_page
    unlock_page = filemap.unlock_page
    wake_up_page = filemap.wake_up_page
    set_page_dirty = filemap.set_page_dirty
    test_clear_page_dirty = filemap.test_clear_page_dirty
    wait_on_page_writeback = filemap.wait_on_page_writeback
    wait_on_page_writeback_wq = filemap.wait_on_page_writeback_wq
    start_writeback = filemap.start_writeback
    writepage = filemap.writepage
    end_page_writeback = filemap.end_page_writeback
    # The July 2004 era's own calls (sim/july/): present in every world so that one `Kernel`
    # describes both, inert in the seed's era (no tags are set there, nothing takes i_sem,
    # and no version of the era calls them).
    pagevec_lookup_tag = july_filemap.pagevec_lookup_tag
    test_and_clear_bit = july_filemap.test_and_clear_bit
    wait_on_page_writeback_bit = july_filemap.wait_on_page_writeback_bit
    filemap_fdatawrite_range = july_mpage.filemap_fdatawrite_range
    generic_osync_inode = july_write.generic_osync_inode
    down = july_write.down
    up = july_write.up
    kiocb_try_sync = july_write.kiocb_try_sync
    # the block device
    complete_io = blockdev.complete_io
    # fs/aio.c
    io_submit = aio.io_submit
    aio_wake_function = aio.aio_wake_function
    kick_iocb = aio.kick_iocb
    aio_run_iocb = aio.aio_run_iocb
    aio_pwrite = aio.aio_pwrite
    aio_write = aio.aio_write
    aio_complete = aio.aio_complete
    # the write paths
    copy_pages = write.copy_pages
    sync_write = write.sync_write
    buffered_write = write.buffered_write
    note_progress = write.note_progress
    complete_request = write.complete_request
    # truncation, reclaim, background write-out, a task's page lock
    truncate_inode_pages = truncate.truncate_inode_pages
    reclaim = truncate.reclaim
    flush = truncate.flush
    hold_page_lock = truncate.hold_page_lock
    drop_page_lock = truncate.drop_page_lock
    page_lock_of_other = truncate.page_lock_of_other
    # the scheduler
    make_runnable = sched.make_runnable
    dispatch = sched.dispatch
    settle = sched.settle
    run_actor = sched.run_actor
    drain = sched.drain
    #: What can act now (`sim.sched.Choice`s): all that whoever chooses the schedule may read.
    runnable = sched.runnable
    # the case's steps
    do_step = steps.take_step
    # reading the world out
    state_key = snapshot.state_key
    freeze = snapshot.freeze

    # ----------------------------------------------------------------- events and evidence

    def log(
        self, actor: str, message: MessageType, args: tuple[Any, ...] = (), page: Page | None = None
    ) -> None:
        self.events.log(self.step_index, actor, message, args, None if page is None else page.index)

    def drop_timeline(self) -> None:
        """Keep counting events but stop keeping them: nobody will print the rest of this run
        (the explorer's drains, which are only judged). Sequence numbers stay exact."""
        light = MessageLog(self.events.seq)
        self.events = light
        self.log = light.world_log  # type: ignore[method-assign]

    def bug(
        self, kind: str, what: str, request: RequestId | None = None, by_case: bool = False
    ) -> None:
        self.history.bugs.append(
            KernelBug(
                by_case=by_case,
                step=self.step_index,
                seq=self.events.seq,
                what=what,
                kind=kind,
                request=request,
            )
        )
        self.log("kernel", Message.BUG, (what,))

    def page_state(self, page: Page) -> PageState:
        """The page's state now, as the record keeps it (sim/keys.py derives it from Page)."""
        return keys.page_state(page, self.device)

    # ------------------------------------------------------------------------ a whole run

    def step(self, step: Step) -> None:
        """Take the next step of the schedule (its index: the number of steps taken before);
        nothing once the version's code has failed (the run ended there)."""
        if self.history.failure is not None:
            return
        self.step_index = self.steps_taken
        self.do_step(step)
        self.steps_taken += 1

    def run(self) -> RunRecord:
        self.run_steps()
        return self.finish()

    def run_steps(self) -> None:
        """Take every step of the case, without the drain."""
        for step in self.case.steps:
            self.step(step)
            if self.sched.budget_hit or self.history.failure is not None:
                break

    def finish(self) -> RunRecord:
        """Drain and freeze (a run its version's failure ended is not drained)."""
        if not self.sched.budget_hit and self.history.failure is None:
            self.drain()
        return self.freeze()


class JulyWorld(World):
    """The world of the July 2004 era (sim/july/): the same state and the same scheduler, with
    that era's page-cache wake-ups, tags, range write-out and write paths."""

    # mm/filemap.c of 2.6.7: tags, filtered and exclusive wake-ups, writeback with its tags
    lock_page = july_filemap.lock_page
    unlock_page = july_filemap.unlock_page
    wake_up_page = july_filemap.wake_up_page
    set_page_dirty = july_filemap.set_page_dirty
    wait_on_page_writeback = july_filemap.wait_on_page_writeback
    wait_on_page_writeback_wq = july_filemap.wait_on_page_writeback_wq
    writepage = july_filemap.writepage
    end_page_writeback = july_filemap.end_page_writeback
    # the write paths (fs/aio.c, mm/filemap.c of the -mm series)
    aio_write = july_write.generic_file_aio_write
    aio_run_iocb = july_write.aio_run_iocb
    sync_write = july_write.generic_file_write
    buffered_write = july_write.buffered_write


def run_case(
    case: Case, version: Version, events: bool = True, catch_version_errors: bool = False
) -> RunRecord:
    """Run one case against one version and return the frozen record; `events=False` keeps
    only the events' messages (sim/eventlog.py, `MessageLog`): for runs nobody will print.
    `catch_version_errors`: an exception from the version is a `crash` finding, not raised."""
    world = World(
        case, version, None if events else MessageLog(), catch_version_errors=catch_version_errors
    )
    return world.run()


__all__ = ["LOOKUP", "PAGE", "Actor", "Iocb", "Kernel", "Task", "Version", "World", "run_case"]
