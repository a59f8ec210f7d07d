"""Hypothesis strategies over the same space of cases as the byte decoder (fuzz/decode.py).

Used by property tests and by the hypothesis engine. Cases are drawn as JSON and validated by
`parse_case`, so a strategy can only produce what a hand-written file could say.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from fuzz.decode import IOCB_NAMES, PAGES, STEPS_MAX, WRITERS
from sim.case import FORMAT, Case, parse_case
from sim.cint import PAGE_CACHE_SIZE

pages = st.integers(0, PAGES - 1)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[int, int]:
    start = draw(pages)
    unaligned = draw(st.booleans())
    length = draw(st.integers(1, 4))
    return start * PAGE_CACHE_SIZE + (512 if unaligned else 0), length * PAGE_CACHE_SIZE


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    config: dict[str, Any] = {
        "file_pages": draw(st.integers(1, 4)),
        "wait_queues": draw(st.integers(1, 4)),
        "lookup_next": draw(st.sampled_from(["last+1", "cursor"])),
        "filtered_wakeups": draw(st.booleans()),
        "auto_settle": draw(st.booleans()),
        "settle_bound": 64,
    }
    pins = draw(st.sampled_from(["hash", "all-collide", "0-1-collide"]))
    if pins == "all-collide":
        config["queue_of"] = {str(i): 0 for i in range(PAGES)}
    elif pins == "0-1-collide":
        config["queue_of"] = {"0": 0, "1": 0}
    return config


@st.composite
def cases(draw: st.DrawFn, max_steps: int = STEPS_MAX) -> Case:
    """A valid case of up to `max_steps` steps over pages 0-3, iocbs A-D and tasks T, U, X, L."""
    config = draw(configs())
    steps: list[dict[str, Any]] = []
    iocbs: list[str] = []
    actors: list[str] = []
    for _ in range(draw(st.integers(1, max_steps))):
        op = draw(
            st.sampled_from(
                [
                    "aio_write",
                    "complete_io",
                    "run",
                    "flush",
                    "sync_write",
                    "write",
                    "truncate",
                    "reclaim",
                    "lock_page",
                    "unlock_page",
                    "settle",
                ]
            )
        )
        step: dict[str, Any]
        if op == "aio_write" and len(iocbs) < len(IOCB_NAMES):
            pos, count = draw(ranges())
            iocbs.append(IOCB_NAMES[len(iocbs)])
            step = {"op": op, "iocb": iocbs[-1], "pos": pos, "count": count}
        elif op in ("sync_write", "write"):
            pos, count = draw(ranges())
            step = {"op": op, "task": draw(st.sampled_from(WRITERS)), "pos": pos, "count": count}
        elif op == "truncate":
            size = draw(st.integers(0, 4)) * PAGE_CACHE_SIZE
            if size and draw(st.booleans()):
                size -= PAGE_CACHE_SIZE // 2
            step = {"op": op, "task": "X", "size": size}
        elif op in ("lock_page", "unlock_page"):
            step = {"op": op, "task": "L", "page": draw(pages)}
        elif op == "run" and actors:
            name = draw(st.sampled_from(actors))
            step = {"op": op, ("iocb" if name in iocbs else "task"): name}
            until = draw(st.sampled_from([None, "lookup", "page"]))
            if until:
                step["until"] = until
        elif op in ("flush", "reclaim"):
            step = {"op": op, "page": draw(pages)}
        elif op == "settle":
            step = {"op": op}
        else:
            step = {"op": "complete_io", "page": draw(pages)}
            if draw(st.integers(0, 7)) == 0:
                step["error"] = True
        for key in ("iocb", "task"):
            who = step.get(key)
            if isinstance(who, str) and who not in actors and op != "run":
                actors.append(who)
        steps.append(step)
    return parse_case({"format": FORMAT, "name": "hypothesis", "config": config, "steps": steps})
