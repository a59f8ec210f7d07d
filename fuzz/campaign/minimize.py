"""Semantic minimisation of a failing case: smaller, still the same finding.

The minimiser keeps a candidate only if it is smaller, by `sort_key`, than the case so far and
still shows every target finding (by signature): hypothesis' shrinker's two rules, a shrink
never grows and never slides onto another bug. Other violations may come or go: the smallest
case for one finding need not show the rest. It never calls the world directly: `try_case`
refuses a candidate that is not smaller before running anything, then evaluates it through the
evaluator (`oracle.evaluate`), caching by the case's canonical JSON.

Passes, each repeated until nothing it tries is kept:
- `drop_steps`: delta debugging over the steps (halves, quarters, ... single steps);
- `simplify_steps`: drop pauses, align `pos`, shorten `count`, lower page indices and sizes;
- `simplify_config`: fewer file pages, fewer queues, no pins, the default model choices
  (lookup_next, filtered_wakeups) and auto_settle where the finding does not depend on them, a
  small settle_bound (a storm replays faster).
The loop ends when a whole round keeps nothing; the last round tried every single-step removal,
so the result is 1-minimal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Final

from pagefuzz.fuzz.campaign.target import Evaluator
from pagefuzz.sim.case import Case, Config, Step
from pagefuzz.sim.cint import PAGE_CACHE_SIZE

#: Cases tried at the most: minimising a 16-step case takes a few hundred; the bound only stops
#: a pathological case from running for ever.
TRIES_MAX: Final = 5000


def sort_key(case: Case) -> tuple[object, ...]:
    """What "smaller" means, compared as tuples: fewer steps; then a smaller world (fewer file
    pages, fewer wait queues, fewer pinned pages); then simpler steps, the first difference
    deciding (`step_key`); then the default model choices (lookup_next, filtered_wakeups off,
    auto_settle on) and a lower settle bound. Every candidate a pass makes changes one of these
    downwards, so every one is smaller; a pass that changed something upwards would be refused."""
    config = case.config
    return (
        len(case.steps),
        config.file_pages,
        config.wait_queues,
        len(config.queue_of),
        tuple(step_key(s) for s in case.steps),
        config.lookup_next != Config().lookup_next,
        config.filtered_wakeups,
        not config.auto_settle,
        config.settle_bound,
    )


def step_key(step: Step) -> tuple[int, ...]:
    """A step is simpler without a pause point or an I/O error, and with smaller numbers."""
    return (
        step.until is not None,
        step.error,
        step.pos or 0,
        step.count or 0,
        step.page or 0,
        step.size or 0,
    )


@dataclass
class Minimizer:
    evaluator: Evaluator
    targets: frozenset[str]  # finding signatures every kept case must still show
    tries: int = 0
    cache: dict[str, bool] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def keeps(self, case: Case) -> bool:
        key = json.dumps(case.to_json(), sort_keys=True)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        self.tries += 1
        found = {f.signature for f in self.evaluator.evaluate(case).failures}
        ok = self.targets <= found
        self.cache[key] = ok
        return ok

    def try_case(self, best: Case, candidate: Case, what: str) -> Case:
        """`candidate` if it is smaller than `best` and keeps the targets, else `best`."""
        if self.tries >= TRIES_MAX or not sort_key(candidate) < sort_key(best):
            return best
        if self.keeps(candidate):
            self.removed.append(what)
            return candidate
        return best

    def drop_steps(self, case: Case) -> Case:
        chunk = max(1, len(case.steps) // 2)
        while chunk >= 1:
            start = 0
            while start < len(case.steps):
                steps = case.steps[:start] + case.steps[start + chunk :]
                gone = case.steps[start : start + chunk]
                candidate = replace(case, steps=steps)
                kept = self.try_case(
                    case, candidate, "removed " + "; ".join(_step_text(s) for s in gone)
                )
                if kept is case:
                    start += chunk
                case = kept
            chunk //= 2
        return case

    def simplify_steps(self, case: Case) -> Case:
        for index in range(len(case.steps)):
            changed = True
            while changed:  # candidates are built from the current step: regenerate after each
                changed = False
                for candidate_step, what in _simpler_steps(case.steps[index]):
                    steps = (*case.steps[:index], candidate_step, *case.steps[index + 1 :])
                    kept = self.try_case(case, replace(case, steps=steps), f"step {index}: {what}")
                    if kept is not case:
                        case, changed = kept, True
                        break
        return case

    def simplify_config(self, case: Case) -> Case:
        changed = True
        while changed:
            changed = False
            for config, what in _simpler_configs(case.config):
                kept = self.try_case(case, replace(case, config=config), what)
                if kept is not case:
                    case, changed = kept, True
                    break
        return case

    def run(self, case: Case) -> Case:
        while True:
            before = case
            case = self.drop_steps(case)
            case = self.simplify_steps(case)
            case = self.simplify_config(case)
            if case == before or self.tries >= TRIES_MAX:
                return case


def minimize(case: Case, evaluator: Evaluator, targets: frozenset[str]) -> tuple[Case, list[str]]:
    """The smallest case found that still shows every target finding, and what was removed.
    Raises ValueError if the case does not show the targets to begin with. Candidates run only
    in the versions whose findings are targets (each version's run is independent of the
    others'), without timelines: a crashing or hanging version beside them costs nothing."""
    shown = evaluator.evaluate(case).failures
    if not targets <= {f.signature for f in shown}:
        raise ValueError("the case does not fail with the given signatures")
    versions = {f.version for f in shown if f.signature in targets}
    m = Minimizer(evaluator.only(sorted(versions)), targets)
    small = m.run(case)
    return replace(small, name=case.name), m.removed


def is_one_minimal(case: Case, keeps: Callable[[Case], bool]) -> bool:
    """Removing any single step loses the finding."""
    return not any(
        keeps(replace(case, steps=case.steps[:i] + case.steps[i + 1 :]))
        for i in range(len(case.steps))
    )


def _step_text(step: Step) -> str:
    return " ".join(f"{k}={v}" for k, v in step.to_json().items())


def _simpler_steps(step: Step) -> Iterator[tuple[Step, str]]:
    if step.until is not None:
        yield replace(step, until=None), f"dropped until={step.until}"
    if step.error:
        yield replace(step, error=False), "dropped error"
    if step.pos is not None and step.pos % PAGE_CACHE_SIZE:
        aligned = step.pos - step.pos % PAGE_CACHE_SIZE
        yield replace(step, pos=aligned), f"pos {step.pos} -> {aligned}"
    if step.pos:
        yield replace(step, pos=0), f"pos {step.pos} -> 0"
    if step.count is not None and step.count > PAGE_CACHE_SIZE:
        yield replace(step, count=PAGE_CACHE_SIZE), f"count {step.count} -> {PAGE_CACHE_SIZE}"
        yield (
            replace(step, count=step.count - PAGE_CACHE_SIZE),
            (f"count {step.count} -> {step.count - PAGE_CACHE_SIZE}"),
        )
    if step.page:
        yield replace(step, page=step.page - 1), f"page {step.page} -> {step.page - 1}"
    if step.size:
        yield replace(step, size=0), f"size {step.size} -> 0"


def _simpler_configs(config: Config) -> Iterator[tuple[Config, str]]:
    for pages in range(config.file_pages):
        yield replace(config, file_pages=pages), f"config.file_pages {config.file_pages} -> {pages}"
    for queues in range(1, config.wait_queues):
        pins = tuple((i, q) for i, q in config.queue_of if q < queues)
        if len(pins) == len(config.queue_of):
            yield (
                replace(config, wait_queues=queues),
                (f"config.wait_queues {config.wait_queues} -> {queues}"),
            )
    for i, (index, _) in enumerate(config.queue_of):
        rest = config.queue_of[:i] + config.queue_of[i + 1 :]
        yield replace(config, queue_of=rest), f"config.queue_of dropped page {index}"
    defaults = Config()
    if config.lookup_next != defaults.lookup_next:
        yield (
            replace(config, lookup_next=defaults.lookup_next),
            (f"config.lookup_next {config.lookup_next} -> {defaults.lookup_next}"),
        )
    if config.filtered_wakeups:
        yield replace(config, filtered_wakeups=False), "config.filtered_wakeups -> false"
    if config.i_sem != defaults.i_sem:
        yield replace(config, i_sem=defaults.i_sem), f"config.i_sem {config.i_sem} -> full"
    if not config.io_error_sets_as_eio:
        yield replace(config, io_error_sets_as_eio=True), "config.io_error_sets_as_eio -> true"
    if not config.auto_settle:
        yield replace(config, auto_settle=True), "config.auto_settle -> true"
    if config.settle_bound != defaults.settle_bound and config.settle_bound > 64:
        yield replace(config, settle_bound=64), f"config.settle_bound {config.settle_bound} -> 64"
