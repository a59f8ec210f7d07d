"""The only things a kernel code path may yield to the world's scheduler.

Every sleep and every named stopping point goes through here, so a schedule can stop a task at
exactly these places and nowhere else (trio's `_traps.py` idea). `SLEEP` is yielded after the code
has put its wait entry on a queue; `Point(name)` marks a named point of operate_on_page_range that
`run X until NAME` can pause at: `lookup` after every gang lookup (an empty one included), `page`
right before the operator call (rule R11 of kernel-model.md, the project's kernel-semantics spec,
kept outside this repository).
"""

from collections.abc import Generator
from dataclasses import dataclass
from typing import Final, TypeVar


@dataclass(frozen=True)
class Sleep:
    """The running code sleeps; its wait entry is already queued."""


@dataclass(frozen=True)
class Point:
    """A named point: `lookup` (a gang lookup just returned), `page` (operator about to run)."""

    name: str


SLEEP: Final = Sleep()
LOOKUP: Final = Point("lookup")
PAGE: Final = Point("page")

Yield = Sleep | Point
T = TypeVar("T")
#: A resumable kernel code path returning T.
Gen = Generator[Yield, None, T]
