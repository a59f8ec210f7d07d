"""Reading a world out: the frozen `RunRecord` at the end of a run, and the state key the explorer
prunes on (docs/explore.md argues why pruning on it is sound).

Both only read the world; neither changes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from pagefuzz.sim import keys
from pagefuzz.sim.actors import Actor, ActorState
from pagefuzz.sim.record import FinalState, RequestResult, RunRecord

if TYPE_CHECKING:
    from pagefuzz.sim.world import World


def actors(k: World) -> Iterator[Actor]:
    """Every task, then every iocb, in the order they first appeared."""
    yield from k.sched.tasks.values()
    yield from k.sched.iocbs.values()


class _Unmatched:
    """Equal only to itself (object identity): stands in a state key for dropped history."""

    __slots__ = ()


#: Bytes in a state digest (`state_digest`): 128 bits, so that two of the billions of states an
#: exploration could ever meet collide with odds below 2**-60.
DIGEST_SIZE: Final = 16


def state_digest(k: World) -> bytes:
    """`state_key` as a fixed-size digest, the same in every process and under any
    PYTHONHASHSEED: BLAKE2b over the key's `repr`. The key holds only tuples, ints, bools,
    None, strs, `ActorState`s, `RequestId`s and `Message`s, whose reprs are canonical (no
    address, no hash order): keys with the same repr are equal, so the digest never merges two
    states the key tells apart.
    Where events were dropped from the log, the key's `_Unmatched` is replaced by the version
    and the whole schedule: that digest equals only another run of the same schedule in the same
    version, which reaches the same state (runs are deterministic)."""
    marker = ("elided-in", k.version.name, repr(k.case.steps))
    return hashlib.blake2b(
        repr(keys.state_key(k, marker)).encode(), digest_size=DIGEST_SIZE
    ).digest()


def state_key(k: World) -> tuple[object, ...]:
    """Everything the rest of a run can depend on, as a hashable value (the explorer prunes
    schedules that reach a key it has seen; docs/explore.md argues why that is sound).

    The world's state, the history the oracle reads (results, retries, real and spurious
    wakeups, the generations each request wrote), and for every actor with code still to
    run, the events it logged since that code started, as data (`Event.key`): its generator's
    locals are a function of its arguments and of what the world answered it, and those answers
    are in its events (lookups with their pages and next, wait results, locks, sleeps). Where
    some of those events were dropped from a bounded log, the key equals no other: never pruned.

    Data generations are replaced by their rank: no version reads them, and the oracle only
    compares them, so two runs that differ only in how many copies came before are the same
    state."""
    return keys.state_key(k, _Unmatched())


def freeze(k: World) -> RunRecord:
    """The record of the run so far: everything the oracle and the surfaces read."""
    requests = tuple(
        RequestResult(
            id=req.id,
            kind=req.kind,
            pos=req.pos,
            count=req.count,
            submitted_at=req.submitted_at,
            result=req.result,
            completed_at=req.completed_at,
            retries=k.sched.iocbs[req.id.actor].retries if req.kind == "aio_write" else 0,
            not_on_disk_at_completion=req.not_on_disk,
            generations=tuple((i, s, g) for i, (s, g) in sorted(req.generations.items())),
            pages_at_completion=req.pages_at_completion,
            wakeups=tuple(req.wakeups),
            completed_seq=req.completed_seq,
        )
        for req in k.history.requests
    )
    queued = tuple((q.index, entry.owner.name) for q in k.waits.queues for entry in q)
    sleepers = [a for a in actors(k) if a.state == ActorState.ASLEEP]
    asleep = tuple(a.name for a in sleepers)
    # What each sleeper waits on, and whether a case task's own lock_page holds it there.
    on_sem = k.i_sem.waiters
    asleep_on = tuple(
        (a.name, e.page.index, e.page.task_locked)
        for a in sleepers
        if (e := a.sync_entry) is not None and e.page is not None and a not in on_sem
    )
    if on_sem:
        # Asleep in down(i_sem) (July 2004 era): held there by the case if the semaphore's
        # holder is, page index -1. Each waiter is blocked on the holder alone.
        holder = k.i_sem.holder
        held = any(
            name == getattr(holder, "name", None) and by_case for name, _, by_case in asleep_on
        )
        asleep_on += tuple((a.name, -1, held) for a in sleepers if a in on_sem)
    final = FinalState(
        pages=tuple(k.page_state(p) for p in k.cache.allocated),
        queued=queued,
        asleep=asleep,
        asleep_on=asleep_on,
        outstanding_io=tuple(p.index for p in k.device.outstanding),
        runnable=tuple(a.name for a in k.sched.run_list),
        paused=tuple(a.name for a in k.sched.paused),
    )
    return RunRecord(
        case=k.case,
        version=k.version.name,
        requests=requests,
        kernel_bugs=tuple(k.history.bugs),
        settle_bound_hits=tuple(k.history.bound_hits),
        skipped_steps=tuple(k.history.skipped),
        events=k.events.frozen(),
        events_elided=k.events.elided,
        final=final,
        budget_hit=k.sched.budget_hit,
        progress=tuple(k.history.progress),
        io_log=tuple(k.device.io_log),
        messages=k.events.messages(),
        failure=k.history.failure,
    )
