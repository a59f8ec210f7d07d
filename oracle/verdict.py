"""Verdicts for one run, and the differential verdict between two versions on one case."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from pagefuzz.oracle.checks import CHECK_FUNCTIONS, CHECKS, Violation
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

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": "pass" if self.passed else "fail",
            "violations": [v.to_json() for v in self.violations],
        }


def judge(record: RunRecord) -> Verdict:
    """Run every check over one record."""
    violations: list[Violation] = []
    for check in CHECKS:
        violations.extend(CHECK_FUNCTIONS[check](record))
    return Verdict(record.version, tuple(violations))


@dataclass(frozen=True)
class Divergence:
    index: int
    step: int
    left: str | None
    right: str | None

    def to_json(self, pair: tuple[str, str]) -> dict[str, Any]:
        return {"index": self.index, "step": self.step, pair[0]: self.left, pair[1]: self.right}


@dataclass(frozen=True)
class Differential:
    pair: tuple[str, str]
    cls: str
    first_divergence: Divergence | None
    signature: str
    signature_key: str

    def to_json(self) -> dict[str, Any]:
        return {
            "pair": list(self.pair),
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
    retries and late pages, the BUGs, the bound hits, and the violations."""
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
    """Canonical text of a finding: the sorted set of (version, check, request kind) over the
    runs' violations, then the model choices the case ran under. Sizes and steps are left out on
    purpose, so that the key survives minimisation; the choices stay in, so a finding that
    depends on one is kept apart from one that does not."""
    entries: set[tuple[str, str, str]] = set()
    for record, verdict in runs:
        kinds = {r.name: r.kind for r in record.requests}
        for v in verdict.violations:
            entries.add((verdict.version, v.check, kinds.get(v.request or "", "-")))
    cfg = runs[0][0].case.config
    body = ",".join(f"{v}/{c}/{k}" for v, c, k in sorted(entries)) or "none"
    filtered = "on" if cfg.filtered_wakeups else "off"
    return f"{body}|lookup_next={cfg.lookup_next}|filtered_wakeups={filtered}"


def signature_of(key: str) -> str:
    """A short, file-name-safe digest of a signature key (12 hex digits of SHA-256)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def differential(left: RunRecord, lv: Verdict, right: RunRecord, rv: Verdict) -> Differential:
    key = signature_key([(left, lv), (right, rv)])
    return Differential(
        pair=(left.version, right.version),
        cls=classify(left, lv, right, rv),
        first_divergence=first_divergence(left, right),
        signature=signature_of(key),
        signature_key=key,
    )
