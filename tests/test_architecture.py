"""The functional core stays pure and the dependency arrows point one way.

impls -> sim; oracle -> sim; fuzz -> everything; nothing imports fuzz; the core (sim, impls,
oracle) imports no clock, no randomness, no I/O module.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "sim": {"sim"},
    "impls": {"sim", "impls"},
    "oracle": {"sim", "oracle"},
}
FORBIDDEN_IN_CORE = {
    "time",
    "random",
    "datetime",
    "os",
    "io",
    "pathlib",
    "subprocess",
    "socket",
    "secrets",
    "uuid",
    "threading",
    "multiprocessing",
}
PROJECT = {"sim", "impls", "oracle", "fuzz", "pagefuzz"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_core_imports_only_downward_and_nothing_impure(package: str) -> None:
    files = sorted((ROOT / package).glob("*.py"))
    assert files
    for path in files:
        names = _imports(path)
        project = names & PROJECT
        assert project <= ALLOWED[package], f"{path.name} imports {sorted(project)}"
        assert not names & FORBIDDEN_IN_CORE, (
            f"{path.name} imports {sorted(names & FORBIDDEN_IN_CORE)}"
        )


def test_nothing_imports_fuzz() -> None:
    for package in ("sim", "impls", "oracle"):
        for path in (ROOT / package).glob("*.py"):
            assert "fuzz" not in _imports(path), path
