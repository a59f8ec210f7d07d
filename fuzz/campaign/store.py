"""A campaign's directory: its layout, its lock, known.json and the findings files.

    campaign.json              summary (fuzz/campaign/summary.py), rewritten atomically every few
                               seconds and at the end
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
    .lock                      the pid of the campaign running here

Everything here is written atomically (fuzz/files.py) and named by signature digests only, so
nothing escapes the directory. Workers write their findings themselves, so a worker killed at
any moment loses nothing it had found.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from pagefuzz.fuzz.files import read_json, write_atomic, write_json_atomic
from pagefuzz.oracle.evaluate import Failure
from pagefuzz.sim import Case

#: known.json: which signatures a campaign's workers treat as known, and which of them the
#: corpus shows (key and file: what the summary lists as re-found). Before this format the file
#: was a plain list of signatures; `read_known` still reads one.
KNOWN_FORMAT: Final = "pagefuzz/known-v1"


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


class FindingStore:
    """The findings directory of a campaign: raw findings as the workers wrote them, and the
    minimised cases; and the crashes directory beside it."""

    def __init__(self, out: Path) -> None:
        self.root = out / "findings"
        self.raw_dir = self.root / "raw"
        self.crash_dir = out / "crashes"

    def signatures_on_disk(self) -> set[str]:
        found: set[str] = set()
        for directory in (self.root, self.raw_dir):
            if directory.exists():
                found.update(p.name.split(".")[0] for p in directory.glob("*.json"))
        return found

    def record_raw(
        self, failure: Failure, case: Case, raw: bytes | None, meta: Mapping[str, object]
    ) -> bool:
        """Keep a new finding as found (case and raw input), once per signature."""
        path = self.raw_dir / f"{failure.signature}.json"
        if path.exists():
            return False
        if raw is not None:
            write_atomic(self.raw_dir / f"{failure.signature}.bin", raw)
        write_json_atomic(
            path,
            {
                "signature": failure.signature,
                "key": str(failure.key),
                "version": failure.key.version,
                "check": failure.key.check,
                "case": case.to_json(),
                **meta,
            },
        )
        return True

    def replace_raw_case(self, signature: str, case: Case, shrunk_by: str) -> bool:
        """Put a smaller case in a raw finding's place (an engine's own shrinker found it)."""
        path = self.raw_dir / f"{signature}.json"
        if not path.exists():
            return False
        raw = read_json(path)
        raw["case"] = case.to_json()
        raw["shrunk_by"] = shrunk_by
        write_json_atomic(path, raw)
        return True

    def record_crash(self, name: str, raw: bytes, error: str) -> None:
        write_atomic(self.crash_dir / f"{name}.bin", raw)
        write_json_atomic(self.crash_dir / f"{name}.json", {"error": error})

    def crash_count(self) -> int:
        return len(list(self.crash_dir.glob("*.json"))) if self.crash_dir.exists() else 0

    def minimised_signatures(self) -> set[str]:
        return {p.stem for p in self.root.glob("*.json")} if self.root.exists() else set()

    def raw_findings(self, skip: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(signature, record) of every whole raw finding not in `skip`, by signature. A file
        that does not read (being written by a worker that was killed) is left for next time."""
        if self.raw_dir.exists():
            yield from _records(
                p for p in sorted(self.raw_dir.glob("*.json")) if p.stem not in skip
            )

    def minimised_findings(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(signature, record) of every minimised finding that reads, by signature."""
        if self.root.exists():
            yield from _records(sorted(self.root.glob("*.json")))

    def write_minimised(self, signature: str, record: Mapping[str, object]) -> None:
        write_json_atomic(self.root / f"{signature}.json", record)


def read_known(path: Path) -> tuple[dict[str, dict[str, str | None]], set[str]]:
    """known.json as (corpus signature -> {key, file}, signatures this campaign found earlier).
    An old list names signatures only: all are taken as the corpus's, without key or file."""
    raw = read_json(path)
    if isinstance(raw, list):
        return {str(sig): {"key": None, "file": None} for sig in raw}, set()
    corpus = {
        str(sig): {"key": info.get("key"), "file": info.get("file")}
        for sig, info in raw["corpus"].items()
    }
    return corpus, {str(sig) for sig in raw.get("campaign", [])}


class CampaignStore:
    """The paths of a campaign directory, its lock and the files the campaign itself writes."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.findings = FindingStore(out)
        self.summary_path = out / "campaign.json"
        self.known_path = out / "known.json"
        self.lock_path = out / ".lock"
        self.libfuzzer_corpus = out / "libfuzzer-corpus"
        self.hypothesis_db = out / "hypothesis-db"

    def worker_dir(self, index: int) -> Path:
        return self.out / "workers" / str(index)

    def stats_path(self, index: int) -> Path:
        return self.worker_dir(index) / "stats.json"

    def log_path(self, index: int) -> Path:
        return self.worker_dir(index) / "log.txt"

    def read_stats(self, index: int) -> dict[str, Any]:
        """A worker's stats.json, or {} when it is not there or not whole."""
        try:
            stats = read_json(self.stats_path(index))
        except (OSError, ValueError):
            return {}
        return stats if isinstance(stats, dict) else {}

    def write_summary(self, summary: Mapping[str, object]) -> None:
        write_json_atomic(self.summary_path, summary)

    def write_known(self, corpus: Mapping[str, tuple[str, str]], own: set[str]) -> None:
        """known.json: the corpus's signatures (key, shown file) and this campaign's own."""
        write_json_atomic(
            self.known_path,
            {
                "format": KNOWN_FORMAT,
                "corpus": {
                    sig: {"key": key, "file": file} for sig, (key, file) in sorted(corpus.items())
                },
                "campaign": sorted(own),
            },
        )

    def take_lock(self) -> None:
        """One campaign per directory at a time: OUT/.lock holds the owner's pid. A lock whose
        owner is dead (a killed campaign) is taken over; a live owner is an error. The lock
        appears with the pid already in it (written to a file of this process's own, then
        hard-linked into place, which fails if a lock is there): a campaign that finds the lock
        never reads it half-written and takes a live campaign's lock for a dead one's."""
        lock = self.lock_path
        mine = lock.with_name(f"{lock.name}.{os.getpid()}")
        mine.write_text(str(os.getpid()))
        try:
            for _ in range(2):
                try:
                    os.link(mine, lock)
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
                return
        finally:
            mine.unlink(missing_ok=True)
        raise CampaignError(f"{lock}: cannot take the campaign lock")

    def release_lock(self) -> None:
        self.lock_path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _records(paths: Iterable[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file stem, JSON object) of each file that reads as one; the others are skipped."""
    for path in paths:
        try:
            record = read_json(path)
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            yield path.stem, record
