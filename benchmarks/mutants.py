"""The single-change mutants of `fixed`, built from their changes in benchmarks/mutants.toml.

Each mutant is kept as data, as Magma keeps bugs as patches: the method of `Fixed` (or of `Post`,
which it inherits) it changes, and the text replaced. This module reads the file, applies each
change to the method's source as `inspect` gives it, compiles the result in the namespace of the
module the method comes from (with sim/cint.py's C constants and helpers), and defines the
mutant class here under its `class` name, so that `--versions
py:benchmarks/mutants.py:LastOffByOne` loads it like any user's version. A change to
`fixed` reaches every mutant at once; a change whose `old` text no longer occurs exactly once is
an error naming the mutant.

A mistake inside a kernel function a version calls (a lost wakeup, a wrong hash) is a change to
that function of sim/filemap.py (`kernel`): the changed function is compiled beside the module's
own, the kernel calls the method makes that reach it (`calls`, default the function itself) are
compiled again around it, and the method runs with a kernel whose other calls are the world's.

The mutation benchmark (pagefuzz bench --part mutants, docs/mutants.md) and
tests/test_mutants_of_fixed.py read them; nothing in the shipped package imports this file.
"""

from __future__ import annotations
import __future__

import functools
import inspect
import sys
import textwrap
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pagefuzz.impls.fixed import Fixed
from pagefuzz.sim import cint, filemap
from pagefuzz.sim.world import Version

#: The changes, one `[[mutant]]` table each, in the order the benchmark lists them.
DATA: Final = Path(__file__).with_name("mutants.toml")

#: The methods of a version a change may be in.
METHODS: Final = ("operate_on_page_range", "page_writer", "page_waiter")


@dataclass(frozen=True)
class Change:
    """One mutant: one change to one method of Fixed, or to a kernel function that method sees."""

    class_name: str
    name: str
    summary: str
    method: str
    old: str
    new: str
    doc: str
    kernel: str | None = None
    calls: tuple[str, ...] = ()

    def where(self) -> str:
        """What the change is applied to, as the error messages and the tests name it."""
        return f"sim/filemap.py:{self.kernel}" if self.kernel else f"Fixed.{self.method}"


def _field(path: Path, index: int, table: dict[str, Any], field: str, required: bool = True) -> Any:
    value = table.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{path}: mutant {index}: field {field!r} must be a non-empty string")
    return value


def load_changes(path: Path = DATA) -> list[Change]:
    """The file's mutants, each checked field by field (a bad one is a one-line error)."""
    with path.open("rb") as f:
        tables = tomllib.load(f).get("mutant", [])
    changes = []
    for index, table in enumerate(tables):
        method = _field(path, index, table, "method")
        if method not in METHODS:
            raise ValueError(f"{path}: mutant {index}: field 'method' must be one of {METHODS}")
        kernel = _field(path, index, table, "kernel", required=False)
        calls = table.get("calls", [kernel] if kernel else [])
        if not isinstance(calls, list) or not all(isinstance(c, str) for c in calls):
            raise ValueError(f"{path}: mutant {index}: field 'calls' must be a list of names")
        changes.append(
            Change(
                class_name=_field(path, index, table, "class"),
                name=_field(path, index, table, "name"),
                summary=_field(path, index, table, "summary"),
                method=method,
                old=_field(path, index, table, "old"),
                new=_field(path, index, table, "new"),
                doc=" ".join(_field(path, index, table, "doc").split()),
                kernel=kernel,
                calls=tuple(calls),
            )
        )
    return changes


def source_of(function: Callable[..., Any]) -> str:
    """The function's source, dedented to module level."""
    return textwrap.dedent(inspect.getsource(function))


def changed_source(source: str, change: Change) -> str:
    """`source` with the change applied; its `old` text must occur exactly once."""
    found = source.count(change.old)
    if found != 1:
        raise ValueError(
            f"{DATA.name}: mutant {change.class_name}: field 'old' occurs {found} times in "
            f"{change.where()} (expected once: was the original changed?)"
        )
    return source.replace(change.old, change.new)


def _compile(source: str, name: str, namespace: dict[str, Any], origin: str) -> Any:
    """Define `name` from `source` in `namespace`, annotations unevaluated as in the package."""
    flags = __future__.annotations.compiler_flag
    exec(compile(source, f"<{origin}>", "exec", flags=flags, dont_inherit=True), namespace)
    return namespace[name]


class _ChangedKernel:
    """The world as a kernel mutant's method sees it: the changed calls, the rest the world's."""

    def __init__(self, world: Any, calls: dict[str, Callable[..., Any]]) -> None:
        self._world = world
        for name, call in calls.items():
            setattr(self, name, functools.partial(call, world))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._world, name)


def changed_calls(change: Change) -> dict[str, Callable[..., Any]]:
    """The kernel calls (`calls`) that reach the changed kernel function, each taking the world
    first, as sim/filemap.py's functions do."""
    assert change.kernel is not None
    namespace = dict(vars(filemap))
    function = getattr(filemap, change.kernel)
    source = changed_source(source_of(function), change)
    _compile(
        source, change.kernel, namespace, f"{change.where()} as {change.class_name} changes it"
    )
    calls = {}
    for call in change.calls:
        if call == change.kernel:
            calls[call] = namespace[call]
        else:  # compiled again, so that it calls the changed function
            source = source_of(getattr(filemap, call))
            calls[call] = _compile(source, call, namespace, f"sim/filemap.py:{call}")
    return calls


def _kernel_method(change: Change) -> Callable[..., Any]:
    """Fixed's method, run with a kernel whose `calls` reach the changed kernel function."""
    calls = changed_calls(change)
    original = getattr(Fixed, change.method)

    def method(self: Version, k: Any, *args: Any) -> Any:
        return original(self, _ChangedKernel(k, calls), *args)

    method.__name__ = change.method
    return method


def _version_method(change: Change) -> Callable[..., Any]:
    """Fixed's method (or the one it inherits) compiled again with the change applied."""
    original = getattr(Fixed, change.method)
    namespace = {**vars(cint), **vars(sys.modules[original.__module__])}
    source = changed_source(source_of(original), change)
    origin = f"{change.where()} as {change.class_name} changes it"
    method: Callable[..., Any] = _compile(source, change.method, namespace, origin)
    return method


def build(change: Change, module: str = __name__) -> type[Version]:
    """The mutant class: Fixed with the one change, its name, summary and doc from the data."""
    method = _kernel_method(change) if change.kernel else _version_method(change)
    body = {
        "__module__": module,
        "__qualname__": change.class_name,
        "__doc__": change.doc,
        "name": change.name,
        "summary": change.summary,
        "change": change,
        change.method: method,
    }
    return type(change.class_name, (Fixed,), body)


#: name (what the benchmark shows, `fixed~...`) -> mutant class, in the file's order.
MUTANTS: Final[dict[str, type[Version]]] = {c.name: build(c) for c in load_changes()}
globals().update({cls.__name__: cls for cls in MUTANTS.values()})
