"""The only code that sees raw fuzzer bytes: a total, structure-aware decoder from bytes to a Case.

Every byte string decodes to a valid case (bytes past the end read as zero), so libFuzzer never
wastes an execution on a parse error. The layout keeps mutations local:

    byte 0   file_pages (1-4) and wait_queues (1-4)
    byte 1   flags: lookup_next, filtered_wakeups, auto_settle off, queue pinning mode
    then     two bytes per step (opcode, argument), at most STEPS_MAX steps

so changing one byte changes one config choice or one step, and a short input is a short case.
Names are fixed: iocbs A, B, C, D in submission order; writer tasks T and U; truncator X; lock
holder L.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from sim.case import FORMAT, Case, parse_case
from sim.cint import PAGE_CACHE_SIZE

#: Most steps a decoded case has: the bugs of the seed need 2-6; 16 keeps one execution cheap.
STEPS_MAX: Final = 16
#: Pages a decoded case touches (indices 0..PAGES-1); the seed's bugs show with 1-3.
PAGES: Final = 4
IOCB_NAMES: Final = ("A", "B", "C", "D")
WRITERS: Final = ("T", "U")

#: Opcode byte -> op, by value modulo the table size. The table weights the ops: AIO writes and
#: I/O completions are what the loop reacts to, so they come up most.
OPCODES: Final = (
    "aio_write", "complete_io", "aio_write", "complete_io", "run", "flush", "sync_write",
    "truncate", "reclaim", "lock_page", "unlock_page", "settle", "write", "run", "complete_io",
    "aio_write",
)  # fmt: skip


def _byte(data: bytes, at: int) -> int:
    return data[at] if at < len(data) else 0


def _range(arg: int) -> tuple[int, int]:
    """pos and count from one byte: start page (2 bits), unaligned (1 bit), length 1-4 pages."""
    start = arg & 3
    unaligned = bool(arg & 4)
    pages = 1 + ((arg >> 3) & 3)
    pos = start * PAGE_CACHE_SIZE + (512 if unaligned else 0)
    return pos, pages * PAGE_CACHE_SIZE


def decode(data: bytes) -> Case:
    """Decode any byte string into a valid case."""
    b0, b1 = _byte(data, 0), _byte(data, 1)
    file_pages = 1 + (b0 & 3)
    wait_queues = 1 + ((b0 >> 2) & 3)
    config: dict[str, Any] = {
        "file_pages": file_pages,
        "wait_queues": wait_queues,
        "lookup_next": "cursor" if b1 & 1 else "last+1",
        "filtered_wakeups": bool(b1 & 2),
        "auto_settle": not b1 & 4,
        "settle_bound": 64,
    }
    pin_mode = (b1 >> 3) & 3
    if pin_mode == 1:  # every page on queue 0: every pair collides
        config["queue_of"] = {str(i): 0 for i in range(PAGES)}
    elif pin_mode == 2:  # pages 0 and 1 collide, the rest hash
        config["queue_of"] = {"0": 0, "1": 0}
    steps: list[dict[str, Any]] = []
    iocbs: list[str] = []
    actors: list[str] = []
    body = data[2:]
    for at in range(0, min(len(body), 2 * STEPS_MAX), 2):
        op = OPCODES[body[at] % len(OPCODES)]
        arg = _byte(body, at + 1)
        page = arg & 3
        step: dict[str, Any]
        if op == "aio_write" and len(iocbs) < len(IOCB_NAMES):
            pos, count = _range(arg)
            name = IOCB_NAMES[len(iocbs)]
            iocbs.append(name)
            step = {"op": "aio_write", "iocb": name, "pos": pos, "count": count}
        elif op in ("sync_write", "write"):
            pos, count = _range(arg)
            step = {"op": op, "task": WRITERS[(arg >> 5) & 1], "pos": pos, "count": count}
        elif op == "truncate":
            size = (arg % 5) * PAGE_CACHE_SIZE
            if arg & 0x80 and size:
                size -= PAGE_CACHE_SIZE // 2
            step = {"op": "truncate", "task": "X", "size": size}
        elif op in ("lock_page", "unlock_page"):
            step = {"op": op, "task": "L", "page": page}
        elif op == "run" and actors:
            step = {"op": "run", **_actor(actors[(arg >> 2) % len(actors)], iocbs)}
            until = ("", "lookup", "page")[(arg & 3) % 3]
            if until:
                step["until"] = until
        elif op in ("flush", "reclaim"):
            step = {"op": op, "page": page}
        elif op == "settle":
            step = {"op": "settle"}
        else:  # complete_io, or an op with nothing to act on yet
            step = {"op": "complete_io", "page": page}
            if arg & 0x70 == 0x70:
                step["error"] = True
        for key in ("iocb", "task"):
            who = step.get(key)
            if isinstance(who, str) and who not in actors and step["op"] != "run":
                actors.append(who)
        steps.append(step)
    digest = hashlib.sha256(data).hexdigest()[:10]
    raw = {"format": FORMAT, "name": f"fuzz-{digest}", "config": config, "steps": steps}
    return parse_case(raw)


def _actor(name: str, iocbs: list[str]) -> dict[str, str]:
    return {"iocb": name} if name in iocbs else {"task": name}
