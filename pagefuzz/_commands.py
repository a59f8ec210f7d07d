"""One thin function per `pagefuzz` subcommand: turn the parsed flags into arguments, call the
module that does the work, and map what it returns to an exit code. The work lives in `_replay`
(replay), `_campaign_view` (fuzz), `_minimize`, `_triage`, `_explore`, `_coverage`, `_report`
and `_bench`; the flags are parsed in `_cli`. Bad input anywhere is a `CaseFileError` (one line
on stderr, exit 2: `_cli.main`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pagefuzz._console import make_console
from pagefuzz._replay import CaseFileError
from pagefuzz.fuzz.versions import VersionLoadError, ensure_registered
from pagefuzz.impls.registry import DEFAULT_VERSIONS, REGISTRY
from pagefuzz.oracle.evaluate import FindingKey

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as for a Ctrl-C anywhere


def _versions(given: list[tuple[str, str]] | None) -> list[str] | None:
    """The versions named by --versions/--impl, in order; None when the flag was not given. An
    unknown name is one `CaseFileError` line under the flag it was typed with."""
    if not given:
        return None
    names: list[str] = []
    for flag, chunk in given:
        for name in (n.strip() for n in chunk.split(",")):
            try:  # a built-in name, an installed plugin, py:FILE.py[:Class] or c:FILE.c
                ensure_registered(name) if name else None
            except VersionLoadError as exc:
                raise CaseFileError(f"{flag}: {exc}") from None
            if name:
                names.append(name)
    return names or None


def _versions_or_default(given: list[tuple[str, str]] | None) -> list[str]:
    return _versions(given) or list(DEFAULT_VERSIONS)


def cmd_replay(args: argparse.Namespace) -> int:
    from pagefuzz._artifacts import collect_sources, load_source
    from pagefuzz._replay import run_replay

    versions = _versions_or_default(args.versions)
    files = collect_sources(args.cases)
    sources = [load_source(path, args.raw) for path in files]  # validate all before running any
    tally = run_replay(
        make_console(), sources, versions, args.json, events=not args.no_events, trace=args.trace
    )
    return EXIT_MISMATCH if tally.failing else EXIT_OK


def cmd_fuzz(args: argparse.Namespace) -> int:
    from pagefuzz._campaign_view import open_campaign, run_fuzz

    # None when not given: the defaults, or with --resume the campaign's own (a flag given
    # explicitly that differs from the campaign's is refused, not silently overridden).
    campaign = open_campaign(
        args.out,
        args.engine,
        _versions(args.versions),
        args.jobs,
        args.time,
        args.seed,
        None if args.fresh else args.corpus,
        args.resume,
        args.depth,
        args.state_feedback,
        args.hypothesis_db,
        args.stop_on_finding,
        args.instrument,
    )
    summary = run_fuzz(make_console(), campaign, args.json)
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    if summary["status"] == "stopped":
        return EXIT_INTERRUPTED  # the summary is written all the same
    if summary["executions"] == 0:
        sys.stderr.write(
            f"pagefuzz: error: {campaign.out}: the campaign executed nothing; see "
            f"{campaign.out / 'workers'}\n"
        )
        return EXIT_MISMATCH
    return EXIT_MISMATCH if summary["new"] else EXIT_OK


def _finding_flags(values: list[str] | None) -> list[FindingKey]:
    """--finding VERSION/CHECK/KIND, parsed here at the edge."""
    keys = []
    for text in values or []:
        try:
            keys.append(FindingKey.parse(text))
        except ValueError as exc:
            raise CaseFileError(f"--finding: {exc}") from None
    return keys


def cmd_minimize(args: argparse.Namespace) -> int:
    from pagefuzz._minimize import run_minimize

    versions = _versions_or_default(args.versions)
    findings = _finding_flags(args.finding)
    run_minimize(make_console(), args.case, args.output, versions, findings, args.raw)
    return EXIT_OK


def cmd_triage(args: argparse.Namespace) -> int:
    from pagefuzz._triage import run_triage

    versions = _versions_or_default(args.versions)
    # With --json, stdout is the JSON alone: the table and the notes go to stderr.
    console = make_console(stderr=args.json)
    promote = args.corpus if args.promote else None
    result = run_triage(
        console, args.paths, versions, promote, args.trace, replace_existing=args.replace
    )
    if args.json:
        sys.stdout.write(json.dumps([g.to_json() for g in result.groups], indent=1) + "\n")
    for line in result.unreadable:
        sys.stderr.write(f"pagefuzz: error: {line}\n")
    if result.unreadable:
        return EXIT_BAD_INPUT
    if result.refused:
        sys.stderr.write(
            f"pagefuzz: {len(result.refused)} corpus case(s) not replaced (shown above); "
            "pass --replace to overwrite them\n"
        )
        return EXIT_MISMATCH
    return EXIT_OK


def cmd_coverage(args: argparse.Namespace) -> int:
    from pagefuzz._coverage import run_coverage

    run_coverage(make_console(), args.corpus or [Path("corpus")], args.html, list(REGISTRY))
    return EXIT_OK


def cmd_explore(args: argparse.Namespace) -> int:
    from pagefuzz._explore import command

    return command(args)  # explore, one shard of it (--shard) or a merge (--merge)


def cmd_bench(args: argparse.Namespace) -> int:
    from pagefuzz._bench import run_bench_command

    console = make_console()
    run_bench_command(
        console.print,
        args.out,
        args.quick,
        args.corpus,
        args.part.replace("-", "_"),
        args.render_only,
        args.baseline,
    )
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from pagefuzz._report import run_report

    ok = run_report(Path.cwd(), args.out, args.html, args.check)
    return EXIT_OK if ok else EXIT_MISMATCH
