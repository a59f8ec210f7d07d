"""`pagefuzz explore`: check the flags into a `fuzz.explore.Bound`, explore with a progress bar
on a terminal (plain lines otherwise), and write the certificate and one case file per shortest
counterexample, each with the `expect` block that holds for it (`Evaluation.expect_block`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from pagefuzz._console import PLAIN_PERIOD_S
from pagefuzz._replay import CaseFileError
from pagefuzz.fuzz.explore import OPS, Bound, Certificate, ExploreInterrupted, explore
from pagefuzz.fuzz.files import write_json_atomic
from pagefuzz.oracle.evaluate import evaluate

#: (flag, lowest, highest) accepted for the bound's numbers, checked before anything runs.
LIMITS: Final = (("--max-steps", 0, 30), ("--pages", 1, 4), ("--iocbs", 1, 4), ("--queues", 1, 64))


def explore_bound(
    max_steps: int,
    pages: int,
    iocbs: int,
    queues: int,
    ops: str,
    collide: bool = False,
    lookup_next: str = "last+1",
    filtered_wakeups: bool = False,
) -> Bound:
    """The bound the flags describe (`ops` comma-separated), or a `CaseFileError` line naming
    the flag that is out of range."""
    names = [o.strip() for o in ops.split(",") if o.strip()]
    for op in names:
        if op not in OPS:
            raise CaseFileError(f"--ops: unknown op {op!r}; ops: {', '.join(OPS)}")
    for (flag, low, high), value in zip(LIMITS, (max_steps, pages, iocbs, queues), strict=True):
        if not low <= value <= high:
            raise CaseFileError(f"{flag}: must be between {low} and {high}, got {value}")
    return Bound(
        max_steps=max_steps,
        pages=pages,
        iocbs=iocbs,
        queues=queues,
        ops=tuple(names),
        collide=collide,
        lookup_next=lookup_next,
        filtered_wakeups=filtered_wakeups,
    )


def run_explore(
    console: Console,
    bound: Bound,
    versions: Sequence[str],
    out: Path,
    time_limit: float | None = None,
    prune: bool = True,
    as_json: bool = False,
) -> dict[str, Any]:
    """Explore with a progress bar (states/s, the level being closed) on a terminal, plain lines
    otherwise (one per length closed, one every PLAIN_PERIOD_S), and write the certificate and
    one case file per shortest counterexample into `out`. Returns the certificate's JSON."""
    if out.exists() and not out.is_dir():  # refused now, not after a long exploration
        raise CaseFileError(f"--out: {out}: not a directory")
    started = time.monotonic()
    columns = (
        TextColumn("explore depth {task.fields[depth]}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} schedules of this length"),
        TextColumn("{task.fields[states]} states, {task.fields[rate]:.0f} states/s"),
        TimeElapsedColumn(),
        TextColumn("ETA of this length"),
        TimeRemainingColumn(),
    )
    plain = not console.is_terminal and not as_json
    depth = [0]  # the length being explored: one more each time a length's last schedule is done
    last_line = [started]
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("explore", total=1, depth=0, states=0, rate=0.0)

        def progress(cert: Certificate, done: int, total: int) -> None:
            now = time.monotonic()
            rate = cert.states / max(now - started, 1e-9)
            bar.update(
                task, completed=done, total=total, depth=depth[0], states=cert.states, rate=rate
            )
            if plain and done == total:
                console.print(
                    f"explore: depth {depth[0]} closed, {cert.schedules} schedules, "
                    f"{cert.states} states, {now - started:.1f} s"
                )
                last_line[0] = now
            elif plain and now - last_line[0] >= PLAIN_PERIOD_S:
                console.print(
                    f"explore: depth {depth[0]}, {done}/{total} schedules of this length, "
                    f"{cert.states} states, {rate:.0f} states/s"
                )
                last_line[0] = now
            if done == total:
                depth[0] += 1

        try:
            cert = explore(bound, list(versions), time.monotonic, progress, time_limit, prune=prune)
        except ExploreInterrupted as stop:  # Ctrl-C: keep what was judged, as a time limit does
            cert = stop.certificate
    # An earlier exploration's files would sit beside a certificate that does not list them:
    # remove exactly the names explore writes, never anything else of the user's.
    out.mkdir(parents=True, exist_ok=True)
    earlier = [p for p in [*out.glob("shortest-*.json"), out / "certificate.json"] if p.is_file()]
    for path in earlier:
        path.unlink()
    for example in cert.shortest.values():
        case = replace(
            example.case,
            notes=f"Shortest counterexample for {example.key} found by "
            f"pagefuzz explore ({bound.describe()}).",
            expect=evaluate(example.case, versions).expect_block(),
        )
        write_json_atomic(out / f"{case.name}.json", case.to_json())
    data = cert.to_json()
    write_json_atomic(out / "certificate.json", data)
    if not as_json:
        _print_certificate(console, cert, data, bound, out, len(earlier))
    return data


def _print_certificate(
    console: Console, cert: Certificate, data: dict[str, Any], bound: Bound, out: Path, earlier: int
) -> None:
    if earlier:
        files = f"{earlier} file{'' if earlier == 1 else 's'}"
        console.print(f"replaced {files} an earlier exploration wrote in {out}")
    if cert.complete:
        state = "complete"
    elif cert.interrupted:
        state = f"interrupted after depth {cert.depth_done} was closed"
    else:
        state = f"stopped by the time limit after depth {cert.depth_done}"
    console.print(f"certificate ({state}): {bound.describe()}")
    console.print(
        f"  {cert.schedules} schedules, {cert.states} distinct states, {cert.pruned} "
        f"pruned, {cert.seconds:.1f} s"
    )
    for version, found in data["versions"].items():
        if isinstance(found, str):
            console.print(f"  {version}: {found}")
            continue
        for key, info in found.items():
            console.print(
                f"  {escape(key):<40} shortest {info['steps']} steps: "
                f"{out / (info['case'] + '.json')}"
            )
    console.print(f"certificate: {out / 'certificate.json'}")
