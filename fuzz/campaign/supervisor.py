"""A campaign's worker processes: starting them, restarting the ones that die, stopping them, and
their counters.

Each worker is a process group of its own running one engine (`python -m
pagefuzz.fuzz.campaign.worker`, or the atheris target under libFuzzer, which forks by itself for
`--jobs`), with its output in workers/<n>/log.txt. A worker that dies before its time is up is
restarted with the campaign's next seed; one that fails as it starts, three times in a row, is
broken (a bad path, a missing module), not unlucky, and stops the campaign with the last line of its
log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pagefuzz.fuzz.campaign.known import KnownTally
from pagefuzz.fuzz.campaign.libfuzzer import LIBFUZZER_ARGS, read_log_stats
from pagefuzz.fuzz.campaign.store import CampaignError, CampaignStore
from pagefuzz.fuzz.campaign.summary import WorkerRow
from pagefuzz.fuzz.versions.resolve import records_json
from pagefuzz.fuzz.versions.spec import BASE_ENV, RECORDS_ENV

#: A worker that exits with an error this soon after starting, this many times in a row, is
#: broken: the campaign stops and says why.
QUICK_FAILURE_S: Final = 3.0
QUICK_FAILURES_MAX: Final = 3
#: A worker is restarted only with more than this many seconds of the campaign left.
RESTART_MIN_S: Final = 2.0
#: Seconds stopped workers get to write their last statistics before they are killed.
STOP_GRACE_S: Final = 10.0
FUZZER_SCRIPT: Final = Path(__file__).resolve().parent / "differential_fuzzer.py"


@dataclass
class Worker:
    index: int
    seed: int
    process: subprocess.Popen[bytes]
    log: Path
    restarts: int = 0
    started: float = field(default_factory=time.monotonic)
    log_offset: int = 0  # where this process's output starts in the (appended) log
    quick_failures: int = 0  # consecutive exits with an error within seconds of starting


@dataclass
class Totals:
    """The counts of a worker's finished processes (the live one's are in its stats)."""

    executions: int = 0
    crashes: int = 0
    seen_pid: int | None = None  # the last process folded in
    #: The last process's rate and coverage when it ended: what its row shows from then on
    #: (a campaign's last timeline point is taken after its workers stopped).
    exec_per_s: float = 0.0
    coverage: int = 0


@dataclass
class Counts:
    """The workers' numbers at one moment."""

    executions: int
    crashes: int
    rows: list[WorkerRow]


class Supervisor:
    def __init__(
        self,
        store: CampaignStore,
        engine: str,
        versions: list[str],
        jobs: int,
        depth: int,
        hypothesis_db: Path | None,
        tally: KnownTally,
    ) -> None:
        self.store = store
        self.engine = engine
        self.versions = versions
        self.jobs = jobs
        self.depth = depth
        self.hypothesis_db = hypothesis_db or store.hypothesis_db
        self.tally = tally
        self.workers: list[Worker] = []
        self.totals: dict[int, Totals] = {}
        self.started = 0.0
        self.seconds = 0.0

    # ---------------------------------------------------------------- processes

    def start(self, seed: int, seconds: float) -> None:
        """One worker per job (atheris: one libFuzzer, which forks the jobs itself), seeded
        seed, seed + 1, ..."""
        self.started = time.monotonic()
        self.seconds = seconds
        processes = 1 if self.engine == "atheris" else self.jobs
        self.workers = [self._spawn(i, seed + i, seconds) for i in range(processes)]

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def all_exited(self) -> bool:
        return all(w.process.poll() is not None for w in self.workers)

    def _command(self, index: int, seed: int, seconds: float) -> list[str]:
        if self.engine == "atheris":
            self.store.libfuzzer_corpus.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, str(FUZZER_SCRIPT)]
            fork: list[str] = []
            if self.jobs > 1:
                # libFuzzer's own machinery: -fork=N runs N jobs and merges their corpora; it
                # re-executes argv[0] through sh, so the target runs as its own executable script.
                command = [str(FUZZER_SCRIPT)]
                fork = [f"-fork={self.jobs}", "-ignore_crashes=1"]
            return [
                *command,
                str(self.store.libfuzzer_corpus),
                *LIBFUZZER_ARGS,
                *fork,
                f"-seed={seed}",
                f"-max_total_time={max(1, int(seconds))}",
            ]
        return [
            sys.executable,
            "-m",
            "pagefuzz.fuzz.campaign.worker",
            "--engine",
            self.engine,
            "--out",
            str(self.store.out),
            "--worker",
            str(index),
            "--seed",
            str(seed),
            "--seconds",
            f"{seconds:.3f}",
            "--versions",
            ",".join(self.versions),
            "--depth",
            str(self.depth),
            "--hypothesis-db",
            str(self.hypothesis_db),
        ]

    def _spawn(self, index: int, seed: int, seconds: float, restarts: int = 0) -> Worker:
        log = self.store.log_path(index)
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PAGEFUZZ_OUT": str(self.store.out),
            "PAGEFUZZ_WORKER": str(index),
            "PAGEFUZZ_SEED": str(seed),
            "PAGEFUZZ_VERSIONS": ",".join(self.versions),
            # The names say which versions; the records say where their files are.
            RECORDS_ENV: records_json(self.versions),
            # Workers run in the campaign's directory: py:/c: paths are the user's, relative
            # to where pagefuzz was started.
            BASE_ENV: os.environ.get(BASE_ENV) or os.getcwd(),
            "PYTHONHASHSEED": "0",
        }
        # libFuzzer re-runs argv[0] through sh for some flags: keep this interpreter first.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        offset = log.stat().st_size if log.exists() else 0
        with log.open("ab") as handle:
            process = subprocess.Popen(
                self._command(index, seed, seconds),
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.store.out,
                start_new_session=True,
            )
        return Worker(index, seed, process, log, restarts, log_offset=offset)

    def restart_dead(self, next_seed: Callable[[], int]) -> int:
        """Restart every worker that died before its time was up (a kill, a crash of Python)
        with the next seed; returns how many were restarted. CampaignError if one fails as it
        starts, again and again."""
        restarted = 0
        for i, worker in enumerate(self.workers):
            code = worker.process.poll()
            if code is None:
                continue
            self.fold(worker)
            remaining = self.remaining()
            quick = (
                worker.quick_failures + 1
                if code != 0 and (time.monotonic() - worker.started < QUICK_FAILURE_S)
                else 0
            )
            if quick >= QUICK_FAILURES_MAX:
                raise CampaignError(
                    f"{worker.log}: worker {worker.index} fails as it starts "
                    f"(exit {code}): {_last_line(worker.log)}"
                )
            if code != 0 and remaining > RESTART_MIN_S:
                self.workers[i] = self._spawn(
                    worker.index, next_seed(), remaining, worker.restarts + 1
                )
                self.workers[i].quick_failures = quick
                restarted += 1
        return restarted

    def stop(self) -> None:
        """SIGINT every worker's process group (each writes its last statistics), SIGKILL the
        ones still running after STOP_GRACE_S; then fold every worker's counts in."""
        for worker in self.workers:
            if worker.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.process.pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_S
        for worker in self.workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(worker.process.pid, signal.SIGKILL)
                worker.process.wait()
        for worker in self.workers:
            self.fold(worker)

    # ---------------------------------------------------------------- counters

    def stats(self, worker: Worker) -> dict[str, Any]:
        """The live process's counters (executions, exec/s, coverage, crashes, ...)."""
        if self.engine == "atheris":
            # libFuzzer's own log is the truth for atheris: under -fork the target runs in
            # child processes, each with its own in-process counters.
            return read_log_stats(worker.log, worker.log_offset)
        stats = self.store.read_stats(worker.index)
        if stats.get("pid") != worker.process.pid:
            return {}  # an earlier process's numbers, already folded in
        return stats

    def _known_hits(self, worker: Worker, stats: dict[str, Any]) -> Any:
        """The worker's first hits of known signatures, from its own stats.json."""
        if self.engine != "atheris":
            return stats.get("known_hits")
        # atheris' `stats` come from libFuzzer's log; the hits are in the target's stats.json,
        # written under -fork by child processes the campaign did not start (any pid is ours).
        own = self.store.read_stats(worker.index)
        if not own or (self.jobs == 1 and own.get("pid") != worker.process.pid):
            return None
        return own.get("known_hits")

    def _earlier(self, done: Totals) -> int:
        """Executions of this worker's earlier processes, which its counts start after (not
        under libFuzzer's -fork, whose children each count from zero)."""
        return 0 if self.engine == "atheris" and self.jobs > 1 else done.executions

    def fold(self, worker: Worker) -> None:
        """Keep the counts of a finished process in the totals before it is replaced."""
        done = self.totals.setdefault(worker.index, Totals())
        if done.seen_pid == worker.process.pid:
            return
        stats = self.stats(worker)
        self.tally.note(self._known_hits(worker, stats), worker.started, self._earlier(done))
        if stats:
            done.executions += int(stats.get("executions", 0))
            done.crashes += int(stats.get("crashes", 0))
            done.exec_per_s = float(stats.get("exec_per_s", 0.0))
            done.coverage = int(stats.get("coverage", 0))
            done.seen_pid = worker.process.pid

    def counts(self) -> Counts:
        """Executions and crashes of every process so far, and one row per worker; the live
        processes' first hits of known findings are noted on the way."""
        rows = []
        executions = crashes = 0
        for worker in self.workers:
            done = self.totals.get(worker.index, Totals())
            folded = done.seen_pid == worker.process.pid
            stats = self.stats(worker) if not folded else {}
            if not folded:
                hits = self._known_hits(worker, stats)
                self.tally.note(hits, worker.started, self._earlier(done))
            execs = int(stats.get("executions", 0)) + done.executions
            crashes += int(stats.get("crashes", 0)) + done.crashes
            executions += execs
            rows.append(
                WorkerRow(
                    worker=worker.index,
                    seed=worker.seed,
                    exec_per_s=stats.get("exec_per_s", 0.0) if not folded else done.exec_per_s,
                    executions=execs,
                    coverage=stats.get("coverage", 0) if not folded else done.coverage,
                    restarts=worker.restarts,
                    alive=worker.process.poll() is None,
                )
            )
        return Counts(executions, crashes, rows)

    def pct_stats(self) -> list[dict[str, Any]]:
        """The live processes' PCT counters (fuzz/campaign/pct.py `pct_bounds`)."""
        return [self.stats(worker).get("pct") or {} for worker in self.workers]


def _last_line(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return lines[-1][:300] if lines else "(empty log)"
