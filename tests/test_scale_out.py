"""The atheris target under libFuzzer's own scale-out modes (subprocesses: never inside pytest)."""

import re
from pathlib import Path

from helpers import new_corpus, run_target

from pagefuzz.fuzz.campaign.target import Evaluator
from pagefuzz.fuzz.generation.decode import decode
from pagefuzz.impls.registry import DEFAULT_VERSIONS


def test_fork_mode_runs_jobs_and_records_findings(tmp_path: Path) -> None:
    corpus = new_corpus(tmp_path)
    proc = run_target(
        tmp_path,
        str(corpus),
        "-fork=2",
        "-ignore_crashes=1",
        "-max_total_time=6",
        "-max_len=34",
        "-seed=1",
        direct=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert "-fork=2" in proc.stderr
    assert list((tmp_path / "out" / "findings" / "raw").glob("*.json"))
    assert list(corpus.iterdir())


def test_jobs_workers_and_merge_really_merge(tmp_path: Path) -> None:
    """-jobs/-workers runs, and -merge=1 into an empty directory adds files: the silent failure
    (children that cannot start, merge exits 0 having merged nothing) would leave it empty."""
    corpus = new_corpus(tmp_path)
    proc = run_target(
        tmp_path,
        str(corpus),
        "-jobs=2",
        "-workers=2",
        "-max_total_time=4",
        "-max_len=34",
        "-seed=2",
        direct=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert (tmp_path / "fuzz-0.log").exists() and (tmp_path / "fuzz-1.log").exists()
    assert list(corpus.iterdir())
    merged = tmp_path / "merged"
    merged.mkdir()
    proc = run_target(tmp_path, "-merge=1", str(merged), str(corpus), direct=True)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert "MERGE-OUTER" in proc.stderr
    assert list(merged.iterdir())


def test_packaged_build_raises_on_new_findings(tmp_path: Path) -> None:
    """With PAGEFUZZ_RAISE_ON_FINDING=1 (what a PyInstaller build gets from sys.frozen) the first
    new finding is a crash libFuzzer reports, with the input saved.

    libFuzzer stops at the first crash and exits with its -error_exitcode, 77 unless set
    otherwise; it saves that one input as crash-<sha1>, and the NewFindingError atheris prints
    names the signature of a finding that input shows (decoded here, in the default versions,
    as the target decodes and runs it)."""
    corpus = new_corpus(tmp_path)
    proc = run_target(
        tmp_path,
        str(corpus),
        "-max_total_time=30",
        "-max_len=34",
        "-seed=3",
        f"-artifact_prefix={tmp_path}/",
        env={"PAGEFUZZ_RAISE_ON_FINDING": "1"},
        direct=True,
        timeout=120,
    )
    assert proc.returncode == 77, proc.stderr[-1500:]
    # atheris prints it on stdout, above the traceback and as its last line
    found = re.findall(r"^NewFindingError: ([0-9a-f]{12})$", proc.stdout + proc.stderr, re.M)
    (signature,) = set(found)
    (crash,) = tmp_path.glob("crash-*")
    shown = Evaluator(list(DEFAULT_VERSIONS)).evaluate(decode(crash.read_bytes())).failures
    assert signature in {f.signature for f in shown}
