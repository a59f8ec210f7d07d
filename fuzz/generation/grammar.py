"""The step grammar of generated cases, defined once: which ops a case is made of and how often
each comes up, what arguments each takes, the values an argument may have, and the fixed names.

The byte decoder (fuzz/generation/decode.py) and the hypothesis strategy
(fuzz/generation/strategies.py) both build their cases with `config_from` and `step_from`; they
differ only in where each choice comes from. A `Field` is one choice: how many values it has, and
the bits of a byte the decoder reads it from (`Field.read`); the strategy draws the same choice as
an integer instead. So the decoder and the strategy describe the same space of cases, with the
weights given here as data (`OPCODES`).

The explorer (fuzz/explore/search.py) and PCT (fuzz/campaign/pct.py) build their own steps, but name
iocbs from
`IOCB_NAMES` too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from pagefuzz.sim.cint import PAGE_CACHE_SIZE

#: Pages a generated case touches (indices 0..PAGES-1); the seed's bugs show with 1-3.
PAGES: Final = 4
#: Iocbs in submission order, writer tasks, the truncating task and the page-lock holder.
IOCB_NAMES: Final = ("A", "B", "C", "D")
WRITERS: Final = ("T", "U")
TRUNCATOR: Final = "X"
LOCK_HOLDER: Final = "L"
#: Most steps a decoded (or drawn) case has: the bugs of the seed need 2-6; 16 keeps one
#: execution cheap.
DECODED_STEPS_MAX: Final = 16
#: Dispatches a settle may take in a generated case: far above any legitimate settle of a
#: 16-step case, and a retry storm stops early (docs/benchmarks.md, the profile).
SETTLE_BOUND: Final = 64

#: The ops and their weights: the decoder takes `OPCODES[opcode byte % len(OPCODES)]`, the
#: strategy draws an index into the same table. AIO writes and I/O completions are what the loop
#: reacts to, so they come up most. The order is part of the byte format: raw findings re-decode
#: to their recorded case only while it stays as it is.
OPCODES: Final = (
    "aio_write", "complete_io", "aio_write", "complete_io", "run", "flush", "sync_write",
    "truncate", "reclaim", "lock_page", "unlock_page", "settle", "write", "run", "complete_io",
    "aio_write",
)  # fmt: skip


@dataclass(frozen=True)
class Field:
    """One choice with `values` values. The decoder reads it from bits [shift, shift + width)
    of its byte, modulo the number of values; the strategy draws it from range(values)."""

    shift: int
    width: int
    values: int

    def read(self, bits: int, values: int | None = None) -> int:
        return ((bits >> self.shift) & ((1 << self.width) - 1)) % (values or self.values)


#: A source of choices: (field, number of values) -> a value in range(number of values).
Choose = Callable[[Field, int], int]

# The config, read by the decoder from its first two bytes as one number (byte 0 | byte 1 << 8).
FILE_PAGES: Final = Field(0, 2, 4)  # 1-4 pages
WAIT_QUEUES: Final = Field(2, 2, 4)  # 1-4 queues
LOOKUP_NEXT: Final = Field(8, 1, 2)
FILTERED_WAKEUPS: Final = Field(9, 1, 2)
AUTO_SETTLE_OFF: Final = Field(10, 1, 2)
QUEUE_PINS: Final = Field(11, 2, 4)
LOOKUP_RULES: Final = ("last+1", "cursor")
# The July 2004 era's switches in the same two bytes (its cases have no lookup_next or
# filtered_wakeups): i_sem's rule from bits 4-5, the bio completion path from bit 9.
I_SEM: Final = Field(4, 2, 3)
I_SEM_RULES: Final = ("full", "copy-only", "off")
AS_EIO_OFF: Final = Field(9, 1, 2)
#: Queue pinning by QUEUE_PINS value: the hash (twice as likely), every page on queue 0 (every
#: pair collides), pages 0 and 1 on queue 0 (the rest hash).
PIN_MODES: Final = ("hash", "all-collide", "0-1-collide", "hash")

# A step: its op from the opcode byte, its arguments from the argument byte.
OPCODE: Final = Field(0, 8, len(OPCODES))
START_PAGE: Final = Field(0, 2, PAGES)  # a write's range: first page,
UNALIGNED: Final = Field(2, 1, 2)  # 512 bytes into it or not,
LENGTH: Final = Field(3, 2, 4)  # 1-4 pages long
WRITER: Final = Field(5, 1, len(WRITERS))
PAGE: Final = Field(0, 2, PAGES)
TRUNCATE_PAGES: Final = Field(0, 8, 5)  # the new size: 0-4 pages,
HALF_PAGE_LESS: Final = Field(7, 1, 2)  # less half a page when not 0
ACTOR: Final = Field(2, 6, 64)  # which actor a `run` runs, modulo the actors so far
UNTIL: Final = Field(0, 2, 3)
UNTIL_POINTS: Final = (None, "lookup", "page")
IO_ERROR: Final = Field(4, 3, 8)  # an I/O completion fails when all three bits are set
IO_ERROR_VALUE: Final = 7


def pick(choose: Choose, what: Field) -> int:
    return choose(what, what.values)


def config_from(choose: Choose, era: str = "2004-01") -> dict[str, Any]:
    """A case's config of the era `era`, as JSON."""
    config: dict[str, Any] = {
        "file_pages": 1 + pick(choose, FILE_PAGES),
        "wait_queues": 1 + pick(choose, WAIT_QUEUES),
    }
    if era == "2004-01":
        config["lookup_next"] = LOOKUP_RULES[pick(choose, LOOKUP_NEXT)]
        config["filtered_wakeups"] = bool(pick(choose, FILTERED_WAKEUPS))
    else:
        config["era"] = era
        config["i_sem"] = I_SEM_RULES[pick(choose, I_SEM)]
        config["io_error_sets_as_eio"] = not pick(choose, AS_EIO_OFF)
    config["auto_settle"] = not pick(choose, AUTO_SETTLE_OFF)
    config["settle_bound"] = SETTLE_BOUND
    pins = PIN_MODES[pick(choose, QUEUE_PINS)]
    if pins == "all-collide":
        config["queue_of"] = {str(i): 0 for i in range(PAGES)}
    elif pins == "0-1-collide":
        config["queue_of"] = {"0": 0, "1": 0}
    return config


def op_from(choose: Choose) -> str:
    return OPCODES[pick(choose, OPCODE)]


@dataclass
class Names:
    """The iocbs submitted so far (named in order) and every actor a step has introduced: a
    `run` picks among these."""

    iocbs: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)

    def note(self, step: dict[str, Any]) -> None:
        if step["op"] == "run":
            return
        for key in ("iocb", "task"):
            who = step.get(key)
            if isinstance(who, str) and who not in self.actors:
                self.actors.append(who)


def _range(choose: Choose) -> tuple[int, int]:
    """pos and count of a write: its first page, unaligned by 512 bytes or not, 1-4 pages."""
    start = pick(choose, START_PAGE)
    unaligned = pick(choose, UNALIGNED)
    pages = 1 + pick(choose, LENGTH)
    return start * PAGE_CACHE_SIZE + 512 * unaligned, pages * PAGE_CACHE_SIZE


def step_from(op: str, choose: Choose, names: Names) -> dict[str, Any]:
    """One step, as JSON, of op `op` (an op with nothing to act on yet, a fifth AIO write or a
    `run` before any actor, becomes an I/O completion)."""
    step: dict[str, Any]
    if op == "aio_write" and len(names.iocbs) < len(IOCB_NAMES):
        pos, count = _range(choose)
        name = IOCB_NAMES[len(names.iocbs)]
        names.iocbs.append(name)
        step = {"op": "aio_write", "iocb": name, "pos": pos, "count": count}
    elif op in ("sync_write", "write"):
        pos, count = _range(choose)
        step = {"op": op, "task": WRITERS[pick(choose, WRITER)], "pos": pos, "count": count}
    elif op == "truncate":
        size = pick(choose, TRUNCATE_PAGES) * PAGE_CACHE_SIZE
        if pick(choose, HALF_PAGE_LESS) and size:
            size -= PAGE_CACHE_SIZE // 2
        step = {"op": "truncate", "task": TRUNCATOR, "size": size}
    elif op in ("lock_page", "unlock_page"):
        step = {"op": op, "task": LOCK_HOLDER, "page": pick(choose, PAGE)}
    elif op == "run" and names.actors:
        who = names.actors[choose(ACTOR, len(names.actors))]
        step = {"op": "run", ("iocb" if who in names.iocbs else "task"): who}
        until = UNTIL_POINTS[pick(choose, UNTIL)]
        if until:
            step["until"] = until
    elif op in ("flush", "reclaim"):
        step = {"op": op, "page": pick(choose, PAGE)}
    elif op == "settle":
        step = {"op": "settle"}
    else:  # complete_io, or an op with nothing to act on yet
        step = {"op": "complete_io", "page": pick(choose, PAGE)}
        if pick(choose, IO_ERROR) == IO_ERROR_VALUE:
            step["error"] = True
    names.note(step)
    return step
