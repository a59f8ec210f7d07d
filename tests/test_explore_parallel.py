"""`explore --jobs N`, `--shard I/N` and `--merge`: the same certificate with any number of jobs,
shards that merge to one run's findings and shortest lengths, one-line errors otherwise."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pagefuzz._cli import main
from pagefuzz.fuzz.explore.search import Bound, Certificate, explore

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ["pre", "post", "recheck-locked"]
#: Small enough to close in about a second, deep enough to split into shards (at depth 2).
SMALL = Bound(max_steps=3, pages=2, iocbs=2, queues=2)
FLAGS = ["--max-steps", "3", "--pages", "2", "--iocbs", "2", "--queues", "2"]


def _shortest(cert: Certificate) -> dict[str, tuple[int, int, list[dict[str, Any]]]]:
    return {
        str(k): (c.depth, c.schedules, [s.to_json() for s in c.case.steps])
        for k, c in cert.shortest.items()
    }


def _without_time(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "seconds"}


def test_two_jobs_give_the_one_job_certificate() -> None:
    """Same counts, same findings, the same shortest schedule for each (and found after the same
    number of schedules): the workers' results are merged in a fixed order."""
    one = explore(SMALL, VERSIONS, time.monotonic)
    two = explore(SMALL, VERSIONS, time.monotonic, jobs=2)
    assert one.complete and two.complete
    assert _without_time(two.to_json()) == _without_time(one.to_json())
    assert _shortest(two) == _shortest(one)


def test_the_tables_change_no_count_and_no_finding() -> None:
    """The state tables (a transition or a drain computed once per version state) against the
    old way, every schedule replayed and drained in every version: at a bound with pauses, the
    same findings at the same lengths, and the pruned search judges exactly the states it keeps.
    """
    bound = Bound(max_steps=3, pages=2, iocbs=2, queues=1)
    tables = explore(bound, VERSIONS, time.monotonic)
    every = explore(bound, VERSIONS, time.monotonic, prune=False)
    assert {k: c.depth for k, c in tables.shortest.items()} == {
        k: c.depth for k, c in every.shortest.items()
    }
    assert tables.states + tables.pruned == tables.schedules <= every.schedules


def _run(args: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagefuzz", "explore", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "CI": "true"},
        timeout=300,
        check=False,
    )


def test_shards_merge_to_one_runs_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Shards 1/2 and 2/2 (counted from 1, as a CI matrix counts), merged: every finding of one
    whole run at its shortest length, the merge's counts at least the run's (states met in both
    shards count twice), and a case file for each counterexample, of that length."""
    whole = explore(SMALL, VERSIONS, time.monotonic).to_json()
    for i in (1, 2):
        assert main(["explore", *FLAGS, "--shard", f"{i}/2", "--out", str(tmp_path / f"s{i}")]) == 1
        shard = json.loads((tmp_path / f"s{i}" / "certificate.json").read_text())["shard"]
        assert (shard["index"], shard["count"], shard["split_depth"]) == (i, 2, 2)
    capsys.readouterr()
    out = tmp_path / "merged"
    code = main(
        [
            "explore",
            "--merge",
            str(tmp_path / "s2"),
            str(tmp_path / "s1" / "certificate.json"),
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 1
    merged = json.loads(capsys.readouterr().out)
    assert merged == json.loads((out / "certificate.json").read_text())
    assert merged["versions"] == whole["versions"]
    assert merged["complete"] and merged["depth_closed"] == 3
    assert merged["merged"]["shards"] == 2
    assert merged["distinct_states"] >= whole["distinct_states"]
    for found in merged["versions"].values():
        for info in found.values():
            case = json.loads((out / f"{info['case']}.json").read_text())
            assert len(case["steps"]) == info["steps"]


def test_merge_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing shard, a shard of another bound, a shard given twice, a file that is not a
    shard certificate: one line naming it, exit 2, nothing written."""
    small = ["--max-steps", "2", "--pages", "1", "--iocbs", "1", "--versions", "pre"]
    assert main(["explore", *small, "--shard", "1/2", "--out", str(tmp_path / "a")]) == 1
    assert main(["explore", *small, "--shard", "2/2", "--out", str(tmp_path / "b")]) == 1
    deeper = [*small[:1], "3", *small[2:]]
    assert main(["explore", *deeper, "--shard", "2/2", "--out", str(tmp_path / "c")]) == 1
    assert main(["explore", *small, "--out", str(tmp_path / "whole")]) == 1
    capsys.readouterr()
    out = str(tmp_path / "m")
    cases = {
        "shard 2/2 missing (given: 1/2)": [tmp_path / "a"],
        "bound 'max_steps=3": [tmp_path / "a", tmp_path / "c"],
        "shard 1/2 given twice": [tmp_path / "a", tmp_path / "a"],
        "not a shard certificate": [tmp_path / "whole", tmp_path / "a"],
        "No such file": [tmp_path / "a", tmp_path / "nowhere.json"],
    }
    for wanted, paths in cases.items():
        assert main(["explore", "--merge", *map(str, paths), "--out", out]) == 2, wanted
        err = capsys.readouterr().err
        assert err.startswith("pagefuzz: error: --merge: ") and err.count("\n") == 1, err
        assert wanted in err, err
    assert not Path(out).exists()


@pytest.mark.parametrize("shard", ["3/2", "0/2", "x/2", "2", "1/0", "1/2/3"])
def test_bad_shard_is_one_line(
    shard: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explore", *FLAGS, "--shard", shard, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pagefuzz: error: --shard: expected I/N") and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_bad_jobs_and_missing_bound_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", *FLAGS, "--jobs", "0"]) == 2
    assert capsys.readouterr().err == "pagefuzz: error: --jobs: must be at least 1, got 0\n"
    assert main(["explore"]) == 2
    assert capsys.readouterr().err == "pagefuzz: error: --max-steps: required (unless --merge)\n"


def test_a_version_from_a_file_in_shards_and_jobs(tmp_path: Path) -> None:
    """`py:FILE.py` in worker processes and in shards: loaded relative to where pagefuzz was
    run, and named with its file's SHA-256 in every certificate, so that shards of other code do
    not merge. The certificate under another PYTHONHASHSEED is the same."""
    (tmp_path / "mine.py").write_text(
        "from pagefuzz.impls.post import Post\n\n\nclass Mine(Post):\n    pass\n"
    )
    flags = ["--max-steps", "3", "--pages", "1", "--iocbs", "2", "--versions", "py:mine.py"]
    runs = []
    for extra, seed in ((["--jobs", "2"], "1"), ([], "2")):
        proc = subprocess.run(
            [sys.executable, "-m", "pagefuzz", "explore", *flags, *extra, "--json", "--out", "w"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "CI": "true", "PYTHONHASHSEED": seed},
            timeout=300,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        runs.append(_without_time(json.loads(proc.stdout[proc.stdout.index("{") :])))
    assert runs[0] == runs[1]
    assert list(runs[0]["version_sources"]) == ["py:mine.py"]
    for i in (1, 2):
        assert _run([*flags, "--shard", f"{i}/2", "--out", f"s{i}"], tmp_path).returncode == 1
    merged = _run(["--merge", "s1", "s2", "--out", "m", "--json"], tmp_path)
    assert merged.returncode == 1, merged.stderr
    data = json.loads(merged.stdout[merged.stdout.index("{") :])
    assert data["versions"] == runs[0]["versions"]
    (tmp_path / "mine.py").write_text((tmp_path / "mine.py").read_text() + "# changed\n")
    assert _run([*flags, "--shard", "2/2", "--out", "s2"], tmp_path).returncode == 1
    bad = _run(["--merge", "s1", "s2", "--out", "m"], tmp_path)
    assert bad.returncode == 2 and "version sources" in bad.stderr, bad.stderr
