"""What each op of a case does when its step is taken (docs/case-format.md; docs/model.md,
"Actors and what a step does").

Requests and page locks of tasks become a task's work (the task runs it when scheduled); an
`aio_write` submits an iocb; `flush`, `complete_io` and `reclaim` act at once; `run` and `settle`
move the scheduler. A step naming a task or iocb that cannot take it is skipped (and listed in
the record's `skipped_steps`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagefuzz.sim.actors import Request, Task
from pagefuzz.sim.case import Step
from pagefuzz.sim.events import Message
from pagefuzz.sim.points import Gen
from pagefuzz.sim.record import RequestId

if TYPE_CHECKING:
    from pagefuzz.sim.world import World

#: The ops that give a task work.
TASK_OPS = ("sync_write", "write", "truncate", "lock_page", "unlock_page")


def take_step(k: World, step: Step) -> None:
    """Take one step at `k.step_index`; with `auto_settle` the world then settles (R3)."""
    op = step.op
    ok = True
    if op == "aio_write":
        assert step.iocb is not None and step.pos is not None and step.count is not None
        k.io_submit(step.iocb, step.pos, step.count)
    elif op in TASK_OPS:
        ok = _task_work(k, step)
    elif op == "flush":
        assert step.page is not None
        k.flush(step.page)
    elif op == "complete_io":
        assert step.page is not None
        k.complete_io(step.page, step.error)
    elif op == "reclaim":
        assert step.page is not None
        k.reclaim(step.page)
    elif op == "run":
        ok = k.run_actor(step)
    elif op == "settle":
        k.settle()
    if not ok:
        k.history.skipped.append(k.step_index)
    if k.config.auto_settle:
        k.settle()


def _task_work(k: World, step: Step) -> bool:
    """Give the step's work to its task, unless the task is busy or (`unlock_page`) the page is
    locked by someone else (R16): then the step is skipped."""
    assert step.task is not None
    task = k.sched.tasks.get(step.task)
    if task is None:
        task = k.sched.tasks[step.task] = Task(name=step.task)
    if task.gen is not None:
        k.log(step.task, Message.SKIP_BUSY, (step.op, step.task, task.state))
        return False
    if step.op == "unlock_page" and step.page is not None:
        other = k.page_lock_of_other(step.task, step.page)
        if other is not None:
            k.log(step.task, Message.SKIP_NOT_OURS, (step.page, other.lock_owner))
            return False
    work: Gen[None]
    if step.op in ("sync_write", "write"):
        assert step.pos is not None and step.count is not None
        # A task may make several requests: the second is reported as "T#2", and so on.
        earlier = sum(
            1 for r in k.history.requests if r.kind != "aio_write" and r.id.actor == step.task
        )
        req = Request(
            id=RequestId(step.task, earlier + 1),
            kind=step.op,
            pos=step.pos,
            count=step.count,
            submitted_at=k.step_index,
        )
        k.history.requests.append(req)
        task.request = req
        work = k.sync_write(task, req) if step.op == "sync_write" else k.buffered_write(task, req)
    elif step.op == "truncate":
        assert step.size is not None
        work = k.truncate_inode_pages(task, step.size)
    elif step.op == "lock_page":
        assert step.page is not None
        work = k.hold_page_lock(task, step.page)
    else:
        assert step.page is not None
        work = k.drop_page_lock(task, step.page)
    task.doing = step.op
    task.step = step
    k.log(step.task, Message.START, (step.op, step))
    task.gen = work
    task.work_started = k.events.seq
    k.make_runnable(task)
    return True
