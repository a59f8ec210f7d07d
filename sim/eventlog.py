"""A run's event log, bounded: the first events, a rolling window of the last, and a count of
the ones dropped between them.

A retry storm logs about nine events per dispatch, so a run that a valid case may ask for (a
settle bound of a million) would otherwise keep nine million events and gigabytes with them. The
oracle never reads the timeline; it reads sequence numbers (`completed_seq`, `IoCompletion.seq`),
which stay exact because `seq` is this log's counter, not a position in a list.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from itertools import islice
from typing import Any, Final

from pagefuzz.sim.events import Event, EventKind, Message, MessageType

#: Events kept from the start of a run. Nothing is dropped below head + tail = 100,000 events;
#: the largest corpus run logs 90,063, so every corpus run keeps its whole timeline and replays
#: byte-identically.
EVENTS_HEAD_KEPT: Final = 50_000
#: Events kept from the end of a run (a rolling window): how a storm ended is as telling as how
#: it began. About 10 MB of events per end.
EVENTS_TAIL_KEPT: Final = 50_000
#: The actor and kind of the one line that stands for the dropped events in a frozen timeline.
ELIDED_ACTOR: Final = "log"
ELIDED_KIND: Final = EventKind.ELIDED
#: How an `Event` is built on the hot path (see `EventLog.log`).
_new_tuple: Final = tuple.__new__


class EventLog:
    """Keeps the first `head` events and the last `tail`; `seq` counts every event ever logged."""

    __slots__ = ("_first_elided_step", "_head", "_head_max", "_tail", "elided", "seq")

    def __init__(self, head: int = EVENTS_HEAD_KEPT, tail: int = EVENTS_TAIL_KEPT) -> None:
        if head < 0 or tail < 0:
            raise ValueError("an event log keeps a non-negative number of events at each end")
        self._head: list[Event] = []
        self._head_max = head
        self._tail: deque[Event] = deque(maxlen=tail)
        #: The sequence number the next event gets: the number of events logged so far.
        self.seq = 0
        #: Events dropped between the head and the tail.
        self.elided = 0
        self._first_elided_step = 0

    def log(
        self,
        step: int,
        actor: str,
        message: MessageType,
        args: tuple[Any, ...] = (),
        page: int | None = None,
    ) -> None:
        # tuple.__new__ directly: a NamedTuple's own constructor is a Python function, and calling
        # it cost a retry storm a tenth of its instructions (measured with valgrind).
        event = _new_tuple(Event, (self.seq, step, actor, message, args, page))
        self.seq += 1
        if len(self._head) < self._head_max:
            self._head.append(event)
            return
        tail = self._tail
        if len(tail) == tail.maxlen:
            # The deque is about to drop its oldest event (or, with no tail, this one).
            if not self.elided:
                self._first_elided_step = tail[0].step if tail else step
            self.elided += 1
        tail.append(event)

    def since(self, seq: int) -> tuple[Iterator[Event], int]:
        """The kept events with sequence number `seq` or later, oldest first, and how many
        events in that range were dropped."""
        head = self._head
        tail_first = self.seq - len(self._tail)
        dropped = max(0, tail_first - max(seq, len(head)))
        if seq < len(head):
            kept: Iterator[Event] = iter([*head[seq:], *self._tail])
        else:
            kept = islice(self._tail, max(0, seq - tail_first), None)
        return kept, dropped

    def frozen(self) -> tuple[Event, ...]:
        """The timeline a `RunRecord` holds: the head, one marker line for the dropped events
        (sequence number and step of the first of them), then the tail."""
        if not self.elided:
            return (*self._head, *self._tail)
        first = len(self._head)
        marker = Event(
            first,
            self._first_elided_step,
            ELIDED_ACTOR,
            Message.ELIDED,
            (self.elided, first, first + self.elided - 1),
        )
        return (*self._head, marker, *self._tail)
