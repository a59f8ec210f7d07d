"""The frozen record of one run: everything the oracle and the surfaces read.

`World` fills a `RunRecord`; nothing downstream re-runs the world (hypothesis' live-object /
frozen-result split). The record is plain data so stored records can be judged again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pagefuzz.sim.case import Case
from pagefuzz.sim.cint import errno_name
from pagefuzz.sim.events import Event as Event  # re-exported: the timeline a record holds
from pagefuzz.sim.events import MessageType
from pagefuzz.sim.failure import VersionFailure
from pagefuzz.sim.ids import RequestId as RequestId  # re-exported: what records name requests by
from pagefuzz.sim.mm import page_range


@dataclass(frozen=True)
class PageState:
    """A page's state at one moment (evidence for the oracle and for traces)."""

    index: int
    serial: int
    in_file: bool
    locked: bool
    dirty: bool
    writeback: bool
    error: bool
    refs: int
    gen: int
    io_gen: int | None
    disk_gen: int | None
    lock_owner: str | None
    #: References and the lock held by tasks of the case itself (`lock_page` steps).
    task_refs: int = 0
    task_locked: bool = False
    #: The radix-tree tags of its slot (July 2004 era only).
    tag_dirty: bool = False
    tag_writeback: bool = False

    def flags(self) -> str:
        """Compact flags for traces and evidence: L locked, D dirty, W writeback, E error."""
        on = (("L", self.locked), ("D", self.dirty), ("W", self.writeback), ("E", self.error))
        return "".join(letter for letter, set_ in on if set_) or "-"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "serial": self.serial,
            "in_file": self.in_file,
            "locked": self.locked,
            "dirty": self.dirty,
            "writeback": self.writeback,
            "error": self.error,
            "refs": self.refs,
            "gen": self.gen,
            "io_gen": self.io_gen,
            "disk_gen": self.disk_gen,
            "lock_owner": self.lock_owner,
        }
        # Only a page of the July 2004 era has tags: the seed era's records read as before.
        tags = [t for t, on in (("dirty", self.tag_dirty), ("writeback", self.tag_writeback)) if on]
        if tags:
            out["tags"] = tags
        return out


@dataclass(frozen=True)
class Wakeup:
    """A wakeup delivered to an iocb's entry: who caused it and whether it was a real event.

    Real events are I/O completions and unlocks by anything but an AIO retry (oracle retry_bound).
    """

    step: int
    waker: str
    page: int
    real: bool


@dataclass(frozen=True)
class Progress:
    """sync_page_range reported `nbytes` done from `pos` for a request: the pages it claimed."""

    step: int
    seq: int
    request: RequestId
    pos: int
    nbytes: int
    pages: tuple[PageState, ...]


@dataclass(frozen=True)
class IoCompletion:
    """The device finished one write-out of a page: which data generation, and whether it failed."""

    step: int
    seq: int
    index: int
    serial: int
    gen: int
    error: bool


@dataclass(frozen=True)
class RequestResult:
    id: RequestId
    kind: str  # aio_write | sync_write | write
    pos: int
    count: int
    submitted_at: int
    result: int | None
    completed_at: int | None
    retries: int
    not_on_disk_at_completion: tuple[int, ...]
    #: (index, page serial, data generation) this request copied into each page of its range.
    generations: tuple[tuple[int, int, int], ...] = ()
    #: States of the range's pages when the request completed (evidence).
    pages_at_completion: tuple[PageState, ...] = ()
    wakeups: tuple[Wakeup, ...] = ()
    completed_seq: int | None = None

    @property
    def name(self) -> str:
        """The request's string form (`A`, `T`, `T#2`)."""
        return str(self.id)

    def index_range(self) -> range:
        """The page indices of [pos, pos + count)."""
        return page_range(self.pos, self.count)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "pos": self.pos,
            "count": self.count,
            "result": self.result,
            "result_name": errno_name(self.result),
            "completed_at": self.completed_at,
            "retries": self.retries,
            "not_on_disk_at_completion": list(self.not_on_disk_at_completion),
        }


@dataclass(frozen=True)
class KernelBug:
    step: int
    seq: int
    what: str
    kind: str  # complete-with-queued-wait | wake-completed-iocb | unlock-unlocked-page
    request: RequestId | None = None  # the iocb concerned, where there is one
    by_case: bool = False  # done by a case's own unlock_page step, not by kernel code

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "what": self.what}


@dataclass(frozen=True)
class SettleBoundHit:
    step: int
    #: Iocbs dispatched in the storm, most dispatched first.
    iocbs: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class FinalState:
    pages: tuple[PageState, ...]  # every page ever created, by serial
    queued: tuple[tuple[int, str], ...]  # (queue, owner) entries still queued, head first
    asleep: tuple[str, ...]  # actors asleep at the end
    outstanding_io: tuple[int, ...]  # page indices with I/O still outstanding
    asleep_on: tuple[tuple[str, int, bool], ...] = ()  # (actor, page, held by a case task)
    runnable: tuple[str, ...] = ()  # actors left on the run list (a settle bound stopped them)
    paused: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunRecord:
    case: Case
    version: str
    requests: tuple[RequestResult, ...]
    kernel_bugs: tuple[KernelBug, ...]
    settle_bound_hits: tuple[SettleBoundHit, ...]
    skipped_steps: tuple[int, ...]
    #: The timeline: the first and last events of the run, with one `log`/`elided` line standing
    #: for the `events_elided` events dropped between them (sim/eventlog.py).
    events: tuple[Event, ...]
    final: FinalState
    progress: tuple[Progress, ...] = ()
    io_log: tuple[IoCompletion, ...] = ()
    budget_hit: bool = False
    events_elided: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    #: A run made with a `MessageLog` (a campaign's execution): no events, only which messages
    #: were logged in order (`events` is then empty and no timeline can be shown).
    messages: tuple[MessageType, ...] = ()
    #: Set when the version's code raised, died or ran past its budget (sim/failure.py): the
    #: run ended there, with no drain.
    failure: VersionFailure | None = None

    @property
    def settle_bound_hit(self) -> bool:
        return bool(self.settle_bound_hits)

    def request(self, name: str) -> RequestResult:
        for req in self.requests:
            if req.name == name:
                return req
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "requests": {req.name: req.to_json() for req in self.requests},
            "kernel_bugs": [bug.to_json() for bug in self.kernel_bugs],
            "settle_bound_hit": self.settle_bound_hit,
            "skipped_steps": list(self.skipped_steps),
            "events": [event.to_json() for event in self.events],
        }
        # Only when something was dropped: a whole timeline's JSON stays what it always was.
        if self.events_elided:
            out["events_elided"] = self.events_elided
        if self.failure is not None:  # likewise only when there is one
            out["failure"] = self.failure.to_json()
        return out
