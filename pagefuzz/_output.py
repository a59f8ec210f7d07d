"""Human-readable output of replays: one line per request and per violation, timelines."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pagefuzz._replay import Outcome
from sim import Case, RunRecord
from sim.cint import errno_name
from sim.record import RequestResult

#: Narrowest column a version's timeline gets when shown side by side.
TIMELINE_COLUMN_MIN = 46


def config_line(case: Case) -> str:
    c = case.config
    pins = " ".join(f"{i}->{q}" for i, q in c.queue_of)
    return (
        f"file_pages={c.file_pages} wait_queues={c.wait_queues}"
        + (f" queue_of[{pins}]" if pins else "")
        + f" lookup_next={c.lookup_next} filtered_wakeups={'on' if c.filtered_wakeups else 'off'}"
        f" auto_settle={'on' if c.auto_settle else 'off'} settle_bound={c.settle_bound}"
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


def print_replay(console: Console, path: Path, case: Case, outcome: Outcome, trace: bool) -> None:
    console.print(f"[bold]{escape(case.name)}[/bold]  ({escape(str(path))})")
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
        for v in verdict.violations:
            console.print(f"    [red]x {escape(v.line())}[/red]")
    for d in outcome.differentials:
        a, b = d.pair
        colour = {"fixed": "green", "regressed": "red", "both": "yellow"}.get(d.cls, "default")
        div = ""
        if d.first_divergence is not None:
            fd = d.first_divergence
            div = (
                f"; first divergence at step {fd.step}: {a} {fd.left or '(ends)'!r} | "
                f"{b} {fd.right or '(ends)'!r}"
            )
        console.print(
            f"  {escape(a + '/' + b):<26} [{colour}]{d.cls:<9}[/{colour}] "
            f"signature {d.signature}{escape(div)}"
        )
    if case.expect is not None:
        if outcome.expectation_ok:
            console.print("  expectation: [green]met[/green]")
        for m in outcome.mismatches:
            console.print(f"  expectation: [bold red]MISMATCH[/bold red] {escape(m.line())}")
    if trace:
        print_timelines(console, outcome.records)
    console.print()


def print_timelines(console: Console, records: dict[str, RunRecord]) -> None:
    """Side by side, one row per case step, when the terminal is wide enough; else one after
    the other, one fixed-column line per event."""
    names = list(records)
    wide = console.is_terminal and console.width >= 8 + TIMELINE_COLUMN_MIN * len(names)
    if not wide:
        for name in names:
            console.print(f"  [bold]timeline {escape(name)}[/bold]")
            for e in records[name].events:
                console.print("  " + escape(event_line(e.step, e.actor, e.text)))
        return
    table = Table(show_lines=True, expand=True)
    table.add_column("step", justify="right", no_wrap=True)
    for name in names:
        table.add_column(name, ratio=1)
    steps = sorted({e.step for r in records.values() for e in r.events})
    for step in steps:
        cells = []
        for name in names:
            lines = [f"{e.actor}: {e.text}" for e in records[name].events if e.step == step]
            cells.append(escape("\n".join(lines)))
        table.add_row(str(step), *cells)
    console.print(table)
