"""The timeline's events as data, and the one place they become text.

The world logs an `Event` as a `Message` (which line it is, and so its `EventKind`) and the values
that line shows, in the order `Message.fields` names them: no text is built while a world runs.
`render` turns an event into its line of text, for output only (traces, `replay --json`,
reports, a differential's first divergence as shown). Everything that reasons about events (the
explorer's state key, the differential's alignment, the report's predicates) reads the fields, so
the wording in `TEMPLATES` can change without changing any state key or verdict
(tests/test_events.py).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Final, NamedTuple

from pagefuzz.sim.case import Step


class EventKind(StrEnum):
    """What kind of thing happened: the `kind` of an event in `replay --json` (its value)."""

    LOOKUP = "lookup"
    REMOVE = "remove"
    SLEEP = "sleep"
    LOCK = "lock"
    UNLOCK = "unlock"
    BUG = "BUG"
    WAKE = "wake"
    WAIT = "wait"
    QUEUE = "queue"
    WRITEBACK = "writeback"
    IO_ERROR = "io_error"
    IO_DONE = "io_done"
    KICK = "kick"
    RUN = "run"
    RETRY = "retry"
    AIO_PWRITE = "aio_pwrite"
    SYNC = "sync"
    COMPLETE = "complete"
    CREATE = "create"
    COPY = "copy"
    TRUNCATE = "truncate"
    ZERO = "zero"
    DONE = "done"
    RECLAIM = "reclaim"
    FLUSH = "flush"
    IO = "io"
    RESUME = "resume"
    PAUSE = "pause"
    BOUND = "bound"
    SKIP = "skip"
    START = "start"
    SUBMIT = "submit"
    DRAIN = "drain"
    ELIDED = "elided"
    FAILED = "failed"


class MessageType:
    """One line the world can log: its kind, and the names of the values it shows, in the order an
    event's `args` holds them. A field named `gen` is a data generation (the state key leaves it
    out, docs/explore.md); `page` is a page index, `queue` a wait-queue index. There is one object
    per line, `Message.<NAME>`, compared by identity."""

    __slots__ = ("fields", "gen_at", "kind", "name")

    def __init__(self, kind: EventKind, *fields: str) -> None:
        self.kind = kind
        self.fields = fields
        #: The position of the data generation among the args, if the line shows one.
        self.gen_at = fields.index("gen") if "gen" in fields else None
        self.name = "?"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Message.{self.name}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickled (a record sent between processes), it is the same object again.
        return (getattr, (Message, self.name))


class Message:
    """Every line the world logs. A plain namespace, not an Enum: on Python 3.11 looking an Enum
    member up goes through EnumType.__getattr__, and doing that once per event cost a retry storm
    about 5% of its instructions (measured with valgrind). Kinds and actor states stay Enums."""

    # mm/swap.c, mm/filemap.c: lookups, page locks, waits, the page cache
    LOOKUP = MessageType(EventKind.LOOKUP, "start", "nr", "pages")
    LOOKUP_NEXT = MessageType(EventKind.LOOKUP, "start", "nr", "pages", "next")
    LOOKUP_TAG = MessageType(EventKind.LOOKUP, "start", "tag", "nr", "pages", "next")
    REMOVE = MessageType(EventKind.REMOVE, "page")
    CREATE = MessageType(EventKind.CREATE, "page", "queue")
    COPY = MessageType(EventKind.COPY, "page", "gen")
    SLEEP = MessageType(EventKind.SLEEP, "function", "page", "queue")
    LOCK = MessageType(EventKind.LOCK, "page")
    TRYLOCK = MessageType(EventKind.LOCK, "page")
    UNLOCK = MessageType(EventKind.UNLOCK, "page")
    WAKE = MessageType(EventKind.WAKE, "owner", "queue")
    WAIT_IDLE = MessageType(EventKind.WAIT, "page")
    WAIT_DONE = MessageType(EventKind.WAIT, "page")
    QUEUE = MessageType(EventKind.QUEUE, "page", "queue")
    WRITEBACK = MessageType(EventKind.WRITEBACK, "page", "gen")
    # the July 2004 era: the range write-out, the mapping's error flags, i_sem
    WRITEPAGES = MessageType(EventKind.WRITEBACK, "first", "last")
    WRITEPAGES_ALL = MessageType(EventKind.WRITEBACK)
    AS_CLEAR = MessageType(EventKind.WAIT, "flag")
    SLEEP_SEM = MessageType(EventKind.SLEEP, "holder")
    DOWN = MessageType(EventKind.LOCK)
    UP = MessageType(EventKind.UNLOCK)
    WAKE_SEM = MessageType(EventKind.WAKE, "owner")
    # the block device
    IO_DONE = MessageType(EventKind.IO_DONE, "page", "gen")
    IO_ERROR = MessageType(EventKind.IO_ERROR, "page")
    IO_NONE = MessageType(EventKind.IO, "page")
    # fs/aio.c
    WAKE_IOCB = MessageType(EventKind.WAKE, "iocb", "queue")
    KICK = MessageType(EventKind.KICK, "iocb")
    RUN = MessageType(EventKind.RUN, "iocb", "run")
    RETRY = MessageType(EventKind.RETRY)
    DROPPED = MessageType(EventKind.RETRY, "retried")
    AIO_PWRITE = MessageType(EventKind.AIO_PWRITE, "ret", "left")
    SUBMIT = MessageType(EventKind.SUBMIT, "pos", "count")
    # the write paths
    SYNC = MessageType(EventKind.SYNC, "pos", "count", "ret")
    COMPLETE = MessageType(EventKind.COMPLETE, "request", "result", "not_on_disk")
    # truncation, reclaim, background write-out, a case task's page lock
    TRUNCATE = MessageType(EventKind.TRUNCATE, "size", "start")
    ZERO = MessageType(EventKind.ZERO, "page", "partial")
    TRUNCATE_DONE = MessageType(EventKind.DONE)
    RECLAIM_NO_PAGE = MessageType(EventKind.RECLAIM, "page")
    RECLAIM_LOCKED = MessageType(EventKind.RECLAIM, "page")
    RECLAIM_BUSY = MessageType(EventKind.RECLAIM, "page", "flags", "refs")
    FLUSH_NO_PAGE = MessageType(EventKind.FLUSH, "page")
    FLUSH_IDLE = MessageType(EventKind.FLUSH, "page", "flags")
    LOCK_NO_PAGE = MessageType(EventKind.LOCK, "page")
    UNLOCK_NO_PAGE = MessageType(EventKind.UNLOCK, "page")
    UNLOCK_NOT_OURS = MessageType(EventKind.UNLOCK, "page", "owner")
    # the scheduler and the case's steps
    START = MessageType(EventKind.START, "op", "step")
    SKIP_BUSY = MessageType(EventKind.SKIP, "op", "task", "state")
    SKIP_NOT_OURS = MessageType(EventKind.SKIP, "page", "owner")
    SKIP_RUN = MessageType(EventKind.SKIP, "actor", "state")
    SKIP_UNKNOWN = MessageType(EventKind.SKIP, "actor")
    PAUSE = MessageType(EventKind.PAUSE, "point")
    RESUME = MessageType(EventKind.RESUME)
    BOUND = MessageType(EventKind.BOUND, "bound", "runnable")
    DRAIN = MessageType(EventKind.DRAIN)
    # a kernel BUG, in the words of its `KernelBug.what` (the oracle's evidence)
    BUG = MessageType(EventKind.BUG, "what")
    # a bounded log's stand-in for the events it dropped (sim/eventlog.py)
    ELIDED = MessageType(EventKind.ELIDED, "count", "first", "last")
    # the version's code raised, died or ran past its budget: the run ends (sim/failure.py)
    VERSION_FAILED = MessageType(EventKind.FAILED, "check", "how", "detail")


#: Every line, in the order the catalogue lists them.
MESSAGES: Final = tuple(m for m in vars(Message).values() if isinstance(m, MessageType))


class Event(NamedTuple):
    """One line of the timeline: `seq` orders events, `step` is the case step it happened in,
    `message` and `args` say what happened, `page` is the index of the page it concerns where
    there is one (the trace's and the report's anchor; not always a value the line shows).

    A NamedTuple, not a dataclass: a run logs a few hundred of these and the fuzzer makes
    thousands of runs a second."""

    seq: int
    step: int
    actor: str
    message: MessageType
    args: tuple[Any, ...] = ()
    page: int | None = None

    @property
    def kind(self) -> EventKind:
        return self.message.kind

    @property
    def text(self) -> str:
        """The line as shown (rendered now, never stored)."""
        return render(self)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": self.seq,
            "step": self.step,
            "actor": self.actor,
            "kind": self.message.kind.value,
            "text": render(self),
        }
        if self.page is not None:
            out["page"] = self.page
        return out

    def key(self) -> tuple[object, ...]:
        """What the line says, as data, without its data generation: the explorer's state key
        compares this (no version reads a generation's number; docs/explore.md)."""
        at = self.message.gen_at
        args = self.args if at is None else self.args[:at] + self.args[at + 1 :]
        return (self.message, args)


#: The wording of every message: `str.format` templates over the message's fields, after
#: `SHOWN` has turned the fields that are not shown as they are into text.
TEMPLATES: Final[dict[MessageType, str]] = {
    Message.LOOKUP: "pagevec_lookup({start}, {nr}) -> {pages}",
    Message.LOOKUP_NEXT: "pagevec_lookup(&next={start}, {nr}) -> {pages}, next={next}",
    Message.LOOKUP_TAG: "pagevec_lookup_tag(&index={start}, {tag}, {nr}) -> {pages}, index={next}",
    Message.WRITEPAGES: "mpage_writepages of p{first}..p{last}",
    Message.WRITEPAGES_ALL: "mpage_writepages of the whole file (start = end = 0)",
    Message.AS_CLEAR: "test_and_clear_bit({flag}): was set",
    Message.SLEEP_SEM: "sleeps in down(i_sem), held by {holder}",
    Message.DOWN: "takes i_sem",
    Message.UP: "releases i_sem",
    Message.WAKE_SEM: "wakes {owner} (i_sem)",
    Message.DROPPED: "retried {retried} times: dropped with -EAGAIN, never completed",
    Message.REMOVE: "removes p{page} from the page cache",
    Message.CREATE: "creates p{page} locked (q{queue})",
    Message.COPY: "copies into p{page} (gen {gen}), dirty",
    Message.SLEEP: "sleeps in {function} p{page} (q{queue})",
    Message.LOCK: "locks p{page}",
    Message.TRYLOCK: "trylocks p{page}",
    Message.UNLOCK: "unlocks p{page}",
    Message.WAKE: "wakes {owner} (q{queue})",
    Message.WAIT_IDLE: "p{page} not under writeback: wait returns 0",
    Message.WAIT_DONE: "p{page} writeback done: wait returns 0",
    Message.QUEUE: "p{page} under writeback: entry queued on q{queue}, -EIOCBRETRY",
    Message.WRITEBACK: "starts I/O on p{page} (gen {gen})",
    Message.IO_DONE: "I/O on p{page} done (gen {gen} on disk)",
    Message.IO_ERROR: "I/O on p{page} fails: PG_error set",
    Message.IO_NONE: "complete_io p{page}: no I/O outstanding",
    Message.WAKE_IOCB: "wakes iocb {iocb} (q{queue})",
    Message.KICK: "kick_iocb {iocb}",
    Message.RUN: "aio_run_iocb {iocb} (run {run})",
    Message.RETRY: "progress and nothing queued: kicked again at once",
    Message.AIO_PWRITE: "aio_pwrite -> {ret}, left {left}",
    Message.SUBMIT: "io_submit aio_write pos {pos} count {count}",
    Message.SYNC: "sync_page_range({pos}, {count}) -> {ret}",
    Message.COMPLETE: "{request} completes: {result}{not_on_disk}",
    Message.TRUNCATE: "truncate to {size}: pages from {start}",
    Message.ZERO: "zeroes the tail of p{page} past {partial}",
    Message.TRUNCATE_DONE: "truncate done",
    Message.RECLAIM_NO_PAGE: "reclaim p{page}: no page",
    Message.RECLAIM_LOCKED: "reclaim p{page}: locked, skipped",
    Message.RECLAIM_BUSY: "reclaim p{page}: busy ({flags}, refs {refs}), kept",
    Message.FLUSH_NO_PAGE: "flush p{page}: nothing to do (no page)",
    Message.FLUSH_IDLE: "flush p{page}: nothing to do ({flags})",
    Message.LOCK_NO_PAGE: "lock_page p{page}: no page",
    Message.UNLOCK_NO_PAGE: "unlock_page p{page}: no page",
    Message.UNLOCK_NOT_OURS: "unlock_page p{page}: locked by {owner}, not ours: nothing done",
    Message.START: "{op} {step}",
    Message.SKIP_BUSY: "{op} skipped: {task} is {state}",
    Message.SKIP_NOT_OURS: "unlock_page skipped: p{page} is locked by {owner}",
    Message.SKIP_RUN: "run {actor} skipped: {state}",
    Message.SKIP_UNKNOWN: "run {actor} skipped: unknown",
    Message.PAUSE: "paused at '{point}'",
    Message.RESUME: "resumes",
    Message.BOUND: "settle bound {bound} reached; still runnable: {runnable}",
    Message.DRAIN: "drain",
    Message.BUG: "{what}",
    Message.ELIDED: "... {count:,} events elided (seq {first}..{last}) ...",
    Message.VERSION_FAILED: "the version's code failed ({check}, {how}): {detail}; the run ends",
}


def _pages(indices: tuple[int, ...]) -> str:
    return "[" + ", ".join(f"p{i}" for i in indices) + "]"


def _not_on_disk(indices: tuple[int, ...]) -> str:
    return ", not on disk: " + ", ".join(f"p{i}" for i in indices) if indices else ""


def _step_args(step: Step) -> str:
    """A case step's arguments but its op and task, `key=value`."""
    return " ".join(f"{k}={v}" for k, v in step.to_json().items() if k not in ("op", "task"))


#: The fields that are not shown as they are, by name: what turns each into its text.
SHOWN: Final[dict[str, Callable[[Any], str]]] = {
    "pages": _pages,
    "not_on_disk": _not_on_disk,
    "runnable": ", ".join,
    "step": _step_args,
}


def render(event: Event) -> str:
    """The event's line of text, exactly as the timeline shows it."""
    values = dict(zip(event.message.fields, event.args, strict=True))
    for name, show in SHOWN.items():
        if name in values:
            values[name] = show(values[name])
    return TEMPLATES[event.message].format_map(values)
