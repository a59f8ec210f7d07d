"""The shell's modules stay small and say what they own, and none of them runs a version or
judges a run on its own: everything goes through `oracle.evaluate.evaluate`."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "pagefuzz").glob("*.py"))
#: What only `oracle.evaluate` may call: running a version, judging a run, comparing two.
EVALUATION_CALLS = frozenset({"run_case", "judge", "differential", "finding_keys"})


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_module_is_small_and_says_what_it_owns(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 500, path.name
    assert ast.get_docstring(ast.parse(text)), path.name


def _called_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
    return names


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_the_shell_evaluates_only_through_evaluate(path: Path) -> None:
    called = _called_names(ast.parse(path.read_text(encoding="utf-8")))
    assert not called & EVALUATION_CALLS, (path.name, sorted(called & EVALUATION_CALLS))
