"""The versions of a run, by identity: each name parsed once into a `VersionSpec`
(fuzz/versions/spec.py), which `build` turns into what runs it: a built-in version's instance,
or for a version from outside the package its `HostedVersion` (fuzz/versions/isolation.py),
started at once so that a file that cannot be used is one line before any run. A process keeps
the specs it resolved and the fork servers it started (one per file: `version_of` hands the
same one out again); the built-in registry (impls/registry.py) is never changed. Also what an
artifact records of the versions, and resolving again what it recorded."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from pagefuzz.fuzz.versions.isolation import HostedVersion
from pagefuzz.fuzz.versions.spec import (
    RECORDS_ENV,
    VersionLoadError,
    VersionSpec,
    _py_parts,
    is_external,
    parse_records,
    parse_spec,
)
from pagefuzz.impls.registry import ERA_OF, REGISTRY, get_version
from pagefuzz.sim.case import VersionRecord
from pagefuzz.sim.world import Version

#: The specs resolved in this process, by identity.
_SPECS: dict[str, VersionSpec] = {}
#: The versions from outside the package started in this process, by identity: one fork server
#: per file, whoever asks for it.
_HOSTED: dict[str, HostedVersion] = {}


def spec_of(name: str) -> VersionSpec:
    """The spec a version was resolved with (a built-in one's, if never parsed)."""
    found = _SPECS.get(name)
    if found is not None:
        return found
    if name in REGISTRY and not is_external(name):
        return VersionSpec(name, name, "built-in")
    raise KeyError(name)


def build(spec: VersionSpec) -> Version | HostedVersion:
    """What runs the version: a built-in one's new instance; for one from outside the package
    its `HostedVersion`, started (its code loaded, in its fork server) the first time, so that a
    file that cannot be used is one line then rather than an error in the middle of a run."""
    if not spec.external:
        return get_version(spec.name)
    hosted = _HOSTED.get(spec.name)
    if hosted is None:
        hosted = HostedVersion(spec)
        hosted.start()  # a load error is one line here
        _HOSTED[spec.name] = hosted
    return hosted


def version_of(name: str) -> Version | HostedVersion:
    """The version of a resolved identity (`resolve_name`'s), built by its spec."""
    return build(spec_of(name))


def versions_of(names: Sequence[str]) -> list[Version | HostedVersion]:
    return [version_of(name) for name in names]


def era_of(name: str) -> str:
    """The era of a resolved identity: a built-in version's from the registry; a version from
    outside the package as its fork server loaded it (`HostedVersion.era`: a `c:` file defining
    wait_on_page_writeback_range_wq is of the July 2004 era, a `py:` file's class says)."""
    if name in ERA_OF and not is_external(name):
        return ERA_OF[name]
    return version_of(name).era


def era_of_names(names: Sequence[str]) -> str:
    """The one era of resolved versions, each its own (`era_of`: a file's as its code says);
    the seed's era for none. Versions of two eras together are a ValueError naming them (a
    case runs in one era's world)."""
    eras: dict[str, str] = {}
    for name in names:
        eras.setdefault(era_of(name), name)
    if len(eras) > 1:
        shown = ", ".join(f"{name} ({era})" for era, name in sorted(eras.items()))
        raise ValueError(f"versions of two eras cannot run together: {shown}")
    return next(iter(eras), "2004-01")


def era_for(versions: Sequence[str] | None, era: str | None) -> str:
    """The era a command runs in: that of its `--versions` (one era), else `--era`, else the
    seed's. A ValueError line naming the flag when they disagree, or when `--versions` mixes
    two eras."""
    if not versions:
        return era or "2004-01"
    try:
        theirs = era_of_names(versions)
    except ValueError as exc:
        raise ValueError(f"--versions: {exc}") from None
    if era is not None and theirs != era:
        raise ValueError(f"--era {era}: --versions {', '.join(versions)} are of era {theirs}")
    return theirs


def resolve_name(given: str) -> str:
    """Parse `given` once, build its version (a file's fork server is started here) and return
    its identity, what every output names it by."""
    spec = parse_spec(given)
    if not spec.external:
        return spec.name
    earlier = _SPECS.get(spec.name)
    if earlier is not None:
        if earlier.path != spec.path:
            raise VersionLoadError(
                f"{given}: another version in this run is named {spec.name} "
                f"({earlier.given}, {earlier.path}); rename one of the files"
            )
        return spec.name
    build(spec)
    _SPECS[spec.name] = spec
    return spec.name


def resolve_versions(names: Sequence[str]) -> list[str]:
    """Resolve every version among `names`; their identities, in order."""
    return [resolve_name(name) for name in names]


def records_of(names: Sequence[str]) -> tuple[VersionRecord, ...]:
    """What an artifact records of the resolved versions `names` (by identity)."""
    return tuple(spec_of(name).record() for name in names)


def records_json(names: Sequence[str]) -> str:
    """The records of `names` as JSON (RECORDS_ENV's value, campaign.json's)."""
    return json.dumps([record.to_json() for record in records_of(names)])


def resolve_for_worker(names: Sequence[str]) -> list[str]:
    """A worker's versions: from the records its campaign passed (RECORDS_ENV), else the names."""
    text = os.environ.get(RECORDS_ENV)
    if not text:
        return resolve_versions(names)
    resolved, _warnings = resolve_recorded(parse_records(json.loads(text)))
    return resolved


def resolve_recorded(records: Sequence[VersionRecord]) -> tuple[list[str], list[str]]:
    """The versions an artifact recorded, registered again: their identities, and one warning
    line for each file that changed since (its SHA-256 differs). A file is looked for as it was
    typed (relative to the current directory), then where it was; VersionLoadError, one line,
    if neither is there."""
    names: list[str] = []
    warnings: list[str] = []
    for record in records:
        if not is_external(record.name):
            names.append(resolve_name(record.name))
            continue
        prefix = "c:" if record.name.startswith("c:") else "py:"
        _, _, wanted = _py_parts(record.name) if prefix == "py:" else ("", "", "")
        suffix = f":{wanted}" if wanted else ""
        candidates: list[str] = []
        if record.given:
            candidates.append(record.given)
        if record.file:
            candidates.append(prefix + record.file + suffix)
        found: list[VersionSpec] = []
        for given in candidates:
            try:
                found.append(parse_spec(given))
            except VersionLoadError:
                continue
        if not found:
            raise VersionLoadError(
                f"{record.name}: recorded from {record.file or record.given}, which is not "
                f"there; name the file: --versions {prefix}PATH{suffix}"
            )
        same = [spec for spec in found if spec.sha256 == record.sha256]
        chosen = (same or found)[0]
        if not same and record.sha256:
            warnings.append(
                f"warning: {record.name}: {chosen.path} has changed since the case was written "
                f"(sha256 {record.sha256[:12]} then, {(chosen.sha256 or '?')[:12]} now)"
            )
        names.append(resolve_name(chosen.given))
    return names, warnings
