"""`pagefuzz bench`'s comparison against a baseline commit: the probe measures the tree it is
pointed at (not the editable install), a baseline that cannot be checked out is one line, and the
page states each ratio against the goal. No figure is asserted: speed is for benchmarks."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from pagefuzz.fuzz.bench.render import _speed_lines
from pagefuzz.fuzz.bench.speed import PROBE, BaselineError, _probe, baseline_worktree
from pagefuzz.fuzz.campaign.target import Evaluator
from pagefuzz.fuzz.campaign.worker import random_bytes
from pagefuzz.fuzz.generation.decode import decode

ROOT = Path(__file__).resolve().parent.parent


def test_probe_evaluates_the_tree_it_is_given() -> None:
    """The probe's failure count on 30 decoded random cases (seed 1) is the count this process
    computes for the same cases through `Evaluator`: the probe decodes the same bytes, so a
    difference would mean it measured other code than this checkout."""
    rng = random.Random(1)
    evaluator = Evaluator(["pre", "post"])
    expected = sum(len(evaluator.evaluate(decode(random_bytes(rng))).failures) for _ in range(30))
    result = _probe(ROOT, ["eval", "1", "30", "pre,post"])
    assert result["cases"] == 30
    assert result["failures"] == expected


def test_probe_ignores_the_editable_install(tmp_path: Path) -> None:
    """A tree without pagefuzz's modules fails to import under the probe, though the editable
    install of this checkout would have supplied them: the probe measures only the tree named."""
    (tmp_path / "empty").mkdir()
    proc = subprocess.run(
        [sys.executable, str(PROBE), "eval", "1", "5", "pre"],
        env={"PYTHONPATH": str(tmp_path / "empty"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    # An exception that escapes a Python script ends it with status 1, its traceback's last
    # line on stderr: the probe fell back to the oldest layout (top-level `fuzz`) and found none.
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines()[-1] == "ModuleNotFoundError: No module named 'fuzz'"


def test_unknown_baseline_is_one_line_error() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git clone: no baseline can be checked out")
    with pytest.raises(BaselineError) as raised, baseline_worktree(ROOT, "0" * 40):
        pass
    message = str(raised.value)
    assert "\n" not in message
    assert "cannot check out baseline 0000000000000000000000000000000000000000" in message


def test_page_states_each_ratio_against_the_goal() -> None:
    """Ratios are checkout / baseline: 3000 / 300 cases/s is 10.00x (met); 500 / 250 exec/s is
    2.00x, not met; explorer 2,000 / 100 states/s with --jobs 2 is 20.00x (met)."""
    run = {"depth_closed": 4, "states": 681, "schedules": 903, "seconds": 1.0}
    speed = {
        "baseline": "088e9e9",
        "versions": ["pre", "post", "recheck-locked"],
        "evaluation": {
            "cases": 1500,
            "settle_bound": 64,
            "cases_per_s": {"baseline": 300.0, "checkout": 3000.0},
            "ratio": 10.0,
            "failures": 6333,
            "verdicts_agree": True,
        },
        "atheris_feedback": {
            "seconds": 20,
            "exec_per_s": {"baseline": 250.0, "checkout": 500.0},
            "ratio": 2.0,
        },
        "atheris_uninstrumented": {
            "seconds": 20,
            "exec_per_s": {"baseline": 1000.0, "checkout": 1000.0},
            "ratio": 1.0,
        },
        "explore": {
            "max_steps": 4,
            "runs": {"baseline": run, "checkout": run, "checkout --jobs 2": run},
            "states_per_s": {"baseline": 100.0, "checkout": 150.0, "checkout --jobs 2": 2000.0},
            "ratio": 20.0,
            "findings_agree": True,
        },
    }
    page = "\n".join(_speed_lines(speed))
    assert "| 3,000 | 10.00x (met) |" in page
    assert "| 500 | 2.00x |" in page
    assert "| 100 | 2,000 | 20.00x (met) |" in page
    assert "checkout --jobs 2" in page
    assert "are the same in both trees (6,333 failures)" in page
