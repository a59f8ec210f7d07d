"""Loading case files and replaying them: the shell around `sim.run_case`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impls.registry import DEFAULT_VERSIONS, REGISTRY, get_version
from oracle import CHECKS, CLASSES, Differential, Verdict, differential, judge
from sim import Case, InvalidCase, RunRecord, parse_case, run_case


class CaseFileError(Exception):
    """A case file that cannot be used; str() is the one line to print (file: field: why)."""


def read_file(path: Path) -> bytes:
    """A file's bytes, or a `CaseFileError` line naming it."""
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise CaseFileError(f"{path}: is a directory, not a case file") from None
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot read: {exc.strerror or exc}") from None


def decode_json(path: Path, data: bytes, hint: str = "") -> object:
    """Decoded JSON of a file's bytes, or a `CaseFileError` line naming the file and where."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseFileError(f"{path}: not UTF-8 (byte {exc.start}){hint}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseFileError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def load_case(path: Path) -> Case:
    """Read and validate one case file; every failure is a `CaseFileError` naming the file."""
    raw = decode_json(path, read_file(path))
    try:
        case = parse_case(raw, default_name=path.stem)
    except InvalidCase as exc:
        raise CaseFileError(f"{path}: {exc}") from None
    validate_expect(case, str(path))
    return case


def collect_case_files(paths: list[Path]) -> list[Path]:
    """Files named directly, and every *.json below a directory, sorted."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not found:
                raise CaseFileError(f"{path}: no *.json case files in this directory")
            out.extend(found)
        else:
            out.append(path)
    return out


def run_versions(case: Case, versions: list[str] | None = None) -> dict[str, RunRecord]:
    names = list(versions) if versions else list(DEFAULT_VERSIONS)
    return {name: run_case(case, get_version(name)) for name in names}


def replay_json(case: Case, versions: list[str] | None = None) -> dict[str, Any]:
    """The documented `pagefuzz replay --json` object for one case (docs/replay.md)."""
    return replay_case(case, versions).to_json()


@dataclass(frozen=True)
class Mismatch:
    what: str  # "pre" or "pre/post"
    expected: object
    actual: object

    def line(self) -> str:
        return f"expected {self.what}: {_show(self.expected)}, got {_show(self.actual)}"


def _show(value: object) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]" if value else "pass"
    return str(value)


@dataclass(frozen=True)
class Outcome:
    """Everything `replay` shows for one case: records, verdicts, differentials, expectations."""

    case: Case
    records: dict[str, RunRecord]
    verdicts: dict[str, Verdict]
    differentials: tuple[Differential, ...]
    mismatches: tuple[Mismatch, ...]

    @property
    def expectation_ok(self) -> bool:
        return not self.mismatches

    def to_json(self, events: bool = True) -> dict[str, Any]:
        """The documented object (docs/replay.md); `events=False` leaves out each run's event
        list, for scripts that read only facts and verdicts."""
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


def validate_expect(case: Case, source: str) -> None:
    """The `expect` object: {"checks": {version: [check...]}, "differential": {"a/b": class}}."""
    expect = case.expect
    if expect is None:
        return
    for key in sorted(expect):
        if key not in ("checks", "differential"):
            raise CaseFileError(f"{source}: expect.{key}: unknown field (use checks, differential)")
    checks = expect.get("checks", {})
    if not isinstance(checks, dict):
        raise CaseFileError(f"{source}: expect.checks: must be an object of version -> checks")
    for version, names in checks.items():
        if version not in REGISTRY:
            raise CaseFileError(f"{source}: expect.checks.{version}: unknown version")
        if not isinstance(names, list):
            raise CaseFileError(f"{source}: expect.checks.{version}: must be a list of checks")
        for i, name in enumerate(names):
            if name not in CHECKS:
                raise CaseFileError(
                    f"{source}: expect.checks.{version}[{i}]: unknown check "
                    f"{name!r}; checks are {', '.join(CHECKS)}"
                )
    diffs = expect.get("differential", {})
    if not isinstance(diffs, dict):
        raise CaseFileError(f'{source}: expect.differential: must be an object of "a/b" -> class')
    for pair, cls in diffs.items():
        parts = pair.split("/")
        if len(parts) != 2 or any(p not in REGISTRY for p in parts):
            raise CaseFileError(
                f'{source}: expect.differential.{pair}: must name two known versions as "a/b"'
            )
        if cls not in CLASSES:
            raise CaseFileError(
                f"{source}: expect.differential.{pair}: unknown class {cls!r}; "
                f"classes are {', '.join(CLASSES)}"
            )


def replay_case(case: Case, versions: list[str] | None = None) -> Outcome:
    """Run, judge and compare one case; check its `expect` against the versions that ran."""
    records = run_versions(case, versions)
    verdicts = {name: judge(record) for name, record in records.items()}
    names = list(records)
    diffs = tuple(
        differential(records[a], verdicts[a], records[b], verdicts[b])
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    )
    mismatches: list[Mismatch] = []
    expect = case.expect or {}
    for version, wanted in expect.get("checks", {}).items():
        if version in verdicts:
            got = list(verdicts[version].checks)
            if sorted(wanted) != sorted(got):
                mismatches.append(Mismatch(version, sorted(wanted, key=CHECKS.index), got))
    by_pair = {f"{d.pair[0]}/{d.pair[1]}": d for d in diffs}
    for pair, cls in expect.get("differential", {}).items():
        d = by_pair.get(pair)
        if d is not None and d.cls != cls:
            mismatches.append(Mismatch(pair, cls, d.cls))
    return Outcome(case, records, verdicts, diffs, tuple(mismatches))
