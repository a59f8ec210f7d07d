"""Every file pagefuzz writes, read back as a case: the one door `replay`, `minimize` and `triage`
go through.

What a path can be (docs/replay.md, "What replay accepts"):

- a case (`"format": "pagefuzz/case-v1"`): hand-written, `corpus/`, `minimize -o`; kind `case`;
- `shortest-*.json` beside a `certificate.json`: an explore counterexample; `counterexample`;
- `findings/<sig>.json` (`signature`, `key`, `case`): a campaign's minimised finding; `finding`;
- `findings/raw/<sig>.json`: the finding as the worker found it; `raw-finding`;
- `*.bin`, files in `libfuzzer-corpus/`, libFuzzer's `crash-*` (any file with `--raw`): fuzzer
  bytes, run through the campaign's decoder; `raw-input`;
- a campaign directory (it has `campaign.json`): its minimised findings, and the raw one of any
  finding not minimised yet;
- an explore directory (it has `certificate.json`): its counterexamples;
- any other directory: every case file below it, skipping `raw/`, `crashes/`, worker and fuzzer
  stores.

A file that holds no case (a certificate, a campaign summary, `known.json`) is one error line
naming the file and what to replay instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pagefuzz._casefile import CaseFileError, case_from_json, decode_json, read_file
from pagefuzz.fuzz.campaign.store import KNOWN_FORMAT
from pagefuzz.oracle.evaluate import FindingKey
from pagefuzz.sim import Case

#: Kinds of source a case can come from, as `replay --json` names them in `source.kind`.
KINDS: Final = ("case", "counterexample", "finding", "raw-finding", "raw-input")

#: Directories below a searched directory that hold no replayable case of their own: raw copies
#: of minimised findings, crash records, worker logs, the fuzzers' own stores.
SKIPPED_DIRS: Final = frozenset(
    {"raw", "crashes", "workers", "libfuzzer-corpus", "hypothesis-db", ".hypothesis"}
)

#: libFuzzer's artifact prefixes: files it writes with no extension, holding raw input bytes.
LIBFUZZER_ARTIFACTS: Final = ("crash-", "timeout-", "leak-", "oom-", "slow-unit-")

CERTIFICATE_FORMAT: Final = "pagefuzz/certificate-v1"


@dataclass(frozen=True)
class Source:
    """A case and where it came from: the file, its kind, and the finding's metadata (signature,
    key, engine, executions to first sight...) when the file is a finding, so it is shown, not lost.
    """

    path: Path
    kind: str
    case: Case
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> FindingKey | None:
        """The finding the file was recorded for, if it was (and its key still parses: a check
        renamed since is no finding this version of pagefuzz can keep)."""
        key = self.meta.get("key")
        if not isinstance(key, str):
            return None
        try:
            return FindingKey.parse(key)
        except ValueError:
            return None

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.path), "kind": self.kind, **self.meta}

    def describe(self) -> str:
        """One line for the text output: what this file is, beyond its case."""
        m = self.meta
        if self.kind == "case":
            return ""
        if self.kind == "counterexample":
            bound = f" within {m['bound']}" if "bound" in m else ""
            return f"explore counterexample for {m.get('key', '?')}{bound}"
        what = {"finding": "campaign finding", "raw-finding": "raw campaign finding"}.get(
            self.kind, "raw fuzzer input, decoded"
        )
        parts = [what]
        if "key" in m:
            parts.append(f"{m['key']} (signature {m.get('signature', '?')})")
        if "engine" in m:
            parts.append(f"engine {m['engine']}, worker {m.get('worker', '?')}")
        if "first_seen_executions" in m:
            parts.append(
                f"first seen after {m['first_seen_executions']} executions "
                f"({m.get('first_seen_s', 0):.1f} s)"
            )
        if m.get("steps_found") is not None and m.get("steps_minimized") is not None:
            parts.append(f"minimised {m['steps_found']} -> {m['steps_minimized']} steps")
        return "; ".join(parts)


def is_raw_input(path: Path) -> bool:
    """Fuzzer bytes rather than JSON: by suffix, by libFuzzer's artifact names, by directory."""
    return (
        path.suffix == ".bin"
        or path.name.startswith(LIBFUZZER_ARTIFACTS)
        or path.parent.name == "libfuzzer-corpus"
    )


def decode_raw(path: Path, data: bytes) -> Source:
    """Run fuzzer bytes through the campaign's decoder (total: any bytes give a valid case)."""
    from pagefuzz.fuzz.generation.decode import decode

    case = decode(data, _era_of_raw(path))
    meta: dict[str, Any] = {"bytes": len(data)}
    sibling = path.with_suffix(".json")
    if path.suffix == ".bin" and sibling.is_file():  # findings/raw/<sig>.bin beside its .json
        try:
            recorded = json.loads(sibling.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            recorded = None
        if isinstance(recorded, dict):
            meta.update(_finding_meta(recorded))
    return Source(path, "raw-input", case, meta)


def _era_of_raw(path: Path) -> str:
    """The era fuzzer bytes decode in: that of the campaign they came from (its campaign.json's
    versions, up to three directories up: OUT/findings/raw/, OUT/crashes/, OUT/libfuzzer-
    corpus/); the seed's era for bytes found nowhere in a campaign."""
    from pagefuzz.fuzz.versions.resolve import era_of_names
    from pagefuzz.fuzz.versions.spec import VersionLoadError

    for parent in list(path.resolve().parents)[:3]:
        summary = parent / "campaign.json"
        if summary.is_file():
            try:
                versions = json.loads(summary.read_text(encoding="utf-8")).get("versions", [])
                return era_of_names([v for v in versions if isinstance(v, str)])
            except (OSError, UnicodeDecodeError, ValueError, AttributeError, VersionLoadError):
                return "2004-01"
    return "2004-01"


def _finding_meta(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in ("case", "removed")}


def _not_a_case(path: Path, raw: object) -> str | None:
    """Why a pagefuzz file that is valid JSON holds no case, with what to replay instead."""
    if isinstance(raw, dict):
        if raw.get("format") == CERTIFICATE_FORMAT:
            return (
                "an explore certificate, which holds no case; replay its counterexamples: "
                f"pagefuzz replay {path.parent}"
            )
        if "workers" in raw and "engine" in raw and "findings" in raw:
            return (
                "a campaign summary, which holds no case; replay the campaign's findings: "
                f"pagefuzz replay {path.parent}"
            )
        if raw.get("format") == KNOWN_FORMAT:
            return "a campaign's list of known findings, which holds no case"
        if set(raw) == {"error"}:
            return (
                "a crash record, which holds no case; replay the crashing input: "
                f"pagefuzz replay {path.with_suffix('.bin')}"
            )
    if isinstance(raw, list) and path.name == "known.json":  # campaigns before known-v1
        return "a campaign's list of known findings, which holds no case"
    return None


def load_source(path: Path, raw_bytes: bool = False) -> Source:
    """Read one file of any kind pagefuzz writes; every failure is one `CaseFileError` line."""
    if not path.exists():
        raise CaseFileError(f"{path}: cannot read: no such file or directory")
    data = read_file(path)
    if raw_bytes or is_raw_input(path):
        return decode_raw(path, data)
    raw = decode_json(path, data, "; if it is a fuzzer input, pass --raw")
    why = _not_a_case(path, raw)
    if why is not None:
        raise CaseFileError(f"{path}: {why}")
    if isinstance(raw, dict) and "case" in raw and "signature" in raw and "format" not in raw:
        case = case_from_json(raw["case"], path, within="case.")
        kind = "raw-finding" if path.parent.name == "raw" else "finding"
        return Source(path, kind, case, _finding_meta(raw))
    return Source(path, *_counterexample_or_case(path, case_from_json(raw, path)))


def _counterexample_or_case(path: Path, case: Case) -> tuple[str, Case, dict[str, Any]]:
    certificate = path.parent / "certificate.json"
    if not (path.name.startswith("shortest-") and certificate.is_file()):
        return "case", case, {}
    meta: dict[str, Any] = {}
    try:
        cert = json.loads(certificate.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        cert = None
    if isinstance(cert, dict):
        meta["bound"] = cert.get("bound")
        for found in (cert.get("versions") or {}).values():
            if not isinstance(found, dict):
                continue
            for key, info in found.items():
                if isinstance(info, dict) and info.get("case") == path.stem:
                    meta.update(key=key, signature=info.get("signature"))
    return "counterexample", case, meta


def _campaign_findings(directory: Path, include_raw: bool) -> Iterator[Path]:
    """A campaign's minimised findings, and the raw one of every finding not yet minimised (a
    campaign stopped while minimising must not lose it). `include_raw`: every raw one too."""
    findings = directory / "findings"
    done = sorted(findings.glob("*.json")) if findings.is_dir() else []
    yield from done
    minimised = {p.stem for p in done}
    raw_dir = findings / "raw"
    if raw_dir.is_dir():
        for raw in sorted(raw_dir.glob("*.json")):
            if include_raw or raw.stem not in minimised:
                yield raw


def _expand(directory: Path, include_raw: bool) -> Iterator[Path]:
    if (directory / "campaign.json").is_file():
        yield from _campaign_findings(directory, include_raw)
        return
    explore_dir = (directory / "certificate.json").is_file()
    for child in sorted(directory.iterdir()):
        if child.is_dir():
            if child.name in SKIPPED_DIRS and not (include_raw and child.name == "raw"):
                continue
            yield from _expand(child, include_raw)
        elif child.suffix == ".json" and child.is_file():
            if explore_dir and child.name == "certificate.json":
                continue
            if child.name in ("campaign.json", "known.json"):
                continue
            yield child


def collect_sources(paths: list[Path], include_raw: bool = False) -> list[Path]:
    """Files named directly (whatever they are), and the case files of each directory.

    `include_raw`: also the raw findings a campaign keeps beside the minimised ones (triage
    groups them all)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = list(_expand(path, include_raw))
            if not found:
                raise CaseFileError(f"{path}: no *.json case files in this directory")
            out.extend(found)
        elif not path.exists():
            raise CaseFileError(f"{path}: cannot read: no such file or directory")
        else:
            out.append(path)
    return out
