"""The scheduler: one FIFO run list, dispatches, settles, pauses and the drain (R2-R4 of
kernel-model.md, the project's kernel-semantics spec kept outside this repository; docs/model.md,
"Scheduling").

The world resumes one actor at a time: the running actor goes on until it sleeps, ends, or passes
the named point a `run X until P` step asked for (then it is paused, and only `run X` resumes
it). Whoever chooses what runs next from outside (PCT, the explorer) asks `runnable()` and takes
a step (`World.step`); nothing else of the scheduler is theirs to read (shuttle's scheduler
answers only "which task next").
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Final, NamedTuple, NoReturn

from pagefuzz.sim.actors import Actor, ActorState, Iocb, Request
from pagefuzz.sim.case import Step
from pagefuzz.sim.events import Message
from pagefuzz.sim.failure import (
    CRASH,
    NO_LIMIT,
    TIMEOUT,
    WORLD_CALLS_MAX,
    VersionFailure,
    VersionMisuse,
    VersionTimeout,
    one_line,
    where_raised,
)
from pagefuzz.sim.points import SLEEP, Gen, Point, Yield
from pagefuzz.sim.record import SettleBoundHit
from pagefuzz.sim.storm import WATCH_AFTER, StormWatch

if TYPE_CHECKING:
    from pagefuzz.sim.world import World

#: Dispatches one run may make in all, whatever the settle bounds: a hard stop for totality.
DISPATCHES_MAX: Final = 1_000_000
#: The name under which the disk acts (a `complete_io` step).
DISK: Final = "disk"
# The states a dispatch moves actors through, bound once: on Python 3.11 looking an Enum member
# up (EnumType.__getattr__) costs a dispatch more than its bookkeeping (sim/events.py, Message).
IDLE: Final = ActorState.IDLE
RUNNABLE: Final = ActorState.RUNNABLE
RUNNING: Final = ActorState.RUNNING
ASLEEP: Final = ActorState.ASLEEP
PAUSED: Final = ActorState.PAUSED


class Choice(NamedTuple):
    """One thing that can act next: an actor on the run list or paused (a `run` step of it), or
    the disk with the write-out of page `page` in flight (a `complete_io` step of that page)."""

    actor: str
    page: int | None = None


def runnable(k: World) -> tuple[Choice, ...]:
    """What can act now, in a fixed order: the run list in its order, the paused actors in the
    order they paused, then the disk once per write-out in flight, oldest first. Anything else
    a step could name does nothing (a `run` of an actor not listed is skipped; a `complete_io`
    with nothing in flight only logs that). Nothing, once the version's code has failed."""
    if k.history.failure is not None:
        return ()
    return (
        *(Choice(actor.name) for actor in k.sched.run_list),
        *(Choice(actor.name) for actor in k.sched.paused),
        *(Choice(DISK, page.index) for page in k.device.outstanding),
    )


def make_runnable(k: World, actor: Actor) -> None:
    if actor.state is not RUNNABLE:
        actor.state = RUNNABLE
        k.sched.run_list.append(actor)


def dispatch(k: World, actor: Actor, until: str | None = None) -> None:
    """Run one actor until it sleeps, ends, or passes the named point `until`. Its code may log
    at most WORLD_CALLS_MAX events and pass as many named points on the way (sim/failure.py):
    past that, or if a version's code raises where the world catches it, the run fails."""
    k.sched.dispatches += 1
    if k.observer is not None:
        k.observer(actor)
    if isinstance(actor, Iocb) and actor.gen is None:
        actor.gen = k.aio_run_iocb(actor)
        actor.work_started = k.events.seq
    gen = actor.gen
    assert gen is not None
    if actor.state is PAUSED:
        k.log(actor.name, Message.RESUME)
    actor.state = RUNNING
    k.sched.current = actor
    events = k.events
    events.limit = events.seq + WORLD_CALLS_MAX
    points = 0
    try:
        while True:
            try:
                point: Yield = next(gen)
            except StopIteration:
                actor.gen = None
                actor.state = IDLE
                if isinstance(actor, Iocb) and actor.kicked and not actor.completed:
                    make_runnable(k, actor)
                break
            if point is SLEEP:
                actor.state = ASLEEP
                break
            points += 1
            if points > WORLD_CALLS_MAX:
                _stop(gen, VersionTimeout("world calls", POINTS_DETAIL))
            if not isinstance(point, Point):
                _stop(gen, VersionMisuse(f"yielded {point!r}, neither a sleep nor a named point"))
            if point.name == until:
                actor.state = PAUSED
                k.sched.paused.append(actor)
                k.log(actor.name, Message.PAUSE, (point.name,))
                break
    except VersionTimeout as exc:  # always: a loop in any version is a finding
        fail(k, actor, TIMEOUT, exc.how, exc.detail, exc)
    except BaseException as exc:
        if not k.catch_version_errors:
            raise  # a built-in version is trusted not to raise: this is a harness error
        if isinstance(exc, VersionMisuse):
            fail(k, actor, CRASH, "misuse", str(exc), exc)
        elif isinstance(exc, SystemExit):
            fail(k, actor, CRASH, "exit", f"the version called exit ({exc.code!r})", exc)
        else:
            fail(k, actor, CRASH, "exception", one_line(exc), exc)
    finally:
        events.limit = NO_LIMIT
        k.sched.current = None


#: What a version that passes too many named points in one dispatch is told.
POINTS_DETAIL: Final = f"{WORLD_CALLS_MAX} named points passed without sleeping, ending or pausing"


def _stop(gen: Gen[None], exc: BaseException) -> NoReturn:
    """Raise `exc` where the version's code stands (so that its traceback shows the version's
    frames); if the code swallows it, raise it here all the same."""
    with contextlib.suppress(StopIteration):
        gen.throw(exc)
    raise exc


def fail(k: World, actor: Actor, check: str, how: str, detail: str, exc: BaseException) -> None:
    """The version's code did not come back: record how, and end the run here (no more steps,
    no drain). The actor's code is gone with the exception that ended it."""
    k.events.limit = NO_LIMIT  # what follows logs, and must not run out of the budget again
    request: Request | None = getattr(actor, "request", None)
    if k.history.failure is None:
        k.history.failure = VersionFailure(
            check=check,
            how=how,
            detail=detail,
            where=where_raised(exc, k.version.source_file),
            step=k.step_index,
            actor=actor.name,
            request=None if request is None else request.id,
            kind="-" if request is None else request.kind,
        )
        k.log("kernel", Message.VERSION_FAILED, (check, how, detail))
    actor.gen = None
    actor.state = IDLE
    k.sched.run_list.clear()


def settle(k: World) -> None:
    """Run the run list until it is empty or the settle bound is reached (R2)."""
    runs: dict[str, int] = {}
    dispatched = 0
    watch: StormWatch | None = None
    bound = k.config.settle_bound
    while k.sched.run_list and k.history.failure is None:
        if dispatched >= WATCH_AFTER and k.cut_storms:
            # A retry storm repeats: skip its whole cycles (sim/storm.py).
            if watch is None:
                watch = StormWatch()
            if not watch.done:
                dispatched += watch.cut(k, dispatched, runs, bound, DISPATCHES_MAX)
        if dispatched >= bound:
            storm = tuple(
                sorted(
                    ((n, c) for n, c in runs.items() if n in k.sched.iocbs),
                    key=lambda item: (-item[1], item[0]),
                )
            )
            k.history.bound_hits.append(SettleBoundHit(step=k.step_index, iocbs=storm))
            still = tuple(a.name for a in k.sched.run_list)
            k.log("sched", Message.BOUND, (k.config.settle_bound, still))
            return
        if k.sched.dispatches >= DISPATCHES_MAX:
            k.sched.budget_hit = True
            return
        actor = k.sched.run_list.pop(0)
        dispatched += 1
        runs[actor.name] = runs.get(actor.name, 0) + 1
        if watch is None:
            dispatch(k, actor)
        else:
            fresh = actor.gen is None
            seq = k.events.seq
            dispatch(k, actor)
            watch.dispatched(k, actor, fresh, seq, dispatched)


def run_actor(k: World, step: Step) -> bool:
    """The `run X [until P]` step: dispatch X if it is runnable or paused; False (skipped) if
    not."""
    name = step.actor
    assert name is not None
    actor: Actor | None = (
        k.sched.iocbs.get(name) if step.iocb is not None else k.sched.tasks.get(name)
    )
    if actor is None:
        k.log(name, Message.SKIP_UNKNOWN, (name,))
        return False
    if actor.state not in (RUNNABLE, PAUSED):
        k.log(name, Message.SKIP_RUN, (name, actor.state))
        return False
    if actor.state is RUNNABLE:
        k.sched.run_list.remove(actor)
    else:
        k.sched.paused.remove(actor)
    dispatch(k, actor, step.until)
    return True


def drain(k: World) -> None:
    """After the last step: resume paused actors, settle, complete I/O oldest first (R4)."""
    k.step_index = len(k.case.steps)
    k.log("sched", Message.DRAIN)
    for actor in k.sched.paused:
        make_runnable(k, actor)
    k.sched.paused.clear()
    settle(k)
    while (
        (page := k.device.oldest()) is not None
        and not k.sched.budget_hit
        and k.history.failure is None
    ):
        k.end_page_writeback(page, error=False)
        settle(k)
