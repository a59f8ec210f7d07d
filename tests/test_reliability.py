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
from helpers import campaign_status, raw_findings, start_campaign, wait_until, worker_stats

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
    """A second campaign into a directory in use is refused with one line, exit 2: a new one
    because a campaign is already there (its campaign.json), a --resume of it because the
    running campaign holds the lock (OUT/.lock, with its pid); and the first runs on
    undisturbed: still running, its lock still its own, still executing. Ctrl-C then stops it
    as any campaign (exit 130, summary "stopped", lock released).

    No step depends on how long anything takes: the others start once the first is inside its
    run (campaign.json "running", written after it took the lock), and its 300 s of --time are
    only a guard, since it is stopped once it was seen executing after the refusals."""
    out = tmp_path / "c"
    first = start_campaign(out, "300")

    def second(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pagefuzz", "fuzz", "--out", str(out), "--time", "5", *flags],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "CI": "true"},
            timeout=120,
            check=False,
        )

    def executions() -> int:
        value = worker_stats(out).get("executions", 0)
        return value if isinstance(value, int) else 0

    try:
        wait_until(lambda: campaign_status(out) == "running", "campaign.json: running")
        new = second("--engine", "random", "--fresh")
        assert new.returncode == 2
        assert new.stderr == (
            f"pagefuzz: error: {out}: a campaign is already here; --resume it or pick another "
            "--out\n"
        )
        resumed = second("--resume")
        assert resumed.returncode == 2
        assert resumed.stderr == (
            f"pagefuzz: error: {out}: campaign {first.pid} is running here ({out / '.lock'})\n"
        )
        assert first.poll() is None
        assert (out / ".lock").read_text() == str(first.pid)
        wait_until(lambda: executions() > 0, "the worker's statistics")
        seen = executions()
        wait_until(lambda: executions() > seen, "the first campaign executing on after them")
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=180)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 130, stderr
    summary = json.loads((out / "campaign.json").read_text())
    assert summary["status"] == "stopped" and summary["executions"] > seen
    assert summary["rounds"] == 1  # the refused --resume added no round
    assert not (out / ".lock").exists()


def test_killed_campaign_resumes_with_every_finding(tmp_path: Path) -> None:
    """SIGKILL the campaign itself: its workers notice and stop, every raw finding on disk is
    whole, and --resume minimises them all and goes on.

    The kill waits for events, not for time: the worker's statistics (its pid) and a first raw
    finding on disk. A worker checks for its campaign at every statistics write (about once a
    second while it executes); the 120 s it is given to stop is only a guard against a hang."""
    out = tmp_path / "c"
    proc = start_campaign(out, "60")
    try:
        wait_until(lambda: "pid" in worker_stats(out), "the worker's statistics")
        wait_until(lambda: bool(raw_findings(out)), "a first raw finding")
        worker = worker_stats(out)["pid"]
        assert isinstance(worker, int)
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    deadline = time.monotonic() + 120
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
