"""`pagefuzz explore`: check the flags into a `fuzz.explore.Bound`, explore with a progress bar
on a terminal (plain lines otherwise), and write the certificate and one case file per shortest
counterexample, each with the `expect` block that holds for it (`Evaluation.expect_block`);
`--merge` combines shard certificates (`fuzz.explore.merge_certificates`) into one."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from pagefuzz._casefile import CaseFileError
from pagefuzz._console import PLAIN_PERIOD_S, make_console
from pagefuzz.fuzz.explore.search import (
    OPS,
    Bound,
    Certificate,
    ExploreInterrupted,
    MergeError,
    Shard,
    explore,
    merge_certificates,
    parse_shard,
)
from pagefuzz.fuzz.files import write_json_atomic
from pagefuzz.fuzz.versions.resolve import records_of, versions_of
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
    era: str = "2004-01",
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
    if era != "2004-01" and (lookup_next != "last+1" or filtered_wakeups):
        flag = "--lookup-next" if lookup_next != "last+1" else "--filtered-wakeups"
        raise CaseFileError(f"{flag}: a setting of era 2004-01, meaningless in era {era}")
    return Bound(
        max_steps=max_steps,
        pages=pages,
        iocbs=iocbs,
        queues=queues,
        ops=tuple(names),
        collide=collide,
        lookup_next=lookup_next,
        filtered_wakeups=filtered_wakeups,
        era=era,
    )


def run_explore(
    console: Console,
    bound: Bound,
    versions: Sequence[str],
    out: Path,
    time_limit: float | None = None,
    prune: bool = True,
    as_json: bool = False,
    jobs: int = 1,
    shard: Shard | None = None,
) -> dict[str, Any]:
    """Explore with a progress bar (states/s, the level being closed) on a terminal, plain lines
    otherwise (one per length closed, one every PLAIN_PERIOD_S), and write the certificate and
    one case file per shortest counterexample into `out`. Returns the certificate's JSON."""
    if out.exists() and not out.is_dir():  # refused now, not after a long exploration
        raise CaseFileError(f"--out: {out}: not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CaseFileError(f"--out: {out}: cannot create it: {exc.strerror or exc}") from None
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
            cert = explore(
                bound,
                list(versions),
                time.monotonic,
                progress,
                time_limit,
                prune=prune,
                jobs=jobs,
                shard=shard,
            )
        except ExploreInterrupted as stop:  # Ctrl-C: keep what was judged, as a time limit does
            cert = stop.certificate
    # An earlier exploration's files would sit beside a certificate that does not list them.
    earlier = _clear(out)
    for example in cert.shortest.values():
        case = replace(
            example.case,
            notes=f"Shortest counterexample for {example.key} found by "
            f"pagefuzz explore ({bound.describe()}).",
            expect=evaluate(example.case, versions_of(versions)).expect_block(),
            versions=records_of(versions),
        )
        write_json_atomic(out / f"{case.name}.json", case.to_json())
    data = cert.to_json()
    write_json_atomic(out / "certificate.json", data)
    if not as_json:
        _print_certificate(console, data, out, len(earlier))
    return data


def _clear(out: Path) -> list[Path]:
    """Remove exactly the names explore writes in `out` (never anything else of the user's);
    returns what was removed."""
    out.mkdir(parents=True, exist_ok=True)
    earlier = [p for p in [*out.glob("shortest-*.json"), out / "certificate.json"] if p.is_file()]
    for path in earlier:
        path.unlink()
    return earlier


def run_merge(
    console: Console, sources: Sequence[Path], out: Path, as_json: bool
) -> dict[str, Any]:
    """Merge the shard certificates `sources` (files, or directories holding certificate.json)
    into `out`, with the counterexample case files of the shards that found them shortest.
    A `CaseFileError` line if one cannot be read or the shards do not make a whole."""
    if out.exists() and not out.is_dir():
        raise CaseFileError(f"--out: {out}: not a directory")
    certs: list[tuple[str, dict[str, Any]]] = []
    for source in sources:
        path = source / "certificate.json" if source.is_dir() else source
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise CaseFileError(
                f"--merge: {path}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
        certs.append((str(path), data if isinstance(data, dict) else {}))
    try:
        merged, chosen = merge_certificates(certs)
    except MergeError as exc:
        raise CaseFileError(f"--merge: {exc}") from None
    earlier = _clear(out)
    for case, position in sorted(chosen.items()):
        shown = Path(certs[position][0]).parent / f"{case}.json"
        if shown.is_file():
            shutil.copyfile(shown, out / f"{case}.json")
    write_json_atomic(out / "certificate.json", merged)
    if not as_json:
        _print_certificate(console, merged, out, len(earlier))
    return merged


def command(args: argparse.Namespace) -> int:
    """`pagefuzz explore`, from the parsed flags: explore (all of the bound, or one shard) or
    merge shard certificates; the exit code (docs/explore.md)."""
    from pagefuzz._exits import EXIT_INTERRUPTED, EXIT_MISMATCH, EXIT_OK
    from pagefuzz._versions import versions_or_default
    from pagefuzz.fuzz.versions.resolve import era_for
    from pagefuzz.impls.registry import ERA_DEFAULT_VERSIONS

    if args.merge:
        cert = run_merge(make_console(), args.merge, args.out, args.json)
    else:
        if args.max_steps is None:
            raise CaseFileError("--max-steps: required (unless --merge)")
        if args.jobs < 1:
            raise CaseFileError(f"--jobs: must be at least 1, got {args.jobs}")
        shard = None
        if args.shard is not None:
            try:
                shard = parse_shard(args.shard)
            except ValueError as exc:
                raise CaseFileError(f"--shard: {exc}") from None
        given = versions_or_default(args.versions) if args.versions else None
        try:
            era = era_for(given, args.era)
        except ValueError as exc:
            raise CaseFileError(str(exc)) from None
        bound = explore_bound(
            args.max_steps,
            args.pages,
            args.iocbs,
            args.queues,
            args.ops,
            args.collide,
            args.lookup_next,
            args.filtered_wakeups,
            era,
        )
        versions = given or list(ERA_DEFAULT_VERSIONS[era])
        cert = run_explore(
            make_console(),
            bound,
            versions,
            args.out,
            args.time_limit,
            not args.no_prune,
            args.json,
            args.jobs,
            shard,
        )
    if args.json:
        sys.stdout.write(json.dumps(cert, indent=1) + "\n")
    if cert["interrupted"] and not args.merge:
        sys.stderr.write(
            f"pagefuzz: interrupted; the partial certificate is {args.out / 'certificate.json'}\n"
        )
        return EXIT_INTERRUPTED
    # A version's entry is a string ("no violation within the bound") or its counterexamples.
    found = any(not isinstance(v, str) for v in cert["versions"].values())
    return EXIT_MISMATCH if found else EXIT_OK


def _print_certificate(console: Console, data: dict[str, Any], out: Path, earlier: int) -> None:
    if earlier:
        files = f"{earlier} file{'' if earlier == 1 else 's'}"
        console.print(f"replaced {files} an earlier exploration wrote in {out}")
    if data["complete"]:
        state = "complete"
    elif data["interrupted"]:
        state = f"interrupted after depth {data['depth_closed']} was closed"
    else:
        state = f"stopped by the time limit after depth {data['depth_closed']}"
    shard = data.get("shard")
    merged = data.get("merged")
    if shard is not None:
        split = shard["split_depth"]
        state += f"; shard {shard['index']}/{shard['count']}, " + (
            f"split at depth {split}" if split is not None else "not split: the bound closed first"
        )
    elif merged is not None:
        state += f"; merged from {merged['shards']} shards"
    console.print(f"certificate ({state}): {data['bound']}")
    console.print(
        f"  {data['schedules']} schedules, {data['distinct_states']} distinct states, "
        f"{data['pruned']} pruned, {data['seconds']:.1f} s"
    )
    if merged is not None:
        console.print("  (a state reached in two shards counts twice; docs/explore.md)")
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
