"""Triage, promotion into the corpus, coverage, and stopping/resuming a campaign."""

import json
import signal
from pathlib import Path

from helpers import campaign_status, raw_findings, start_campaign, wait_until, worker_stats
from helpers import pagefuzz as _pagefuzz

from pagefuzz._casefile import load_case
from pagefuzz.impls.registry import DEFAULT_VERSIONS, get_version
from pagefuzz.oracle.evaluate import evaluate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "corpus" / "examples"


def test_triage_groups_minimises_classifies_and_promotes(tmp_path: Path) -> None:
    """Two case files showing post's two-page completion bug (one padded with irrelevant steps)
    form one group for post/completion/aio_write, minimised to the single two-page AIO write.
    On that case, worked by hand from the seed: pre's first wait pass locks p0, sets next = 1
    before page_waiter finds p0 under writeback, so it returns 4096 bytes for a page still in
    flight (byte_count); the retry after p0's I/O does the same for p1 and completes with 8192
    while p1 is under writeback (completion) and A's entry queued on q1 (kernel_bug). post's
    write-out stops after p0 (the batch reached last), so p1 is never written and A completes
    with p1 dirty: completion only. The table names, per version, those checks: that is what
    tells who is wrong (the pre/post class alone, `fixed`, read as if post were right).
    --promote writes it with an expect block that holds."""
    padded = json.loads((EXAMPLES / "post-two-page-last1.json").read_text())
    padded["name"] = "padded"
    padded["steps"] = [*padded["steps"], {"op": "flush", "page": 0}, {"op": "reclaim", "page": 1}]
    padded.pop("expect", None)
    (tmp_path / "padded.json").write_text(json.dumps(padded))
    out = tmp_path / "promoted"
    proc = _pagefuzz(
        "triage",
        str(EXAMPLES / "post-two-page-last1.json"),
        str(tmp_path / "padded.json"),
        "--promote",
        "--corpus",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    groups = json.loads(proc.stdout)  # --json: stdout is the JSON alone
    post = next(g for g in groups if g["key"] == "post/completion/aio_write")
    assert len(post["files"]) == 2
    assert not post["flaky"]
    assert [s["op"] for s in post["case"]["steps"]] == ["aio_write"]
    assert post["checks"] == {
        "pre": ["completion", "byte_count", "kernel_bug"],
        "post": ["completion"],
        "recheck-locked": [],
    }
    assert post["differential"]["pre/post"] == "fixed"
    promoted = sorted(out.glob("*.json"))
    assert promoted
    for path in promoted:
        case = load_case(path)
        assert case.expect is not None
        assert evaluate(case, [get_version(n) for n in DEFAULT_VERSIONS]).expectation_ok


def test_triage_reports_a_corrupt_file_and_goes_on(tmp_path: Path) -> None:
    """The unreadable file is one error line naming it and the run exits 2 (a CI job can gate
    on it), but the readable file's findings are still triaged and shown."""
    (tmp_path / "bad.json").write_text("{broken")
    proc = _pagefuzz("triage", str(tmp_path / "bad.json"), str(EXAMPLES / "one-page-aio.json"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"pagefuzz: error: {tmp_path / 'bad.json'}: invalid JSON at line 1 column 2: "
        "Expecting property name enclosed in double quotes"
    ]
    assert "pre/completion/aio_write" in proc.stdout


def test_coverage_reports_sim_and_impls(tmp_path: Path) -> None:
    proc = _pagefuzz("coverage", str(EXAMPLES), "--html", str(tmp_path / "html"))
    assert proc.returncode == 0, proc.stderr
    assert "sim/world.py" in proc.stdout and "impls/post.py" in proc.stdout
    total = float(proc.stdout.rsplit("(lines and branches): ", 1)[1].split("%")[0])
    assert 50 < total <= 100
    assert (tmp_path / "html" / "index.html").exists()


def test_ctrl_c_stops_cleanly_and_resume_continues(tmp_path: Path) -> None:
    """SIGINT: the workers stop, the summary says `stopped` with its findings; --resume runs on
    with the next seeds and adds to the executions and the time.

    The signal waits for what the summary must then hold, not for time: the campaign inside
    its run (campaign.json "running"), the worker's statistics and a first raw finding on disk.
    Stopping minimises every raw finding, so each is among the stopped summary's findings."""
    out = tmp_path / "c"
    proc = start_campaign(out, "60")
    try:
        wait_until(lambda: campaign_status(out) == "running", "campaign.json: running")
        wait_until(lambda: "pid" in worker_stats(out), "the worker's statistics")
        wait_until(lambda: bool(raw_findings(out)), "a first raw finding")
        raw = raw_findings(out)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    first = json.loads((out / "campaign.json").read_text())
    assert first["status"] == "stopped"
    assert first["executions"] > 0
    assert raw <= {f["signature"] for f in first["findings"]}
    again = _pagefuzz("fuzz", "--resume", "--out", str(out), "--time", "4", "--json")
    assert again.returncode == 1, again.stderr  # its findings are new (an empty corpus)
    second = json.loads(again.stdout[again.stdout.index("{") :])
    assert second["status"] == "done"
    assert second["executions"] > first["executions"]
    assert second["seconds"] > first["seconds"]
    assert second["rounds"] == 2
    assert {f["signature"] for f in first["findings"]} <= {
        f["signature"] for f in second["findings"]
    }
