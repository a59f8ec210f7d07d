"""The write paths of the July 2004 era around the version's sync_page_range: the inode's i_sem
(J25), generic_file_aio_write for an AIO O_SYNC write (J22, J32), generic_file_write for a
blocking one (J24), the buffered write, KIF_SYNCED (J21 step 3, JR7) and the era's aio_run_iocb
(J27), from kernel-model-2004-07.md. The copy itself (R10, J2) and aio_pwrite (J26) are the
seed era's (sim/write.py, sim/aio.py): the rules are the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagefuzz.sim.actors import Actor, Iocb, Request, Task
from pagefuzz.sim.aio import AIO_RETRIES_MAX, aio_complete, aio_pwrite, kick_iocb
from pagefuzz.sim.cint import EIOCBRETRY
from pagefuzz.sim.events import Message
from pagefuzz.sim.points import SLEEP, Gen

if TYPE_CHECKING:
    from pagefuzz.sim.world import World


# ------------------------------------------------------------------------------- i_sem


def down(k: World, ctx: Actor) -> Gen[None]:
    """down(&inode->i_sem) (J25): take it, or sleep until `up` wakes this actor and it finds
    it free. It has no async form: an iocb's run sleeps here, and only that iocb waits (R2)."""
    sem = k.i_sem
    while sem.holder is not None:
        if ctx not in sem.waiters:
            sem.waiters.append(ctx)
        ctx.slept_at = ("down", -1, None)
        k.log(ctx.name, Message.SLEEP_SEM, (sem.holder.name,))
        yield SLEEP
    if ctx in sem.waiters:
        sem.waiters.remove(ctx)
    sem.holder = ctx
    k.log(ctx.name, Message.DOWN)


def up(k: World, ctx: Actor) -> None:
    """up(&inode->i_sem): release it and wake the first sleeper, which takes it when it runs
    unless someone took it first (then it sleeps again, keeping its place)."""
    sem = k.i_sem
    sem.holder = None
    k.log(ctx.name, Message.UP)
    if sem.waiters:
        first = sem.waiters[0]
        k.log(ctx.name, Message.WAKE_SEM, (first.name,))
        k.make_runnable(first)


def _locked(k: World, what: str) -> bool:
    """Whether i_sem is taken around `what` ("copy" or "metadata") under config.i_sem."""
    rule = k.config.i_sem
    return rule == "full" or (rule == "copy-only" and what == "copy")


def generic_osync_inode(k: World, ctx: Actor, nolock: bool = False) -> Gen[int]:
    """sync_page_range's metadata step (J21 step 5): under i_sem unless the caller holds it
    (`nolock`) or config.i_sem leaves it out; the metadata work itself is instant."""
    if nolock or not _locked(k, "metadata"):
        return 0
    yield from down(k, ctx)
    up(k, ctx)
    return 0


def kiocb_try_sync(k: World, ctx: Actor) -> bool:
    """kiocbTrySync (J21 step 3): test-and-set KIF_SYNCED of the running iocb; a synchronous
    caller (not in_aio) never has it (JR7)."""
    if not isinstance(ctx, Iocb):
        return False
    was = ctx.synced
    ctx.synced = True
    return was


# ----------------------------------------------------------------------- the write paths


def generic_file_aio_write(k: World, iocb: Iocb) -> Gen[int]:
    """generic_file_aio_write(iocb, buf, ki_left, ki_pos) (J22; J32 for the 2005 form).
    With KIF_SYNCED nothing is copied again and `count` goes to the sync; else the copy under
    i_sem moves ki_pos to pos + copied. Then the version's sync_page_range: the 2004 form
    (sync_page_range returning bytes) sets ki_pos = pos + ret when ret >= 0; the 2005 form
    keeps the byte count on success and on an error resets ki_pos to pos."""
    req = iocb.request
    assert req is not None
    pos = iocb.pos
    count = iocb.left
    if iocb.synced:
        ret = count
    else:
        ret = yield from _copy(k, iocb, req, pos, count)
    if ret > 0:
        err = yield from k.version.sync_page_range(k, iocb, pos, ret)
        k.log(iocb.name, Message.SYNC, (pos, ret, err))
        if getattr(k.version, "form", "2004-07") == "2005-06":
            if err < 0:
                ret = err
                iocb.pos = pos
        else:
            ret = err
            if ret >= 0:
                iocb.pos = pos + ret
        k.note_progress(req, pos, ret)
    return ret


def _copy(k: World, ctx: Actor, req: Request, pos: int, count: int) -> Gen[int]:
    """The copy under i_sem (unless config.i_sem leaves it out); an iocb's ki_pos moves to
    pos + copied, as the buffered loop's `*ppos = pos` does (J22)."""
    locked = _locked(k, "copy")
    if locked:
        yield from down(k, ctx)
    copied = yield from k.copy_pages(ctx, req, pos, count)
    if isinstance(ctx, Iocb):
        ctx.pos = pos + copied
    if locked:
        up(k, ctx)
    return copied


def generic_file_write(k: World, task: Task, req: Request) -> Gen[None]:
    """A blocking O_SYNC write(2) (J24): copy under i_sem, then sync_page_range; an error
    replaces the count, a positive result is ignored (no short writes in this era)."""
    ret = yield from _copy(k, task, req, req.pos, req.count)
    if ret > 0:
        err = yield from k.version.sync_page_range(k, task, req.pos, ret)
        k.log(task.name, Message.SYNC, (req.pos, ret, err))
        if err < 0:
            ret = err
        k.note_progress(req, req.pos, ret)
    k.complete_request(req, task, ret)


def buffered_write(k: World, task: Task, req: Request) -> Gen[None]:
    """A buffered write(2): the copy under i_sem, nothing synced."""
    copied = yield from _copy(k, task, req, req.pos, req.count)
    k.complete_request(req, task, copied)


def aio_run_iocb(k: World, iocb: Iocb) -> Gen[None]:
    """aio_run_iocb of the era (J27): past the retry cap the iocb is dropped with -EAGAIN and
    never completed (the oracle sees a hang; no run reaches the cap within DISPATCHES_MAX);
    else as the seed era's: anything but -EIOCBRETRY completes it, and -EIOCBRETRY with the
    entry on no queue re-kicks it."""
    iocb.retries += 1
    k.log(iocb.name, Message.RUN, (iocb.name, iocb.retries))
    if iocb.retries > AIO_RETRIES_MAX + 1:
        k.log(iocb.name, Message.DROPPED, (iocb.retries - 1,))
        return
    iocb.kicked = False
    ret = yield from aio_pwrite(k, iocb)
    if ret != -EIOCBRETRY:
        aio_complete(k, iocb, ret)
    elif iocb.entry is not None and iocb.entry.queue is None:
        k.log(iocb.name, Message.RETRY)
        kick_iocb(k, iocb)
