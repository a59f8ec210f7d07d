"""The world's keys, derived from the declared fields of its components: the explorer's state key
(what pruning compares: docs/explore.md), the storm cut's key (sim/storm.py) and a page's
`PageState` (the record's view of a page).

Every component of the world is a dataclass (`Page`, `PageCache`, `WaitTable`, `Scheduler`,
`Iocb`, `Request`...) or, for `World` itself, its attributes. For each key, `STATE` and `STORM`
give every field of every component a role: in the key as it is (`KEY`), by rank among the
run's data generations (`GEN`), by name or serial, each element projected (`EACH`), derived by a
function, or `Out` with the reason it may be left out. The projections are built from the
classes' fields, looking each up in the table, when this module is imported: a field added to a
component and given no role is a `KeyError` naming it, here, before any key is computed
(tests/test_keys.py shows it; TLC fingerprints the declared variables and a VIEW the same way).
A field left out needs its reason written down; a reason that stops holding is a soundness bug
to be argued in docs/explore.md, not a silent omission.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Final

from pagefuzz.sim.actors import Actor, Iocb, Request, Scheduler, Semaphore, Task, WaitEntry
from pagefuzz.sim.blockdev import BlockDevice
from pagefuzz.sim.failure import VersionFailure
from pagefuzz.sim.history import History
from pagefuzz.sim.mm import Page, PageCache
from pagefuzz.sim.record import (
    IoCompletion,
    KernelBug,
    PageState,
    Progress,
    RequestId,
    SettleBoundHit,
    Wakeup,
)
from pagefuzz.sim.waitqueue import WaitQueue, WaitTable

if TYPE_CHECKING:
    from pagefuzz.sim.world import World


# ------------------------------------------------------------------------------ the roles


@dataclass(frozen=True)
class Out:
    """Not in the key, and why not (the argument that the rest of the run cannot depend on it
    beyond what the key holds)."""

    why: str


@dataclass(frozen=True)
class Role:
    """How a field enters a key: `how` names one of the projections below."""

    how: str


KEY: Final = Role("key")  # the value as it is (hashable)
GEN: Final = Role("gen")  # a data generation (or None): its rank among the run's
NAME: Final = Role("name")  # an actor (or None): its name
NAMES: Final = Role("names")  # a list of actors: their names, in order
SERIAL: Final = Role("serial")  # a page (or None): its serial
SERIALS: Final = Role("serials")  # a list of pages: their serials, in order
EACH: Final = Role("each")  # a list of components: each one's key, in order
VALUES: Final = Role("values")  # a dict of components: each value's key, in order
COUNT: Final = Role("count")  # a list: how long it is
TUPLE: Final = Role("tuple")  # a list of plain values: as a tuple


@dataclass(frozen=True)
class Derived:
    """A field whose key is a function of its value (and the key's context): what the field
    means to the rest of the run, when that is not its raw value. `whole`: of the whole
    object instead (a field that means something only with others)."""

    fn: Callable[[Any, Any], object]
    what: str
    whole: bool = False


Spec = Role | Out | Derived
Table = dict[type, dict[str, Spec]]


def _fields(cls: type) -> tuple[str, ...]:
    """A component's declared fields: a dataclass's, in order."""
    return tuple(f.name for f in dataclasses.fields(cls))


# ------------------------------------------------------------------------------ the context


class _Ranks:
    """The state key's context: each data generation by its rank among the run's (no version
    reads a generation's number and the oracle only compares them, so two runs that differ
    only in how many copies came before are one state), and the events of the run."""

    __slots__ = ("k", "rank", "unmatched")

    def __init__(self, k: World, unmatched: object) -> None:
        self.k = k
        self.rank = {g: i for i, g in enumerate(sorted(_generations(k)))}
        self.unmatched = unmatched


def _generations(k: World) -> set[int]:
    """Every data generation the world holds anywhere, what the ranks are taken among."""
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
    return gens


# ------------------------------------------------------------------- derived projections


def _history(actor: Actor, ctx: _Ranks) -> tuple[object, ...]:
    """For an actor with code still to run, the events it logged since that code started, as
    data (`Event.key`): its generator's locals are a function of its arguments (in the key:
    a task's step) and of what the world answered it, and those answers are in its events.
    Where some were dropped from a bounded log, the key equals no other: never pruned."""
    if actor.gen is None:
        return ()
    kept, dropped = ctx.k.events.since(actor.work_started)
    history = tuple(e.key() for e in kept if e.actor == actor.name)
    if dropped:
        history += (("elided", dropped, ctx.unmatched),)
    return history


def _retries_beyond_real(iocb: Iocb, ctx: _Ranks) -> int:
    """retry_bound compares an iocb's runs with the wakeups real events delivered to it: only
    their difference matters."""
    request = iocb.request
    real = 0 if request is None else sum(1 for w in request.wakeups if w.real)
    return iocb.retries - real


def _ranked_map(values: dict[int, int], ctx: _Ranks) -> tuple[tuple[int, int], ...]:
    return tuple(sorted((i, ctx.rank[g]) for i, g in values.items()))


def _ranked_generations(gens: dict[int, tuple[int, int]], ctx: _Ranks) -> tuple[object, ...]:
    return tuple(sorted((i, s, ctx.rank[g]) for i, (s, g) in gens.items()))


def _failed_io(log: list[IoCompletion], ctx: _Ranks) -> tuple[tuple[int, int], ...]:
    """The failed write-outs (page serial, generation): what the oracle's `error` check and a
    short count's cause read. A successful one's effect is in the disk's generations and the
    pages."""
    return tuple((io.serial, ctx.rank[io.gen]) for io in log if io.error)


def _completed(value: int | None, ctx: object) -> bool:
    return value is not None


def _entry(entry: WaitEntry | None, ctx: object) -> tuple[int | None, int | None] | None:
    """Where an entry waits: its queue and its page's serial."""
    if entry is None:
        return None
    return (entry.queue, None if entry.page is None else entry.page.serial)


def _is_none(value: object, ctx: object) -> bool:
    return value is None


def _first_or_later(retries: int, ctx: object) -> int:
    """An iocb's runs as wake_up_page reads them: its first, or a later one (`real`)."""
    return min(retries, 2)


def _results(requests: list[Request], ctx: object) -> tuple[int | None, ...]:
    return tuple(r.result for r in requests)


def _items(values: dict[Any, Any], ctx: object) -> tuple[tuple[Any, Any], ...]:
    return tuple(values.items())


# ------------------------------------------------------------------------ the state key

_STEP_NUMBERS = "a step number: the numbering of the schedule, read by no decision of the world"
_SEQ = "a sequence number: orders events, and only the order of what is keyed matters"
_CONFIG = "the case's configuration: the same in every state of one exploration"

#: The queues' entries, in both keys alike: who waits, how, on which page, in the queue's order.
_QUEUED: Final[dict[type, dict[str, Spec]]] = {
    WaitQueue: {
        "index": Out("its place in the table, which the table's order keeps"),
        "entries": EACH,
    },
    WaitEntry: {
        "owner": NAME,
        "aio": KEY,
        "page": SERIAL,
        "queue": Out("the queue that holds the entry, which the table's order keeps"),
        "bit": KEY,
        "exclusive": KEY,
    },
    Semaphore: {"holder": NAME, "waiters": NAMES},
}
_SLEPT = "where it last slept: its sleep event, in its history, says it while that code runs"

#: What an actor, task or iocb, holds (Actor's fields, and its request), in the state key.
_ACTOR_STATE: Final[dict[str, Spec]] = {
    "name": KEY,
    "gen": Derived(_history, "its code's history since it started (see _history)", whole=True),
    "state": KEY,
    "sync_entry": Out("where it sleeps: its entry is on a queue of the table, keyed there"),
    "work_started": Out(_SEQ),
    "slept_at": Out(_SLEPT),
    "request": Out("its request is in the history's requests, by id"),
}

#: The explorer's state key (sim/snapshot.py `state_key`): everything the rest of a run can
#: depend on. docs/explore.md argues why pruning on it is sound.
STATE: Final[Table] = {
    PageCache: {
        "pages": Out(
            "which page is at each index: `allocated` keys every page with its index and "
            "whether it is still in the file"
        ),
        "indices": Out("the indices present: the same, sorted"),
        "allocated": EACH,
        "as_eio": KEY,
        "as_enospc": KEY,
    },
    Page: {
        "serial": KEY,
        "index": KEY,
        "mapping": KEY,
        "locked": KEY,
        "dirty": KEY,
        "writeback": KEY,
        "error": KEY,
        "refs": KEY,
        "gen": GEN,
        "io_gen": GEN,
        "lock_owner": KEY,
        "task_refs": KEY,
        "task_locked": KEY,
        "tag_dirty": KEY,
        "tag_writeback": KEY,
    },
    WaitTable: {
        "queues": EACH,
        "pinned": Out(_CONFIG),
    },
    **_QUEUED,
    BlockDevice: {
        "outstanding": SERIALS,
        "disk_gen": Derived(_ranked_map, "each index's durable generation, ranked"),
        "io_log": Derived(_failed_io, "the failed write-outs"),
    },
    Scheduler: {
        "run_list": NAMES,
        "paused": NAMES,
        "tasks": VALUES,
        "iocbs": VALUES,
        "current": Out("set only during a dispatch; keys are taken between steps"),
        "dispatches": Out("a harness counter against DISPATCHES_MAX, which no state reaches"),
        "dispatches_skipped": Out("a count of the storm cut's work, not of the world"),
        "budget_hit": Out("a run that hits DISPATCHES_MAX has ended; none reaches it in a bound"),
    },
    Task: {
        **_ACTOR_STATE,
        "doing": KEY,
        "step": KEY,
    },
    Iocb: {
        **_ACTOR_STATE,
        "nbytes": Out("its request's count, keyed with the request"),
        "left": KEY,
        "pos": KEY,
        "kicked": KEY,
        "synced": KEY,
        "completed": KEY,
        "retries": Derived(_retries_beyond_real, "runs beyond the real wakeups", whole=True),
        "entry": Out("its queue membership: the wait table's entries"),
    },
    History: {
        "requests": EACH,
        "bugs": EACH,
        "bound_hits": EACH,
        "skipped": Out(_STEP_NUMBERS),
        "progress": EACH,
        "failure": KEY,
    },
    Request: {
        "id": KEY,
        "kind": KEY,
        "pos": KEY,
        "count": KEY,
        "submitted_at": Out(_STEP_NUMBERS),
        "result": KEY,
        "completed_at": Derived(_completed, "whether it completed (the step is numbering)"),
        "completed_seq": Out(_SEQ),
        "not_on_disk": Out("derived from its pages at completion, keyed"),
        "generations": Derived(_ranked_generations, "what it wrote where, ranked"),
        "pages_at_completion": EACH,
        "wakeups": Out("what the oracle reads of them is in its iocb's retries beyond the real"),
    },
    PageState: {
        "index": Out("a page's index never changes: its serial says which"),
        "serial": KEY,
        "in_file": KEY,
        "locked": Out("read by the oracle as evidence text only"),
        "dirty": KEY,
        "writeback": KEY,
        "error": Out("read by the oracle as evidence text only; PG_error is on the page"),
        "refs": Out("read by the oracle as evidence text only"),
        "gen": GEN,
        "io_gen": Out("read by no check: `writeback` says whether I/O was in flight"),
        "disk_gen": GEN,
        "lock_owner": Out("read by the oracle as evidence text only"),
        "task_refs": Out("read by the oracle as evidence text only"),
        "task_locked": Out("read by the oracle as evidence text only"),
        "tag_dirty": Out("read by no check: the page's own tags are keyed on the page"),
        "tag_writeback": Out("read by no check: the page's own tags are keyed on the page"),
    },
    Progress: {
        "step": Out(_STEP_NUMBERS),
        "seq": Out(_SEQ),
        "request": KEY,
        "pos": KEY,
        "nbytes": KEY,
        "pages": EACH,
    },
    KernelBug: {
        "step": Out(_STEP_NUMBERS),
        "seq": Out(_SEQ),
        "what": Out("the BUG's words: its kind and request say which"),
        "kind": KEY,
        "request": KEY,
        "by_case": KEY,
    },
    SettleBoundHit: {
        "step": Out(_STEP_NUMBERS),
        "iocbs": KEY,
    },
}

#: World's own attributes (it is not a dataclass): its components, and what it keeps besides.
WORLD_STATE: Final[dict[str, Spec]] = {
    "case": Out("the schedule itself, which the key abstracts"),
    "config": Out(_CONFIG),
    "version": Out("one table per version: states of different versions are never compared"),
    "cut_storms": Out("how settles run, not what they reach (the cut run equals the uncut)"),
    "cache": EACH,
    "waits": EACH,
    "device": EACH,
    "sched": EACH,
    "i_sem": EACH,
    "history": EACH,
    "vm": Out("the VM's threads are never scheduled and keep nothing: their locks are on pages"),
    "events": Out("read only as the running actors' histories (Task.gen, Iocb.gen)"),
    "log": Out("the event log's entry point"),
    "step_index": Out(_STEP_NUMBERS),
    "steps_taken": Out(_STEP_NUMBERS),
    "next_gen": Out("a counter: generations enter by rank"),
    "i_size": Out("written by truncation and writes, read by no kernel path the model runs"),
    "catch_version_errors": Out("how a failure is reported; the failure itself is keyed"),
    "observer": Out("the hosting process's watch, outside the world"),
}


# ------------------------------------------------------------------------ the storm key

_COUNTERS = "a counter the storm cut compares as a mark, or applies for the skipped cycles"
_SLEPT_STORM = "StormWatch compares it across a dispatch; where it waits is `sync_entry`"

#: What an actor, task or iocb, holds (Actor's fields, and its request), in the storm key.
_ACTOR_STORM: Final[dict[str, Spec]] = {
    "name": KEY,
    "gen": Derived(_is_none, "whether it has code suspended"),
    "state": KEY,
    "sync_entry": Derived(_entry, "where it waits synchronously"),
    "work_started": Out(_COUNTERS),
    "slept_at": Out(_SLEPT_STORM),
    "request": Out("its request's result is keyed with the history's requests"),
}

#: The storm cut's key (sim/storm.py `storm_key`): the world at a dispatch boundary, counters
#: aside; an actor suspended mid-code is keyed by where it waits only (`StormWatch` accepts a
#: cycle only if none of them moved on).
STORM: Final[Table] = {
    PageCache: {
        "pages": Out("`allocated` and `indices` key every page and where it is"),
        "indices": TUPLE,
        "allocated": EACH,
        "as_eio": KEY,
        "as_enospc": KEY,
    },
    Page: {name: KEY for name in _fields(Page)},
    WaitTable: {"queues": EACH, "pinned": Out(_CONFIG)},
    **_QUEUED,
    BlockDevice: {
        "outstanding": SERIALS,
        "disk_gen": Derived(_items, "each index's durable generation"),
        "io_log": COUNT,
    },
    Scheduler: {
        "run_list": NAMES,
        "paused": NAMES,
        "tasks": VALUES,
        "iocbs": VALUES,
        "current": Out("set only during a dispatch; the key is taken between dispatches"),
        "dispatches": Out(_COUNTERS),
        "dispatches_skipped": Out(_COUNTERS),
        "budget_hit": KEY,
    },
    Task: {
        **_ACTOR_STORM,
        "doing": KEY,
        "step": KEY,
    },
    Iocb: {
        **_ACTOR_STORM,
        "nbytes": Out("the count asked, the same in every cycle"),
        "left": KEY,
        "pos": KEY,
        "kicked": KEY,
        "synced": KEY,
        "completed": KEY,
        "retries": Derived(_first_or_later, "first run or not, as wake_up_page reads it"),
        "entry": Derived(_entry, "where its AIO entry waits"),
    },
    History: {
        "requests": Derived(_results, "each request's result: a completion ends a cycle"),
        "bugs": COUNT,
        "bound_hits": COUNT,
        "skipped": COUNT,
        "progress": COUNT,
        "failure": KEY,
    },
}

WORLD_STORM: Final[dict[str, Spec]] = {
    **WORLD_STATE,
    "next_gen": KEY,
    "i_size": KEY,
}


# ---------------------------------------------------------------------- the projections


def _compile(table: Table, world: dict[str, Spec]) -> Callable[[World, Any], tuple[object, ...]]:
    """The key function of a table. Each component's projection is generated as Python from
    its fields in declared order, each by its role (as fast as a hand-written tuple: the
    explorer keys every state it reaches, and the storm cut every dispatch of a long storm);
    a field with no role, or a role of no field, is a KeyError naming it, when this module is
    imported. World is no dataclass: its attributes are checked on its first key."""
    projections: dict[type, Callable[[Any, Any], tuple[object, ...]]] = {}
    for cls, roles in table.items():
        names = _fields(cls)
        missing = [n for n in names if n not in roles]
        extra = [n for n in roles if n not in names]
        if missing or extra:
            raise KeyError(
                f"{cls.__name__}: fields without a role in the key: {missing or '-'}; "
                f"roles of no field: {extra or '-'} (sim/keys.py)"
            )
        projections[cls] = _generate(cls.__name__, [(n, roles[n]) for n in names], projections)
    of_world = _generate("World", list(world.items()), projections)
    checked: list[bool] = []

    def key(k: World, ctx: Any) -> tuple[object, ...]:
        if not checked:
            missing = sorted(set(vars(k)) - set(world))
            if missing:
                raise KeyError(f"World: attributes without a role in the key: {missing}")
            checked.append(True)
        return of_world(k, ctx)

    return key


def _generate(
    name: str,
    fields: list[tuple[str, Spec]],
    projections: dict[type, Callable[[Any, Any], tuple[object, ...]]],
) -> Callable[[Any, Any], tuple[object, ...]]:
    """The projection of one component as a generated function (see `_compile`)."""
    scope: dict[str, Any] = {"P": projections}
    parts: list[str] = []
    for i, (field, spec) in enumerate(fields):
        get = f"o.{field}"
        if isinstance(spec, Out):
            continue
        if isinstance(spec, Derived):
            scope[f"D{i}"] = spec.fn
            parts.append(f"D{i}(o, ctx)" if spec.whole else f"D{i}({get}, ctx)")
            continue
        parts.append(_EXPRESSIONS[spec.how].format(get=get))
    body = "".join(f"        {part},\n" for part in parts)
    source = f"def project_{name}(o, ctx):\n    R = ctx.rank if ctx is not None else None\n"
    source += f"    return (\n{body}    )\n"
    exec(compile(source, f"<sim/keys.py: {name}>", "exec"), scope)
    project: Callable[[Any, Any], tuple[object, ...]] = scope[f"project_{name}"]
    return project


#: The Python each role projects to (`{get}`: the field's value).
_EXPRESSIONS: Final[dict[str, str]] = {
    "key": "{get}",
    "gen": "(None if {get} is None else R[{get}])",
    "name": "(None if {get} is None else {get}.name)",
    "names": "tuple([a.name for a in {get}])",
    "serial": "(None if {get} is None else {get}.serial)",
    "serials": "tuple([p.serial for p in {get}])",
    "each": "(tuple([P[type(x)](x, ctx) for x in v]) if type(v := {get}) in (list, tuple) "
    "else P[type(v)](v, ctx))",
    "values": "tuple([P[type(x)](x, ctx) for x in {get}.values()])",
    "count": "len({get})",
    "tuple": "tuple({get})",
}


_STATE_KEY: Final = _compile(STATE, WORLD_STATE)
_STORM_KEY: Final = _compile(STORM, WORLD_STORM)


def state_key(k: World, unmatched: object) -> tuple[object, ...]:
    """The explorer's state key of `k` (STATE): where an actor's history lost events to the
    bounded log, `unmatched` stands in it (sim/snapshot.py)."""
    return _STATE_KEY(k, _Ranks(k, unmatched))


def storm_key(k: World) -> tuple[object, ...]:
    """The storm cut's key of `k` (STORM)."""
    return _STORM_KEY(k, None)


# ---------------------------------------------------------------------- a page's state

#: PageState's fields from Page's: each PageState field, the Page field it is (or None: from
#: elsewhere); every Page field must be read (tests/test_keys.py).
PAGE_STATE: Final[dict[str, str | None]] = {
    "index": "index",
    "serial": "serial",
    "in_file": "mapping",
    "locked": "locked",
    "dirty": "dirty",
    "writeback": "writeback",
    "error": "error",
    "refs": "refs",
    "gen": "gen",
    "io_gen": "io_gen",
    "disk_gen": None,  # the disk's durable generation for the page's index (BlockDevice)
    "lock_owner": "lock_owner",
    "task_refs": "task_refs",
    "task_locked": "task_locked",
    "tag_dirty": "tag_dirty",
    "tag_writeback": "tag_writeback",
}
_PAGE_FIELDS: Final = attrgetter(*(PAGE_STATE[f] or "index" for f in _fields(PageState)))
_DISK_AT: Final = _fields(PageState).index("disk_gen")


def page_state(page: Page, device: BlockDevice) -> PageState:
    """A page's state at this moment, as the record keeps it."""
    values = list(_PAGE_FIELDS(page))
    values[_DISK_AT] = device.disk_gen.get(page.index)
    return PageState(*values)


# The components a key may meet, for tests/test_keys.py: every class above, and the types the
# world's components hold that need no table (plain values).
PLAIN: Final = (RequestId, Wakeup, VersionFailure)
