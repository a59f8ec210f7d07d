"""Case files into the shell, and the `replay` command's loop.

Owns: reading a file's bytes and JSON with one-line errors (`CaseFileError`); `case_from_json`,
the one door from decoded JSON to a `Case` that every loading path goes through (`load_case`
here, `load_source` in `_artifacts`): `sim.case.parse_case` checks the format and the
vocabulary of `expect`, then `check_expect_versions` asks the registry whether the versions
`expect` names exist (sim cannot: it imports nothing above it); collecting case files below
directories; and `run_replay`, which evaluates each source (`oracle.evaluate.evaluate`, the one
evaluation path), prints it or streams it as one JSON line, and drops it before the next.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from pagefuzz import _output
from pagefuzz.fuzz.versions import is_external
from pagefuzz.impls.registry import DEFAULT_VERSIONS, REGISTRY
from pagefuzz.oracle.evaluate import evaluate
from pagefuzz.sim import Case, InvalidCase, parse_case
from pagefuzz.sim.case import split_pair

if TYPE_CHECKING:
    from pagefuzz._artifacts import Source


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


def replay_json(case: Case, versions: Sequence[str] | None = None) -> dict[str, Any]:
    """The documented `pagefuzz replay --json` object for one case, less its `source`
    (docs/replay.md); the default versions when none are named."""
    return evaluate(case, list(versions) if versions else list(DEFAULT_VERSIONS)).to_json()


def run_replay(
    console: Console,
    sources: Sequence[Source],
    versions: Callable[[Source], Sequence[str]],
    as_json: bool = False,
    events: bool = True,
    trace: bool = False,
) -> _output.Tally:
    """Evaluate each source in its versions (`versions(source)`), in order, and print it (or,
    `as_json`, write it to stdout as one JSON line, `events` saying whether each run's event
    list is in it). One
    case's runs are held at a time: each is shown and dropped before the next runs, so memory
    stays flat whatever the number of cases. Ends with the count line and the failing files
    (the count line on stderr under `as_json`); returns the tally."""
    tally = _output.Tally()
    with _output.replay_progress(console, len(sources)) as advance:
        for source in sources:
            evaluation = evaluate(source.case, list(versions(source)))
            tally.add(source.path, evaluation)
            if as_json:
                obj = {"case": source.case.name, "source": source.to_json()}
                obj.update(evaluation.to_json(events=events))
                sys.stdout.write(json.dumps(obj) + "\n")
                sys.stdout.flush()
            else:
                _output.print_replay(console, source.path, evaluation, trace, source.describe())
            del evaluation
            advance(source.path)
    if as_json:  # stdout is the JSON Lines alone
        sys.stderr.write(tally.line() + "\n")
    else:
        console.print(tally.line())
        for path in tally.failing:
            why = f" ({tally.why[path]})" if path in tally.why else ""
            console.print(f"  failed: {path}{why}")
    return tally
