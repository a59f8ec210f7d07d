"""The AIO retry engine of 2004 (fs/aio.c and the -mm aio_pwrite): io_submit, kick_iocb,
aio_run_iocb, aio_pwrite, aio_wake_function, aio_complete: rules 13-17 and R3, R14, R15 of
kernel-model.md (the project's kernel-semantics spec kept outside this repository).

An iocb's runs are an `Iocb` actor: each dispatch of it is one `aio_run_iocb` (sim/sched.py
starts it). A run that makes progress but leaves nothing queued returns -EIOCBRETRY and is
kicked again at once; a wakeup of its queued entry kicks it; anything but -EIOCBRETRY completes
it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pagefuzz.sim.actors import Iocb, Request, WaitEntry
from pagefuzz.sim.cint import EAGAIN, EIOCBRETRY
from pagefuzz.sim.events import Message
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import Gen
from pagefuzz.sim.record import RequestId, Wakeup

if TYPE_CHECKING:
    from pagefuzz.sim.world import World

#: aio_run_iocb gives up with -EAGAIN past this many retries (rule 15 of the spec above).
AIO_RETRIES_MAX: Final = 1_048_576


def io_submit(k: World, name: str, pos: int, count: int) -> None:
    """The `aio_write` step: a new iocb for an O_SYNC write, its first run queued (R3)."""
    req = Request(
        id=RequestId(name), kind="aio_write", pos=pos, count=count, submitted_at=k.step_index
    )
    k.history.requests.append(req)
    iocb = Iocb(name=name, request=req, nbytes=count, left=count, pos=pos)
    iocb.entry = WaitEntry(owner=iocb, aio=True)
    k.sched.iocbs[name] = iocb
    k.log(name, Message.SUBMIT, (pos, count))
    iocb.kicked = True
    k.make_runnable(iocb)


def aio_wake_function(k: World, iocb: Iocb, waker: str, page: Page, real: bool) -> None:
    """Remove the entry (already done by the caller) and kick the iocb (rule 13, R14)."""
    assert iocb.request is not None
    if iocb.completed:
        k.bug(
            "wake-completed-iocb",
            f"{waker} wakes the entry of completed iocb {iocb.name} (p{page.index})",
            iocb.request.id,
        )
        return
    iocb.request.wakeups.append(Wakeup(step=k.step_index, waker=waker, page=page.index, real=real))
    k.log(waker, Message.WAKE_IOCB, (iocb.name, k.page_waitqueue(page)), page)
    kick_iocb(k, iocb)


def kick_iocb(k: World, iocb: Iocb) -> None:
    """Queue the iocb for a retry, once; a kick during a run re-queues it at the end (14)."""
    if iocb.kicked:
        return
    iocb.kicked = True
    k.log(iocb.name, Message.KICK, (iocb.name,))
    if iocb.gen is None:
        k.make_runnable(iocb)


def aio_run_iocb(k: World, iocb: Iocb) -> Gen[None]:
    """One retry of an iocb on the AIO workqueue (rule 15)."""
    iocb.retries += 1
    k.log(iocb.name, Message.RUN, (iocb.name, iocb.retries))
    if iocb.retries > AIO_RETRIES_MAX:
        aio_complete(k, iocb, -EAGAIN)
        return
    iocb.kicked = False
    ret = yield from aio_pwrite(k, iocb)
    if ret != -EIOCBRETRY:
        aio_complete(k, iocb, ret)
    elif iocb.entry is not None and iocb.entry.queue is None:
        k.log(iocb.name, Message.RETRY)
        kick_iocb(k, iocb)


def aio_pwrite(k: World, iocb: Iocb) -> Gen[int]:
    """Rule 16: progress becomes -EIOCBRETRY; 0 or nothing left completes with the total."""
    ret = yield from k.aio_write(iocb)
    if ret > 0:
        iocb.left -= ret
        ret = -EIOCBRETRY
    if ret == 0 or iocb.left == 0:
        ret = iocb.nbytes - iocb.left
    k.log(iocb.name, Message.AIO_PWRITE, (ret, iocb.left))
    return ret


def aio_write(k: World, iocb: Iocb) -> Gen[int]:
    """Rule 17: copy on the first run only, then sync_page_range; pos advances by progress."""
    assert iocb.request is not None
    if not iocb.synced:
        ret = yield from k.copy_pages(iocb, iocb.request, iocb.pos, iocb.left)
    else:
        ret = iocb.left
    ret2 = yield from k.version.sync_page_range(k, iocb, iocb.pos, ret)
    k.log(iocb.name, Message.SYNC, (iocb.pos, ret, ret2))
    k.note_progress(iocb.request, iocb.pos, ret2)
    if ret2 >= 0:
        iocb.pos += ret2
    return ret2


def aio_complete(k: World, iocb: Iocb, result: int) -> None:
    """Report the result. Completing with the entry still queued is a BUG (rule 15, R14)."""
    assert iocb.request is not None
    if iocb.entry is not None and iocb.entry.queue is not None:
        k.bug(
            "complete-with-queued-wait",
            f"aio_complete of {iocb.name} while its wait entry is on q{iocb.entry.queue}",
            iocb.request.id,
        )
    iocb.completed = True
    k.complete_request(iocb.request, iocb, result)
