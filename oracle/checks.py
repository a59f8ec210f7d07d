"""What must hold for any correct version, judged from a RunRecord: section 7 of kernel-model.md
(the project's kernel-semantics spec, kept outside this repository), restated check by check in
docs/oracle.md.

Each check reads only the frozen record (the checkers-watch, actors-act split of TigerBeetle's
VOPR): nothing here re-runs the world or looks inside a version. A check returns violations; an
empty list is a pass. Check names are stable: fuzzing, minimisation and triage key on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pagefuzz.sim.case import CHECKS as CHECKS  # the names, defined once with the case format
from pagefuzz.sim.cint import EAGAIN, EIO, PAGE_CACHE_SHIFT, errno_name
from pagefuzz.sim.record import PageState, RequestId, RequestResult, RunRecord

O_SYNC_KINDS: Final = ("aio_write", "sync_write")
#: The negative results the write path can legitimately return: -EIO from PageError, -EAGAIN
#: when aio_run_iocb gives up (rule 15).
REAL_ERRNOS: Final = (-EIO, -EAGAIN)


@dataclass(frozen=True)
class Violation:
    """One check violated by one run. `request` is the request concerned (None for none); what
    only an actor did (a task still asleep, a page lock it still holds) names the actor as its
    first request is named (`T`). `kind` is that request's kind (`-` for none): `judge` resolves
    it from the record, once (`request_kinds`), and findings and signatures read it from here.
    `seq` is the recorded event the violation is, where it is one (a BUG the world recorded:
    its `KernelBug.seq`)."""

    check: str
    version: str
    request: RequestId | None
    step: int
    explanation: str
    evidence: tuple[PageState, ...] = ()
    kind: str = "-"
    seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "version": self.version,
            "request": None if self.request is None else str(self.request),
            "step": self.step,
            "explanation": self.explanation,
            "evidence": [_evidence(p) for p in self.evidence],
        }

    def line(self) -> str:
        who = str(self.request) if self.request is not None else "-"
        proof = "; ".join(_evidence_text(p) for p in self.evidence)
        return f"{self.check} {self.version} {who} step {self.step}: {self.explanation}" + (
            f" [{proof}]" if proof else ""
        )


def request_kinds(rec: RunRecord) -> dict[RequestId, str]:
    """The kind of every request a violation of `rec` may name: each request by its id; an
    actor (named as its first request) by its first request in the record; and the request a
    failure of the version names (a record whose process died keeps no requests)."""
    kinds = {r.id: r.kind for r in rec.requests}
    for r in rec.requests:
        kinds.setdefault(RequestId(r.id.actor), r.kind)
    failure = rec.failure
    if failure is not None and failure.request is not None:
        kinds.setdefault(failure.request, failure.kind)
    return kinds


def _evidence(p: PageState) -> dict[str, Any]:
    return {
        "page": p.index,
        "flags": p.flags(),
        "gen": p.gen,
        "disk_gen": p.disk_gen,
        "in_file": p.in_file,
        "refs": p.refs,
    }


def _evidence_text(p: PageState) -> str:
    where = "" if p.in_file else " removed"
    return f"p{p.index} {p.flags()} gen {p.gen} disk {p.disk_gen} refs {p.refs}{where}"


def _state_words(p: PageState) -> str:
    if p.writeback:
        return "still under writeback"
    if p.dirty:
        return "still dirty (never written out)"
    return "not on disk"


def _unsynced(
    req: RequestResult, pages: tuple[PageState, ...], lo: int, hi: int
) -> list[PageState]:
    """Pages of [lo, hi] that still hold this request's data, in memory only (dirty or under
    writeback, durable generation older than the request's). A page replaced since (another
    serial) no longer holds the data: truncation discarded it."""
    by_index = {p.index: p for p in pages}
    out = []
    for index, serial, gen in req.generations:
        if not lo <= index <= hi:
            continue
        page = by_index.get(index)
        if page is None or page.serial != serial or not page.in_file:
            continue
        durable = page.disk_gen if page.disk_gen is not None else -1
        if (page.dirty or page.writeback) and durable < gen:
            out.append(page)
    return out


def _late_at_success(req: RequestResult) -> list[PageState]:
    """The pages an O_SYNC request still held in memory only when it reported success."""
    if req.kind not in O_SYNC_KINDS or req.result is None or req.result < 0:
        return []
    if req.completed_at is None:
        return []
    return _unsynced(req, req.pages_at_completion, 0, 1 << 62)


def check_completion(rec: RunRecord) -> list[Violation]:
    """An O_SYNC request reported success while a page it dirtied, still in the file, was dirty or
    under writeback with its data (a later write by someone else does not excuse it)."""
    out = []
    for req in rec.requests:
        late = _late_at_success(req)
        if late and req.completed_at is not None:
            words = "; ".join(f"page {p.index} {_state_words(p)}" for p in late)
            out.append(
                Violation(
                    "completion",
                    rec.version,
                    req.id,
                    req.completed_at,
                    f"{req.name} completed with {req.result} bytes at step {req.completed_at} "
                    f"while {words}",
                    tuple(late),
                )
            )
    return out


def _truncated_or_failed(rec: RunRecord, req: RequestResult) -> bool:
    """A cause for a short count: a page of the range left the file, or its I/O failed, before
    the request completed."""
    rng = req.index_range()
    done = req.completed_seq if req.completed_seq is not None else 1 << 62
    if any(io.error and io.index in rng and io.seq <= done for io in rec.io_log):
        return True
    written = {index: serial for index, serial, _ in req.generations}
    for p in req.pages_at_completion:
        if p.index in written and p.serial != written[p.index]:
            return True
    present = {p.index for p in req.pages_at_completion}
    return any(index not in present for index in written)


def check_byte_count(rec: RunRecord) -> list[Violation]:
    """Results are exact: count on success, a real errno on failure, never more than count, no
    short count without a cause; every progress report counts only pages already on disk."""
    out = []

    def wrong(
        req: RequestResult, step: int, why: str, evidence: tuple[PageState, ...] = ()
    ) -> None:
        out.append(Violation("byte_count", rec.version, req.id, step, why, evidence))

    for req in rec.requests:
        if req.result is None or req.completed_at is None:
            continue
        step = req.completed_at
        if req.result > req.count:
            wrong(req, step, f"{req.name} reported {req.result} bytes of a {req.count}-byte write")
        elif req.result < 0 and req.result not in REAL_ERRNOS:
            wrong(
                req,
                step,
                f"{req.name} returned {req.result} ({errno_name(req.result)}), "
                "not an errno this path can return",
            )
        elif 0 <= req.result < req.count and not _truncated_or_failed(rec, req):
            wrong(
                req,
                step,
                f"{req.name} reported a short count {req.result} of {req.count} "
                "with no truncation or I/O error to cause it",
            )
    for req in rec.requests:
        if req.kind not in O_SYNC_KINDS:
            continue
        # A page still late when the request reported success is that success's fault, and
        # completion reports it; byte_count charges only the over-counts completion cannot see
        # (the page reached the disk before the end, or the request never succeeded), so that
        # one wrong fact is one check.
        charged = {p.serial for p in _late_at_success(req)}
        last_end = req.pos
        for prog in (p for p in rec.progress if p.request == req.id):
            if prog.pos < last_end:
                wrong(
                    req,
                    prog.step,
                    f"{req.name}'s progress went backwards to {prog.pos} from {last_end}",
                )
            last_end = prog.pos + prog.nbytes
            lo = prog.pos >> PAGE_CACHE_SHIFT
            hi = (prog.pos + prog.nbytes - 1) >> PAGE_CACHE_SHIFT
            late = [p for p in _unsynced(req, prog.pages, lo, hi) if p.serial not in charged]
            if late:
                words = ", ".join(f"page {p.index} {_state_words(p)}" for p in late)
                wrong(
                    req,
                    prog.step,
                    f"{req.name} counted {prog.nbytes} bytes from {prog.pos} as synced at step "
                    f"{prog.step} while {words}",
                    tuple(late),
                )
    return out


def stormed_iocbs(rec: RunRecord) -> dict[RequestId, int]:
    """The iocbs a settle bound stopped while they kept kicking each other, each with the step of
    the first bound that stopped it: `retry_bound` charges each of them a retry storm (at that
    step) rather than a count over its bound."""
    stormed: dict[RequestId, int] = {}
    for hit in rec.settle_bound_hits:
        for name, _runs in hit.iocbs:
            stormed.setdefault(RequestId(name), hit.step)  # an iocb makes one request
    return stormed


def check_retry_bound(rec: RunRecord) -> list[Violation]:
    """An iocb runs at most 1 + its pages + the wakeups real events delivered to it; a settle that
    hit its bound is a storm, charged to the iocbs that kept kicking each other."""
    out = []
    stormed = stormed_iocbs(rec)
    for req in rec.requests:
        if req.kind != "aio_write":
            continue
        real = sum(1 for w in req.wakeups if w.real)
        bound = 1 + len(req.index_range()) + real
        if req.id in stormed:
            step = stormed[req.id]
            out.append(
                Violation(
                    "retry_bound",
                    rec.version,
                    req.id,
                    step,
                    f"retry storm: {req.name} was still being kicked when the settle bound "
                    f"({rec.case.config.settle_bound} runs) stopped step {step}; "
                    f"{req.retries} runs, {real} wakeups from real events",
                )
            )
        elif req.retries > bound:
            step = req.completed_at if req.completed_at is not None else len(rec.case.steps)
            spurious = len(req.wakeups) - real
            out.append(
                Violation(
                    "retry_bound",
                    rec.version,
                    req.id,
                    step,
                    f"{req.name} ran {req.retries} times, bound {bound} (1 + "
                    f"{len(req.index_range())} pages + {real} real wakeups); {spurious} wakeups "
                    "came from other iocbs' unlocks",
                )
            )
    return out


def check_hang(rec: RunRecord) -> list[Violation]:
    """After the drain nothing can run, yet a request is unfinished or a task still sleeps.

    A sleeper waiting for a page lock that one of the case's own `lock_page` steps still holds
    is the case's doing (every version would wait the same), not a hang of the version."""
    if rec.final.runnable or rec.budget_hit or rec.failure is not None:
        return []  # stopped by a bound (retry_bound says so) or by the version's failure
    held_by_case = {name for name, _page, held in rec.final.asleep_on if held}
    out = []
    step = len(rec.case.steps)
    for req in rec.requests:
        if req.completed_at is None and req.id.actor not in held_by_case:
            out.append(
                Violation(
                    "hang",
                    rec.version,
                    req.id,
                    step,
                    f"{req.name} never completed: after the drain nothing is left that could "
                    "wake it",
                )
            )
    unfinished = {r.id.actor for r in rec.requests if r.completed_at is None}
    for name in rec.final.asleep:
        if name in unfinished or name in held_by_case:
            continue
        out.append(
            Violation(
                "hang",
                rec.version,
                RequestId(name),
                step,
                f"{name} is still asleep after the drain with nothing left to wake it",
            )
        )
    return out


def check_error(rec: RunRecord) -> list[Violation]:
    """An I/O error on a page holding the request's data, before it completed, must be -EIO.

    A failed page that left the file before the request completed is not charged: truncation
    threw the data and its PG_error away, and no version can see the error any more (the same
    rule as `completion`, which judges only pages still in the file). Nor is a failure of a
    later write-out once this request's data had already reached the disk: its data is safe,
    the failure is the later writer's to report (found by fuzzing the candidate fix)."""
    out = []
    for req in rec.requests:
        if req.kind not in O_SYNC_KINDS or req.completed_seq is None or req.result == -EIO:
            continue
        written = {serial: (index, gen) for index, serial, gen in req.generations}
        still_in_file = {p.serial for p in req.pages_at_completion if p.in_file}
        for io in rec.io_log:
            if not io.error or io.seq > req.completed_seq or io.serial not in written:
                continue
            if io.serial not in still_in_file:
                continue
            gen = written[io.serial][1]
            if any(
                done.serial == io.serial
                and not done.error
                and done.gen >= gen
                and done.seq < io.seq
                for done in rec.io_log
            ):
                continue  # this request's data was already on disk: a later write-out failed
            if io.gen < written[io.serial][1]:
                continue  # an older write-out, before this request's data
            out.append(
                Violation(
                    "error",
                    rec.version,
                    req.id,
                    req.completed_at or 0,
                    f"I/O of page {io.index} failed at step {io.step} but {req.name} returned "
                    f"{req.result}, not -5 (EIO)",
                )
            )
            break
    return out


def check_kernel_bug(rec: RunRecord) -> list[Violation]:
    """Any BUG the world recorded, and locks or references left held at the end."""
    # A case's own unlock_page step unlocking an unlocked page is the case's doing (the world
    # marks it), like the locks a case's lock_page steps keep: every version would carry it.
    out = [
        Violation("kernel_bug", rec.version, bug.request, bug.step, bug.what, seq=bug.seq)
        for bug in rec.kernel_bugs
        if not bug.by_case
    ]
    if rec.final.asleep or rec.final.runnable or rec.budget_hit or rec.failure is not None:
        # Sleepers hold references legitimately, and a run its version's failure cut short
        # ends mid-work: hang, retry_bound, crash or timeout say why.
        return out
    step = len(rec.case.steps)
    for p in rec.final.pages:
        if p.locked and not p.task_locked:
            out.append(
                Violation(
                    "kernel_bug",
                    rec.version,
                    None if p.lock_owner is None else RequestId(p.lock_owner),
                    step,
                    f"page {p.index} is still locked by {p.lock_owner} at the end",
                    (p,),
                )
            )
        expected = (1 if p.in_file else 0) + p.task_refs
        if p.refs != expected:
            out.append(
                Violation(
                    "kernel_bug",
                    rec.version,
                    None,
                    step,
                    f"page {p.index} (serial {p.serial}) ends with {p.refs} "
                    f"references, expected {expected}: a reference was leaked",
                    (p,),
                )
            )
    return out


def _failure_check(check: str) -> Callable[[RunRecord], list[Violation]]:
    """`crash`: the version's code died (raised, was killed by a signal, ended the process);
    `timeout`: it ran past its budget of world calls or of wall-clock time (sim/failure.py).
    The run ended there: one violation, charged to the request that was running."""

    def check_failure(rec: RunRecord) -> list[Violation]:
        failure = rec.failure
        if failure is None or failure.check != check:
            return []
        return [Violation(check, rec.version, failure.request, failure.step, failure.explanation())]

    check_failure.__name__ = f"check_{check}"
    return check_failure


check_crash = _failure_check("crash")
check_timeout = _failure_check("timeout")


CHECK_FUNCTIONS: Final[dict[str, Callable[[RunRecord], list[Violation]]]] = {
    "completion": check_completion,
    "byte_count": check_byte_count,
    "retry_bound": check_retry_bound,
    "hang": check_hang,
    "error": check_error,
    "kernel_bug": check_kernel_bug,
    "crash": check_crash,
    "timeout": check_timeout,
}
