"""Loading case files and replaying them: the shell around `sim.run_case`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from impls.registry import DEFAULT_VERSIONS, get_version
from sim import Case, InvalidCase, RunRecord, parse_case, run_case


class CaseFileError(Exception):
    """A case file that cannot be used; str() is the one line to print (file: field: why)."""


def load_case(path: Path) -> Case:
    """Read and validate one case file; every failure is a `CaseFileError` naming the file."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise CaseFileError(f"{path}: is a directory, not a case file") from None
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseFileError(f"{path}: not UTF-8 (byte {exc.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseFileError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: "
                            f"{exc.msg}") from None
    try:
        return parse_case(raw, default_name=path.stem)
    except InvalidCase as exc:
        raise CaseFileError(f"{path}: {exc}") from None


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
    records = run_versions(case, versions)
    return {
        "case": case.name,
        "config": case.config.to_json(),
        "versions": {name: record.to_json() for name, record in records.items()},
    }
