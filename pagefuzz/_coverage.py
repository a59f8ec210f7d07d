"""`pagefuzz coverage`: line and branch coverage of sim/ and impls/ reached by a corpus,
measured by replaying it under coverage.py in a child process."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from pagefuzz._casefile import CaseFileError, collect_case_files, load_case


def run_coverage(
    console: Console, corpus: list[Path], html: Path | None, versions: Sequence[str]
) -> float:
    """Line and branch coverage of sim/ and impls/ reached by replaying the corpus, measured by
    replaying it under `coverage run` in a child process (the only way module-level lines count,
    and what ../shared/notes/fuzzing-toolchain.md recommends over in-process coverage)."""
    for path in corpus:  # named like `fuzz --corpus` names it, not as an unreadable case file
        if not path.exists():
            raise CaseFileError(f"CORPUS: {path}: no such file or directory")
    files = collect_case_files(corpus)
    for path in files:
        load_case(path)  # bad input is refused before anything runs
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / ".coverage")
        base = [sys.executable, "-m", "coverage"]
        version_args = [arg for v in versions for arg in ("--versions", v)]
        subprocess.run(
            [
                *base,
                "run",
                "--branch",
                "--source=pagefuzz.sim,pagefuzz.impls",
                f"--data-file={data}",
                "-m",
                "pagefuzz",
                "replay",
                "--json",
                *map(str, files),
                *version_args,
            ],
            stdout=subprocess.DEVNULL,
            check=False,
        )
        report = subprocess.run(
            [*base, "report", f"--data-file={data}"], capture_output=True, text=True, check=False
        )
        console.out(report.stdout, end="")
        total = subprocess.run(
            [*base, "report", "--format=total", f"--data-file={data}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if html is not None:
            subprocess.run(
                [*base, "html", f"--data-file={data}", "-d", str(html)],
                capture_output=True,
                check=False,
            )
            console.print(f"HTML report: {html / 'index.html'}")
    console.print(f"{len(files)} cases; coverage of sim/ and impls/ (lines and branches): {total}%")
    return float(total or 0)
