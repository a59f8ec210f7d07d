"""The versions a command runs: the names given to --versions/--impl, registered once under their
identities, else what a case records, else the defaults."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pagefuzz._casefile import CaseFileError
from pagefuzz.fuzz.versions.resolve import era_of, resolve_name, resolve_recorded
from pagefuzz.fuzz.versions.spec import VersionLoadError
from pagefuzz.impls.registry import DEFAULT_VERSIONS, ERA_DEFAULT_VERSIONS
from pagefuzz.sim import Case


def given_versions(given: list[tuple[str, str]] | None) -> list[str] | None:
    """The versions named by --versions/--impl, in order, by their identities (a file's is its
    base name: `c:../fix.c` is `c:fix.c`); None when the flag was not given. An unknown name is
    one `CaseFileError` line under the flag it was typed with."""
    if not given:
        return None
    names: list[str] = []
    for flag, chunk in given:
        for name in (n.strip() for n in chunk.split(",")):
            if not name:
                continue
            try:  # a built-in name, an installed plugin, py:FILE.py[:Class] or c:FILE.c
                identity = resolve_name(name)
            except VersionLoadError as exc:
                raise CaseFileError(f"{flag}: {exc}") from None
            if identity not in names:
                names.append(identity)
    return names or None


def versions_of_case(
    flag: list[str] | None, path: Path, case: Case, warn: Callable[[str], None]
) -> list[str]:
    """The versions to run a case in: `--versions` if given, else the versions the case
    records (an artifact pagefuzz wrote), else the defaults. A recorded file that changed is a
    warning (`warn`); one that cannot be found is a `CaseFileError` naming the case."""
    if flag:
        return of_era(flag, path, case)
    if not case.versions:
        return list(ERA_DEFAULT_VERSIONS[case.config.era])
    try:
        names, warnings = resolve_recorded(case.versions)
    except VersionLoadError as exc:
        raise CaseFileError(f"{path}: versions: {exc}") from None
    for line in warnings:
        warn(line)
    return names


def of_era(names: list[str], path: Path, case: Case) -> list[str]:
    """The versions among `names` written for the case's era (a version from a file or a plugin
    is of the era its loaded code says: fuzz/versions/resolve.py `era_of`); none is one
    `CaseFileError` line naming the case and its era."""
    era = case.config.era
    kept = [n for n in names if era_of(n) == era]
    if not kept:
        raise CaseFileError(
            f"{path}: a case of era {era}, and none of the versions {', '.join(names)} is of "
            f"it (that era's: {', '.join(ERA_DEFAULT_VERSIONS[era])})"
        )
    return kept


def versions_or_default(given: list[tuple[str, str]] | None) -> list[str]:
    return given_versions(given) or list(DEFAULT_VERSIONS)
