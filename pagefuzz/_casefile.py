"""Case files into the shell: reading a file's bytes and JSON with one-line errors
(`CaseFileError`); `case_from_json`, the one door from decoded JSON to a `Case` that every
loading path goes through (`load_case` here, `load_source` in `_artifacts`): `sim.case.parse_case`
checks the format and the vocabulary of `expect`, then `check_expect_versions` asks the registry
whether the versions `expect` names exist (sim cannot: it imports nothing above it); and
collecting case files below directories."""

from __future__ import annotations

import json
from pathlib import Path

from pagefuzz.fuzz.versions.spec import is_external
from pagefuzz.impls.registry import REGISTRY
from pagefuzz.sim import Case, InvalidCase, parse_case
from pagefuzz.sim.case import split_pair


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


def check_expect_versions(case: Case) -> None:
    """Every version the case's `expect` names is registered (parse_case has checked the rest:
    fields, checks, classes, the form of the names); `InvalidCase` naming the entry if not."""
    expect = case.expect or {}
    for version in expect.get("checks", {}):
        if version not in REGISTRY and not is_external(version):
            raise InvalidCase(f"expect.checks.{version}", "unknown version")
    for pair in expect.get("differential", {}):
        names = split_pair(pair) or ()
        if any(p not in REGISTRY and not is_external(p) for p in names):
            raise InvalidCase(
                f"expect.differential.{pair}", 'must name two known versions as "a/b"'
            )


def case_from_json(raw: object, path: Path, within: str = "") -> Case:
    """Decoded JSON as a `Case` (named after the file when it names none), validated by the
    format and by the registry; a `CaseFileError` line naming the file and the field otherwise.
    `within` prefixes the field when the case is part of a larger object (`case.` in a finding)."""
    try:
        case = parse_case(raw, default_name=path.stem)
        check_expect_versions(case)
    except InvalidCase as exc:
        raise CaseFileError(f"{path}: {within}{exc}") from None
    return case


def load_case(path: Path) -> Case:
    """Read and validate one case file; every failure is a `CaseFileError` naming the file."""
    return case_from_json(decode_json(path, read_file(path)), path)


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
