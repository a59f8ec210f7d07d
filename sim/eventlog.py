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
from typing import Any, Final, Protocol

from pagefuzz.sim.events import Event, EventKind, Message, MessageType
from pagefuzz.sim.failure import NO_LIMIT, WORLD_CALLS_MAX, VersionTimeout

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


class RunLog(Protocol):
    """What a world logs its events into: `EventLog` keeps them (bounded), `MessageLog` only
    their messages. `seq` counts every event ever logged (the oracle's sequence numbers),
    `limit` is the sequence number past which logging stops the running version (its budget,
    sim/failure.py), `elided` how many events were dropped."""

    seq: int
    limit: int
    elided: int

    def log(
        self,
        step: int,
        actor: str,
        message: MessageType,
        args: tuple[Any, ...] = (),
        page: int | None = None,
    ) -> None: ...

    def repeat(self, start: int, cycles: int, runs_added: dict[str, int]) -> bool:
        """Log `cycles` more repetitions of the events numbered `start` to `seq - 1` (a retry
        storm's cycle, sim/storm.py); False, logging nothing, if the cycle is not all kept."""
        ...

    def since(self, seq: int) -> tuple[Iterator[Event], int]:
        """The kept events numbered `seq` or later, and how many of that range were dropped."""
        ...

    def frozen(self) -> tuple[Event, ...]:
        """The timeline a `RunRecord` holds."""
        ...

    def messages(self) -> tuple[MessageType, ...]:
        """The messages, where only they are kept (else empty: the events hold them)."""
        ...


class EventLog:
    """Keeps the first `head` events and the last `tail`; `seq` counts every event ever logged."""

    __slots__ = ("_first_elided_step", "_head", "_head_max", "_tail", "elided", "limit", "seq")

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
        #: The sequence number past which logging stops the running version (its budget of
        #: world calls, sim/failure.py): set by each dispatch, NO_LIMIT between them.
        self.limit = NO_LIMIT

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
        if self.seq > self.limit:
            out_of_world_calls()
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

    def repeat(self, start: int, cycles: int, runs_added: dict[str, int]) -> bool:
        """Log `cycles` more repetitions of the events numbered `start` to `seq - 1` (a retry
        storm's cycle, sim/storm.py), renumbered, each `run` event counting the runs its iocb
        adds per cycle (`runs_added`); False, logging nothing, if some were dropped already."""
        kept, dropped = self.since(start)
        cycle = list(kept)
        length = self.seq - start
        if dropped or len(cycle) != length:
            return False
        run = Message.RUN
        new = _new_tuple
        events: list[Event] = []
        add = events.append
        for n in range(1, cycles + 1):
            shift = n * length
            for seq, step, actor, message, args, page in cycle:
                if message is run:
                    args = (args[0], args[1] + n * runs_added[args[0]])
                add(new(Event, (seq + shift, step, actor, message, args, page)))
        room = self._head_max - len(self._head)
        if room > 0:
            self._head.extend(events[:room])
            self.seq += min(room, len(events))
            events = events[room:]
        tail = self._tail
        for event in events:
            self.seq += 1
            if len(tail) == tail.maxlen:
                if not self.elided:
                    self._first_elided_step = tail[0].step if tail else event.step
                self.elided += 1
            tail.append(event)
        return True

    def messages(self) -> tuple[MessageType, ...]:
        """What a `MessageLog` keeps instead of events; nothing here (the events hold it)."""
        return ()

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


def out_of_world_calls() -> None:
    """A dispatch logged more than its budget of events: stop the version that is running."""
    raise VersionTimeout(
        "world calls", f"{WORLD_CALLS_MAX} world calls without sleeping, ending or pausing"
    )


#: Messages a `MessageLog` keeps: a bound, like the event log's (a storm of a million
#: dispatches must not keep nine million), and more than any feature count needs.
MESSAGES_KEPT: Final = EVENTS_HEAD_KEPT + EVENTS_TAIL_KEPT


class MessageLog:
    """A log that counts events and keeps only their messages (the first `MESSAGES_KEPT`):
    for runs that nobody will print, such as a campaign's executions. The oracle reads no
    events (only sequence numbers, which stay exact), and a campaign's coverage features read
    only which message followed which; building each event's tuple cost a third of a run."""

    __slots__ = ("_first", "_messages", "elided", "limit", "seq")

    def __init__(self, first: int = 0) -> None:
        """A log whose first event will be numbered `first` (a run that stops keeping its
        timeline part way, `World.drop_timeline`)."""
        self.seq = first
        #: Nothing is kept as events, so nothing counts as dropped from a timeline.
        self.elided = 0
        self.limit = NO_LIMIT
        self._first = first
        self._messages: list[MessageType] = []

    def log(
        self,
        step: int,
        actor: str,
        message: MessageType,
        args: tuple[Any, ...] = (),
        page: int | None = None,
    ) -> None:
        self.world_log(actor, message, args)

    def world_log(
        self, actor: str, message: MessageType, args: tuple[Any, ...] = (), page: object = None
    ) -> None:
        """`log` with `World.log`'s signature, which a world with this log calls directly: one
        call per event instead of two (the step and page are not kept anyway)."""
        self.seq += 1
        if self.seq > self.limit:
            out_of_world_calls()
        messages = self._messages
        if len(messages) < MESSAGES_KEPT:
            messages.append(message)

    def repeat(self, start: int, cycles: int, runs_added: dict[str, int]) -> bool:
        length = self.seq - start
        messages = self._messages
        first = self._first
        if start < first or len(messages) != self.seq - first:  # the cycle is not all here
            return False
        cycle = messages[start - first :]
        room = MESSAGES_KEPT - len(messages)
        messages.extend((cycle * min(cycles, room // max(length, 1) + 1))[:room])
        self.seq += cycles * length
        return True

    def since(self, seq: int) -> tuple[Iterator[Event], int]:
        """No events are kept: every one since `seq` counts as dropped."""
        return iter(()), self.seq - seq

    def frozen(self) -> tuple[Event, ...]:
        return ()

    def messages(self) -> tuple[MessageType, ...]:
        return tuple(self._messages)
