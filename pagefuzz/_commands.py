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

from pagefuzz._casefile import CaseFileError
from pagefuzz._console import make_console
from pagefuzz._exits import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_MISMATCH, EXIT_OK
from pagefuzz._versions import given_versions, versions_of_case
from pagefuzz.fuzz.files import shipped_corpus
from pagefuzz.fuzz.versions.resolve import resolve_recorded
from pagefuzz.fuzz.versions.spec import VersionLoadError
from pagefuzz.impls.registry import DEFAULT_VERSIONS, ERA_DEFAULT_VERSIONS, REGISTRY
from pagefuzz.oracle.evaluate import FindingKey
from pagefuzz.sim.case import VersionRecord


def cmd_replay(args: argparse.Namespace) -> int:
    from pagefuzz._artifacts import collect_sources, load_source
    from pagefuzz._replay import run_replay

    flag = given_versions(args.versions)
    files = collect_sources(args.cases)
    sources = [load_source(path, args.raw) for path in files]  # validate all before running any
    warned: set[str] = set()

    def warn(line: str) -> None:
        if line not in warned:
            warned.add(line)
            sys.stderr.write(line + "\n")

    # Each case in the versions it records (an artifact's), unless --versions says otherwise;
    # all resolved before any runs, so that a missing file is one line and nothing ran.
    chosen = {id(s): versions_of_case(flag, s.path, s.case, warn) for s in sources}
    tally = run_replay(
        make_console(),
        sources,
        lambda source: chosen[id(source)],
        args.json,
        events=not args.no_events,
        trace=args.trace,
    )
    return EXIT_MISMATCH if tally.failing else EXIT_OK


def cmd_fuzz(args: argparse.Namespace) -> int:
    from pagefuzz._campaign_view import open_campaign, run_fuzz
    from pagefuzz.fuzz.campaign.campaign import CampaignRequest

    # None when not given: the defaults, or with --resume the campaign's own (a flag given
    # explicitly that differs from the campaign's is refused, not silently overridden).
    if args.fresh and args.corpus is not None:
        raise CaseFileError("--fresh: starts from no corpus; leave --corpus out")
    corpus = None if args.fresh else (args.corpus or shipped_corpus())
    request = CampaignRequest(
        out=args.out,
        engine=args.engine,
        versions=given_versions(args.versions),
        jobs=args.jobs,
        seconds=args.time,
        seed=args.seed,
        corpus=corpus,
        corpus_given=args.fresh or args.corpus is not None,
        resume=args.resume,
        depth=args.depth,
        stop_on_finding=args.stop_on_finding,
        hypothesis_db=args.hypothesis_db,
        era=args.era,
    )
    campaign = open_campaign(request, args.state_feedback, args.instrument)
    for line in campaign.warnings:
        sys.stderr.write(line + "\n")
    summary = run_fuzz(make_console(), campaign, args.json)
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    if summary["status"] == "stopped":
        return EXIT_INTERRUPTED  # the summary is written all the same
    if summary["crashes"]:
        # Harness errors are pagefuzz's own bugs, never a version's: never a clean exit.
        sys.stderr.write(
            f"pagefuzz: error: {campaign.out / 'crashes'}: {summary['crashes']} harness "
            "error(s) (pagefuzz's own, not a version's); the inputs are kept there\n"
        )
        return EXIT_BAD_INPUT
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


def _warn(line: str) -> None:
    sys.stderr.write(line + "\n")


def cmd_minimize(args: argparse.Namespace) -> int:
    from pagefuzz._artifacts import load_source
    from pagefuzz._minimize import run_minimize

    flag = given_versions(args.versions)
    findings = _finding_flags(args.finding)
    source = load_source(args.case, args.raw)
    versions = versions_of_case(flag, args.case, source.case, _warn)
    run_minimize(make_console(), args.case, args.output, versions, findings, args.raw)
    return EXIT_OK


def _recorded_versions(paths: list[Path]) -> list[str] | None:
    """The versions the files below `paths` record, in the order first seen (what triage runs
    without --versions); None if none records any."""
    from pagefuzz._artifacts import collect_sources, load_source

    seen: dict[str, VersionRecord] = {}
    for path in collect_sources(paths, include_raw=True):
        try:
            case = load_source(path).case
        except CaseFileError:
            continue  # reported by triage itself
        for record in case.versions:
            seen.setdefault(record.name, record)
    if not seen:
        return None
    try:
        names, warnings = resolve_recorded(list(seen.values()))
    except VersionLoadError as exc:
        raise CaseFileError(f"versions recorded in {paths[0]}: {exc}") from None
    for line in warnings:
        _warn(line)
    return names


def _era_defaults(paths: list[Path]) -> list[str]:
    """The default versions of the era of the first case among `paths` (triage runs one list
    of versions over all of them; a campaign's inputs are all of its one era)."""
    from pagefuzz._artifacts import collect_sources, load_source

    for path in collect_sources(paths, include_raw=True):
        try:
            return list(ERA_DEFAULT_VERSIONS[load_source(path).case.config.era])
        except CaseFileError:
            continue
    return list(DEFAULT_VERSIONS)


def cmd_triage(args: argparse.Namespace) -> int:
    from pagefuzz._triage import run_triage

    versions = (
        given_versions(args.versions) or _recorded_versions(args.paths) or _era_defaults(args.paths)
    )
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

    run_coverage(make_console(), args.corpus or [shipped_corpus()], args.html, list(REGISTRY))
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
