"""Retry storms cut short: whole repetitions of a storm's cycle are applied arithmetically
instead of being run (docs/model.md, "Storms").

In a retry storm the run list never empties: each iocb's run wakes the others' entries on a
shared queue and is woken by theirs, and the world returns, dispatch after dispatch, to the
same state, up to counters (retries, dispatches, sequence numbers, the wakeups requests record).
The world is deterministic, so once a state at a dispatch boundary of a settle repeats, the
dispatches between the two occurrences repeat exactly until the settle bound. `StormWatch` sees
the repetition, and `settle` (sim/sched.py) jumps over as many whole cycles as fit before the
bound, adding what each skipped cycle would have added: its events (renumbered, each `run` with
its retry count), the wakeups, retries, dispatch counts and where each iocb's run started. The
cycles that remain are run as usual, so the settle ends exactly as the uncut run does: the same
bound hit, the same last events, the same record.

A repetition counts only if everything that can change what happens next is data the key holds:
- every dispatch in the cycle started an iocb's run afresh (`aio_run_iocb`) and ran it to its
  end: no generator with hidden locals was resumed;
- the version declared itself `stateless` in its own class body (built-in versions do; a user's
  Python subclass or a C version, which may keep static state, is never cut);
- nothing but events, wakeups and counters grew: bugs, progress notes, completions, bound hits,
  skipped steps and new requests are in the key by count;
- every event of the cycle is still in the bounded log.
Anything else and the storm is simply run, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, NamedTuple

from pagefuzz.sim import keys
from pagefuzz.sim.actors import Actor, ActorState, Iocb

if TYPE_CHECKING:
    from pagefuzz.sim.world import World

#: Dispatches of one settle before looking for a repetition: short settles never pay for keys.
WATCH_AFTER: Final = 8
#: Boundaries remembered per settle: a storm's cycle is a few dispatches long.
KEYS_MAX: Final = 256


class _Mark(NamedTuple):
    """The counters at one dispatch boundary."""

    dispatched: int
    seq: int
    retries: tuple[int, ...]
    wakeups: tuple[int, ...]
    runs: tuple[tuple[str, int], ...]


def cuttable(k: World) -> bool:
    """Whether this world's version may have its storms cut (see the module docstring)."""
    return bool(type(k.version).__dict__.get("stateless", False))


class StormWatch:
    """One settle's watch for a repeating state (created by `settle` once it has run
    `WATCH_AFTER` dispatches)."""

    __slots__ = ("_clean_since", "_marks", "_sleeps", "done")

    def __init__(self) -> None:
        self._marks: dict[tuple[object, ...], _Mark] = {}
        #: The `sleep` event each actor asleep in this settle last logged (its arguments).
        self._sleeps: dict[str, tuple[object, ...]] = {}
        #: Dispatch count from which every dispatch was a fresh iocb run that ended.
        self._clean_since = 0
        #: A cut was made (or cannot be): the rest of the settle is simply run.
        self.done = False

    def dispatched(self, k: World, actor: Actor, fresh: bool, seq: int, dispatched: int) -> None:
        """After a dispatch (the `dispatched`-th of this settle) of `actor`, which had no code
        suspended before it if `fresh`, and whose events began at `seq`: did it leave hidden
        state as it found it? Yes if it was an iocb's run, started and ended here; or if it
        woke in a wait loop and went back to sleep in the same loop on the same page and queue
        (its one event was a sleep, where it slept before: the only place anything sleeps,
        filemap's wait loops, records where on the actor and logs nothing else before sleeping
        again, and leaving a loop logs the lock it took or is seen by the caller's next event).
        Otherwise no cycle may span this dispatch."""
        last = self._sleeps.get(actor.name)
        slept = None
        if k.events.seq == seq + 1 and actor.gen is not None and actor.state is ActorState.ASLEEP:
            slept = actor.slept_at  # its one event was the sleep (filemap's _sleep_on)
        if slept is not None:
            self._sleeps[actor.name] = slept
        elif actor.name in self._sleeps:
            del self._sleeps[actor.name]
        if fresh and isinstance(actor, Iocb) and actor.gen is None:
            return
        if not fresh and slept is not None and slept == last:
            return
        self._clean_since = dispatched

    def cut(self, k: World, dispatched: int, runs: dict[str, int], bound: int, limit: int) -> int:
        """At a dispatch boundary (`dispatched` made so far in this settle, `runs` per actor):
        if the state repeats an earlier one, apply as many whole cycles as fit before `bound`
        (and the world's `limit` on dispatches) and return the dispatches skipped; else 0."""
        key = keys.storm_key(k)
        iocbs = list(k.sched.iocbs.values())
        mark = _Mark(
            dispatched,
            k.events.seq,
            tuple(i.retries for i in iocbs),
            tuple(len(r.wakeups) for r in k.history.requests),
            tuple(sorted(runs.items())),
        )
        earlier = self._marks.get(key)
        if earlier is None or earlier.dispatched < self._clean_since:
            if len(self._marks) < KEYS_MAX:
                self._marks[key] = mark
            return 0
        self.done = True
        period = dispatched - earlier.dispatched
        cycles = min((bound - dispatched) // period, (limit - k.sched.dispatches) // period)
        length = mark.seq - earlier.seq
        if cycles <= 0 or length <= 0:
            return 0
        retried = {
            i.name: now - before
            for i, before, now in zip(iocbs, earlier.retries, mark.retries, strict=True)
            if now != before
        }
        if not k.events.repeat(earlier.seq, cycles, retried):
            return 0  # some of the cycle's events were dropped: run it instead
        _apply(k, cycles, period, length, earlier, mark, iocbs, retried, runs)
        return cycles * period


def _apply(
    k: World,
    cycles: int,
    period: int,
    length: int,
    earlier: _Mark,
    mark: _Mark,
    iocbs: list[Iocb],
    retried: dict[str, int],
    runs: dict[str, int],
) -> None:
    """Add what `cycles` more repetitions of the observed cycle would have added besides its
    events (which `EventLog.repeat` logged)."""
    for i in iocbs:
        if i.name in retried:
            i.retries += cycles * retried[i.name]
            i.work_started += cycles * length
    for request, before, now in zip(k.history.requests, earlier.wakeups, mark.wakeups, strict=True):
        if now != before:
            request.wakeups.extend(request.wakeups[before:now] * cycles)
    before_runs = dict(earlier.runs)
    for name, count in mark.runs:
        runs[name] = count + cycles * (count - before_runs.get(name, 0))
    k.sched.dispatches += cycles * period
    k.sched.dispatches_skipped += cycles * period
