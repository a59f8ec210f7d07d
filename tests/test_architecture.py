"""The functional core stays pure and the dependency arrows point one way.

The layers are sim <- impls <- oracle <- fuzz <- pagefuzz: each imports only the layers to its
left (docs/architecture.md), so nothing below imports fuzz or the command; the core (sim, impls,
oracle) imports no clock, no randomness, no I/O module, but for the one module that builds a
`c:FILE.c` version (impls/cbuild.py: it reads the user's file, runs the C compiler and keeps the
build cache); running a C version is as pure as running any other.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("sim", "impls", "oracle", "fuzz", "pagefuzz")
ALLOWED = {layer: set(LAYERS[: i + 1]) for i, layer in enumerate(LAYERS)}
CORE = ("sim", "impls", "oracle")
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

#: The core's one I/O module, and the I/O modules it may import.
CORE_IO = {"impls/cbuild.py": {"os", "subprocess"}}


def _layer(module: str) -> str | None:
    """The layer an absolute import names: `pagefuzz.sim.world` is sim, `pagefuzz._cli` and
    `pagefuzz` the command; None for anything outside the project."""
    parts = module.split(".")
    if parts[0] == "pagefuzz":
        return parts[1] if len(parts) > 1 and parts[1] in LAYERS[:-1] else "pagefuzz"
    return parts[0] if parts[0] in LAYERS else None


def _imports(path: Path) -> set[str]:
    """Every module an absolute import in the file names (`import a.b`, `from a.b import c`)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", LAYERS)
def test_layers_import_only_leftwards(package: str) -> None:
    """sim <- impls <- oracle <- fuzz <- pagefuzz: an import of a layer to the right (fuzz
    importing the command included) fails here."""
    files = sorted((ROOT / package).glob("*.py"))
    assert files
    for path in files:
        layers = {layer for m in _imports(path) if (layer := _layer(m)) is not None}
        assert layers <= ALLOWED[package], f"{package}/{path.name} imports {sorted(layers)}"


@pytest.mark.parametrize("package", CORE)
def test_core_is_pure(package: str) -> None:
    for path in sorted((ROOT / package).glob("*.py")):
        roots = {m.split(".")[0] for m in _imports(path)}
        bad = (roots & FORBIDDEN_IN_CORE) - CORE_IO.get(f"{package}/{path.name}", set())
        assert not bad, f"{path.name} imports {sorted(bad)}"
