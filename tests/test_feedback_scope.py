"""What the atheris target instruments (`pagefuzz fuzz --instrument`, PAGEFUZZ_INSTRUMENT).

atheris instruments a whole top-level package once any module of it is imported inside its
hook, so "the versions only" needs the world imported first; this checks the scopes really are
what docs/fuzzing.md says, by looking for atheris' tracing calls in the compiled code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import runpy, sys
sys.argv = ["differential_fuzzer.py"]
runpy.run_path(sys.argv[1] if len(sys.argv) > 1 else {target!r}, run_name="not_main")
import pagefuzz.sim.filemap as filemap, pagefuzz.impls.pre as pre
traced = lambda f: "_trace_branch" in f.__code__.co_names
print(traced(filemap.unlock_page), traced(pre.Pre.operate_on_page_range))
"""


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (None, "False True"),  # the default: the versions only
        ("versions", "False True"),
        ("world", "True True"),
        ("none", "False False"),
    ],
)
def test_instrumentation_scope(scope: str | None, expected: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFUZZ_")}
    env["PAGEFUZZ_OUT"] = str(tmp_path / "out")
    if scope is not None:
        env["PAGEFUZZ_INSTRUMENT"] = scope
    target = str(ROOT / "fuzz" / "campaign" / "differential_fuzzer.py")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(target=target)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == expected
