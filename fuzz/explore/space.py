"""The explorer's schedule space: the `Bound` (pages, iocbs, queues, ops), the `alphabet` of steps
that may follow a schedule, and `Steps`, that alphabet numbered once so that a schedule is a tuple
of step numbers (and a case again through `Steps.case`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pagefuzz.fuzz.generation.grammar import IOCB_NAMES
from pagefuzz.sim.case import FORMAT, Case, Config, Step, _parse_step, parse_case
from pagefuzz.sim.cint import PAGE_CACHE_SIZE

OPS: Final = (
    "aio_write",
    "complete_io",
    "run",
    "pause",
    "settle",
    "flush",
    "truncate",
    "reclaim",
    "sync_write",
    "lock_page",
    "unlock_page",
    "io_error",
)
DEFAULT_OPS: Final = ("aio_write", "complete_io", "run", "pause")


@dataclass(frozen=True)
class Bound:
    max_steps: int
    pages: int
    iocbs: int
    queues: int
    ops: tuple[str, ...] = DEFAULT_OPS
    collide: bool = False  # every page pinned to queue 0
    lookup_next: str = "last+1"
    filtered_wakeups: bool = False
    unaligned: bool = True
    #: The kernel era of the bound's cases (its switches at their defaults).
    era: str = "2004-01"

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"file_pages": self.pages, "wait_queues": self.queues}
        if self.era == "2004-01":
            config["lookup_next"] = self.lookup_next
            config["filtered_wakeups"] = self.filtered_wakeups
        else:
            config["era"] = self.era
        config["auto_settle"] = "run" not in self.ops
        config["settle_bound"] = 64
        if self.collide:
            config["queue_of"] = {str(i): 0 for i in range(self.pages)}
        return config

    def describe(self) -> str:
        if self.era == "2004-01":
            switches = (
                f"lookup_next={self.lookup_next} "
                f"filtered_wakeups={'on' if self.filtered_wakeups else 'off'}"
            )
        else:
            switches = f"era={self.era}"
        return (
            f"max_steps={self.max_steps} pages={self.pages} iocbs={self.iocbs} "
            f"queues={self.queues}{' (all pages on queue 0)' if self.collide else ''} "
            f"ops={','.join(self.ops)} {switches}"
        )


def alphabet(bound: Bound, used_iocbs: int) -> Iterator[dict[str, Any]]:
    """The steps that may follow a schedule that has submitted `used_iocbs` iocbs. Iocbs are
    submitted in name order (A before B): schedules that differ only by iocb names are the same
    schedule, so only one of them is explored."""
    page_size = PAGE_CACHE_SIZE
    if "aio_write" in bound.ops and used_iocbs < bound.iocbs:
        name = IOCB_NAMES[used_iocbs]
        for start in range(bound.pages):
            for length in range(1, bound.pages - start + 1):
                yield {
                    "op": "aio_write",
                    "iocb": name,
                    "pos": start * page_size,
                    "count": length * page_size,
                }
        if bound.unaligned:
            yield {"op": "aio_write", "iocb": name, "pos": 512, "count": page_size}
    for page in range(bound.pages):
        if "complete_io" in bound.ops:
            yield {"op": "complete_io", "page": page}
        if "io_error" in bound.ops:
            yield {"op": "complete_io", "page": page, "error": True}
        if "flush" in bound.ops:
            yield {"op": "flush", "page": page}
        if "reclaim" in bound.ops:
            yield {"op": "reclaim", "page": page}
        if "lock_page" in bound.ops:
            yield {"op": "lock_page", "task": "L", "page": page}
        if "unlock_page" in bound.ops:
            yield {"op": "unlock_page", "task": "L", "page": page}
    if "truncate" in bound.ops:
        for size in (0, page_size // 2, page_size):
            yield {"op": "truncate", "task": "X", "size": size}
    if "sync_write" in bound.ops:
        yield {"op": "sync_write", "task": "T", "pos": 0, "count": bound.pages * page_size}
    if "run" in bound.ops:
        for i in range(used_iocbs):
            for until in (None, "lookup", "page") if "pause" in bound.ops else (None,):
                step: dict[str, Any] = {"op": "run", "iocb": IOCB_NAMES[i]}
                if until:
                    step["until"] = until
                yield step
        if "settle" in bound.ops:
            yield {"op": "settle"}


def case_of(bound: Bound, steps: list[dict[str, Any]], name: str) -> Case:
    """The case of a schedule given as step dicts: the bound's config, then the steps."""
    return parse_case({"format": FORMAT, "name": name, "config": bound.config(), "steps": steps})


class Steps:
    """Every step the bound's alphabet can hold, numbered once: a schedule is a tuple of these
    numbers. `children[used]` lists, in alphabet order, the steps that may follow a schedule that
    has submitted `used` iocbs; `acts[i]` says what step i needs to change anything."""

    def __init__(self, bound: Bound) -> None:
        self.dicts: list[dict[str, Any]] = []
        number: dict[str, int] = {}
        self.children: list[list[int]] = []
        for used in range(bound.iocbs + 1):
            row = []
            for step in alphabet(bound, used):
                text = repr(sorted(step.items()))
                if text not in number:
                    number[text] = len(self.dicts)
                    self.dicts.append(step)
                row.append(number[text])
            self.children.append(row)
        self.config: Config = case_of(bound, [], "alphabet").config
        # Each step parsed as the case format parses it (a schedule's checks, such as an iocb
        # submitted once, hold by construction of the alphabet).
        self.steps: tuple[Step, ...] = tuple(
            _parse_step(d, f"steps[{i}]") for i, d in enumerate(self.dicts)
        )
        self.submits = [d["op"] == "aio_write" for d in self.dicts]
        #: ("run", actor), ("io", page), ("settle", "") or ("any", "").
        self.acts: list[tuple[str, Any]] = []
        for d in self.dicts:
            if d["op"] == "run":
                self.acts.append(("run", str(d.get("iocb", d.get("task")))))
            elif d["op"] == "complete_io":
                self.acts.append(("io", int(d["page"])))
            elif d["op"] == "settle":
                self.acts.append(("settle", ""))
            else:
                self.acts.append(("any", ""))

    def may_act(self, index: int, can_run: frozenset[str], in_flight: frozenset[int]) -> bool:
        what, arg = self.acts[index]
        if what == "run":
            return arg in can_run
        if what == "io":
            return arg in in_flight
        if what == "settle":
            return bool(can_run)
        return True

    def case(self, schedule: Sequence[int], name: str) -> Case:
        return Case(name=name, config=self.config, steps=tuple(self.steps[i] for i in schedule))
