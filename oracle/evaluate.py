"""The one evaluation path: run a case in a list of versions, judge each run, compare every pair,
name the findings, and hold the case's `expect` block against what happened.

`replay`, the fuzz target, the explorer, triage, minimisation and the report all call
`evaluate`; nothing else runs a version and judges it. Differentials and expectations are
computed when first asked for, so the fuzz target, which needs only the findings, does not pay
for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

from pagefuzz.oracle.checks import CHECKS
from pagefuzz.oracle.findings import FindingKey as FindingKey  # re-exported: where it was
from pagefuzz.oracle.pair import Pair
from pagefuzz.oracle.verdict import Differential, Verdict, differential, judge
from pagefuzz.sim import Case, RunRecord, Version, run_case


@dataclass(frozen=True)
class Failure:
    """One finding shown by one run: its key and, for lookups, its signature."""

    key: FindingKey
    signature: str

    @property
    def version(self) -> str:
        return self.key.version

    @property
    def check(self) -> str:
        return self.key.check


@dataclass(frozen=True)
class Mismatch:
    """An entry of the case's `expect` block that did not hold."""

    what: str  # a version ("pre") or a pair ("pre/post")
    expected: object
    actual: object

    def line(self) -> str:
        return f"expected {self.what}: {_show(self.expected)}, got {_show(self.actual)}"


def _show(value: object) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]" if value else "pass"
    return str(value)


def _pair(text: str) -> Pair | None:
    """An `expect` block's pair; None for one that names no two versions (`parse_case` refuses
    those: only a case built by hand can hold one, and it then matches no differential)."""
    try:
        return Pair.parse(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Judged:
    """A run judged where it ran (a version hosted in a process of its own, run without a
    timeline): its verdict and findings, and a `record` that holds only the version's name, the
    timeline's messages and any failure: enough for a campaign's execution, not for a
    differential or for output."""

    record: RunRecord
    verdict: Verdict
    keys: tuple[FindingKey, ...]

    @classmethod
    def of(cls, record: RunRecord) -> Judged:
        """A record judged (the runner of a version hosted elsewhere judges its runs so)."""
        verdict = judge(record)
        return cls(record, verdict, verdict.finding_keys)


@runtime_checkable
class RunsElsewhere(Protocol):
    """A version whose runs happen in another process (pagefuzz/fuzz/isolation.py's
    `HostedVersion`): `run` returns the whole record with `events`, else a `Judged`."""

    name: str

    def run(self, case: Case, events: bool) -> RunRecord | Judged: ...

    def submit(self, case: Case, events: bool) -> Callable[[], RunRecord | Judged]:
        """Start the run and return what waits for its result: `evaluate` starts these first
        and runs the in-process versions meanwhile."""
        ...


class Evaluation:
    """A case run in each version, in order: records and verdicts by version name, findings,
    and (on demand) the differential of every pair and the `expect` mismatches. `judged` holds
    the finding keys of runs judged elsewhere (their records are only stubs)."""

    def __init__(
        self,
        case: Case,
        records: dict[str, RunRecord],
        verdicts: dict[str, Verdict],
        judged: dict[str, tuple[FindingKey, ...]] | None = None,
    ):
        self.case = case
        self.records = records
        self.verdicts = verdicts
        self.judged = judged or {}

    @cached_property
    def failures(self) -> tuple[Failure, ...]:
        judged = self.judged
        return tuple(
            Failure(key, key.signature)
            for name in self.records
            for key in (judged[name] if name in judged else self.verdicts[name].finding_keys)
        )

    def _whole(self) -> None:
        if self.judged:
            raise ValueError(
                "a run judged elsewhere has no record to compare or show: evaluate with events"
            )

    @property
    def keys(self) -> tuple[FindingKey, ...]:
        return tuple(f.key for f in self.failures)

    @cached_property
    def differentials(self) -> tuple[Differential, ...]:
        """Every pair of versions, in the order they were given (a before b)."""
        self._whole()
        names = list(self.records)
        return tuple(
            differential(self.records[a], self.verdicts[a], self.records[b], self.verdicts[b])
            for i, a in enumerate(names)
            for b in names[i + 1 :]
        )

    @cached_property
    def mismatches(self) -> tuple[Mismatch, ...]:
        """The case's `expect` entries for the versions and pairs that ran, that did not hold.
        Entries for versions not run are not checked (a case may carry entries for more)."""
        expect = self.case.expect or {}
        out: list[Mismatch] = []
        for version, wanted in expect.get("checks", {}).items():
            if version in self.verdicts:
                got = list(self.verdicts[version].checks)
                if sorted(wanted) != sorted(got):
                    out.append(Mismatch(version, sorted(wanted, key=CHECKS.index), got))
        by_pair: dict[Pair | None, Differential] = {d.pair: d for d in self.differentials}
        for text, cls in expect.get("differential", {}).items():
            d = by_pair.get(_pair(text))
            if d is not None and d.cls != cls:
                out.append(Mismatch(text, cls, d.cls))
        return tuple(out)

    @property
    def expectation_ok(self) -> bool:
        return not self.mismatches

    def expect_block(self) -> dict[str, Any]:
        """The `expect` block that holds for this case as the versions behave now: the one
        writer of `expect` (triage, campaigns, minimize and explore all write this)."""
        return {
            "checks": {v: list(verdict.checks) for v, verdict in self.verdicts.items()},
            "differential": {str(d.pair): d.cls for d in self.differentials},
        }

    def to_json(self, events: bool = True) -> dict[str, Any]:
        """The documented `replay --json` object, less its `source` (docs/replay.md);
        `events=False` leaves out each run's event list."""
        self._whole()
        versions: dict[str, Any] = {}
        for name, record in self.records.items():
            entry = record.to_json()
            if not events:
                del entry["events"]
            entry.update(self.verdicts[name].to_json())
            versions[name] = entry
        out: dict[str, Any] = {
            "case": self.case.name,
            "config": self.case.config.to_json(),
            "versions": versions,
            "differential": [d.to_json() for d in self.differentials],
        }
        if self.case.expect is not None:
            out["expectation"] = {
                "ok": self.expectation_ok,
                "mismatches": [m.line() for m in self.mismatches],
            }
        return out


def evaluate(
    case: Case, versions: Sequence[Version | RunsElsewhere], events: bool = True
) -> Evaluation:
    """Run `case` in each version (a `Version`, or a version that runs elsewhere), judge every
    run. Versions come built: names are the shell's to resolve (fuzz/versions/resolve.py), so
    that the oracle knows no registry. `events=False`: the runs keep no timeline (a campaign's
    executions: faster, same verdicts; differentials then have no first divergence to show, and
    a version that runs elsewhere is judged there)."""
    resolved = list(versions)
    # The runs elsewhere start first, so that they run while this process runs the others.
    started = {
        i: version.submit(case, events)
        for i, version in enumerate(resolved)
        if not isinstance(version, Version)
    }
    records: dict[str, RunRecord] = {}
    verdicts: dict[str, Verdict] = {}
    judged: dict[str, tuple[FindingKey, ...]] = {}
    outs: list[RunRecord | Judged | None] = [
        run_case(case, version, events) if isinstance(version, Version) else None
        for version in resolved
    ]
    for i, wait in started.items():
        outs[i] = wait()
    for out in outs:
        if isinstance(out, Judged):
            name = out.record.version
            records[name], verdicts[name], judged[name] = out.record, out.verdict, out.keys
        else:
            assert isinstance(out, RunRecord)
            records[out.version] = out
            verdicts[out.version] = judge(out)
    return Evaluation(case, records, verdicts, judged)


def evaluate_records(case: Case, records: Sequence[RunRecord]) -> Evaluation:
    """Judge runs of `case` already made, one per version, in order: `evaluate` without the
    running, for the explorer, which runs each world itself to read its state before the drain."""
    return Evaluation(case, {r.version: r for r in records}, {r.version: judge(r) for r in records})
