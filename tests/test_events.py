"""Events are data; text is made only to be shown (sim/events.py).

The world logs a `Message` and the values it shows; `render` makes the line. Nothing that
reasons about a run reads the line: rewording every message leaves every state key the explorer
prunes on, every verdict and every differential (but the lines it shows) as they were.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

from pagefuzz.impls.registry import ERA_DEFAULT_VERSIONS, get_version
from pagefuzz.oracle import differential, judge
from pagefuzz.sim import events
from pagefuzz.sim.actors import ActorState
from pagefuzz.sim.case import Case, parse_case
from pagefuzz.sim.events import MESSAGES, TEMPLATES, Event, EventKind, Message, render
from pagefuzz.sim.record import RequestId
from pagefuzz.sim.world import World

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "corpus" / "examples").glob("*.json"))


def _case(path: Path) -> Case:
    return parse_case(json.loads(path.read_text(encoding="utf-8")), path.stem)


def test_every_message_has_a_template_over_exactly_its_fields() -> None:
    """Each template names each of its message's fields once and nothing else, so that a line
    shows every value its event holds (two events render alike only if they are equal)."""
    assert set(TEMPLATES) == set(MESSAGES) and len(MESSAGES) == len(TEMPLATES)
    for message, template in TEMPLATES.items():
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
        assert sorted(names) == sorted(message.fields), message


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (Event(0, 0, "A", Message.LOOKUP, (0, 2, (0, 1))), "pagevec_lookup(0, 2) -> [p0, p1]"),
        (
            Event(0, 0, "A", Message.LOOKUP_NEXT, (2, 1, (), 2)),
            "pagevec_lookup(&next=2, 1) -> [], next=2",
        ),
        (
            Event(0, 0, "T", Message.COMPLETE, (RequestId("T", 2), 4096, (0, 1))),
            "T#2 completes: 4096, not on disk: p0, p1",
        ),
        (Event(0, 0, "A", Message.COMPLETE, (RequestId("A"), -5, ())), "A completes: -5"),
        (Event(0, 0, "disk", Message.IO_DONE, (1, 3), 1), "I/O on p1 done (gen 3 on disk)"),
        (
            Event(0, 0, "T", Message.SKIP_BUSY, ("write", "T", ActorState.ASLEEP)),
            "write skipped: T is asleep",
        ),
        (
            Event(0, 0, "sched", Message.BOUND, (50, ("B", "A"))),
            "settle bound 50 reached; still runnable: B, A",
        ),
        (
            Event(0, 0, "log", Message.ELIDED, (8_900_014, 50_000, 8_950_013)),
            "... 8,900,014 events elided (seq 50000..8950013) ...",
        ),
    ],
)
def test_render_hand_worked(event: Event, line: str) -> None:
    """Pages show as pN, a list of them in brackets; a request by its string form (the second of
    T's: T#2); late pages only when there are any; an actor state by its value; counts of
    dropped events with thousands separators."""
    assert render(event) == line == event.text


def test_start_shows_the_steps_arguments_but_op_and_task() -> None:
    """`T` taking `sync_write pos 0 count 4096` logs the step itself; the line shows the op,
    then the step's other arguments as key=value, in the case format's order."""
    case = parse_case(
        {
            "format": "pagefuzz/case-v1",
            "config": {"file_pages": 1},
            "steps": [{"op": "sync_write", "task": "T", "pos": 0, "count": 4096}],
        }
    )
    record = World(case, get_version("post")).run()
    start = next(e for e in record.events if e.kind is EventKind.START)
    assert (start.actor, start.message, start.args[0]) == ("T", Message.START, "sync_write")
    assert start.text == "sync_write pos=0 count=4096"
    assert start.to_json() == {
        "seq": 0,
        "step": 0,
        "actor": "T",
        "kind": "start",
        "text": "sync_write pos=0 count=4096",
    }


def test_a_generation_is_left_out_of_an_events_key() -> None:
    """`copies into p0 (gen 7), dirty` and the same with gen 9 say the same thing but for the
    data generation's number, which no version reads: equal keys (docs/explore.md)."""
    a = Event(0, 0, "A", Message.COPY, (0, 7), 0)
    b = Event(5, 2, "A", Message.COPY, (0, 9), 0)
    assert a.key() == b.key() == (Message.COPY, (0,))
    assert (
        Event(0, 0, "A", Message.LOCK, (0,), 0).key()
        != Event(0, 0, "A", Message.TRYLOCK, (0,)).key()
    )


def _observed() -> dict[str, object]:
    """For every shipped example and default version: the state key after each step (what the
    explorer prunes on, running actors' histories included), the verdict, and every pair's
    differential without the lines it shows."""
    out: dict[str, object] = {}
    for path in EXAMPLES:
        case = _case(path)
        records = {}
        versions = ERA_DEFAULT_VERSIONS[case.config.era]  # both eras' examples
        for name in versions:
            world = World(case, get_version(name))
            keys = []
            for step in case.steps:
                world.step(step)
                keys.append(world.state_key())
                if world.sched.budget_hit:
                    break
            records[name] = world.finish()
            out[f"{path.stem} {name} keys"] = keys
            out[f"{path.stem} {name} verdict"] = judge(records[name])
        for i, a in enumerate(versions):
            for b in versions[i + 1 :]:
                d = differential(records[a], judge(records[a]), records[b], judge(records[b]))
                where = d.first_divergence
                out[f"{path.stem} {a}/{b}"] = (
                    d.cls,
                    d.signature_key,
                    None if where is None else (where.index, where.step),
                )
    return out


def test_rewording_every_message_changes_no_state_key_and_no_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every example (both eras') in every default version of its era, once as worded and once
    with every message reworded to one and the same line that shows none of its values: all
    state keys after each step, all verdicts, and all differentials (class, signature, where
    the first divergence is) are equal. The lines themselves did change."""
    before = _observed()
    for message in MESSAGES:
        monkeypatch.setitem(events.TEMPLATES, message, "something happened")
    assert Event(0, 0, "A", Message.LOCK, (0,)).text == "something happened"
    after = _observed()
    assert len(after) == len(EXAMPLES) * 9
    assert after == before
