"""Triage, promotion into the corpus, coverage, and stopping/resuming a campaign."""

import json
import signal
import time
from pathlib import Path

from helpers import pagefuzz as _pagefuzz
from helpers import start_campaign, wait_for

from pagefuzz._replay import load_case, replay_case

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "corpus" / "examples"


def test_triage_groups_minimises_classifies_and_promotes(tmp_path: Path) -> None:
    """Two case files showing post's two-page completion bug (one padded with irrelevant steps)
    form one group for post/completion/aio_write, minimised to the single two-page AIO write.
    Classified pre -> post: on that case pre violates completion and kernel_bug (it completes
    with page 1 under writeback and its entry queued) while post violates completion only (page
    1 never written out), a strict subset: `fixed`, although post still fails. --promote writes
    it with an expect block that holds."""
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
    groups = json.loads(proc.stdout[proc.stdout.index("[\n") :])
    post = next(g for g in groups if g["key"] == "post/completion/aio_write")
    assert len(post["files"]) == 2
    assert not post["flaky"]
    assert [s["op"] for s in post["case"]["steps"]] == ["aio_write"]
    assert post["class"] == "fixed"
    promoted = sorted(out.glob("*.json"))
    assert promoted
    for path in promoted:
        case = load_case(path)
        assert case.expect is not None
        assert replay_case(case).expectation_ok


def test_triage_reports_a_corrupt_file_and_goes_on(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{broken")
    proc = _pagefuzz("triage", str(tmp_path / "bad.json"), str(EXAMPLES / "one-page-aio.json"))
    assert proc.returncode == 0, proc.stderr
    assert "skipped:" in proc.stdout and "bad.json" in proc.stdout
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
    with the next seeds and adds to the executions and the time."""
    out = tmp_path / "c"
    proc = start_campaign(out, "60")
    wait_for(out / "workers" / "0" / "stats.json")
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    first = json.loads((out / "campaign.json").read_text())
    assert first["status"] == "stopped"
    assert first["executions"] > 0 and first["findings"]
    again = _pagefuzz("fuzz", "--resume", "--out", str(out), "--time", "4", "--json")
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout[again.stdout.index("{") :])
    assert second["status"] == "done"
    assert second["executions"] > first["executions"]
    assert second["seconds"] > first["seconds"]
    assert second["rounds"] == 2
    assert {f["signature"] for f in first["findings"]} <= {
        f["signature"] for f in second["findings"]
    }
