"""Human-readable output of replays: one line per request and per violation, the pairs'
differential lines, timelines (side by side, a storm's repeats collapsed), the count line, and
the progress bar of a long replay. Reads an `oracle.evaluate.Evaluation`; runs nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pagefuzz._console import plain_requested
from pagefuzz.oracle.checks import CHECK_FUNCTIONS
from pagefuzz.oracle.evaluate import Evaluation
from pagefuzz.sim import Case, RunRecord
from pagefuzz.sim.cint import errno_name
from pagefuzz.sim.events import Event
from pagefuzz.sim.record import RequestResult

#: Narrowest column a version's timeline gets when shown side by side.
TIMELINE_COLUMN_MIN = 46
#: Longest block of timeline lines whose repeats a storm's trace collapses: a storm's cycle is
#: one run of each iocb kicking the next (18 lines for two one-page iocbs), so a few iocbs fit.
REPEAT_PERIOD_MAX: Final = 64
#: Fewest repeats in a row that are collapsed: the first and the last stay, so fewer would hide
#: at most one repeat behind a line of its own.
REPEATS_MIN: Final = 4


def config_line(case: Case) -> str:
    c = case.config
    pins = " ".join(f"{i}->{q}" for i, q in c.queue_of)
    if c.era == "2004-01":
        switches = (
            f" lookup_next={c.lookup_next} filtered_wakeups={'on' if c.filtered_wakeups else 'off'}"
        )
    else:
        # The era and every CHOICE switch of it, by name (kernel-model-2004-07.md, JR1).
        switches = f" era={c.era} i_sem={c.i_sem} io_error_sets_as_eio=" + (
            f"{'on' if c.io_error_sets_as_eio else 'off'} y2005_null_io_wait={c.y2005_null_io_wait}"
        )
    return (
        f"file_pages={c.file_pages} wait_queues={c.wait_queues}"
        + (f" queue_of[{pins}]" if pins else "")
        + switches
        + f" auto_settle={'on' if c.auto_settle else 'off'} settle_bound={c.settle_bound}"
    )


def request_line(req: RequestResult) -> str:
    if req.result is None:
        outcome = "never completed"
    else:
        name = errno_name(req.result)
        value = f"{req.result} ({name})" if name else str(req.result)
        outcome = f"-> {value} at step {req.completed_at}"
    runs = (
        f", {req.retries} run{'s' if req.retries != 1 else ''}" if req.kind == "aio_write" else ""
    )
    late = ""
    if req.not_on_disk_at_completion:
        late = ", not on disk at completion: " + " ".join(
            f"p{i}" for i in req.not_on_disk_at_completion
        )
    return f"{req.name:<6} {req.kind:<10} pos {req.pos} count {req.count} {outcome}{runs}{late}"


def event_line(step: int, actor: str, text: str) -> str:
    return f"{step:>4}  {actor:<8} {text}"


def print_replay(
    console: Console, path: Path, outcome: Evaluation, trace: bool, source: str = ""
) -> None:
    """One case's block: name and file, where it came from, config, each version's verdict,
    requests and violations, each pair's class, the expectation, and with `trace` timelines."""
    case = outcome.case
    console.print(f"[bold]{escape(case.name)}[/bold]  ({escape(str(path))})")
    if source:
        console.print(f"  from: {escape(source)}")
    console.print(f"  config: {config_line(case)}")
    for name, record in outcome.records.items():
        verdict = outcome.verdicts[name]
        status = "[green]pass[/green]" if verdict.passed else "[bold red]FAIL[/bold red]"
        extra = []
        if record.settle_bound_hit:
            extra.append("settle bound hit")
        if record.skipped_steps:
            extra.append("skipped steps " + ",".join(str(s) for s in record.skipped_steps))
        tail = f"  ({'; '.join(extra)})" if extra else ""
        console.print(f"  [bold]{escape(name):<15}[/bold] {status}{escape(tail)}")
        for req in record.requests:
            console.print(f"    {escape(request_line(req))}")
        if _died(record):
            console.print("    (its process died: nothing of the run is left but how it ended)")
        for v in verdict.violations:
            console.print(f"    [red]x {escape(v.line())}[/red]")
    for d in outcome.differentials:
        a, b = d.pair.first, d.pair.second
        colour = {"fixed": "green", "regressed": "red", "both": "yellow"}.get(d.cls, "default")
        div = ""
        died = [name for name in (a, b) if _died(outcome.records[name])]
        if died:
            div = f"; no timelines to compare: {' and '.join(died)} died with its process"
        elif d.first_divergence is not None:
            fd = d.first_divergence
            div = (
                f"; first divergence at step {fd.step}: {a} {fd.left or '(ends)'!r} | "
                f"{b} {fd.right or '(ends)'!r}"
            )
        console.print(
            f"  {escape(str(d.pair)):<26} [{colour}]{d.cls:<9}[/{colour}] "
            f"signature {d.signature}{escape(div)}"
        )
    if case.expect is not None:
        if outcome.expectation_ok:
            console.print("  expectation: [green]met[/green]")
        for m in outcome.mismatches:
            console.print(f"  expectation: [bold red]MISMATCH[/bold red] {escape(m.line())}")
    died = unexpected_deaths(outcome)
    if died:
        console.print(
            f"  [bold red]died[/bold red]: {escape(', '.join(died))} (a version's code died or "
            "hung, which the case does not expect: the case fails)"
        )
    if trace:
        print_timelines(console, outcome.records)
    console.print()


@dataclass(frozen=True)
class Repeat:
    """Stands in a storm's timeline for the middle repeats of a block of lines."""

    period: int  # lines in the block
    times: int  # repeats hidden between the first and the last shown
    first_seq: int  # the hidden events' sequence numbers
    last_seq: int

    def text(self) -> str:
        block = (
            "the line above repeats"
            if self.period == 1
            else f"the {self.period} lines above repeat"
        )
        times = f"{self.times:,} more time{'s' if self.times != 1 else ''}"
        return f"… {block} {times} (events {self.first_seq:,}..{self.last_seq:,}) …"


def _shape(event: Event) -> tuple[object, ...]:
    """An event without its numbers: what stays the same from one repeat of a storm to the
    next (numbers nested in tuples, such as a lookup's pages, are left out too)."""

    def strip(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | tuple | list):
            return value
        return tuple(strip(v) for v in value) if isinstance(value, tuple | list) else None

    return (event.actor, event.message, *(strip(a) for a in event.args))


def collapse_repeats(events: Sequence[Event]) -> list[Event | Repeat]:
    """One step's events, each run of REPEATS_MIN or more repeats in a row of a block of up to
    REPEAT_PERIOD_MAX lines shown as its first repeat, a `Repeat`, and its last repeat.

    Events are compared on their fields with the numbers left out (actor, message, and the
    arguments that are not numbers): run counters, pages and queues change from one repeat to
    the next. Scanning from the first line, the block that covers the most lines from there is
    taken (the shortest on a tie)."""
    keys = [_shape(e) for e in events]
    out: list[Event | Repeat] = []
    i = 0
    while i < len(keys):
        period, covered = 0, 0
        for p in range(1, min(REPEAT_PERIOD_MAX, (len(keys) - i) // REPEATS_MIN) + 1):
            j = i + p
            while j < len(keys) and keys[j] == keys[j - p]:
                j += 1
            whole = (j - i) // p * p
            if whole >= REPEATS_MIN * p and whole > covered:
                period, covered = p, whole
        if not period:
            out.append(events[i])
            i += 1
            continue
        last = i + covered - period
        out.extend(events[i : i + period])
        out.append(
            Repeat(period, covered // period - 2, events[i + period].seq, events[last - 1].seq)
        )
        out.extend(events[last : i + covered])
        i += covered
    return out


def stormed(record: RunRecord) -> bool:
    """A retry storm (what oracle retry_bound flags), a run stopped by a settle bound or the
    dispatch budget, or one whose log dropped events: only these timelines are collapsed, so
    every other trace shows each event."""
    return bool(
        record.settle_bound_hit
        or record.budget_hit
        or record.events_elided
        or CHECK_FUNCTIONS["retry_bound"](record)
    )


def timeline(record: RunRecord) -> dict[int, list[Event | Repeat]]:
    """A run's events by step (steps only grow along a run), a storm's repeats collapsed
    within each step."""
    by_step: dict[int, list[Event]] = {}
    for e in record.events:
        by_step.setdefault(e.step, []).append(e)
    storm = stormed(record)
    return {step: collapse_repeats(evs) if storm else [*evs] for step, evs in by_step.items()}


def _cell_line(item: Event | Repeat) -> str:
    return item.text() if isinstance(item, Repeat) else f"{item.actor}: {item.text}"


def print_timelines(console: Console, records: dict[str, RunRecord]) -> None:
    """Side by side, one row per case step, when the terminal is wide enough; else one after
    the other, one fixed-column line per event. A storm's repeats are collapsed (`timeline`)."""
    names = list(records)
    timelines = {name: timeline(records[name]) for name in names}
    wide = console.is_terminal and console.width >= 8 + TIMELINE_COLUMN_MIN * len(names)
    if not wide:
        for name in names:
            console.print(f"  [bold]timeline {escape(name)}[/bold]")
            for step, items in timelines[name].items():
                for item in items:
                    line = (
                        event_line(step, "", item.text())
                        if isinstance(item, Repeat)
                        else event_line(item.step, item.actor, item.text)
                    )
                    console.print("  " + escape(line))
        return
    table = Table(show_lines=True, expand=True)
    table.add_column("step", justify="right", no_wrap=True)
    for name in names:
        table.add_column(name, ratio=1)
    steps = sorted({step for t in timelines.values() for step in t})
    for step in steps:
        cells = []
        for name in names:
            lines = [_cell_line(item) for item in timelines[name].get(step, [])]
            cells.append(escape("\n".join(lines)))
        table.add_row(str(step), *cells)
    console.print(table)


#: Findings a replay fails on even where the case expects nothing: a version whose code died or
#: ran past its budget (unless the case's `expect` says it does).
DIED: Final = ("crash", "timeout")


def unexpected_deaths(outcome: Evaluation) -> list[str]:
    """`c:fix.c crash`, for each version whose code died or ran past its budget on this case
    where the case's `expect` does not say it does."""
    expected = (outcome.case.expect or {}).get("checks", {})
    return [
        f"{f.key.version} {f.key.check}"
        for f in outcome.failures
        if f.key.check in DIED and f.key.check not in expected.get(f.key.version, [])
    ]


def _died(record: RunRecord) -> bool:
    """The run's process died (a version from outside the package): no timeline survived."""
    return record.failure is not None and not record.events and not record.messages


class Tally:
    """What a replay of many cases ends with: how many met their `expect`, which did not (and
    which had a version die on them unexpected: that fails a case with no `expect` too)."""

    def __init__(self) -> None:
        self.passed = 0
        self.unchecked = 0
        self.failing: list[Path] = []
        self.why: dict[Path, str] = {}

    def add(self, path: Path, outcome: Evaluation) -> None:
        died = unexpected_deaths(outcome)
        if died:
            self.failing.append(path)
            self.why[path] = ", ".join(dict.fromkeys(died))
        elif outcome.case.expect is None:
            self.unchecked += 1
        elif outcome.expectation_ok:
            self.passed += 1
        else:
            self.failing.append(path)

    def line(self) -> str:
        """`1 failed, 42 passed` (expectations), and the cases that carry none."""
        total = self.passed + self.unchecked + len(self.failing)
        line = f"{len(self.failing)} failed, {self.passed} passed"
        if self.unchecked:
            line += f", {self.unchecked} without expect"
        return f"replay: {total} case{'s' if total != 1 else ''}: {line}"


@contextmanager
def replay_progress(console: Console, total: int) -> Iterator[Callable[[Path], None]]:
    """A progress bar for a long replay, on whichever of stdout and stderr is a terminal (never
    under CI=true, never into a pipe); yields the function that marks one case done."""
    if console.is_terminal:
        where: Console | None = console
    elif sys.stderr.isatty() and not plain_requested():
        where = Console(stderr=True)
    else:
        where = None
    if where is None or total < 2:
        yield lambda _path: None
        return
    with Progress(
        TextColumn("replay"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=where,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=total)

        def advance(path: Path) -> None:
            bar.update(task, advance=1, description=escape(path.name))

        yield advance
