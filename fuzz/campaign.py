"""A fuzzing campaign: worker processes, background minimisation, a live view, a summary.

Layout of a campaign directory:

    campaign.json              summary, rewritten atomically every few seconds and at the end
    known.json                 signatures known when the campaign (or its last resume) started:
                               the corpus's, each with its key and a file that shows it, and
                               this campaign's own earlier findings
    findings/raw/<sig>.json    a finding as its worker first saw it (case, raw input beside it)
    findings/<sig>.json        the minimised case, with its expect block and metadata
    crashes/                   harness errors (exceptions outside the oracle), kept apart
    workers/<n>/stats.json     each worker's counters, rewritten about once a second
    workers/<n>/log.txt        each worker's own output (libFuzzer's, for atheris)
    libfuzzer-corpus/          atheris' working corpus, shared by its workers
    hypothesis-db/             the hypothesis engine's example database (shareable)

Workers write findings themselves, atomically, so a worker killed at any moment loses nothing
it had found; the campaign restarts a dead worker with the next seed while time remains.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import platform
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from fuzz.files import read_json, write_json_atomic
from fuzz.minimize import minimize
from fuzz.target import KNOWN_FORMAT, Evaluator, FindingStore, KnownFinding, known_findings
from impls.registry import DEFAULT_VERSIONS, REGISTRY
from sim import parse_case

ENGINES: Final = ("atheris", "hypothesis", "random", "pct")
DEFAULT_ENGINE: Final = "atheris"
FORMAT: Final = "pagefuzz/campaign-v1"
#: Seconds between looks at the workers, and between summary rewrites.
POLL_S: Final = 0.5
SUMMARY_S: Final = 5.0
#: A worker that exits with an error this soon after starting, this many times in a row, is
#: broken (a bad path, a missing module), not unlucky: the campaign stops and says why.
QUICK_FAILURE_S: Final = 3.0
QUICK_FAILURES_MAX: Final = 3
#: Samples of the campaign's progress kept in campaign.json (for plots), thinned beyond this.
TIMELINE_MAX: Final = 2000
FUZZER_SCRIPT: Final = Path(__file__).resolve().parent / "differential_fuzzer.py"
#: libFuzzer options: inputs sized for 16 two-byte steps, no slow length ramp-up (measured:
#: time to a bug from ~12 s to ~1 s, ../shared/notes/fuzzing-toolchain.md).
LIBFUZZER_ARGS: Final = ("-max_len=34", "-len_control=0", "-print_final_stats=1")


#: What campaign.json keeps of each finding (the full record is findings/<signature>.json).
_SUMMARY_FIELDS: Final = (
    "signature",
    "key",
    "engine",
    "first_seen_s",
    "first_seen_executions",
    "steps_found",
    "steps_minimized",
)


class CampaignError(Exception):
    """Bad campaign arguments or directory; str() is the one line to print."""


def new_campaign_dir(root: Path, stamp: str) -> Path:
    """Create and return root/stamp, or root/stamp-2, -3, ... if taken: two campaigns started
    in the same second each get their own directory (mkdir is the atomic claim)."""
    root.mkdir(parents=True, exist_ok=True)
    for n in itertools.count(1):
        path = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise AssertionError("unreachable")  # pragma: no cover


def shown_path(path: Path) -> str:
    """A path as a user types it: relative to the current directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


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
    summary: dict[str, Any] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)
    started: float = 0.0
    elapsed_before: float = 0.0
    executions_before: int = 0
    minimized: set[str] = field(default_factory=set)
    totals: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: Findings the corpus shows, and the first hit of each one the workers re-found:
    #: signature -> {"executions", "seconds"}, each the least over the workers.
    known: dict[str, KnownFinding] = field(default_factory=dict)
    known_refound: dict[str, dict[str, Any]] = field(default_factory=dict)

    # ---------------------------------------------------------------- set-up

    @classmethod
    def create(
        cls,
        out: Path | None,
        engine: str | None,
        versions: list[str] | None,
        jobs: int,
        seconds: float,
        seed: int,
        corpus: Path | None,
        resume: bool,
    ) -> Campaign:
        """Check the arguments and the directory. `engine` and `versions` are None when not
        given (the defaults, or a resumed campaign's own); `out` None is a new directory
        campaigns/<date>-<time>, created once everything else is known to be good."""
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
            out = new_campaign_dir(Path("campaigns"), time.strftime("%Y%m%d-%H%M%S", time.gmtime()))
        # Workers run in the campaign directory: every path they get must be absolute.
        out = out.resolve()
        corpus = corpus.resolve() if corpus is not None else None
        campaign = cls(
            out,
            engine or DEFAULT_ENGINE,
            list(versions or DEFAULT_VERSIONS),
            jobs,
            seconds,
            seed,
            corpus,
        )
        summary_path = out / "campaign.json"
        if resume:
            if not summary_path.exists():
                raise CampaignError(f"{summary_path}: no campaign to resume here")
            try:
                old = read_json(summary_path)
                campaign.engine = str(old["engine"])
                campaign.versions = list(old["versions"])
                campaign.seed = int(old["next_seed"])
                campaign.elapsed_before = float(old["seconds"])
                campaign.executions_before = int(old["executions"])
                campaign.summary = old
            except (ValueError, KeyError, TypeError) as exc:
                raise CampaignError(f"{summary_path}: cannot resume: bad field {exc}") from None
            if campaign.engine not in ENGINES:
                raise CampaignError(f"{summary_path}: engine: unknown engine {campaign.engine!r}")
            for name in campaign.versions:
                if name not in REGISTRY:
                    raise CampaignError(f"{summary_path}: versions: unknown version {name!r}")
            # An explicit flag that the resumed campaign would silently override is refused.
            if engine is not None and engine != campaign.engine:
                raise CampaignError(
                    f"--engine: the campaign in {out} ran engine {campaign.engine}; leave "
                    "--engine out to resume it"
                )
            if versions is not None and list(versions) != campaign.versions:
                raise CampaignError(
                    f"--versions: the campaign in {out} ran versions "
                    f"{','.join(campaign.versions)}; leave --versions out to resume it"
                )
        elif summary_path.exists():
            raise CampaignError(
                f"{out}: a campaign is already here; --resume it or pick another --out"
            )
        return campaign

    def prepare(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        store = FindingStore(self.out)
        own = store.signatures_on_disk()
        self.known = {
            sig: finding
            for sig, finding in known_findings(self.corpus, self.versions).items()
            if sig not in own
        }
        write_json_atomic(
            self.out / "known.json",
            {
                "format": KNOWN_FORMAT,
                "corpus": {
                    sig: {"key": k.key, "file": shown_path(k.file)}
                    for sig, k in sorted(self.known.items())
                },
                "campaign": sorted(own),
            },
        )
        known = set(self.known) | own
        self.minimized = (
            {p.stem for p in store.root.glob("*.json")} if store.root.exists() else set()
        )
        if not self.summary:
            self.summary = {
                "format": FORMAT,
                "machine": {
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                },
                "engine": self.engine,
                "versions": self.versions,
                "jobs": self.jobs,
                "seed": self.seed,
                "corpus": str(self.corpus) if self.corpus else None,
                "findings": [],
                "crashes": 0,
            }
        self._reconcile_findings(store)
        for entry in self.summary.get("known_refound", []):  # an earlier round's first hits
            with contextlib.suppress(KeyError, TypeError, ValueError):
                if entry["signature"] in self.known:
                    self.known_refound[entry["signature"]] = {
                        "executions": int(entry["first_seen_executions"]),
                        "seconds": float(entry["first_seen_s"]),
                    }
        self.summary["rounds"] = int(self.summary.get("rounds", 0)) + 1
        self.summary["known_at_start"] = len(known)

    def _reconcile_findings(self, store: FindingStore) -> None:
        """A campaign killed between minimising a finding and rewriting its summary left the
        minimised file without its summary line: put it back (the files are the truth)."""
        listed = {f["signature"] for f in self.summary.get("findings", [])}
        for path in sorted(store.root.glob("*.json")) if store.root.exists() else []:
            if path.stem in listed:
                continue
            try:
                record = read_json(path)
                entry = {k: record[k] for k in _SUMMARY_FIELDS}
            except (OSError, ValueError, KeyError):
                continue  # not a whole finding file: its raw twin is minimised again
            self.summary.setdefault("findings", []).append(entry)

    def _take_lock(self) -> None:
        """One campaign per directory at a time: OUT/.lock holds the owner's pid. A lock whose
        owner is dead (a killed campaign) is taken over; a live owner is an error."""
        lock = self.out / ".lock"
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    owner = int(lock.read_text().strip() or "0")
                except (OSError, ValueError):
                    owner = 0
                if owner and _alive(owner):
                    raise CampaignError(
                        f"{self.out}: campaign {owner} is running here ({lock})"
                    ) from None
                lock.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(str(os.getpid()))
            return
        raise CampaignError(f"{lock}: cannot take the campaign lock")

    def release_lock(self) -> None:
        (self.out / ".lock").unlink(missing_ok=True)

    # ---------------------------------------------------------------- workers

    def _command(self, index: int, seed: int, seconds: float) -> list[str]:
        if self.engine == "atheris":
            corpus_dir = self.out / "libfuzzer-corpus"
            corpus_dir.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, str(FUZZER_SCRIPT)]
            fork: list[str] = []
            if self.jobs > 1:
                # libFuzzer's own machinery: -fork=N runs N jobs and merges their corpora; it
                # re-executes argv[0] through sh, so the target runs as its own executable script.
                command = [str(FUZZER_SCRIPT)]
                fork = [f"-fork={self.jobs}", "-ignore_crashes=1"]
            return [
                *command,
                str(corpus_dir),
                *LIBFUZZER_ARGS,
                *fork,
                f"-seed={seed}",
                f"-max_total_time={max(1, int(seconds))}",
            ]
        return [
            sys.executable,
            "-m",
            "fuzz.worker",
            "--engine",
            self.engine,
            "--out",
            str(self.out),
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
            str(self.hypothesis_db or self.out / "hypothesis-db"),
        ]

    def _spawn(self, index: int, seed: int, seconds: float, restarts: int = 0) -> Worker:
        log = self.out / "workers" / str(index) / "log.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PAGEFUZZ_OUT": str(self.out),
            "PAGEFUZZ_WORKER": str(index),
            "PAGEFUZZ_SEED": str(seed),
            "PAGEFUZZ_VERSIONS": ",".join(self.versions),
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
                cwd=self.out,
                start_new_session=True,
            )
        return Worker(index, seed, process, log, restarts, log_offset=offset)

    def _remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def _check_workers(self) -> None:
        """Restart a worker that died before its time was up (a kill, a crash of Python)."""
        for i, worker in enumerate(self.workers):
            code = worker.process.poll()
            if code is None:
                continue
            self._fold_stats(worker)
            remaining = self._remaining()
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
            if code != 0 and remaining > 2:
                seed = self._next_seed()
                self.workers[i] = self._spawn(worker.index, seed, remaining, worker.restarts + 1)
                self.workers[i].quick_failures = quick
                self.summary.setdefault("worker_restarts", 0)
                self.summary["worker_restarts"] += 1

    def _next_seed(self) -> int:
        seed = int(self.summary.get("next_seed", self.seed + self.jobs))
        self.summary["next_seed"] = seed + 1
        return seed

    # ---------------------------------------------------------------- statistics

    def _stats(self, worker: Worker) -> dict[str, Any]:
        if self.engine == "atheris":
            # libFuzzer's own log is the truth for atheris: under -fork the target runs in
            # child processes, each with its own in-process counters.
            return _libfuzzer_stats(worker.log, worker.log_offset)
        path = self.out / "workers" / str(worker.index) / "stats.json"
        try:
            stats: dict[str, Any] = read_json(path)
        except (OSError, ValueError):
            return {}
        if stats.get("pid") != worker.process.pid:
            return {}  # an earlier process's numbers, already folded in
        return stats

    def _known_hits(self, worker: Worker, stats: dict[str, Any]) -> Any:
        """The worker's first hits of known signatures, from its own stats.json."""
        if self.engine != "atheris":
            return stats.get("known_hits")
        # atheris' `stats` come from libFuzzer's log; the hits are in the target's stats.json,
        # written under -fork by child processes the campaign did not start (any pid is ours).
        try:
            own = read_json(self.out / "workers" / str(worker.index) / "stats.json")
        except (OSError, ValueError):
            return None
        if self.jobs == 1 and own.get("pid") != worker.process.pid:
            return None
        return own.get("known_hits")

    def _note_known_hits(self, worker: Worker, hits: Any, executions_earlier: int) -> None:
        """Fold one process's first hits into the campaign's: the fewest executions and the
        earliest time any worker needed (min over workers, restarts and rounds). Both count as
        a new finding's do, from the worker's start (so the two are comparable), plus what came
        before it: the worker's earlier processes and the campaign's earlier rounds."""
        if not isinstance(hits, dict):
            return
        offset = self.elapsed_before + max(0.0, worker.started - self.started)
        for signature, hit in hits.items():
            if signature not in self.known:
                continue
            try:
                executions = self.executions_before + executions_earlier + int(hit["executions"])
                seconds = offset + float(hit["seconds"])
            except (KeyError, TypeError, ValueError):
                continue  # a stats file from another version of pagefuzz: nothing to add
            entry = self.known_refound.setdefault(
                signature, {"executions": executions, "seconds": seconds}
            )
            entry["executions"] = min(entry["executions"], executions)
            entry["seconds"] = min(entry["seconds"], seconds)

    def known_lists(self) -> dict[str, Any]:
        """The known findings for the view and the summary: how many, the re-found ones in the
        order of their first hit, and the others by key."""
        refound = sorted(
            (
                {
                    "key": self.known[sig].key,
                    "signature": sig,
                    "first_seen_executions": hit["executions"],
                    "first_seen_s": round(hit["seconds"], 3),
                    "corpus_file": shown_path(self.known[sig].file),
                }
                for sig, hit in self.known_refound.items()
            ),
            key=lambda r: (r["first_seen_executions"], r["first_seen_s"], r["key"]),
        )
        missed = sorted(
            (
                {"key": k.key, "signature": sig, "corpus_file": shown_path(k.file)}
                for sig, k in self.known.items()
                if sig not in self.known_refound
            ),
            key=lambda m: str(m["key"]),
        )
        return {
            "new": len(self.summary.get("findings", [])),
            "known_total": len(self.known),
            "known_refound": refound,
            "known_not_refound": missed,
        }

    def _fold_stats(self, worker: Worker) -> None:
        """Keep the executions of a finished process in the totals before it is replaced."""
        done = self.totals.setdefault(worker.index, {"executions": 0, "crashes": 0})
        if done.get("seen_pid") == worker.process.pid:
            return
        stats = self._stats(worker)
        hits = self._known_hits(worker, stats)
        self._note_known_hits(worker, hits, self._earlier(worker, done))
        if stats:
            done["executions"] += int(stats.get("executions", 0))
            done["crashes"] += int(stats.get("crashes", 0))
            done["seen_pid"] = worker.process.pid

    def _earlier(self, worker: Worker, done: dict[str, Any]) -> int:
        """Executions of this worker's earlier processes, which its counts start after (not
        under libFuzzer's -fork, whose children each count from zero)."""
        return 0 if self.engine == "atheris" and self.jobs > 1 else int(done.get("executions", 0))

    def snapshot(self) -> dict[str, Any]:
        """Live numbers for the view and the summary."""
        rows = []
        executions = self.executions_before
        crashes = 0
        for worker in self.workers:
            folded = self.totals.get(worker.index, {}).get("seen_pid") == worker.process.pid
            stats = self._stats(worker) if not folded else {}
            earlier = self.totals.get(worker.index, {})
            if not folded:
                hits = self._known_hits(worker, stats)
                self._note_known_hits(worker, hits, self._earlier(worker, earlier))
            execs = int(stats.get("executions", 0)) + int(earlier.get("executions", 0))
            crashes += int(stats.get("crashes", 0)) + int(earlier.get("crashes", 0))
            executions += execs
            rows.append(
                {
                    "worker": worker.index,
                    "seed": worker.seed,
                    "exec_per_s": stats.get("exec_per_s", 0.0),
                    "executions": execs,
                    "coverage": stats.get("coverage", 0),
                    "restarts": worker.restarts,
                    "alive": worker.process.poll() is None,
                }
            )
        crash_dir = self.out / "crashes"
        if crash_dir.exists():  # the files are the truth (a killed worker's count is lost)
            crashes = max(crashes, len(list(crash_dir.glob("*.json"))))
        elapsed = time.monotonic() - self.started
        return {
            "elapsed": elapsed,
            "executions": executions,
            "crashes": crashes,
            "workers": rows,
            "findings": self.summary["findings"],
            **self.known_lists(),
        }

    # ---------------------------------------------------------------- findings

    def collect_findings(self, evaluator: Evaluator) -> list[str]:
        """Minimise every raw finding not yet minimised; returns the new signatures."""
        store = FindingStore(self.out)
        if not store.raw_dir.exists():
            return []
        new = []
        for raw_path in sorted(store.raw_dir.glob("*.json")):
            signature = raw_path.stem
            if signature in self.minimized:
                continue
            try:
                raw = read_json(raw_path)
                case = parse_case(raw["case"])
            except (OSError, ValueError, KeyError):
                continue  # being written by a worker that was killed: the next look sees it
            small, removed = minimize(case, evaluator, frozenset({signature}))
            small = _with_name_and_expect(
                small, f"{raw['key'].replace('/', '-')}-{signature}", evaluator
            )
            found_at = float(raw.get("seconds", 0.0)) + self.elapsed_before
            record = {
                "signature": signature,
                "key": raw["key"],
                "version": raw["version"],
                "check": raw["check"],
                "engine": raw.get("engine", self.engine),
                "worker": raw.get("worker"),
                "first_seen_s": round(found_at, 3),
                "first_seen_executions": raw.get("executions"),
                "steps_found": len(raw["case"]["steps"]),
                "steps_minimized": len(small.steps),
                "shrunk_by": raw.get("shrunk_by"),
                "removed": removed,
                "case": small.to_json(),
            }
            write_json_atomic(store.root / f"{signature}.json", record)
            self.minimized.add(signature)
            self.summary["findings"].append({k: record[k] for k in _SUMMARY_FIELDS})
            new.append(signature)
        return new

    # ---------------------------------------------------------------- the run

    def write_summary(self, status: str) -> None:
        snap = self.snapshot()
        elapsed = self.elapsed_before + snap["elapsed"]
        sample = {
            "seconds": round(elapsed, 2),
            "executions": snap["executions"],
            "findings": len(self.summary["findings"]),
            "coverage": sum(int(w["coverage"]) for w in snap["workers"]),
            "exec_per_s": [w["exec_per_s"] for w in snap["workers"]],
        }
        timeline = self.summary.setdefault("timeline", [])
        timeline.append(sample)
        if len(timeline) > TIMELINE_MAX:  # a week-long campaign: keep every other sample
            del timeline[1:-1:2]
        self.summary.update(
            {
                "status": status,
                "seconds": round(elapsed, 3),
                "executions": snap["executions"],
                "exec_per_s": round(snap["executions"] / elapsed, 1) if elapsed > 0 else 0.0,
                "crashes": snap["crashes"],
                "workers": snap["workers"],
                "new": snap["new"],
                "known_total": snap["known_total"],
                "known_refound": snap["known_refound"],
                "known_not_refound": snap["known_not_refound"],
            }
        )
        self.summary.setdefault("next_seed", self.seed + self.jobs)
        if self.engine == "pct":
            self.summary["pct"] = self._pct_bounds()
        write_json_atomic(self.out / "campaign.json", self.summary)

    def _pct_bounds(self) -> dict[str, Any]:
        """Per version and check: found after how many runs, or the probability that a bug of
        depth <= d was missed by every run (PCT's guarantee, fuzz/pct.py)."""
        from fuzz.pct import bound_words, missed_probability
        from oracle import CHECKS

        runs = actors = steps = 0
        for worker in self.workers:
            pct = self._stats(worker).get("pct") or {}
            runs += int(pct.get("runs", 0))
            actors = max(actors, int(pct.get("actors_max", 0)))
            steps = max(steps, int(pct.get("steps_max", 0)))
        runs += int(self.summary.get("pct", {}).get("runs_before", 0))
        found = {f["key"].rsplit("/", 1)[0] for f in self.summary["findings"]}
        bound = missed_probability(actors or 1, steps or 1, self.depth, runs)
        words = bound_words(bound)
        table = {
            f"{version}/{check}": (
                "found" if f"{version}/{check}" in found else f"missed with probability {words}"
            )
            for version in self.versions
            for check in CHECKS
        }
        return {
            "depth": self.depth,
            "runs": runs,
            "actors_max": actors,
            "steps_max": steps,
            "bound_if_not_found": bound,
            "by_version_and_check": table,
        }

    def run(self, on_tick: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        self.prepare()
        evaluator = Evaluator(self.versions)
        self.started = time.monotonic()
        self.summary["next_seed"] = self.seed + self.jobs
        processes = 1 if self.engine == "atheris" else self.jobs  # atheris forks by itself
        self.workers = [self._spawn(i, self.seed + i, self.seconds) for i in range(processes)]
        status = "done"
        last_summary = 0.0
        try:
            self.write_summary("running")
            while True:
                self._check_workers()
                self.collect_findings(evaluator)
                on_tick(self.snapshot())
                if all(w.process.poll() is not None for w in self.workers):
                    # One may have died since the check above: restart it if time remains.
                    self._check_workers()
                    if all(w.process.poll() is not None for w in self.workers):
                        break
                if self._remaining() < -30:  # a worker overran its own deadline badly
                    break
                if time.monotonic() - last_summary > SUMMARY_S:
                    self.write_summary("running")
                    last_summary = time.monotonic()
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            status = "stopped"
        except CampaignError:
            status = "failed"
            raise
        finally:
            self._stop_workers()
            for worker in self.workers:
                self._fold_stats(worker)
            self.collect_findings(evaluator)
            self.write_summary(status)
            self.release_lock()
        return self.summary

    def _stop_workers(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.process.pid, signal.SIGINT)
        deadline = time.monotonic() + 10
        for worker in self.workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(worker.process.pid, signal.SIGKILL)
                worker.process.wait()


def _with_name_and_expect(case: Any, name: str, evaluator: Evaluator) -> Any:
    """Name a minimised case and record what every campaign version does on it."""
    from dataclasses import replace

    evaluation = evaluator.evaluate(case)
    checks = {v: list(verdict.checks) for v, verdict in evaluation.verdicts.items()}
    return replace(case, name=name, expect={"checks": checks})


_EXECS = re.compile(r"^#(\d+)|^Done (\d+) runs|stat::number_of_executed_units:\s*(\d+)")
_RATE = re.compile(r"exec/s:? (\d+)")
_COV = re.compile(r" cov: (\d+)")


def _libfuzzer_stats(log: Path, offset: int) -> dict[str, Any]:
    """Executions, exec/s and coverage from what libFuzzer printed since `offset`."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(offset, log.stat().st_size - 16384))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return {}
    executions = rate = coverage = 0
    for line in tail.splitlines():
        found = _EXECS.search(line)
        if found:
            executions = max(executions, int(next(g for g in found.groups() if g)))
        if (m := _RATE.search(line)) is not None:
            rate = int(m.group(1))
        if (m := _COV.search(line)) is not None:
            coverage = int(m.group(1))
    return {"executions": executions, "exec_per_s": float(rate), "coverage": coverage, "crashes": 0}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _last_line(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return lines[-1][:300] if lines else "(empty log)"
