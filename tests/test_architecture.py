"""The functional core stays pure, the dependency arrows point one way, and no package has an
import circle.

The layers are sim <- impls <- oracle <- fuzz <- pagefuzz: each imports only the layers to its
left (docs/architecture.md), but for the oracle, which imports sim alone (impls -> sim,
oracle -> sim); nothing below imports fuzz or the command; the core (sim, impls,
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
# The oracle judges records and takes versions built: it knows no registry (impls).
ALLOWED["oracle"] = {"sim", "oracle"}
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
    files = sorted((ROOT / package).rglob("*.py"))
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


# ------------------------------------------------------------------------------- circles

#: The one module others may name as a type without importing it: the world, which binds the
#: functions of the modules it is split into by kernel file (sim/filemap.py, sim/aio.py, ...) and
#: hands itself to them as `k`. Their `k: World` is a type-only import (under TYPE_CHECKING) of
#: the class assembled from them: a partial class across files, not a dependency.
COMPOSITION_ROOT = "pagefuzz.sim.world"

#: Every module of the project by its dotted name, from its file.
SOURCES = sorted(
    [p for layer in LAYERS[:-1] for p in (ROOT / layer).rglob("*.py")]
    + sorted((ROOT / "pagefuzz").glob("*.py"))
)


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "pagefuzz":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["pagefuzz", *parts])


MODULES = {_dotted(p): p for p in SOURCES}


def _package(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rsplit(".", 1)[0]


def _edges(source: str, module: str) -> set[str]:
    """The project modules `source` (module `module`) imports, anywhere in it (in a function,
    under TYPE_CHECKING): `from a import b` names a.b when b is a module, else a. A type-only
    import of the composition root is left out (above)."""
    tree = ast.parse(source)
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names]
            named = subs if all(s in MODULES for s in subs) else [node.module]
        else:
            continue
        for name in named:
            if name in MODULES and not (id(node) in type_only and name == COMPOSITION_ROOT):
                found.add(name)
    return found - {module}


GRAPH = {module: _edges(path.read_text(), module) for module, path in MODULES.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_circles_are_found() -> None:
    """The search sees a circle through a function-level import and one through a type-only
    import (else the tests below could not fail)."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    source = (
        "if TYPE_CHECKING:\n    from pagefuzz.sim.mm import Page\n"
        "    from pagefuzz.sim.world import World\n"
        "def f():\n    from pagefuzz.sim import filemap\n"
    )
    edges = _edges(source, "pagefuzz.sim.x")
    assert edges == {"pagefuzz.sim.mm", "pagefuzz.sim.filemap"}


@pytest.mark.parametrize("package", sorted({_package(m) for m in MODULES}))
def test_no_import_circle_inside_a_package(package: str) -> None:
    """Within each package (sim, impls, oracle, each subpackage of fuzz, the command), the
    modules' imports form no circle, counting imports inside functions and type-only ones."""
    inside = {m for m in MODULES if _package(m) == package}
    graph = {m: GRAPH[m] & inside for m in inside}
    assert circles(graph) == []


def test_no_circle_between_the_subpackages_of_fuzz() -> None:
    """generation <- versions, campaign <- explore <- bench: the subpackages of fuzz import one
    another one way only."""
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        if module.startswith("pagefuzz.fuzz."):
            packages.setdefault(_package(module), set()).update(
                _package(t) for t in targets if t.startswith("pagefuzz.fuzz.")
            )
    graph = {p: targets - {p} for p, targets in packages.items()}
    assert circles(graph) == []
    assert "pagefuzz.fuzz.campaign" in graph["pagefuzz.fuzz.explore"]
