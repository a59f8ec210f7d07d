"""Verdicts for one run, and the differential verdict between two versions on one case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from pagefuzz.oracle.checks import CHECK_FUNCTIONS, CHECKS, Violation, request_kinds
from pagefuzz.oracle.findings import FindingKey, finding_keys
from pagefuzz.oracle.findings import signature_of as signature_of  # re-exported: oracle's API
from pagefuzz.oracle.pair import Pair
from pagefuzz.sim.case import CLASSES as CLASSES  # the names, defined once with the case format
from pagefuzz.sim.eventlog import ELIDED_KIND
from pagefuzz.sim.events import Event, EventKind
from pagefuzz.sim.record import RunRecord

#: Event kinds that are world state a kernel engineer could observe (locks, wakeups, I/O,
#: completions). Lookups, return values and bookkeeping lines are left out of the alignment:
#: they are phrased differently per version (`pagevec_lookup(&next...)`) without any effect.
OBSERVABLE_KINDS: Final = frozenset(
    {
        EventKind.SUBMIT,
        EventKind.START,
        EventKind.RUN,
        EventKind.LOCK,
        EventKind.UNLOCK,
        EventKind.SLEEP,
        EventKind.WAKE,
        EventKind.KICK,
        EventKind.QUEUE,
        EventKind.WRITEBACK,
        EventKind.IO_DONE,
        EventKind.IO_ERROR,
        EventKind.REMOVE,
        EventKind.CREATE,
        EventKind.COPY,
        EventKind.COMPLETE,
        EventKind.BUG,
        EventKind.BOUND,
        EventKind.PAUSE,
        EventKind.RESUME,
        EventKind.SKIP,
        EventKind.ZERO,
        EventKind.FAILED,
    }
)


@dataclass(frozen=True)
class Verdict:
    version: str
    violations: tuple[Violation, ...]

    @property
    def passed(self) -> bool:
        return not self.violations

    @property
    def checks(self) -> tuple[str, ...]:
        """The violated checks, in the fixed order of CHECKS."""
        found = {v.check for v in self.violations}
        return tuple(c for c in CHECKS if c in found)

    @property
    def finding_keys(self) -> tuple[FindingKey, ...]:
        """The atomic findings of the run, sorted: one per distinct (check, request kind) the
        version violated."""
        return finding_keys(self.violations)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": "pass" if self.passed else "fail",
            "violations": [v.to_json() for v in self.violations],
        }


def judge(record: RunRecord) -> Verdict:
    """Run every check over one record; each violation carries the kind of the request it
    names, resolved here from the record once (`checks.request_kinds`)."""
    found = tuple(v for check in CHECKS for v in CHECK_FUNCTIONS[check](record))
    if found:
        kinds = request_kinds(record)
        for v in found:
            if v.request is not None:
                # The violations were made just now by the checks and nobody else holds them:
                # their kind is filled in place (judging is on every execution's path, and a
                # copy per violation cost it a sixth of its time).
                v.__dict__["kind"] = kinds.get(v.request, "-")
    return Verdict(record.version, found)


@dataclass(frozen=True)
class Divergence:
    index: int
    step: int
    left: str | None
    right: str | None

    def to_json(self, pair: Pair) -> dict[str, Any]:
        return {
            "index": self.index,
            "step": self.step,
            pair.first: self.left,
            pair.second: self.right,
        }


@dataclass(frozen=True)
class Differential:
    pair: Pair
    cls: str
    first_divergence: Divergence | None
    signature: str
    signature_key: str

    def to_json(self) -> dict[str, Any]:
        return {
            "pair": [self.pair.first, self.pair.second],
            "class": self.cls,
            "first_divergence": (
                None if self.first_divergence is None else self.first_divergence.to_json(self.pair)
            ),
            "signature": self.signature,
            "signature_key": self.signature_key,
        }


def observable(record: RunRecord) -> list[Event]:
    return [e for e in record.events if e.kind in OBSERVABLE_KINDS]


def _line(event: Event) -> str:
    return f"{event.actor}: {event.text}"


def _said(event: Event) -> tuple[object, ...]:
    """What an event says, as data: its step, actor, message and values. Two events render the
    same line exactly when these are equal (the page an event concerns is not compared: the line
    does not always show it)."""
    return (event.step, event.actor, event.message, event.args)


def _kept(record: RunRecord) -> list[Event]:
    """The observable events, with the marker line of dropped events where there is one."""
    if not record.events_elided:
        return observable(record)
    return [e for e in record.events if e.kind in OBSERVABLE_KINDS or e.kind == ELIDED_KIND]


def first_divergence(left: RunRecord, right: RunRecord) -> Divergence | None:
    """The first observable event where the two timelines differ, aligned by position. Events
    are compared as data (step, actor, message, values); the divergence shows the two lines as
    rendered.

    A run whose bounded log dropped events (`events_elided`) is compared on what it kept, its
    marker line standing where the dropped events were. Up to the first marker of either run
    the answer is exact; past it the positions count kept events only, so what is returned is
    the first difference among the kept events (a marker against an event, or two markers with
    different counts, when the difference may lie in what was dropped), not necessarily the
    first difference of the whole timelines; two runs that differ only inside the same dropped
    stretch compare equal. `classify` reads no events, so classes are exact whatever was dropped."""
    a, b = _kept(left), _kept(right)
    for i in range(max(len(a), len(b))):
        ea = a[i] if i < len(a) else None
        eb = b[i] if i < len(b) else None
        if ea is None or eb is None or _said(ea) != _said(eb):
            step = (ea or eb).step if (ea or eb) else 0  # type: ignore[union-attr]
            return Divergence(
                i, step, None if ea is None else _line(ea), None if eb is None else _line(eb)
            )
    return None


def _outcome(record: RunRecord, verdict: Verdict) -> tuple[Any, ...]:
    """What the two runs are compared on for `same`: every request's result, completion step,
    retries and late pages, the BUGs, the bound hits, and the violations.

    A violation is compared with its explanation: the explanation is where some of what differs
    shows and no other field compared here holds it (a late page still dirty in one run and
    under writeback in the other; the counts of a progress report; how a version's code died).
    Compared on check, request and step alone, post and recheck-locked would be `same` instead
    of `both` on three corpus findings (B completes at step 0 in both, page 2 still dirty in
    post, under writeback in recheck-locked); compared on the evidence and BUG sequence numbers
    as well, runs that differ in nothing shown (generation numbers) would stop being `same`."""
    return (
        tuple(
            (r.name, r.result, r.completed_at, r.retries, r.not_on_disk_at_completion)
            for r in record.requests
        ),
        tuple(b.what for b in record.kernel_bugs),
        record.settle_bound_hit,
        tuple((v.check, v.request, v.step, v.explanation) for v in verdict.violations),
    )


def classify(left: RunRecord, lv: Verdict, right: RunRecord, rv: Verdict) -> str:
    """same: identical outcome; benign: outcomes differ, both pass; fixed: right violates a
    strict subset of left's checks; regressed: the reverse; both: anything else with failures."""
    if _outcome(left, lv) == _outcome(right, rv):
        return "same"
    a, b = set(lv.checks), set(rv.checks)
    if not a and not b:
        return "benign"
    if b < a:
        return "fixed"
    if a < b:
        return "regressed"
    return "both"


def signature_key(runs: Sequence[tuple[RunRecord, Verdict]]) -> str:
    """Canonical text of a differential: the sorted set of the runs' findings (`FindingKey`s,
    `version/check/kind`, comma-separated; `none` when there is none), then the model choices
    the case ran under. Sizes and steps are left out on purpose, so that the key survives
    minimisation; the choices stay in, so a finding that depends on one is kept apart from one
    that does not."""
    keys = sorted({key for _record, verdict in runs for key in verdict.finding_keys})
    cfg = runs[0][0].case.config
    body = ",".join(str(key) for key in keys) or "none"
    if cfg.era != "2004-01":
        choices = "|".join(f"{name}={value}" for name, value in cfg.switches().items())
        return f"{body}|{choices}"
    filtered = "on" if cfg.filtered_wakeups else "off"
    return f"{body}|lookup_next={cfg.lookup_next}|filtered_wakeups={filtered}"


def differential(left: RunRecord, lv: Verdict, right: RunRecord, rv: Verdict) -> Differential:
    key = signature_key([(left, lv), (right, rv)])
    return Differential(
        pair=Pair(left.version, right.version),
        cls=classify(left, lv, right, rv),
        first_divergence=first_divergence(left, right),
        signature=signature_of(key),
        signature_key=key,
    )
