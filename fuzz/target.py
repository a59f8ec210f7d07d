"""One execution of the differential target, and what a campaign remembers between executions.

`Evaluator.evaluate(case)` runs every campaign version on one case and judges each run. A
*finding* is one way a version goes wrong, `version/check/request-kind` (oracle.finding_keys),
whose signature is not yet known: not shown by any corpus case and not already found in this
campaign. Known findings never stop a campaign.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from fuzz.files import write_atomic, write_json_atomic
from impls.registry import get_version
from oracle import Verdict, finding_keys, judge, signature_of
from sim import Case, InvalidCase, RunRecord, parse_case, run_case
from sim.world import Version


@dataclass(frozen=True)
class Failure:
    """One way one version fails on one case, keyed by its signature."""

    version: str
    signature: str
    key: str  # version/check/request-kind
    check: str


@dataclass(frozen=True)
class Evaluation:
    records: dict[str, RunRecord]
    verdicts: dict[str, Verdict]
    failures: tuple[Failure, ...]


class Evaluator:
    def __init__(self, versions: list[str]) -> None:
        self.names = list(versions)
        self.versions: list[Version] = [get_version(n) for n in versions]

    def evaluate(self, case: Case) -> Evaluation:
        records: dict[str, RunRecord] = {}
        verdicts: dict[str, Verdict] = {}
        failures: list[Failure] = []
        for version in self.versions:
            record = run_case(case, version)
            verdict = judge(record)
            records[version.name] = record
            verdicts[version.name] = verdict
            for key in finding_keys(record, verdict):
                check = key.split("/")[1]
                failures.append(Failure(version.name, signature_of(key), key, check))
        return Evaluation(records, verdicts, tuple(failures))


#: known.json: which signatures a campaign's workers treat as known, and which of them the
#: corpus shows (key and file: what the summary lists as re-found). Before this format the file
#: was a plain list of signatures; `read_known` still reads one.
KNOWN_FORMAT: Final = "pagefuzz/known-v1"


@dataclass(frozen=True)
class KnownFinding:
    """A finding the corpus already shows: its key, and the corpus file to replay for it."""

    key: str
    file: Path


def known_findings(corpus: Path | None, versions: list[str]) -> dict[str, KnownFinding]:
    """Signatures the corpus holds for these versions (replayed, not trusted from the files, so
    an oracle change is taken into account), each with one file that shows it: the promoted
    finding named after it (`triage --promote` names them `<key>-<sig6>`) when there is one,
    else the shortest case, first by path."""
    known: dict[str, KnownFinding] = {}
    if corpus is None or not corpus.exists():
        return known
    evaluator = Evaluator(versions)
    rank: dict[str, tuple[int, int]] = {}
    for path in sorted(corpus.rglob("*.json")):
        try:
            case = parse_case(json.loads(path.read_text(encoding="utf-8")), path.stem)
        except (OSError, ValueError, InvalidCase):
            continue  # a corrupt corpus entry is triage's business, not the campaign's
        for failure in evaluator.evaluate(case).failures:
            named = path.stem == f"{failure.key.replace('/', '-')}-{failure.signature[:6]}"
            mine = (0 if named else 1, len(case.steps))
            if failure.signature not in rank or mine < rank[failure.signature]:
                rank[failure.signature] = mine
                known[failure.signature] = KnownFinding(failure.key, path)
    return known


def known_signatures(corpus: Path | None, versions: list[str]) -> set[str]:
    """Signatures the corpus already holds, for these versions."""
    return set(known_findings(corpus, versions))


def read_known(path: Path) -> tuple[dict[str, dict[str, str | None]], set[str]]:
    """known.json as (corpus signature -> {key, file}, signatures this campaign found earlier).
    An old list names signatures only: all are taken as the corpus's, without key or file."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(raw, list):
        return {str(sig): {"key": None, "file": None} for sig in raw}, set()
    corpus = {
        str(sig): {"key": info.get("key"), "file": info.get("file")}
        for sig, info in raw["corpus"].items()
    }
    return corpus, {str(sig) for sig in raw.get("campaign", [])}


class FindingStore:
    """The findings directory of a campaign: raw findings as the workers wrote them, and the
    minimised cases. File names are signature digests only, so nothing escapes the directory."""

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
        self, failure: Failure, case: Case, raw: bytes | None, meta: dict[str, Any]
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
                "key": failure.key,
                "version": failure.version,
                "check": failure.check,
                "case": case.to_json(),
                **meta,
            },
        )
        return True

    def record_crash(self, name: str, raw: bytes, error: str) -> None:
        write_atomic(self.crash_dir / f"{name}.bin", raw)
        write_json_atomic(self.crash_dir / f"{name}.json", {"error": error})
