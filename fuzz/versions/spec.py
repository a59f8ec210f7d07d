"""Versions by the name the user gives: built-in names, `py:PATH.py[:Class]` (a `Version`
subclass in a Python file), `c:PATH.c` (kernel C compiled into the world, impls/cversion.py) and
installed plugins (entry points of the group `pagefuzz.versions`).

A name is parsed once into a `VersionSpec`: its identity, where it comes from, its file resolved
and the file's SHA-256. The identity of a version from a file is its prefix and the file's base
name (`c:myfix.c`, `py:fix.py:MyFix`), whatever the path was typed as (`c:../myfix.c`,
`c:/tmp/x/myfix.c`): finding keys, signatures, `expect` entries and file names use it, so the
same bug of the same file has one signature on every machine. Two different files with one
base name in one run are refused.

Code from outside the package is hostile until proven otherwise (it may loop, crash, or end the
process): it is never imported or run in pagefuzz's own process. `resolve_name`
(fuzz/versions/resolve.py) registers a version from outside as a `HostedVersion`
(fuzz/versions/isolation.py), whose runs go to a fork
server that loads the code in a process of its own. `load_in_process` is what that process (and only
it, or a test that wants the code in its own process) uses to load it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Final

from pagefuzz.impls.registry import BUILT_IN, REGISTRY
from pagefuzz.sim.case import VersionRecord
from pagefuzz.sim.world import Version

#: The entry-point group an installed plugin declares its versions in (name -> Version class).
ENTRY_POINT_GROUP: Final = "pagefuzz.versions"
#: Where a worker finds the directory relative version paths are resolved against.
BASE_ENV: Final = "PAGEFUZZ_VERSIONS_BASE"
#: Where a campaign's worker finds the versions as given, with their files (JSON records): the
#: names alone do not say where a file is.
RECORDS_ENV: Final = "PAGEFUZZ_VERSION_RECORDS"
#: Where each version comes from (`VersionSpec.origin`).
ORIGINS: Final = ("built-in", "plugin", "py", "c")


class VersionLoadError(Exception):
    """A version that cannot be loaded; str() is one line naming the file or the name."""


@dataclass(frozen=True)
class VersionSpec:
    """A version as the user named it, parsed once: `name` is its identity (what every output,
    key and file name uses), `given` the text typed, `origin` one of ORIGINS, and for a file
    its resolved `path`, its `sha256` and (py:) the class asked for."""

    name: str
    given: str
    origin: str
    path: Path | None = None
    sha256: str | None = None
    cls: str | None = None

    @property
    def external(self) -> bool:
        """From outside the package: run in a process of its own (fuzz/versions/isolation.py)."""
        return self.origin != "built-in"

    def to_json(self) -> dict[str, Any]:
        """How an artifact records it (docs/case-format.md, "versions")."""
        return self.record().to_json()

    def record(self) -> VersionRecord:
        if self.origin == "plugin":
            return VersionRecord(self.name, plugin=True)
        if self.path is None:
            return VersionRecord(self.name)
        return VersionRecord(self.name, self.given, str(self.path), self.sha256)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> VersionSpec:
        """A spec as an artifact recorded it (checked by sim.case.parse_case)."""
        name = str(raw["name"])
        if raw.get("plugin"):
            return cls(name, name, "plugin")
        if "file" not in raw:
            return cls(name, name, "built-in")
        origin = "py" if name.startswith("py:") else "c"
        _, _, wanted = name.partition(".py:") if origin == "py" else ("", "", "")
        return cls(
            name,
            str(raw.get("given", name)),
            origin,
            Path(str(raw["file"])),
            None if raw.get("sha256") is None else str(raw["sha256"]),
            wanted or None,
        )


def is_external(name: str) -> bool:
    return name.startswith(("py:", "c:"))


def identity(name: str) -> str:
    """The identity of a version name: a `py:`/`c:` path reduced to its base name (what older
    artifacts, which recorded the path as typed, are read back as); any other name as it is."""
    if name.startswith("c:"):
        return "c:" + _base(name[2:])
    if name.startswith("py:"):
        text, _, wanted = _py_parts(name)
        return f"py:{_base(text)}" + (f":{wanted}" if wanted else "")
    return name


def _base(text: str) -> str:
    return text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _py_parts(name: str) -> tuple[str, str, str]:
    """`py:dir/fix.py:Cls` as ("dir/fix.py", ".py:", "Cls"); ("dir/fix.py", "", "") without."""
    text, sep, wanted = name[3:].partition(".py:")
    return (text + ".py", sep, wanted) if sep else (name[3:], "", "")


def _resolve(given: str, text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path(os.environ.get(BASE_ENV) or os.getcwd()) / path
    if not path.is_file():
        raise VersionLoadError(f"{given}: no such file")
    return path.resolve()


def _sha256(path: Path, given: str) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise VersionLoadError(f"{given}: {path}: cannot read: {exc.strerror or exc}") from None


def parse_spec(given: str) -> VersionSpec:
    """Parse a version name as typed; VersionLoadError (one line) if it names nothing. A file is
    resolved (relative to $PAGEFUZZ_VERSIONS_BASE, else the current directory) and hashed; a
    plugin is looked up by name, not loaded (its code runs only in its fork server)."""
    if given in REGISTRY and not is_external(given):
        return VersionSpec(given, given, "built-in")
    if given.startswith("c:"):
        if len(given) <= 2:
            raise VersionLoadError(f"{given}: a C version is named c:PATH.c")
        path = _resolve(given, given[2:])
        return VersionSpec(identity(given), given, "c", path, _sha256(path, given))
    if given.startswith("py:"):
        text, _, wanted = _py_parts(given)
        path = _resolve(given, text)
        return VersionSpec(identity(given), given, "py", path, _sha256(path, given), wanted or None)
    if any(ep.name == given for ep in entry_points(group=ENTRY_POINT_GROUP)):
        return VersionSpec(given, given, "plugin")
    plugins = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    known = ", ".join([*BUILT_IN, *plugins])
    raise VersionLoadError(f"unknown version {given!r}; known: {known}")


def parse_records(raw: object) -> tuple[VersionRecord, ...]:
    """Records read back from JSON (a worker's environment, a campaign summary)."""
    from pagefuzz.sim.case import InvalidCase, parse_versions

    try:
        return parse_versions(raw)
    except InvalidCase as exc:
        raise VersionLoadError(f"versions: {exc}") from None


# ------------------------------------------------------------- loading the code in-process


def load_in_process(spec: VersionSpec) -> type[Version]:
    """The version's class, loaded into this process: only a version's fork server (or a test
    that wants the code in its own process) calls this. Named by the spec's identity, with its
    `source_file` set for failures' frames."""
    if spec.origin == "py":
        assert spec.path is not None
        cls = _python_class(spec)
    elif spec.origin == "c":
        cls = _c_class(spec)
    elif spec.origin == "plugin":
        cls = _plugin_class(spec)
    else:
        factory = REGISTRY[spec.name]
        if not (inspect.isclass(factory) and issubclass(factory, Version)):
            raise VersionLoadError(f"{spec.name}: not a Version class")
        return factory
    source = None if spec.path is None else str(spec.path)
    if spec.origin == "plugin":
        source = inspect.getsourcefile(cls)
    named = type(
        cls.__name__,
        (cls,),
        {"name": spec.name, "__module__": cls.__module__, "source_file": source},
    )
    return named


def _python_class(spec: VersionSpec) -> type[Version]:
    """`py:PATH.py` (the one Version subclass the file defines) or `py:PATH.py:Class`."""
    assert spec.path is not None
    given, path, wanted = spec.given, spec.path, spec.cls
    module_name = "pagefuzz_user_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise VersionLoadError(f"{given}: not a Python file")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except BaseException as exc:  # whatever the user's file raises, one line naming it
        del sys.modules[module_name]
        where = ""
        if isinstance(exc, SyntaxError) and exc.lineno:
            where = f" (line {exc.lineno})"
        raise VersionLoadError(
            f"{given}: cannot import: {type(exc).__name__}: {exc}{where}".splitlines()[0]
        ) from None
    found = {
        cls.__name__: cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Version) and cls is not Version and cls.__module__ == module_name
    }
    if wanted:
        if wanted not in found:
            have = ", ".join(sorted(found)) or "none"
            raise VersionLoadError(
                f"{given}: no Version subclass named {wanted!r} (it defines: {have})"
            )
        return found[wanted]
    if not found:
        raise VersionLoadError(f"{given}: defines no subclass of pagefuzz.sim.world.Version")
    if len(found) > 1:
        raise VersionLoadError(
            f"{given}: defines {len(found)} Version subclasses "
            f"({', '.join(sorted(found))}); name one: {given}:{sorted(found)[0]}"
        )
    return next(iter(found.values()))


def _c_class(spec: VersionSpec) -> type[Version]:
    try:
        from pagefuzz.impls import cversion
    except ImportError as exc:
        raise VersionLoadError(f"{spec.given}: C versions are not available here: {exc}") from None
    assert spec.path is not None
    try:
        return cversion.load_c_version(spec.given, spec.name, str(spec.path))
    except cversion.CVersionError as exc:
        raise VersionLoadError(str(exc)) from None


def _plugin_class(spec: VersionSpec) -> type[Version]:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == spec.name:
            try:
                cls = ep.load()
            except BaseException as exc:  # a broken plugin is one line, like a broken file
                raise VersionLoadError(
                    f"{spec.name}: plugin {ep.value} cannot be loaded: {type(exc).__name__}: {exc}"
                ) from None
            if not (inspect.isclass(cls) and issubclass(cls, Version)):
                raise VersionLoadError(f"{spec.name}: plugin {ep.value} is not a Version subclass")
            return cls
    raise VersionLoadError(f"unknown version {spec.name!r}")
