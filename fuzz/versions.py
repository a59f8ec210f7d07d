"""Versions from outside the package, by the name the user gives: `py:PATH.py[:Class]` (a
`Version` subclass in a Python file), `c:PATH.c` (kernel C compiled into the world, impls/
cversion.py) and installed plugins (entry points of the group `pagefuzz.versions`).

`ensure_registered(name)` loads such a version once per process and registers it under the name
as given, so that every output, finding key and `expect` entry names it that way. Campaign
workers run in the campaign's directory: a relative path is resolved against the directory the
user ran pagefuzz in, which the supervisor passes in `PAGEFUZZ_VERSIONS_BASE`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Final

from pagefuzz.impls.registry import BUILT_IN, REGISTRY, register
from pagefuzz.sim.world import Version

#: The entry-point group an installed plugin declares its versions in (name -> Version class).
ENTRY_POINT_GROUP: Final = "pagefuzz.versions"
#: Where a worker finds the directory relative version paths are resolved against.
BASE_ENV: Final = "PAGEFUZZ_VERSIONS_BASE"


class VersionLoadError(Exception):
    """A version that cannot be loaded; str() is one line naming the file or the name."""


def is_external(name: str) -> bool:
    return name.startswith(("py:", "c:"))


def resolve_versions(names: Sequence[str]) -> None:
    """Register every external version among `names` (built-in names are left alone)."""
    for name in names:
        ensure_registered(name)


def ensure_registered(name: str) -> None:
    if name in REGISTRY:
        return
    if name.startswith("py:"):
        factory = _python_version(name)
    elif name.startswith("c:"):
        factory = _c_version(name)
    else:
        factory = _plugin_version(name)
    register(name, factory)


def _path(name: str, text: str) -> Path:
    path = Path(text)
    if not path.is_absolute():
        path = Path(os.environ.get(BASE_ENV) or os.getcwd()) / path
    if not path.is_file():
        raise VersionLoadError(f"{name}: {text}: no such file")
    return path


def _named(cls: type[Version], name: str) -> Callable[[], Version]:
    """A factory for `cls` whose instances are named as the user wrote the version."""
    named = type(cls.__name__, (cls,), {"name": name, "__module__": cls.__module__})
    return named


def _python_version(name: str) -> Callable[[], Version]:
    """`py:PATH.py` (the one Version subclass the file defines) or `py:PATH.py:Class`."""
    text, _, wanted = name[3:].partition(".py:")
    text = text + ".py" if wanted else name[3:]
    path = _path(name, text)
    module_name = "pagefuzz_user_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise VersionLoadError(f"{name}: {text}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # whatever the user's file raises, one line naming it
        del sys.modules[module_name]
        where = ""
        if isinstance(exc, SyntaxError) and exc.lineno:
            where = f" (line {exc.lineno})"
        raise VersionLoadError(
            f"{name}: {text}: cannot import: {type(exc).__name__}: {exc}{where}".splitlines()[0]
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
                f"{name}: {text}: no Version subclass named {wanted!r} (it defines: {have})"
            )
        return _named(found[wanted], name)
    if not found:
        raise VersionLoadError(f"{name}: {text}: defines no subclass of pagefuzz.sim.world.Version")
    if len(found) > 1:
        raise VersionLoadError(
            f"{name}: {text}: defines {len(found)} Version subclasses ({', '.join(sorted(found))});"
            f" name one: py:{text}:{sorted(found)[0]}"
        )
    return _named(next(iter(found.values())), name)


def _c_version(name: str) -> Callable[[], Version]:
    try:
        cversion = importlib.import_module("pagefuzz.impls.cversion")
    except ImportError as exc:
        raise VersionLoadError(f"{name}: C versions are not available here: {exc}") from None
    _path(name, name[2:])
    try:
        factory: Callable[[], Version] = cversion.load_c_version(name)
    except cversion.CVersionError as exc:
        raise VersionLoadError(str(exc)) from None
    return factory


def _plugin_version(name: str) -> Callable[[], Version]:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            try:
                cls = ep.load()
            except Exception as exc:  # a broken plugin is one line, like a broken file
                raise VersionLoadError(
                    f"{name}: plugin {ep.value} cannot be loaded: {type(exc).__name__}: {exc}"
                ) from None
            if not (inspect.isclass(cls) and issubclass(cls, Version)):
                raise VersionLoadError(f"{name}: plugin {ep.value} is not a Version subclass")
            return _named(cls, name)
    plugins = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    known = ", ".join([*BUILT_IN, *plugins])
    raise VersionLoadError(f"unknown version {name!r}; known: {known}")
