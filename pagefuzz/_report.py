"""`pagefuzz report`: docs/findings.md (and with --html a page) generated from what is on disk,
or with --check compared with the file on disk (CI fails while docs/findings.md is stale).

The report is three steps, one module each: `_report_analysis.gather` evaluates the corpus and
reads the evidence into a `Report` (data), `_report_markdown.render_markdown` writes the
Markdown, `_report_html.render_html` the page (with `_report_plots`' campaign plots).
"""

from __future__ import annotations

import sys
from pathlib import Path

from pagefuzz._casefile import CaseFileError
from pagefuzz._report_analysis import Report, gather
from pagefuzz._report_html import render_html
from pagefuzz._report_markdown import render_markdown
from pagefuzz.fuzz.files import write_atomic


def build(root: Path) -> tuple[str, Report]:
    """docs/findings.md's text for the checkout at `root`, and the facts it was written from."""
    report = gather(root)
    return render_markdown(report) + "\n", report


def run_report(root: Path, out: Path, html: Path | None, check: bool) -> bool:
    """Write `out` (and `html`/index.html), or with `check` only compare `out` with what would
    be written. False when `check` finds it stale (one line on stderr says so)."""
    if not check and not out.parent.is_dir():  # refused before the corpus is replayed
        raise CaseFileError(f"--out: {out.parent}: not a directory")
    text, report = build(root)
    count = f"{len(report.findings)} findings"
    if check:
        try:
            current = out.read_text(encoding="utf-8")
        except OSError:
            current = ""
        if current != text:
            sys.stderr.write(f"pagefuzz: {out} is stale: run `pagefuzz report` and commit it\n")
            return False
        print(f"{out} is up to date ({count})")
        return True
    write_atomic(out, text.encode())
    print(f"wrote {out} ({count})")
    if html is not None:
        print(f"wrote {render_html(html, report)}")
    return True
