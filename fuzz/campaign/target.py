"""The differential target: one execution (a case run in every campaign version, judged), and
what a worker process remembers between executions.

`Evaluator` holds the campaign's versions, instantiated once, and evaluates through the one
evaluation path (`oracle.evaluate.evaluate`). `WorkerState.execute` is one execution of any
engine: a *finding* is one way a version goes wrong (a `FindingKey`) whose signature is not yet
known: not shown by any corpus case and not already found in this campaign. A worker writes each
new finding atomically the moment it sees it, and its statistics (with the first hit of each
known signature the corpus shows) about once a second, so killing it loses nothing but the
executions since. Known findings never stop a campaign.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import operator
import os
import time
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

from pagefuzz.fuzz.campaign.store import CampaignStore, read_known
from pagefuzz.fuzz.files import write_json_atomic
from pagefuzz.fuzz.versions.isolation import HostedVersion
from pagefuzz.fuzz.versions.resolve import era_of_names, records_of, versions_of
from pagefuzz.oracle.evaluate import Evaluation, Failure, evaluate
from pagefuzz.sim import Case, Version

#: Seconds between statistics writes and between re-reads of what other workers found.
STATS_PERIOD_S: Final = 1.0


class Evaluator:
    """The campaign's versions, instantiated once, and `evaluate` over them."""

    def __init__(self, versions: Sequence[str], events: bool = True) -> None:
        self.names = list(versions)
        self.versions: list[Version | HostedVersion] = versions_of(versions)
        #: Whether runs keep their timelines: a campaign's executions do not (only verdicts
        #: and message pairs are read), which makes them about a third faster.
        self.events = events

    def evaluate(self, case: Case) -> Evaluation:
        return evaluate(case, self.versions, self.events)

    def only(self, names: Sequence[str], events: bool = False) -> Evaluator:
        """The same version objects, only `names` of them (a minimisation needs only the
        versions whose findings it keeps: each version's run is independent of the others')."""
        narrowed = Evaluator([], events)
        for name, version in zip(self.names, self.versions, strict=True):
            if name in names:
                narrowed.names.append(name)
                narrowed.versions.append(version)
        return narrowed


#: An event's message (its field 3): each message object has one kind.
_MESSAGE: Final = operator.itemgetter(3)


def event_pairs(evaluation: Evaluation) -> set[tuple[str, str, str]]:
    """(version, event kind, next event kind) of every run: the behavioural edges that the
    coverage figure counts and that atheris' optional state feedback reports."""
    pairs: set[tuple[str, str, str]] = set()
    for version, record in evaluation.records.items():
        # Pairs of messages first (each message object is one kind), kinds only for the few
        # distinct pairs: reading `kind` per event cost a campaign a sixth of its time.
        messages = list(record.messages or map(_MESSAGE, record.events))
        if not messages:
            continue
        pairs.add((version, "start", messages[0].kind))
        for previous, message in set(itertools.pairwise(messages)):
            pairs.add((version, previous.kind, message.kind))
    return pairs


class WorkerState:
    """One worker process's target: its evaluator, the signatures it knows, its counters."""

    def __init__(self, out: Path, worker: int, versions: list[str], engine: str, seed: int) -> None:
        self.out = out
        self.worker = worker
        self.engine = engine
        self.seed = seed
        self.evaluator = Evaluator(versions, events=False)
        #: The era of the cases this worker generates: its versions' (impls/registry.py).
        self.era = era_of_names(versions)
        #: What every case this worker records says it was found with (name, file, SHA-256).
        self.records = records_of(self.evaluator.names)
        self.campaign = CampaignStore(out)
        self.store = self.campaign.findings
        self.known: set[str] = set()
        #: Signatures the corpus shows that this worker has not hit yet, and the first hit of
        #: each one it has (executions, seconds): what the campaign reports as "known
        #: re-found". Only signatures the corpus shows: not this campaign's own findings.
        self.unhit: set[str] = set()
        self.known_hits: dict[str, dict[str, float]] = {}
        if self.campaign.known_path.exists():
            corpus, earlier = read_known(self.campaign.known_path)
            self.known.update(corpus, earlier)
            self.unhit.update(set(corpus) - earlier)
        self.known |= self.store.signatures_on_disk()
        self.unhit -= self.store.signatures_on_disk()
        self.executions = 0
        self.crashes = 0
        self.findings: list[dict[str, object]] = []
        self.features: set[tuple[str, str]] = set()
        self.started = time.monotonic()
        self.last_stats = 0.0
        self.stats_path = self.campaign.stats_path(worker)
        self.pct: dict[str, int] = {}
        self.last_pairs: set[tuple[str, str, str]] = set()  # of the last execution
        self.pending: list[tuple[Failure, Case, bytes | None, dict[str, object]]] = []
        self.write_errors = 0
        self.last_write_error = ""
        self.parent = os.getppid()

    def execute(self, case: Case, raw: bytes | None) -> Evaluation | None:
        """Evaluate one case; record new findings; never raise for a verdict."""
        try:
            evaluation = self.evaluator.evaluate(case)
            failures = evaluation.failures
        except Exception as exc:  # a harness error, not a verdict: kept apart as a crash
            self.crashes += 1
            name = f"crash-{self.worker}-{self.executions}"
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.store.record_crash(
                name, raw if raw is not None else json.dumps(case.to_json()).encode(), detail
            )
            return None
        self.executions += 1
        self.last_pairs = event_pairs(evaluation)
        self.features.update((previous, kind) for _version, previous, kind in self.last_pairs)
        for failure in failures:
            if failure.signature in self.known:
                if failure.signature in self.unhit:  # one set lookup per known failure
                    self._hit_known(failure.signature)
                continue
            self.known.add(failure.signature)
            seconds = round(time.monotonic() - self.started, 3)
            meta: dict[str, object] = {
                "engine": self.engine,
                "worker": self.worker,
                "seed": self.seed,
                "executions": self.executions,
                "seconds": seconds,
            }
            self.pending.append((failure, replace(case, versions=self.records), raw, meta))
        self.flush_pending()
        self.maybe_write_stats()
        return evaluation

    def _hit_known(self, signature: str) -> None:
        self.unhit.discard(signature)
        self.known_hits[signature] = {
            "executions": self.executions,
            "seconds": round(time.monotonic() - self.started, 3),
        }

    def flush_pending(self) -> None:
        """Write the findings not yet on disk. A failed write (a full disk, a vanished
        directory) keeps the finding in memory and fuzzing goes on; it is tried again after
        every execution, so nothing found is lost while the process lives."""
        while self.pending:
            failure, case, raw, meta = self.pending[0]
            try:
                written = self.store.record_raw(failure, case, raw, meta)
            except OSError as exc:
                self.write_errors += 1
                self.last_write_error = f"{type(exc).__name__}: {exc}"
                return
            self.pending.pop(0)
            if written:
                self.findings.append({"signature": failure.signature, **meta})

    def maybe_write_stats(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_stats < STATS_PERIOD_S:
            return
        self.last_stats = now
        if self.parent != 1 and os.getppid() != self.parent:
            # The campaign that started us is gone (killed): stop rather than run on unseen.
            # Every finding is already on disk; --resume starts fresh workers.
            self.flush_pending()
            os._exit(0)
        with contextlib.suppress(OSError):
            self.known |= self.store.signatures_on_disk()
        elapsed = max(now - self.started, 1e-9)
        with contextlib.suppress(OSError):  # statistics are best effort; findings are not
            self._write_stats(elapsed)

    def _write_stats(self, elapsed: float) -> None:
        write_json_atomic(
            self.stats_path,
            {
                "worker": self.worker,
                "engine": self.engine,
                "seed": self.seed,
                "pid": os.getpid(),
                "executions": self.executions,
                "seconds": round(elapsed, 3),
                "exec_per_s": round(self.executions / elapsed, 1),
                "crashes": self.crashes,
                "coverage": len(self.features),
                "findings": self.findings,
                "known_hits": self.known_hits,
                "pct": self.pct,
                "pending_findings": len(self.pending),
                "write_errors": self.write_errors,
                "last_write_error": self.last_write_error,
            },
        )
