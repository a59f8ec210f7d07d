"""Where the shell writes: a rich console in colour on a terminal, plain text under CI=true or
into a pipe, and the pace of plain progress lines. Every command takes its console from here."""

from __future__ import annotations

import os
import sys
from typing import Final

from rich.console import Console

#: Width of tables in plain output (logs and pipes have no width of their own; rich's default
#: of 80 columns folds the triage and campaign tables into unreadable cells).
PLAIN_WIDTH: Final = 160

#: Seconds between plain progress lines (campaigns, explorations) when not on a terminal.
PLAIN_PERIOD_S: Final = 5.0


def plain_requested() -> bool:
    """CI=true (or 1, yes): plain text even on a terminal."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


class _Console(Console):
    """rich's console, but a reader that goes away (`| head`) ends the command with status 0,
    as `main` does for our own writes; rich's default exits 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def make_console(stderr: bool = False) -> Console:
    """Colour on a terminal; plain text under CI=true or into a pipe."""
    stream = sys.stderr if stderr else sys.stdout
    plain = plain_requested() or not stream.isatty()
    return _Console(
        stderr=stderr,
        force_terminal=False if plain else None,
        width=PLAIN_WIDTH if plain else None,
        highlight=False,
        soft_wrap=True,
    )
