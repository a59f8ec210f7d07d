"""The world's keys are derived from its components' declared fields (sim/keys.py): no field can
be added to the world and forgotten by the explorer's pruning or the storm cut. Every field has
a role in every key, every field left out says why, every component the world holds has a table,
and a field added without a role stops pagefuzz at import, naming it."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from pagefuzz.impls.fixed import Fixed
from pagefuzz.sim import keys
from pagefuzz.sim.actors import Iocb, Scheduler, Task
from pagefuzz.sim.case import parse_case
from pagefuzz.sim.events import Message
from pagefuzz.sim.keys import STATE, STORM, WORLD_STATE, WORLD_STORM, Derived, Out, Role
from pagefuzz.sim.mm import Page
from pagefuzz.sim.record import PageState
from pagefuzz.sim.world import World

CASE = {
    "format": "pagefuzz/case-v1",
    "name": "mixed",
    "config": {"file_pages": 2, "auto_settle": False},
    "steps": [
        {"op": "aio_write", "iocb": "A", "pos": 0, "count": 8192},
        {"op": "run", "iocb": "A", "until": "lookup"},
        {"op": "lock_page", "task": "L", "page": 1},
        {"op": "settle"},
        {"op": "unlock_page", "task": "L", "page": 1},
        {"op": "truncate", "task": "X", "size": 4096},
        {"op": "complete_io", "page": 0, "error": True},
    ],
}


def _components(
    world: World, table: dict[type, dict[str, object]], world_roles: dict[str, object]
) -> set[type]:
    """Every class of component the key meets: the world's attributes it keys, and, inside
    each component, what its fields project as components (`EACH`, `VALUES`), through lists,
    tuples and dicts. A class met there with no table would stop the key."""
    found: set[type] = set()
    todo: list[object] = [
        getattr(world, name) for name, spec in world_roles.items() if spec in (keys.EACH,)
    ]
    while todo:
        value = todo.pop()
        if isinstance(value, list | tuple):
            todo.extend(value)
        elif isinstance(value, dict):
            todo.extend(value.values())
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            found.add(type(value))
            roles = table.get(type(value), {})
            todo.extend(
                getattr(value, f.name)
                for f in dataclasses.fields(value)
                if roles.get(f.name) in (keys.EACH, keys.VALUES)
            )
    return found


def _problems(table: dict[type, dict[str, object]], classes: typing.Iterable[type]) -> list[str]:
    """What a table misses: a class with no table, a field with no role, a role of no field, a
    reason left empty."""
    out = []
    for cls in sorted(classes, key=lambda c: c.__name__):
        if cls in keys.PLAIN:
            continue
        roles = table.get(cls)
        if roles is None:
            out.append(f"{cls.__name__}: no table")
            continue
        names = [f.name for f in dataclasses.fields(cls)]
        out += [f"{cls.__name__}.{n}: no role" for n in names if n not in roles]
        out += [f"{cls.__name__}.{n}: a role of no field" for n in roles if n not in names]
        for n, spec in roles.items():
            if isinstance(spec, Out) and len(spec.why) < 20:
                out.append(f"{cls.__name__}.{n}: left out without a reason")
            assert isinstance(spec, Out | Role | Derived)
    return out


def _world() -> World:
    """A world with every kind of component: iocbs and tasks, pages in and out of the file,
    queued entries, failed I/O, requests completed, progress reports, kernel BUGs."""
    world = World(parse_case(CASE), Fixed())
    world.run_steps()
    world.drain()
    return world


@pytest.mark.parametrize("table", [STATE, STORM], ids=["state", "storm"])
def test_every_field_of_every_component_has_a_role(table: dict[type, dict[str, object]]) -> None:
    """The world after a mixed schedule holds every kind of component (pages in and out of the
    file, queues with entries, I/O done and failed, tasks and iocbs, requests, progress, a
    BUG): each has a table, and each table every field, each left-out field its reason."""
    world = _world()
    roles = WORLD_STATE if table is STATE else WORLD_STORM
    classes = _components(world, table, roles)
    assert {Page, Task, Iocb, Scheduler} <= classes
    assert PageState in classes or table is STORM  # the storm key reads requests' results only
    assert _problems(table, classes) == []


@pytest.mark.parametrize("world_roles", [WORLD_STATE, WORLD_STORM], ids=["state", "storm"])
def test_every_attribute_of_the_world_has_a_role(world_roles: dict[str, object]) -> None:
    world = _world()
    # `log` is an attribute only of a world whose log keeps no events (a MessageLog's entry).
    assert set(vars(world)) == set(world_roles) - {"log"}
    assert all(not isinstance(spec, Out) or len(spec.why) >= 20 for spec in world_roles.values())


def test_a_field_added_and_forgotten_stops_pagefuzz_at_once() -> None:
    """The mutation: a page gains a field that matters (say, a pin count), and nobody gives it
    a role in the state key. The check above names it; and the key itself cannot be built: the
    projection is made from the class's fields, so the forgotten one is a KeyError when the
    key is compiled (at import), naming the field, not a state silently merged with another."""
    pinned = dataclasses.make_dataclass("Page", [("pins", int, 0)], bases=(Page,), eq=False)
    table = {**STATE, pinned: STATE[Page]}
    assert _problems(table, [pinned]) == ["Page.pins: no role"]
    with pytest.raises(KeyError, match=r"Page: fields without a role in the key: \['pins'\]"):
        keys._compile(table, WORLD_STATE)
    # Given a role, it is in the key: two worlds that differ only in it are two states.
    roles = {**STATE[Page], "pins": keys.KEY}
    key_of = keys._compile({**STATE, pinned: roles}, WORLD_STATE)
    one, two = _world(), _world()
    for world, pins in ((one, 0), (two, 1)):
        first = world.cache.allocated[0]
        world.cache.allocated[0] = pinned(**{**vars(first), "pins": pins})
    ranks_one, ranks_two = keys._Ranks(one, None), keys._Ranks(two, None)
    assert key_of(one, ranks_one) != key_of(two, ranks_two)


def test_a_page_state_reads_every_field_of_the_page() -> None:
    """PageState is derived from Page: each of its fields names the Page field it is (the
    disk's generation comes from the device), and every Page field is one of them."""
    page_fields = {f.name for f in dataclasses.fields(Page)}
    state_fields = [f.name for f in dataclasses.fields(PageState)]
    assert list(keys.PAGE_STATE) == state_fields
    assert {v for v in keys.PAGE_STATE.values() if v is not None} == page_fields
    world = _world()
    page = world.cache.allocated[0]
    state = world.page_state(page)
    assert (state.serial, state.in_file, state.error, state.disk_gen) == (
        page.serial,
        page.mapping,
        page.error,
        world.device.disk_gen.get(page.index),
    )


def test_pending_work_of_a_task_is_part_of_the_state() -> None:
    """Two schedules that differ only in the work a task was given and has not started
    (auto_settle off: a truncation to 0 or to 4096 of a two-page file, not yet run) reach
    different states: the truncation to 0 removes both pages when the drain runs it, the one to
    4096 only p1. The key once read a task's code only through the events it had logged since
    its work started, none yet, and merged them: the explorer would have pruned the second
    schedule and never judged its extensions. The task's step (its arguments) is now a field,
    and in the key."""
    states = []
    for size in (0, 4096):
        raw = {**CASE, "steps": [{"op": "truncate", "task": "X", "size": size}]}
        world = World(parse_case(raw), Fixed())
        world.run_steps()
        states.append(world.state_key())
        record = world.finish()
        states.append(tuple(p.in_file for p in record.final.pages))
    assert states[0] != states[2]
    assert (states[1], states[3]) == ((False, False), (True, False))


def test_where_an_actor_sleeps_is_on_the_actor() -> None:
    """A synchronous sleeper records where it went to sleep (the storm cut compares it rather
    than the last event logged). The first settle runs A's first run (it writes p0 out and
    queues its AIO entry: no sleep) and L's lock_page, which takes p0's lock and keeps it; the
    second runs T's lock_page, which sleeps on p0's queue (q0: serial 0 of 4 queues): the
    one `sleep` event, and the actor's record of it, agree."""
    raw = {
        **CASE,
        "steps": [
            {"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096},
            {"op": "lock_page", "task": "L", "page": 0},
            {"op": "settle"},
            {"op": "lock_page", "task": "T", "page": 0},
            {"op": "settle"},
        ],
    }
    world = World(parse_case(raw), Fixed())
    world.run_steps()
    sleeper = world.sched.tasks["T"]
    (sleep,) = [e for e in world.events.frozen() if e.message is Message.SLEEP]
    assert sleeper.slept_at == sleep.args == ("lock_page", 0, 0)
