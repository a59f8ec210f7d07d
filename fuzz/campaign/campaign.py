"""A fuzzing campaign, coordinated: checks its arguments, prepares its directory, runs its
workers until time is up, minimises every new finding as it arrives, and keeps the summary.

The parts are elsewhere, one job each: the directory, its lock and files (fuzz/campaign/store.py),
the worker processes (fuzz/campaign/supervisor.py), the summary campaign.json
(fuzz/campaign/summary.py), the known findings and their first hits (fuzz/campaign/known.py), PCT's
bound (fuzz/campaign/pct.py), libFuzzer's log (fuzz/campaign/libfuzzer.py). Workers write findings
themselves, atomically; the campaign turns each raw finding into a minimised case with its `expect`
block (findings/<sig>.json) and a summary line.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from pagefuzz.fuzz.campaign.engines import DEFAULT_ENGINE, ENGINES
from pagefuzz.fuzz.campaign.known import KnownFinding, KnownTally, case_name, known_findings
from pagefuzz.fuzz.campaign.minimize import minimize
from pagefuzz.fuzz.campaign.pct import pct_bounds
from pagefuzz.fuzz.campaign.store import CampaignError, CampaignStore, new_campaign_dir, shown_path
from pagefuzz.fuzz.campaign.summary import CampaignSummary, FindingLine, Machine, Sample, WorkerRow
from pagefuzz.fuzz.campaign.supervisor import Supervisor
from pagefuzz.fuzz.campaign.target import Evaluator
from pagefuzz.fuzz.files import read_json
from pagefuzz.fuzz.versions.isolation import TIMEOUT_ENV, set_timeout, timeout_s
from pagefuzz.fuzz.versions.resolve import (
    era_for,
    records_of,
    resolve_recorded,
    resolve_versions,
)
from pagefuzz.fuzz.versions.spec import VersionLoadError, parse_records
from pagefuzz.impls.registry import ERA_DEFAULT_VERSIONS
from pagefuzz.oracle.evaluate import FindingKey
from pagefuzz.sim import parse_case

__all__ = ["Campaign", "CampaignError", "new_campaign_dir", "shown_path"]

#: Seconds between looks at the workers, and between summary rewrites.
POLL_S: Final = 0.5
SUMMARY_S: Final = 5.0
#: Seconds past its end at which a campaign stops waiting for workers that overran.
OVERRUN_S: Final = 30.0


@dataclass(frozen=True)
class _Live:
    """The workers' numbers at one moment: this round's seconds, every round's executions,
    the crashes (the workers' count or the crash files, whichever is more), one row per worker."""

    elapsed: float
    executions: int
    crashes: int
    rows: list[WorkerRow]


@dataclass(frozen=True)
class CampaignRequest:
    """What the user asked of `pagefuzz fuzz`, as given: None where a flag was not given (the
    defaults, or a resumed campaign's own). `corpus_given` says whether --corpus or --fresh
    (corpus None) was typed rather than defaulted; `out` None is a new directory
    campaigns/<date>-<time>."""

    out: Path | None = None
    engine: str | None = None
    versions: list[str] | None = None
    jobs: int = 1
    seconds: float = 60.0
    seed: int = 1
    corpus: Path | None = None
    corpus_given: bool = False
    resume: bool = False
    depth: int = 3
    stop_on_finding: bool = False
    hypothesis_db: Path | None = None
    #: The kernel era (`--era`): its default versions when --versions is not given.
    era: str | None = None


@dataclass
class Campaign:
    out: Path
    engine: str
    versions: list[str]
    jobs: int
    seconds: float
    seed: int
    corpus: Path | None
    depth: int = 3  # PCT's bug depth d
    hypothesis_db: Path | None = None  # default OUT/hypothesis-db
    stop_on_finding: bool = False  # end the campaign as soon as a new finding is on disk
    resumed: CampaignSummary | None = None  # the summary of the campaign resumed
    summary: CampaignSummary | None = None
    tally: KnownTally = field(default_factory=KnownTally)
    minimized: set[str] = field(default_factory=set)
    #: Findings of versions from outside the package that a corpus case also shows.
    also: dict[str, KnownFinding] = field(default_factory=dict)
    #: Lines to show before the campaign starts (a version's file changed since, on resume).
    warnings: list[str] = field(default_factory=list)

    # ---------------------------------------------------------------- set-up

    @classmethod
    def create(cls, request: CampaignRequest) -> Campaign:
        """Check the request and the directory; the directory itself is created only once
        everything else is known to be good."""
        out, engine, versions, corpus = (
            request.out,
            request.engine,
            request.versions,
            request.corpus,
        )
        jobs, seconds, resume = request.jobs, request.seconds, request.resume
        if engine is not None and engine not in ENGINES:
            raise CampaignError(
                f"--engine: unknown engine {engine!r}; engines: {', '.join(ENGINES)}"
            )
        if jobs < 1:
            raise CampaignError("--jobs: must be at least 1")
        if seconds <= 0:
            raise CampaignError("--time: must be positive")
        if corpus is not None and not corpus.is_dir():
            # Fuzzing on as if the corpus were empty would report every known finding as new.
            why = "not a directory" if corpus.exists() else "no such directory"
            raise CampaignError(
                f"--corpus: {corpus}: {why} (use --fresh to start from an empty corpus)"
            )
        if out is None:
            if resume:
                raise CampaignError("--resume needs --out: the campaign directory to continue")
            root = Path("campaigns")
            try:
                out = new_campaign_dir(root, time.strftime("%Y%m%d-%H%M%S", time.gmtime()))
            except OSError as exc:
                raise CampaignError(
                    f"{root.resolve()}: cannot create the campaign directory: "
                    f"{exc.strerror or exc} (choose one with --out)"
                ) from None
        # Workers run in the campaign directory: every path they get must be absolute.
        out = out.resolve()
        corpus = corpus.resolve() if corpus is not None else None
        if request.era is not None and request.era not in ERA_DEFAULT_VERSIONS:
            raise CampaignError(
                f"--era: unknown era {request.era!r}; eras: {', '.join(ERA_DEFAULT_VERSIONS)}"
            )
        try:
            era = era_for(versions, request.era)
        except ValueError as exc:
            raise CampaignError(str(exc)) from None
        campaign = cls(
            out,
            engine or DEFAULT_ENGINE,
            list(versions or ERA_DEFAULT_VERSIONS[era]),
            jobs,
            seconds,
            request.seed,
            corpus,
            depth=request.depth,
            stop_on_finding=request.stop_on_finding,
            hypothesis_db=None
            if request.hypothesis_db is None
            else request.hypothesis_db.resolve(),
        )
        summary_path = CampaignStore(out).summary_path
        if resume:
            campaign._resume(summary_path, engine, versions, corpus, request.corpus_given)
        elif summary_path.exists():
            raise CampaignError(
                f"{out}: a campaign is already here; --resume it or pick another --out"
            )
        return campaign

    def _resume(
        self,
        summary_path: Path,
        engine: str | None,
        versions: list[str] | None,
        corpus: Path | None,
        corpus_given: bool,
    ) -> None:
        """Take the engine, versions, corpus (or --fresh) and next seed of the campaign in OUT;
        refuse an explicit flag that it would silently override."""
        if not summary_path.exists():
            raise CampaignError(f"{summary_path}: no campaign to resume here")
        try:
            old = CampaignSummary.from_json(read_json(summary_path))
        except (ValueError, KeyError, TypeError) as exc:
            raise CampaignError(f"{summary_path}: cannot resume: bad field {exc}") from None
        self.engine, self.versions, self.seed = old.engine, list(old.versions), old.next_seed
        self.resumed = old
        if old.timeout is not None and TIMEOUT_ENV not in os.environ:
            set_timeout(old.timeout)  # the campaign's budget, unless --timeout says otherwise
        # The corpus it ran against, --fresh (none) included: what is known does not change.
        self.corpus = Path(old.corpus) if old.corpus else None
        if self.engine not in ENGINES:
            raise CampaignError(f"{summary_path}: engine: unknown engine {self.engine!r}")
        try:
            if old.version_records:
                names, warnings = resolve_recorded(parse_records(old.version_records))
                self.warnings.extend(warnings)
            else:
                names = resolve_versions(self.versions)
        except VersionLoadError as exc:
            raise CampaignError(f"{summary_path}: versions: {exc}") from None
        self.versions = names
        if engine is not None and engine != self.engine:
            raise CampaignError(
                f"--engine: the campaign in {self.out} ran engine {self.engine}; leave "
                "--engine out to resume it"
            )
        if corpus_given and corpus != self.corpus:
            was = f"--corpus {self.corpus}" if self.corpus else "--fresh"
            raise CampaignError(
                f"--corpus: the campaign in {self.out} ran with {was}; leave --corpus and "
                "--fresh out to resume it"
            )
        if versions is not None and list(versions) != self.versions:
            raise CampaignError(
                f"--versions: the campaign in {self.out} ran versions "
                f"{','.join(self.versions)}; leave --versions out to resume it"
            )

    def prepare(self, store: CampaignStore) -> CampaignSummary:
        """Take the lock, find what is known (the corpus's findings, this campaign's own),
        write known.json, and start this round's summary."""
        self.out.mkdir(parents=True, exist_ok=True)
        store.take_lock()
        own = store.findings.signatures_on_disk()
        corpus_known, self.also = known_findings(self.corpus, self.versions)
        known = {sig: finding for sig, finding in corpus_known.items() if sig not in own}
        self.tally.known = known
        store.write_known({s: (str(k.key), shown_path(k.file)) for s, k in known.items()}, own)
        self.minimized = store.findings.minimised_signatures()
        summary = self.resumed or CampaignSummary(
            engine=self.engine,
            versions=self.versions,
            jobs=self.jobs,
            seed=self.seed,
            corpus=str(self.corpus) if self.corpus else None,
            machine=Machine.here(),
            version_records=[r.to_json() for r in records_of(self.versions)],
            timeout=timeout_s(),
        )
        if self.resumed is not None:
            self.tally.elapsed_before = self.resumed.seconds
            self.tally.executions_before = self.resumed.executions
        self._reconcile_findings(store, summary)
        self.tally.restore(summary.known_refound)  # an earlier round's first hits
        summary.rounds += 1
        summary.known_at_start = len(set(known) | own)
        summary.timeout = timeout_s()
        return summary

    @staticmethod
    def _reconcile_findings(store: CampaignStore, summary: CampaignSummary) -> None:
        """A campaign killed between minimising a finding and rewriting its summary left the
        minimised file without its summary line: put it back (the files are the truth)."""
        listed = {f.signature for f in summary.findings}
        for signature, record in store.findings.minimised_findings():
            if signature in listed:
                continue
            try:
                summary.findings.append(FindingLine.from_json(record))
            except (KeyError, TypeError, ValueError):
                continue  # not a whole finding file: its raw twin is minimised again

    # ---------------------------------------------------------------- findings

    def collect_findings(self, store: CampaignStore, evaluator: Evaluator) -> list[str]:
        """Minimise every raw finding not yet minimised; returns the new signatures."""
        assert self.summary is not None
        new = []
        for signature, raw in store.findings.raw_findings(skip=self.minimized):
            try:
                key = FindingKey.parse(str(raw["key"]))
                case = parse_case(raw["case"])
            except (ValueError, KeyError, TypeError):
                continue  # being written by a worker that was killed: the next look sees it
            small, removed = minimize(case, evaluator, frozenset({signature}))
            evaluation = evaluator.evaluate(small)
            small = replace(
                small,
                name=case_name(key, signature),
                expect=evaluation.expect_block(),
                versions=records_of(self.versions),
            )
            elapsed_before = self.resumed.seconds if self.resumed is not None else 0.0
            record = {
                "signature": signature,
                "key": str(key),
                "version": key.version,
                "check": key.check,
                "engine": raw.get("engine", self.engine),
                "worker": raw.get("worker"),
                "first_seen_s": round(float(raw.get("seconds", 0.0)) + elapsed_before, 3),
                "first_seen_executions": raw.get("executions"),
                "steps_found": len(raw["case"]["steps"]),
                "steps_minimized": len(small.steps),
                "shrunk_by": raw.get("shrunk_by"),
                "removed": removed,
                "case": small.to_json(),
            }
            also = self.also.get(signature)
            if also is not None:
                record["also_fails"] = shown_path(also.file)
            store.findings.write_minimised(signature, record)
            self.minimized.add(signature)
            self.summary.findings.append(FindingLine.from_json(record))
            new.append(signature)
        return new

    # ---------------------------------------------------------------- the run

    def _live(self, supervisor: Supervisor, store: CampaignStore) -> _Live:
        counts = supervisor.counts()
        # The files are the truth for crashes (a killed worker's count is lost).
        crashes = max(counts.crashes, store.findings.crash_count())
        elapsed = time.monotonic() - supervisor.started
        executions = self.tally.executions_before + counts.executions
        return _Live(elapsed, executions, crashes, counts.rows)

    def snapshot(self, supervisor: Supervisor, store: CampaignStore) -> dict[str, Any]:
        """Live numbers for the view (the `on_tick` argument): this round's elapsed seconds,
        executions, crashes, the workers' rows, the findings and the known lists."""
        assert self.summary is not None
        live = self._live(supervisor, store)
        return {
            "elapsed": live.elapsed,
            "executions": live.executions,
            "crashes": live.crashes,
            "workers": [row.to_json() for row in live.rows],
            "findings": [f.to_json() for f in self.summary.findings],
            "new": len(self.summary.findings),
            "known_total": len(self.tally.known),
            "known_refound": [r.to_json() for r in self.tally.refound()],
            "known_not_refound": [m.to_json() for m in self.tally.not_refound()],
        }

    def write_summary(self, status: str, supervisor: Supervisor, store: CampaignStore) -> None:
        assert self.summary is not None
        summary = self.summary
        live = self._live(supervisor, store)
        elapsed = self.tally.elapsed_before + live.elapsed
        summary.add_sample(
            Sample(
                seconds=round(elapsed, 2),
                executions=live.executions,
                findings=len(summary.findings),
                coverage=sum(int(row.coverage) for row in live.rows),
                exec_per_s=[row.exec_per_s for row in live.rows],
            )
        )
        summary.status = status
        summary.seconds = round(elapsed, 3)
        summary.executions = live.executions
        summary.exec_per_s = round(live.executions / elapsed, 1) if elapsed > 0 else 0.0
        summary.crashes = live.crashes
        summary.workers = live.rows
        summary.new = len(summary.findings)
        summary.known_total = len(self.tally.known)
        summary.known_refound = self.tally.refound()
        summary.known_not_refound = self.tally.not_refound()
        if self.engine == "pct":
            summary.pct = pct_bounds(
                supervisor.pct_stats(), (f.key for f in summary.findings), self.versions, self.depth
            )
        store.write_summary(summary.to_json())

    def run(self, on_tick: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Run to the end, or to the first new finding with `stop_on_finding` (or Ctrl-C: status
        stopped); returns campaign.json's contents."""
        store = CampaignStore(self.out)
        self.summary = summary = self.prepare(store)
        evaluator = Evaluator(self.versions)
        supervisor = Supervisor(
            store, self.engine, self.versions, self.jobs, self.depth, self.hypothesis_db, self.tally
        )
        summary.next_seed = self.seed + self.jobs

        def next_seed() -> int:
            seed = summary.next_seed
            summary.next_seed = seed + 1
            return seed

        found_before = len(summary.findings)  # a resumed campaign's are not new this round
        supervisor.start(self.seed, self.seconds)
        self.tally.started = supervisor.started
        status = "done"
        last_summary = 0.0
        try:
            self.write_summary("running", supervisor, store)
            while True:
                summary.worker_restarts += supervisor.restart_dead(next_seed)
                self.collect_findings(store, evaluator)
                on_tick(self.snapshot(supervisor, store))
                if self.stop_on_finding and len(summary.findings) > found_before:
                    break  # a new finding: its line holds the executions to it
                if supervisor.all_exited():
                    # One may have died since the check above: restart it if time remains.
                    summary.worker_restarts += supervisor.restart_dead(next_seed)
                    if supervisor.all_exited():
                        break
                if supervisor.remaining() < -OVERRUN_S:  # a worker overran its deadline badly
                    break
                if time.monotonic() - last_summary > SUMMARY_S:
                    self.write_summary("running", supervisor, store)
                    last_summary = time.monotonic()
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            status = "stopped"
        except BaseException as exc:  # the campaign's own failure: said in campaign.json
            status = "failed"
            summary.error = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
            raise
        finally:
            supervisor.stop()
            try:
                if status != "failed":
                    self.collect_findings(store, evaluator)
            finally:
                self.write_summary(status, supervisor, store)
                store.release_lock()
        return summary.to_json()
