"""The world's parts seen from outside: the scheduler interface that PCT and the explorer use
(`runnable()` and `step()`), request identities, and the wait queue's order."""

from __future__ import annotations

from typing import Any

import pytest

from pagefuzz.impls.registry import get_version
from pagefuzz.oracle import judge
from pagefuzz.sim.actors import Actor, WaitEntry
from pagefuzz.sim.case import parse_case
from pagefuzz.sim.record import RequestId
from pagefuzz.sim.sched import DISK, Choice
from pagefuzz.sim.waitqueue import WaitQueue
from pagefuzz.sim.world import World


def _case(config: dict[str, Any], steps: list[dict[str, Any]]) -> Any:
    return parse_case({"format": "pagefuzz/case-v1", "config": config, "steps": steps})


def test_runnable_lists_the_run_list_the_paused_and_the_disk() -> None:
    """post, two pages on queues 0 and 1, no auto_settle:
    step 0 submits A: its first run is queued (R3): [A].
    step 1 submits B: [A, B].
    step 2 runs A: it copies p0, writes it out (I/O in flight), finds p0 under writeback, queues
      its entry on q0 and ends its run with -EIOCBRETRY: [B] and the disk with p0.
    step 3 runs B until `lookup`: B copies p1 and pauses after its writer's first lookup:
      paused [B], the disk with p0.
    step 4 completes p0: the wakeup on q0 kicks A onto the run list: [A], paused [B]; nothing
      in flight.
    step 5 runs C, which does not exist: skipped, nothing changes.
    Each step's index is the number of steps taken before it."""
    case = _case(
        {"file_pages": 2, "auto_settle": False},
        [
            {"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096},
            {"op": "aio_write", "iocb": "B", "pos": 4096, "count": 4096},
            {"op": "run", "iocb": "A"},
            {"op": "run", "iocb": "B", "until": "lookup"},
            {"op": "complete_io", "page": 0},
            {"op": "run", "iocb": "C"},
        ],
    )
    world = World(case, get_version("post"))
    assert world.runnable() == ()
    seen = []
    for step in case.steps:
        world.step(step)
        seen.append((world.step_index, world.runnable()))
    assert seen == [
        (0, (Choice("A"),)),
        (1, (Choice("A"), Choice("B"))),
        (2, (Choice("B"), Choice(DISK, 0))),
        (3, (Choice("B"), Choice(DISK, 0))),
        (4, (Choice("A"), Choice("B"))),
        (5, (Choice("A"), Choice("B"))),
    ]
    assert world.sched.iocbs["B"].state == "paused"
    assert world.finish().skipped_steps == (5,)


def test_a_tasks_second_request_is_its_number_two() -> None:
    """T's sync_write of p0 sleeps on p0's writeback (step 0) and completes when the disk
    answers (step 1); L then locks p0 and keeps it (step 2); T's buffered write (step 3) is T's
    second request, `T#2`, and sleeps in lock_page behind L's lock until the end. A request left
    unfinished by a lock the case itself holds is not a hang (the hang check looks T#2's actor,
    T, up among the sleepers the case holds): post passes."""
    case = _case(
        {"file_pages": 1},
        [
            {"op": "sync_write", "task": "T", "pos": 0, "count": 4096},
            {"op": "complete_io", "page": 0},
            {"op": "lock_page", "task": "L", "page": 0},
            {"op": "write", "task": "T", "pos": 0, "count": 4096},
        ],
    )
    record = World(case, get_version("post")).run()
    assert [(r.id, r.name, r.kind, r.result) for r in record.requests] == [
        (RequestId("T", 1), "T", "sync_write", 4096),
        (RequestId("T", 2), "T#2", "write", None),
    ]
    assert record.final.asleep_on == (("T", 0, True),)
    assert judge(record).passed
    assert record.to_json()["requests"]["T#2"]["result"] is None


@pytest.mark.parametrize(
    ("rid", "text"),
    [(RequestId("A"), "A"), (RequestId("T", 1), "T"), (RequestId("T", 3), "T#3")],
)
def test_request_id_string_form(rid: RequestId, text: str) -> None:
    assert str(rid) == text


def test_wait_queue_adds_at_the_head_and_wakes_from_a_snapshot() -> None:
    """prepare_to_wait adds at the head (R1): entries a, b, c added in that order are walked
    c, b, a. Removing entries while walking a snapshot does not disturb the walk."""
    queue = WaitQueue(3)
    entries = [WaitEntry(owner=Actor(name), aio=False) for name in "abc"]
    for entry in entries:
        queue.add(entry)
    assert [e.owner.name for e in queue] == ["c", "b", "a"]
    assert {e.queue for e in entries} == {3}
    walked = []
    for entry in queue.snapshot():
        queue.remove(entry)
        walked.append(entry.owner.name)
    assert walked == ["c", "b", "a"]
    assert len(queue) == 0 and {e.queue for e in entries} == {None}
