"""pip installs one top-level package, `pagefuzz`: the folders sim/, impls/, oracle/ and fuzz/ are
`pagefuzz.sim`, `pagefuzz.impls`, `pagefuzz.oracle` and `pagefuzz.fuzz` (docs/architecture.md), so
nothing generic (`sim`, `fuzz`) lands in site-packages to collide with other packages."""

import ast
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("sim", "impls", "oracle", "fuzz")

#: Run inside the fresh environment, away from the checkout: the core imports and evaluates one
#: case; the old top-level names are gone.
PROBE = """
import importlib, importlib.util, json, sys, sysconfig
from pathlib import Path
import pagefuzz
from pagefuzz.sim import parse_case
from pagefuzz.oracle.evaluate import evaluate
import pagefuzz.fuzz.generation.decode
from pagefuzz.impls.registry import get_version
case = parse_case({"format": "pagefuzz/case-v1", "name": "one", "config": {"file_pages": 1},
                   "steps": [{"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096}]})
site = Path(sysconfig.get_paths()["purelib"])
versions = [get_version("pre"), get_version("post")]
print(json.dumps({
    "checks": list(evaluate(case, versions).verdicts["pre"].checks),
    "top": sorted(p.name for p in site.iterdir()),
    "old": [n for n in ("sim", "impls", "oracle", "fuzz") if importlib.util.find_spec(n)],
    "file": pagefuzz.sim.__file__,
    "corpus": sorted(str(p.relative_to(site)) for p in
                     __import__("pagefuzz.fuzz.files").fuzz.files.shipped_corpus().rglob("*.json")),
}))
"""


def test_the_wheel_installs_one_top_level_package(tmp_path: Path) -> None:
    """Build the wheel, install it (no dependencies: the core needs none) into a new virtual
    environment, and import from outside the checkout. pre on a one-page AIO write fails
    completion and kernel_bug (README's walk-through)."""
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("pagefuzz-*.whl")
    venv.create(tmp_path / "env", with_pip=True)
    python = tmp_path / "env" / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    probe = subprocess.run(
        [str(python), "-c", PROBE], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    import json

    out = json.loads(probe.stdout)
    assert out["checks"] == ["completion", "kernel_bug"]
    assert out["old"] == []
    assert "pagefuzz" in out["top"]
    with zipfile.ZipFile(wheel) as archive:  # what the wheel puts into site-packages
        top = {name.split("/")[0] for name in archive.namelist()}
    assert {t for t in top if not t.endswith(".dist-info")} == {"pagefuzz"}
    with zipfile.ZipFile(wheel) as archive:  # real files, not links
        assert "pagefuzz/sim/world.py" in archive.namelist()
    assert str(tmp_path / "env") in out["file"]
    # The corpus ships as package data: an installed pagefuzz finds it from any directory.
    shipped = sorted(
        f"pagefuzz/corpus/{p.relative_to(ROOT / 'corpus')}"
        for p in (ROOT / "corpus").rglob("*.json")
    )
    assert out["corpus"] == shipped


def test_every_import_of_the_project_goes_through_pagefuzz() -> None:
    """No module of the project or its tests imports `sim`, `impls`, `oracle` or `fuzz` at the
    top level: each has one name, `pagefuzz.<folder>`, and a second would load a second copy."""
    offenders = []
    for path in sorted(ROOT.glob("*/*.py")):
        if path.parent.name not in (*FOLDERS, "pagefuzz", "tests"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                          if n.split(".")[0] in FOLDERS]  # fmt: skip
    assert offenders == []


def test_the_package_links_point_at_the_folders() -> None:
    for folder in FOLDERS:
        link = ROOT / "pagefuzz" / folder
        assert link.is_symlink() and link.resolve() == (ROOT / folder).resolve()
