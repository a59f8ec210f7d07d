"""What the scheduler runs, and what it was asked to do: tasks, iocbs, their states, requests.

An `Actor` is anything the world resumes one at a time (R2): a `Task` doing the work of a case
step, or an `Iocb` (struct kiocb, fs/aio.c), whose runs on the AIO workqueue are `aio_run_iocb`
calls. Its code is a generator that yields only `sim.points` values; `state` says where it stands
with the scheduler (sim/sched.py). A `Request` is a write(2) or io_submit as the oracle sees it:
what it asked for and how it ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from pagefuzz.sim.case import Step
from pagefuzz.sim.mm import page_range
from pagefuzz.sim.points import Gen
from pagefuzz.sim.record import PageState, RequestId, Wakeup

if TYPE_CHECKING:
    from pagefuzz.sim.mm import Page


@dataclass(eq=False)
class WaitEntry:
    """An entry on a hashed wait queue (wait_queue_t): a sleeping actor's own, or an iocb's
    `ki_wait`. It lives with its owner, as the kernel embeds it in the task or the kiocb;
    sim/waitqueue.py holds the queues it goes on."""

    owner: Actor
    aio: bool
    page: Page | None = None  # the page a synchronous sleeper waits on (filtered wakeups)
    queue: int | None = None  # the index of the queue it is on; None while on none
    #: July 2004 era (J8, J9): the page flag a synchronous sleeper waits to see clear
    #: ("locked" or "writeback"), and whether it waits exclusively (lock_page: at the tail,
    #: and its acceptance ends a wake-one walk). Unused in the seed's era.
    bit: str = ""
    exclusive: bool = False


class ActorState(StrEnum):
    """Where an actor stands with the scheduler (its value is how traces and skips show it)."""

    IDLE = "idle"  # no code to run: none given yet, finished, or an iocb between runs
    RUNNABLE = "runnable"  # on the run list
    RUNNING = "running"  # being resumed now
    ASLEEP = "asleep"  # yielded SLEEP with its wait entry queued; a wakeup makes it runnable
    PAUSED = "paused"  # stopped at a named point by `run X until P`; only `run X` resumes it


@dataclass(eq=False)
class Actor:
    """Anything the scheduler runs: a task, or an iocb's runs on the AIO workqueue. Kernel
    threads that never sleep here (the VM's reclaim and write-out, `World.vm`) are bare actors:
    they hold page locks but are never scheduled."""

    name: str
    gen: Gen[None] | None = None
    state: ActorState = ActorState.IDLE
    sync_entry: WaitEntry | None = None
    work_started: int = 0  # the seq of the first event of its current code
    #: Where it last went to sleep: the wait function, the page's index and the queue (the
    #: values of its `sleep` event; the storm cut compares them, sim/storm.py).
    slept_at: tuple[str, int, int | None] | None = None

    @property
    def io_wait(self) -> WaitEntry | None:
        """`current->io_wait`: the AIO entry for an iocb run, None (synchronous) for a task."""
        return None


@dataclass(eq=False)
class Task(Actor):
    request: Request | None = None
    doing: str = ""  # the op of its current or last piece of work
    #: The case step whose work it is doing (or did last): its arguments are its code's.
    step: Step | None = None


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


def request_id(actor: Actor | None) -> RequestId | None:
    """The request an actor is working on, if it is a task or an iocb with one."""
    request: Request | None = getattr(actor, "request", None)
    return None if request is None else request.id


@dataclass(eq=False)
class Request:
    """What an O_SYNC or buffered write asked for and how it ended."""

    id: RequestId
    kind: str
    pos: int
    count: int
    submitted_at: int
    result: int | None = None
    completed_at: int | None = None
    completed_seq: int | None = None
    not_on_disk: tuple[int, ...] = ()
    generations: dict[int, tuple[int, int]] = field(default_factory=dict)
    pages_at_completion: tuple[PageState, ...] = ()
    wakeups: list[Wakeup] = field(default_factory=list)

    def index_range(self) -> range:
        return page_range(self.pos, self.count)


@dataclass(eq=False)
class Semaphore:
    """A sleeping mutex (`struct semaphore` used as one: the inode's i_sem, J25 of the July
    2004 era): who holds it, and who sleeps for it, in the order they came (`up` wakes the
    first; one that finds it taken again keeps its place, as __down's waiters stay queued)."""

    holder: Actor | None = None
    waiters: list[Actor] = field(default_factory=list)


@dataclass(eq=False)
class Scheduler:
    """The scheduler's state: the run list in order, the actors paused (in the order they
    paused), every task and iocb by name, the one running, and the dispatch counts."""

    run_list: list[Actor] = field(default_factory=list)
    paused: list[Actor] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    iocbs: dict[str, Iocb] = field(default_factory=dict)
    #: The actor being dispatched (None between dispatches).
    current: Actor | None = None
    dispatches: int = 0
    #: Dispatches applied arithmetically instead of run (sim/storm.py; not in the record).
    dispatches_skipped: int = 0
    #: DISPATCHES_MAX was reached: the run stopped there.
    budget_hit: bool = False
