"""The one evaluation path: run a case in a list of versions, judge each run, compare every pair,
name the findings, and hold the case's `expect` block against what happened.

`replay`, the fuzz target, the explorer, triage, minimisation and the report all call
`evaluate`; nothing else runs a version and judges it. Differentials and expectations are
computed when first asked for, so the fuzz target, which needs only the findings, does not pay
for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pagefuzz.impls.registry import get_version
from pagefuzz.oracle.checks import CHECKS
from pagefuzz.oracle.verdict import Differential, Verdict, differential, judge, signature_of
from pagefuzz.sim import Case, RunRecord, Version, run_case


@dataclass(frozen=True, order=True)
class FindingKey:
    """One way a version goes wrong: the version, the violated check and the kind of request it
    concerns (`-` for none). Its one string form is `version/check/kind`; its signature is the
    first 12 hex digits of that string's SHA-256 (the name of finding files)."""

    version: str
    check: str
    kind: str

    def __str__(self) -> str:
        return f"{self.version}/{self.check}/{self.kind}"

    @property
    def signature(self) -> str:
        return signature_of(str(self))

    @classmethod
    def parse(cls, text: str) -> FindingKey:
        """The key a user typed or a file holds; ValueError naming the part that is wrong.
        Split from the right: a version from a file is named by its path (`py:dir/fix.py`),
        which may hold "/"; checks and request kinds never do."""
        parts = text.rsplit("/", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{text!r} is not VERSION/CHECK/KIND (e.g. post/completion/aio_write)")
        if parts[1] not in CHECKS:
            raise ValueError(
                f"{text!r}: unknown check {parts[1]!r}; checks are {', '.join(CHECKS)}"
            )
        return cls(parts[0], parts[1], parts[2])


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


def finding_keys_of(record: RunRecord, verdict: Verdict) -> tuple[FindingKey, ...]:
    """The atomic findings of one run, sorted: one per distinct (check, request kind) the
    version violated. Campaigns deduplicate on these, not on the whole set: independent bugs in
    one case would otherwise combine into a new set at every execution."""
    kinds = {r.name: r.kind for r in record.requests}
    for r in record.requests:  # a violation may name the task rather than its nth request
        kinds.setdefault(r.id.actor, r.kind)
    keys = {
        FindingKey(verdict.version, v.check, kinds.get(v.request or "", "-"))
        for v in verdict.violations
    }
    return tuple(sorted(keys))


class Evaluation:
    """A case run in each version, in order: records and verdicts by version name, findings,
    and (on demand) the differential of every pair and the `expect` mismatches."""

    def __init__(self, case: Case, records: dict[str, RunRecord], verdicts: dict[str, Verdict]):
        self.case = case
        self.records = records
        self.verdicts = verdicts

    @cached_property
    def failures(self) -> tuple[Failure, ...]:
        return tuple(
            Failure(key, key.signature)
            for name in self.records
            for key in finding_keys_of(self.records[name], self.verdicts[name])
        )

    @property
    def keys(self) -> tuple[FindingKey, ...]:
        return tuple(f.key for f in self.failures)

    @cached_property
    def differentials(self) -> tuple[Differential, ...]:
        """Every pair of versions, in the order they were given (a before b)."""
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
        by_pair = {f"{d.pair[0]}/{d.pair[1]}": d for d in self.differentials}
        for pair, cls in expect.get("differential", {}).items():
            d = by_pair.get(pair)
            if d is not None and d.cls != cls:
                out.append(Mismatch(pair, cls, d.cls))
        return tuple(out)

    @property
    def expectation_ok(self) -> bool:
        return not self.mismatches

    def expect_block(self) -> dict[str, Any]:
        """The `expect` block that holds for this case as the versions behave now: the one
        writer of `expect` (triage, campaigns, minimize and explore all write this)."""
        return {
            "checks": {v: list(verdict.checks) for v, verdict in self.verdicts.items()},
            "differential": {f"{d.pair[0]}/{d.pair[1]}": d.cls for d in self.differentials},
        }

    def to_json(self, events: bool = True) -> dict[str, Any]:
        """The documented `replay --json` object, less its `source` (docs/replay.md);
        `events=False` leaves out each run's event list."""
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


def evaluate(case: Case, versions: Sequence[Version | str], events: bool = True) -> Evaluation:
    """Run `case` in each version (a `Version` or a registered name), judge every run.
    `events=False`: the runs keep no timeline (a campaign's executions: faster, same verdicts;
    differentials then have no first divergence to show)."""
    return evaluate_records(
        case,
        [run_case(case, get_version(v) if isinstance(v, str) else v, events) for v in versions],
    )


def evaluate_records(case: Case, records: Sequence[RunRecord]) -> Evaluation:
    """Judge runs of `case` already made, one per version, in order: `evaluate` without the
    running, for the explorer, which runs each world itself to read its state before the drain."""
    return Evaluation(case, {r.version: r for r in records}, {r.version: judge(r) for r in records})
