"""Shared by the tests that run pagefuzz as a user would: in a subprocess, plain output."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pagefuzz(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m pagefuzz ARGS` with CI=true (plain output), captured, never raising."""
    return subprocess.run(
        [sys.executable, "-m", "pagefuzz", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "CI": "true", **(env or {})},
        timeout=timeout,
        check=False,
    )


def wait_for(path: Path, seconds: float = 60, text: str | None = None) -> None:
    """Poll until `path` exists (a campaign's lock or a worker's statistics) and, with `text`,
    until it contains that text (a line of progress in a redirected stdout)."""

    def there() -> bool:
        if not path.exists():
            return False
        return text is None or text in path.read_text(encoding="utf-8", errors="replace")

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not there():
        time.sleep(0.2)
    assert there(), (path, text)


def wait_until(ready: Callable[[], bool], what: str, seconds: float = 180) -> None:
    """Poll until `ready()` holds: an event a process makes observable (a file it writes), never
    a guess at how long it takes. `seconds` is only a guard that turns a hang into a failure
    naming `what`; nothing is asserted about the time it took."""
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def campaign_status(out: Path) -> str | None:
    """The status in OUT/campaign.json (written atomically), None before there is one. A
    campaign writes "running" once its workers started, as the first thing inside its run loop:
    from then on Ctrl-C stops it with status "stopped" and its summary written
    (fuzz/campaign/campaign.py `run`)."""
    try:
        status = json.loads((out / "campaign.json").read_text(encoding="utf-8"))["status"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return status if isinstance(status, str) else None


def raw_findings(out: Path) -> set[str]:
    """Signatures of the raw findings the workers of the campaign in `out` wrote so far (each
    file is written whole, by rename: fuzz/files.py `write_atomic`)."""
    return {p.stem for p in (out / "findings" / "raw").glob("*.json")}


def worker_stats(out: Path, worker: int = 0) -> dict[str, object]:
    """OUT/workers/N/stats.json (written whole, by rename), {} before the worker wrote it."""
    try:
        stats = json.loads((out / "workers" / str(worker) / "stats.json").read_text())
    except (OSError, ValueError):
        return {}
    return stats if isinstance(stats, dict) else {}


TARGET = ROOT / "fuzz" / "campaign" / "differential_fuzzer.py"


def run_target(
    workdir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    direct: bool = False,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """The atheris target with libFuzzer ARGS, in `workdir`, findings into workdir/out. `direct`
    runs the script by its path (what libFuzzer's -fork/-jobs/-merge need), with this
    interpreter first on PATH for its shebang. Never inside pytest's process."""
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    command = [str(TARGET)] if direct else [sys.executable, str(TARGET)]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        cwd=workdir,
        env={**os.environ, "PAGEFUZZ_OUT": str(workdir / "out"), "PATH": path, **(env or {})},
        timeout=timeout,
        check=False,
    )


def new_corpus(workdir: Path) -> Path:
    corpus = workdir / "corpus"
    corpus.mkdir()
    return corpus


def start_campaign(out: Path, seconds: str, *extra: str) -> subprocess.Popen[str]:
    """A random-engine campaign from an empty corpus, running in the background (to be
    interrupted or killed by the test)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pagefuzz",
            "fuzz",
            "--engine",
            "random",
            "--time",
            seconds,
            "--out",
            str(out),
            "--fresh",
            *extra,
        ],
        cwd=ROOT,
        env={**os.environ, "CI": "true"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


#: A campaign.json as an older pagefuzz wrote it: no machine, jobs or seed fields.
OLD_CAMPAIGN_SUMMARY = {
    "format": "pagefuzz/campaign-v1",
    "engine": "random",
    "versions": ["pre", "post"],
    "next_seed": 5,
    "seconds": 1.0,
    "executions": 10,
    "findings": [],
    "status": "stopped",
}
