"""Reading a world out: the frozen `RunRecord` at the end of a run, and the state key the explorer
prunes on (docs/explore.md argues why pruning on it is sound).

Both only read the world; neither changes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from pagefuzz.sim.actors import Actor, ActorState, Iocb
from pagefuzz.sim.record import FinalState, PageState, RequestResult, RunRecord

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
    return hashlib.blake2b(repr(_state_key(k, marker)).encode(), digest_size=DIGEST_SIZE).digest()


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
    return _state_key(k, _Unmatched())


def _state_key(k: World, unmatched: object) -> tuple[object, ...]:
    device = k.device
    gens = {0}
    for p in k.cache.allocated:
        gens.add(p.gen)
        if p.io_gen is not None:
            gens.add(p.io_gen)
    gens.update(device.disk_gen.values())
    gens.update(io.gen for io in device.io_log)
    for r in k.history.requests:
        gens.update(g for _serial, g in r.generations.values())
        gens.update(ps.gen for ps in r.pages_at_completion)
        gens.update(ps.disk_gen for ps in r.pages_at_completion if ps.disk_gen is not None)
    for prog in k.history.progress:
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
        for p in k.cache.allocated
    )
    queues = tuple(
        tuple((e.owner.name, e.aio, None if e.page is None else e.page.serial) for e in q)
        for q in k.waits.queues
    )
    # The history the oracle reads: results, what each request wrote, the pages as they were
    # at its completion and at each progress report, failed I/O.
    requests = tuple(
        (
            r.id,
            r.result,
            r.completed_at is not None,
            tuple(sorted((i, s, rank[g]) for i, (s, g) in r.generations.items())),
            tuple(state(ps) for ps in r.pages_at_completion),
        )
        for r in k.history.requests
    )
    progress = tuple(
        (prog.request, prog.pos, prog.nbytes, tuple(state(ps) for ps in prog.pages))
        for prog in k.history.progress
    )
    failed_io = tuple((io.serial, rank[io.gen]) for io in device.io_log if io.error)
    running = []
    for actor in actors(k):
        history: tuple[object, ...] = ()
        if actor.gen is not None:
            kept, dropped = k.events.since(actor.work_started)
            history = tuple(e.key() for e in kept if e.actor == actor.name)
            if dropped:
                # Answers this code read may be among the dropped events: its locals cannot
                # be shown equal to any other state's, so this key equals no other key.
                history += (("elided", dropped, unmatched),)
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
        running.append((actor.name, actor.state, extra, history))
    return (
        pages,
        tuple(sorted((i, rank[g]) for i, g in device.disk_gen.items())),
        queues,
        tuple(p.serial for p in device.outstanding),
        tuple(a.name for a in k.sched.run_list),
        tuple(a.name for a in k.sched.paused),
        requests,
        progress,
        failed_io,
        tuple(running),
        tuple((b.kind, b.by_case, b.request) for b in k.history.bugs),
        tuple(hit.iocbs for hit in k.history.bound_hits),
        k.history.failure,
    )


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
    asleep_on = tuple(
        (a.name, e.page.index, e.page.task_locked)
        for a in sleepers
        if (e := a.sync_entry) is not None and e.page is not None
    )
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
