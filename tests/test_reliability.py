"""Faults in campaigns: a full disk, two campaigns in one directory, the whole campaign killed;
the modes of the files pagefuzz writes."""

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import start_campaign
from helpers import wait_for as _wait_for

import pagefuzz.fuzz.campaign.store
import pagefuzz.fuzz.files
from pagefuzz._casefile import load_case
from pagefuzz.fuzz.campaign.target import WorkerState
from pagefuzz.impls.registry import DEFAULT_VERSIONS

ROOT = Path(__file__).resolve().parent.parent


def test_full_disk_loses_no_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first writes fail with ENOSPC: the worker keeps the findings in memory, goes on
    executing, and writes every one of them once the disk has room again."""
    real = pagefuzz.fuzz.files.write_atomic
    failures = {"left": 5}

    def flaky(path: Path, data: bytes) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(pagefuzz.fuzz.campaign.store, "write_atomic", flaky)
    monkeypatch.setattr(pagefuzz.fuzz.files, "write_atomic", flaky)  # under write_json_atomic
    state = WorkerState(tmp_path, 0, list(DEFAULT_VERSIONS), "random", 1)
    case = load_case(ROOT / "corpus" / "examples" / "one-page-aio.json")
    state.execute(case, None)
    assert state.pending and state.write_errors >= 1
    shown = {f.signature for f in state.evaluator.evaluate(case).failures}
    for _ in range(10):
        state.execute(case, None)
    assert not state.pending
    on_disk = {p.stem for p in (tmp_path / "findings" / "raw").glob("*.json")}
    assert shown <= on_disk
    for path in (tmp_path / "findings" / "raw").glob("*.json"):
        json.loads(path.read_text())  # whole files only


def test_two_campaigns_in_one_directory(tmp_path: Path) -> None:
    """The second campaign into a directory in use is refused with one line, exit 2, and the
    first runs on undisturbed."""
    out = tmp_path / "c"
    first = start_campaign(out, "8")
    _wait_for(out / ".lock")
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "pagefuzz",
            "fuzz",
            "--engine",
            "random",
            "--time",
            "5",
            "--out",
            str(out),
            "--fresh",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true"},
        timeout=60,
        check=False,
    )
    assert second.returncode == 2
    assert len(second.stderr.strip().splitlines()) == 1 and str(out) in second.stderr
    first.communicate(timeout=120)
    assert first.returncode == 1  # ran to the end with new findings (an empty corpus)
    summary = json.loads((out / "campaign.json").read_text())
    assert summary["status"] == "done" and summary["executions"] > 0
    assert not (out / ".lock").exists()


def test_killed_campaign_resumes_with_every_finding(tmp_path: Path) -> None:
    """SIGKILL the campaign itself: its workers notice and stop, every raw finding on disk is
    whole, and --resume minimises them all and goes on."""
    out = tmp_path / "c"
    proc = start_campaign(out, "60")
    stats = out / "workers" / "0" / "stats.json"
    _wait_for(stats)
    time.sleep(2)
    worker = json.loads(stats.read_text())["pid"]
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the orphaned worker kept running after its campaign was killed")
    raw = {p.stem for p in (out / "findings" / "raw").glob("*.json")}
    assert raw
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pagefuzz",
            "fuzz",
            "--resume",
            "--out",
            str(out),
            "--time",
            "3",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true"},
        timeout=120,
        check=False,
    )
    assert resumed.returncode == 1, resumed.stderr  # new findings (an empty corpus)
    summary = json.loads(resumed.stdout[resumed.stdout.index("{") :])
    assert raw <= {f["signature"] for f in summary["findings"]}
    assert all((out / "findings" / f"{sig}.json").exists() for sig in raw)


def test_written_files_get_the_umask_mode_and_replacing_keeps_the_mode(tmp_path: Path) -> None:
    """Findings, summaries, certificates and reports are written through write_atomic: a new
    file gets 0o666 minus the umask, as open() would give it (not mkstemp's 0o600), and a
    replaced file keeps the mode it had."""
    old = os.umask(0o022)
    try:
        new = tmp_path / "new.json"
        pagefuzz.fuzz.files.write_atomic(new, b"{}")
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        os.umask(0o077)
        private = tmp_path / "private.json"
        pagefuzz.fuzz.files.write_atomic(private, b"{}")
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
        os.umask(0o022)
        kept = tmp_path / "kept.json"
        kept.write_bytes(b"old")
        kept.chmod(0o640)
        pagefuzz.fuzz.files.write_json_atomic(kept, {"new": 1})
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
        assert json.loads(kept.read_text()) == {"new": 1}
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.json", "new.json", "private.json"]
