"""campaign.json, typed: the summary a campaign rewrites every few seconds and at the end.

`CampaignSummary.to_json()` writes the documented fields (docs/fuzzing.md) in a fixed order;
`from_json` reads a summary back for `--resume`, keeping any field it does not know (a newer or
older pagefuzz's) to write it back unchanged. Finding keys are `FindingKey` values here and
strings in the file.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from typing import Any, Final

from pagefuzz.oracle.evaluate import FindingKey

FORMAT: Final = "pagefuzz/campaign-v1"
#: Samples of the campaign's progress kept in campaign.json (for plots), thinned beyond this.
TIMELINE_MAX: Final = 2000


@dataclass(frozen=True)
class Machine:
    platform: str
    python: str
    cpus: int | None

    @classmethod
    def here(cls) -> Machine:
        return cls(platform.platform(), platform.python_version(), os.cpu_count())

    def to_json(self) -> dict[str, Any]:
        return {"platform": self.platform, "python": self.python, "cpus": self.cpus}

    @classmethod
    def from_json(cls, raw: Any) -> Machine:
        return cls(str(raw["platform"]), str(raw["python"]), raw["cpus"])


@dataclass(frozen=True)
class FindingLine:
    """What campaign.json keeps of a new finding (the full record is findings/<sig>.json)."""

    signature: str
    key: FindingKey
    engine: str
    first_seen_s: float
    first_seen_executions: int | None
    steps_found: int
    steps_minimized: int
    #: A finding of a version from outside the package that a corpus case also shows: that
    #: file (such findings are reported, never counted as known; docs/fuzzing.md).
    also_fails: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "signature": self.signature,
            "key": str(self.key),
            "engine": self.engine,
            "first_seen_s": self.first_seen_s,
            "first_seen_executions": self.first_seen_executions,
            "steps_found": self.steps_found,
            "steps_minimized": self.steps_minimized,
        }
        if self.also_fails is not None:
            out["also_fails"] = self.also_fails
        return out

    @classmethod
    def from_json(cls, raw: Any) -> FindingLine:
        """From a summary's entry or a minimised finding's record (a superset of it)."""
        executions = raw["first_seen_executions"]
        return cls(
            signature=str(raw["signature"]),
            key=FindingKey.parse(str(raw["key"])),
            engine=str(raw["engine"]),
            first_seen_s=float(raw["first_seen_s"]),
            first_seen_executions=None if executions is None else int(executions),
            steps_found=int(raw["steps_found"]),
            steps_minimized=int(raw["steps_minimized"]),
            also_fails=None if raw.get("also_fails") is None else str(raw["also_fails"]),
        )


@dataclass(frozen=True)
class Sample:
    """One point of the timeline."""

    seconds: float
    executions: int
    findings: int
    coverage: int
    exec_per_s: list[float]

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "executions": self.executions,
            "findings": self.findings,
            "coverage": self.coverage,
            "exec_per_s": list(self.exec_per_s),
        }

    @classmethod
    def from_json(cls, raw: Any) -> Sample:
        return cls(
            float(raw["seconds"]),
            int(raw["executions"]),
            int(raw["findings"]),
            int(raw["coverage"]),
            list(raw["exec_per_s"]),
        )


@dataclass(frozen=True)
class WorkerRow:
    """One worker's live numbers (over its restarts)."""

    worker: int
    seed: int
    exec_per_s: float
    executions: int
    coverage: int
    restarts: int
    alive: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "worker": self.worker,
            "seed": self.seed,
            "exec_per_s": self.exec_per_s,
            "executions": self.executions,
            "coverage": self.coverage,
            "restarts": self.restarts,
            "alive": self.alive,
        }

    @classmethod
    def from_json(cls, raw: Any) -> WorkerRow:
        return cls(
            int(raw["worker"]),
            int(raw["seed"]),
            raw["exec_per_s"],
            int(raw["executions"]),
            int(raw["coverage"]),
            int(raw["restarts"]),
            bool(raw["alive"]),
        )


@dataclass(frozen=True)
class Refound:
    """A known finding a worker hit, with its first hit and the corpus file that shows it."""

    key: FindingKey
    signature: str
    first_seen_executions: int
    first_seen_s: float
    corpus_file: str

    def to_json(self) -> dict[str, Any]:
        return {
            "key": str(self.key),
            "signature": self.signature,
            "first_seen_executions": self.first_seen_executions,
            "first_seen_s": self.first_seen_s,
            "corpus_file": self.corpus_file,
        }

    @classmethod
    def from_json(cls, raw: Any) -> Refound:
        return cls(
            FindingKey.parse(str(raw["key"])),
            str(raw["signature"]),
            int(raw["first_seen_executions"]),
            float(raw["first_seen_s"]),
            str(raw["corpus_file"]),
        )


@dataclass(frozen=True)
class NotRefound:
    key: FindingKey
    signature: str
    corpus_file: str

    def to_json(self) -> dict[str, Any]:
        return {"key": str(self.key), "signature": self.signature, "corpus_file": self.corpus_file}

    @classmethod
    def from_json(cls, raw: Any) -> NotRefound:
        return cls(
            FindingKey.parse(str(raw["key"])), str(raw["signature"]), str(raw["corpus_file"])
        )


@dataclass(frozen=True)
class PctBounds:
    """PCT's guarantee per version and check (fuzz/campaign/pct.py `pct_bounds`)."""

    depth: int
    runs: int
    actors_max: int
    steps_max: int
    bound_if_not_found: float
    by_version_and_check: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "runs": self.runs,
            "actors_max": self.actors_max,
            "steps_max": self.steps_max,
            "bound_if_not_found": self.bound_if_not_found,
            "by_version_and_check": dict(self.by_version_and_check),
        }

    @classmethod
    def from_json(cls, raw: Any) -> PctBounds:
        return cls(
            int(raw["depth"]),
            int(raw["runs"]),
            int(raw["actors_max"]),
            int(raw["steps_max"]),
            float(raw["bound_if_not_found"]),
            {str(k): str(v) for k, v in raw["by_version_and_check"].items()},
        )


def _lenient(items: Any, read: Any) -> list[Any]:
    """The entries of a list field that read; a malformed one is dropped, not fatal."""
    out = []
    for item in items if isinstance(items, list) else []:
        try:
            out.append(read(item))
        except (KeyError, TypeError, ValueError):
            continue
    return out


@dataclass
class CampaignSummary:
    """Every field of campaign.json. `machine`, `jobs` and `seed` are None only for a summary
    of an older pagefuzz that did not record them (then they are not written back)."""

    engine: str
    versions: list[str]
    jobs: int | None = None
    seed: int | None = None
    corpus: str | None = None
    machine: Machine | None = None
    format: str = FORMAT
    findings: list[FindingLine] = field(default_factory=list)
    crashes: int = 0
    rounds: int = 0
    known_at_start: int = 0
    next_seed: int = 0
    timeline: list[Sample] = field(default_factory=list)
    status: str = ""
    seconds: float = 0.0
    executions: int = 0
    exec_per_s: float = 0.0
    workers: list[WorkerRow] = field(default_factory=list)
    new: int = 0
    known_total: int = 0
    known_refound: list[Refound] = field(default_factory=list)
    known_not_refound: list[NotRefound] = field(default_factory=list)
    pct: PctBounds | None = None  # the pct engine's only
    worker_restarts: int = 0  # written once there was one
    #: The versions as given, with each file's SHA-256 (docs/case-format.md, "versions"): what
    #: --resume loads again, and what the campaign's findings record.
    version_records: list[dict[str, Any]] = field(default_factory=list)
    #: Why the campaign ended, when it ended early (status "failed").
    error: str | None = None
    #: The wall-clock budget of one run of a version from outside the package (--timeout):
    #: what --resume runs with unless told otherwise.
    timeout: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # fields this pagefuzz does not know

    def add_sample(self, sample: Sample) -> None:
        self.timeline.append(sample)
        if len(self.timeline) > TIMELINE_MAX:  # a week-long campaign: keep every other sample
            del self.timeline[1:-1:2]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": self.format}
        if self.machine is not None:
            out["machine"] = self.machine.to_json()
        out["engine"] = self.engine
        out["versions"] = list(self.versions)
        if self.jobs is not None:
            out["jobs"] = self.jobs
        if self.seed is not None:
            out["seed"] = self.seed
        out.update(
            {
                "corpus": self.corpus,
                "findings": [f.to_json() for f in self.findings],
                "crashes": self.crashes,
                "rounds": self.rounds,
                "known_at_start": self.known_at_start,
                "next_seed": self.next_seed,
                "timeline": [s.to_json() for s in self.timeline],
                "status": self.status,
                "seconds": self.seconds,
                "executions": self.executions,
                "exec_per_s": self.exec_per_s,
                "workers": [w.to_json() for w in self.workers],
                "new": self.new,
                "known_total": self.known_total,
                "known_refound": [r.to_json() for r in self.known_refound],
                "known_not_refound": [m.to_json() for m in self.known_not_refound],
            }
        )
        if self.pct is not None:
            out["pct"] = self.pct.to_json()
        if self.worker_restarts:
            out["worker_restarts"] = self.worker_restarts
        if self.version_records:
            out["version_records"] = [dict(r) for r in self.version_records]
        if self.error is not None:
            out["error"] = self.error
        if self.timeout is not None:
            out["timeout"] = self.timeout
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out

    @classmethod
    def from_json(cls, raw: Any) -> CampaignSummary:
        """A summary read back (KeyError, TypeError or ValueError naming a bad field). The
        fields a resumed campaign needs must be there; the rest default as for a new one."""
        if not isinstance(raw, dict):
            raise TypeError("not a JSON object")
        pct = raw.get("pct")
        known = set(cls.__dataclass_fields__) - {"extra"}
        return cls(
            engine=str(raw["engine"]),
            versions=[str(v) for v in raw["versions"]],
            jobs=None if raw.get("jobs") is None else int(raw["jobs"]),
            seed=None if raw.get("seed") is None else int(raw["seed"]),
            corpus=None if raw.get("corpus") is None else str(raw["corpus"]),
            machine=Machine.from_json(raw["machine"]) if "machine" in raw else None,
            format=str(raw.get("format", FORMAT)),
            findings=[FindingLine.from_json(f) for f in raw.get("findings", [])],
            crashes=int(raw.get("crashes", 0)),
            rounds=int(raw.get("rounds", 0)),
            known_at_start=int(raw.get("known_at_start", 0)),
            next_seed=int(raw["next_seed"]),
            timeline=_lenient(raw.get("timeline"), Sample.from_json),
            status=str(raw.get("status", "")),
            seconds=float(raw["seconds"]),
            executions=int(raw["executions"]),
            exec_per_s=float(raw.get("exec_per_s", 0.0)),
            workers=_lenient(raw.get("workers"), WorkerRow.from_json),
            new=int(raw.get("new", 0)),
            known_total=int(raw.get("known_total", 0)),
            known_refound=_lenient(raw.get("known_refound"), Refound.from_json),
            known_not_refound=_lenient(raw.get("known_not_refound"), NotRefound.from_json),
            pct=PctBounds.from_json(pct) if isinstance(pct, dict) and "depth" in pct else None,
            worker_restarts=int(raw.get("worker_restarts", 0)),
            version_records=[
                dict(r) for r in raw.get("version_records", []) if isinstance(r, dict)
            ],
            error=None if raw.get("error") is None else str(raw["error"]),
            timeout=None if raw.get("timeout") is None else float(raw["timeout"]),
            extra={k: v for k, v in raw.items() if k not in known},
        )
