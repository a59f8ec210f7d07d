"""fuzz/ stays in small modules that say what they own, evaluates only through
`oracle.evaluate`, and defines each shared name once in the whole project."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "fuzz").rglob("*.py"))
PACKAGES = ("sim", "impls", "oracle", "fuzz", "pagefuzz")
#: What only `oracle.evaluate` may call: running a version, judging a run, comparing two.
EVALUATION_CALLS = frozenset({"run_case", "judge", "differential", "finding_keys"})
#: Names with one definition each (module-level assignments over every package).
DEFINED_ONCE = (
    "DEFAULT_VERSIONS",
    "ENGINES",
    "DEFAULT_ENGINE",
    "IOCB_NAMES",
    "DECODED_STEPS_MAX",
    "PCT_STEPS_MAX",
    "OPCODES",
    "LIBFUZZER_ARGS",
)


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_module_is_small_and_says_what_it_owns(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 500, path.name
    if path.name != "__init__.py":
        assert ast.get_docstring(ast.parse(text)), path.name


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_fuzz_evaluates_only_through_evaluate(path: Path) -> None:
    called = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                called.add(func.id)
            elif isinstance(func, ast.Attribute):
                called.add(func.attr)
    assert not called & EVALUATION_CALLS, (path.name, sorted(called & EVALUATION_CALLS))


def _module_assignments(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_shared_names_are_defined_once() -> None:
    where: dict[str, list[str]] = {name: [] for name in DEFINED_ONCE}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _module_assignments(path) & set(DEFINED_ONCE):
                where[name].append(f"{package}/{path.name}")
    assert {name: len(files) for name, files in where.items()} == dict.fromkeys(DEFINED_ONCE, 1), (
        where
    )
