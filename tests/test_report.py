"""docs/findings.md is generated, current, and says what the corpus shows; the HTML renders."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pagefuzz._explain import explain
from pagefuzz._report import build, render_html

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"


def test_findings_report_is_up_to_date() -> None:
    """CI fails when docs/findings.md differs from what the corpus and evidence give now."""
    text, _findings, _campaigns = build(ROOT)
    assert (ROOT / "docs" / "findings.md").read_text(encoding="utf-8") == text


def test_check_flags_a_stale_report(tmp_path: Path) -> None:
    stale = tmp_path / "findings.md"
    stale.write_text("# old\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pagefuzz", "report", "--check", "--out", str(stale)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 1
    assert "is stale" in proc.stderr


def test_every_section_5_post_prediction_is_a_finding() -> None:
    """kernel-model.md section 5 predicts, for post: completion with the wait entry queued
    (unaligned pos: kernel_bug), pages credited without being written (completion and
    byte_count). Each appears as a finding of the report, shown by post."""
    _text, findings, _ = build(ROOT)
    keys = {f.key for f in findings}
    for key in (
        "post/completion/aio_write",
        "post/kernel_bug/aio_write",
        "post/byte_count/aio_write",
    ):
        assert key in keys
        finding = next(f for f in findings if f.key == key)
        assert finding.shown_by["post"] and not finding.shown_by["fixed"]
        assert "No explanation" not in explain(key)


def test_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    """Renders docs as a person sees them; the screenshot is kept in artifacts/ for CI."""
    _text, findings, campaigns = build(ROOT)
    index = render_html(tmp_path / "html", findings, campaigns)
    browser = shutil.which("chromium")
    assert browser, "Debian's chromium is required (.ci/run installs it)"
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,1000",
            f"--screenshot={shot}",
            index.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ},
    )
    assert shot.exists(), proc.stderr[-1000:]
    assert shot.stat().st_size > 20_000  # a blank page is a few KB
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "report.png")
