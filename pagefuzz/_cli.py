"""The `pagefuzz` command: thin subcommands that parse, call one library function, and print."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from impls.registry import DEFAULT_VERSIONS, REGISTRY
from pagefuzz import _output
from pagefuzz._replay import CaseFileError, replay_case

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but bad flags are one line and exit 2 (argparse's own code for usage errors)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


#: Width of tables in plain output (logs and pipes have no width of their own; rich's default
#: of 80 columns folds the triage and campaign tables into unreadable cells).
PLAIN_WIDTH = 160


class _Console(Console):
    """rich's console, but a reader that goes away (`| head`) ends the command with status 0,
    as `main` does for our own writes; rich's default exits 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def _console(stderr: bool = False) -> Console:
    """Colour on a terminal; plain text under CI=true or into a pipe."""
    stream = sys.stderr if stderr else sys.stdout
    plain = os.environ.get("CI", "").lower() in ("1", "true", "yes") or not stream.isatty()
    return _Console(
        stderr=stderr,
        force_terminal=False if plain else None,
        width=PLAIN_WIDTH if plain else None,
        highlight=False,
        soft_wrap=True,
    )


def _versions(flag: str, value: str | None, repeated: list[str] | None) -> list[str]:
    """The versions named by `flag` (the one the user typed: errors name it)."""
    names: list[str] = []
    for chunk in ([value] if value else []) + (repeated or []):
        names.extend(n.strip() for n in chunk.split(",") if n.strip())
    for name in names:
        if name not in REGISTRY:
            raise CaseFileError(f"{flag}: unknown version {name!r}; known: {', '.join(REGISTRY)}")
    return names or list(DEFAULT_VERSIONS)


def cmd_replay(args: argparse.Namespace) -> int:
    from pagefuzz._artifacts import collect_sources, load_source

    versions = _versions("--impl", None, args.impl)
    files = collect_sources(args.cases)
    sources = [load_source(path, args.raw) for path in files]  # validate all before running any
    console = _console()
    tally = _output.Tally()
    # One case's runs are held at a time: each is printed (or streamed as one JSON line) and
    # dropped before the next runs, so memory stays flat whatever the number of cases.
    with _output.replay_progress(console, len(sources)) as advance:
        for source in sources:
            outcome = replay_case(source.case, versions)
            tally.add(source.path, outcome)
            if args.json:
                obj = {"case": source.case.name, "source": source.to_json()}
                obj.update(outcome.to_json(events=not args.no_events))
                sys.stdout.write(json.dumps(obj) + "\n")
                sys.stdout.flush()
            else:
                _output.print_replay(
                    console, source.path, source.case, outcome, args.trace, source.describe()
                )
            del outcome
            advance(source.path)
    summary = tally.line()
    if args.json:
        sys.stderr.write(summary + "\n")
    else:
        console.print(summary)
        for path in tally.failing:
            console.print(f"  failed: {path}")
    return EXIT_MISMATCH if tally.failing else EXIT_OK


def cmd_fuzz(args: argparse.Namespace) -> int:
    from fuzz.campaign import Campaign, CampaignError
    from pagefuzz._fuzzing import run_fuzz

    # None when not given: the defaults, or with --resume the campaign's own (a flag given
    # explicitly that differs from the campaign's is refused, not silently overridden).
    versions = _versions("--versions", args.versions, None) if args.versions is not None else None
    corpus = None if args.fresh else args.corpus
    try:
        campaign = Campaign.create(
            args.out, args.engine, versions, args.jobs, args.time, args.seed, corpus, args.resume
        )
        campaign.depth = args.depth
        if args.state_feedback:
            os.environ["PAGEFUZZ_STATE_FEEDBACK"] = "1"
        if args.hypothesis_db is not None:
            campaign.hypothesis_db = args.hypothesis_db.resolve()
        summary = run_fuzz(_console(), campaign, args.json)
    except CampaignError as exc:
        raise CaseFileError(str(exc)) from None
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    if summary["status"] == "stopped":
        return 130  # 128 + SIGINT, as for a Ctrl-C elsewhere; the summary is written all the same
    if summary["executions"] == 0:
        sys.stderr.write(
            f"pagefuzz: error: {campaign.out}: the campaign executed nothing; see "
            f"{campaign.out / 'workers'}\n"
        )
        return EXIT_MISMATCH
    return EXIT_MISMATCH if summary["new"] else EXIT_OK


def cmd_minimize(args: argparse.Namespace) -> int:
    from pagefuzz._fuzzing import run_minimize

    versions = _versions("--impl", None, args.impl)
    run_minimize(_console(), args.case, args.output, versions, args.finding or [], args.raw)
    return EXIT_OK


def cmd_triage(args: argparse.Namespace) -> int:
    from pagefuzz._fuzzing import run_triage

    # With --json, stdout is the JSON alone: the table and the notes go to stderr.
    console = _console(stderr=args.json)
    result = run_triage(
        console,
        args.paths,
        _versions("--impl", None, args.impl),
        args.corpus if args.promote else None,
        args.trace,
        replace_existing=args.replace,
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
    from impls.registry import REGISTRY as ALL
    from pagefuzz._fuzzing import run_coverage

    run_coverage(_console(), args.corpus or [Path("corpus")], args.html, list(ALL))
    return EXIT_OK


def cmd_explore(args: argparse.Namespace) -> int:
    from pagefuzz._fuzzing import run_explore

    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    from fuzz.explore import OPS

    for op in ops:
        if op not in OPS:
            raise CaseFileError(f"--ops: unknown op {op!r}; ops: {', '.join(OPS)}")
    for name, value, low, high in (
        ("--max-steps", args.max_steps, 0, 30),
        ("--pages", args.pages, 1, 4),
        ("--iocbs", args.iocbs, 1, 4),
        ("--queues", args.queues, 1, 64),
    ):
        if not low <= value <= high:
            raise CaseFileError(f"{name}: must be between {low} and {high}, got {value}")
    if args.out.exists() and not args.out.is_dir():  # refused now, not after a long exploration
        raise CaseFileError(f"--out: {args.out}: not a directory")
    cert = run_explore(_console(), _versions("--versions", args.versions, None), args, ops)
    if args.json:
        sys.stdout.write(json.dumps(cert, indent=1) + "\n")
    if cert["interrupted"]:
        sys.stderr.write(
            f"pagefuzz: interrupted; the partial certificate is {args.out / 'certificate.json'}\n"
        )
        return 130  # as main() for a Ctrl-C elsewhere: 128 + SIGINT
    # A version's entry is a string ("no violation within the bound") or its counterexamples.
    found = any(not isinstance(v, str) for v in cert["versions"].values())
    return EXIT_MISMATCH if found else EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from fuzz.bench import render, run_bench
    from fuzz.files import read_json, write_atomic, write_json_atomic

    console = _console()
    command = "pagefuzz bench" + (" --quick" if args.quick else "")
    if args.render_only:
        source = args.out.with_suffix(".json")
        try:
            results = read_json(source)
        except (OSError, ValueError) as exc:
            raise CaseFileError(f"{source}: cannot read the raw numbers: {exc}") from None
        write_atomic(args.out, render(results, command).encode())
        console.print(f"wrote {args.out}")
        return EXIT_OK
    if args.part in ("reliability", "memory"):  # measure one part again, keep the rest
        from fuzz.bench import measure_memory, measure_reliability

        source = args.out.with_suffix(".json")
        try:
            results = read_json(source)
        except (OSError, ValueError) as exc:
            raise CaseFileError(f"{source}: cannot read the last run: {exc}") from None
        if args.part == "memory":
            results["memory"] = measure_memory(40 if args.quick else 400, console.print)
        else:
            inputs, kills = (2000, 1) if args.quick else (20000, 3)
            results["reliability"] = measure_reliability(inputs, kills, console.print)
    else:
        results = run_bench(args.quick, args.corpus, lambda line: console.print(line))
    write_atomic(args.out, render(results, command).encode())
    write_json_atomic(args.out.with_suffix(".json"), results)
    console.print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from fuzz.files import write_atomic
    from pagefuzz._report import build, render_html

    text, findings, campaigns = build(Path.cwd())
    if args.check:
        try:
            current = args.out.read_text(encoding="utf-8")
        except OSError:
            current = ""
        if current != text:
            sys.stderr.write(
                f"pagefuzz: {args.out} is stale: run `pagefuzz report` and commit it\n"
            )
            return EXIT_MISMATCH
        print(f"{args.out} is up to date ({len(findings)} findings)")
        return EXIT_OK
    write_atomic(args.out, text.encode())
    print(f"wrote {args.out} ({len(findings)} findings)")
    if args.html is not None:
        index = render_html(args.html, findings, campaigns)
        print(f"wrote {index}")
    return EXIT_OK


def _positive_float(text: str) -> float:
    try:
        value = float(text.rstrip("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pagefuzz",
        description="Differential fuzz testing of the 2004 operate_on_page_range() patch: run "
        "versions of the AIO O_SYNC wait loop side by side in a simulated 2.6 kernel and say, "
        "with evidence, which one is wrong.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    replay = sub.add_parser(
        "replay",
        help="run case files against versions and show what each request returned",
        description="Run each case against each version (default: "
        f"{', '.join(DEFAULT_VERSIONS)}) and show every request's result, the step it completed "
        "in, its retries, and the pages of its range not on disk when it completed; a finding's "
        "metadata (engine, executions to first sight) is shown with it. Ends with a count line "
        "and the failing files. Exit codes: 0 every expectation met (or none given), 1 a "
        'case\'s "expect" did not hold, 2 bad input, 130 interrupted.',
    )
    replay.add_argument(
        "cases",
        nargs="+",
        type=Path,
        metavar="CASE",
        help="case files, campaign findings (findings/<sig>.json, findings/raw/<sig>.json or "
        ".bin), explore counterexamples, or directories: a campaign directory replays its "
        "findings, an explore --out directory its counterexamples, any other every case below it",
    )
    replay.add_argument(
        "--impl",
        action="append",
        metavar="NAME",
        help=f"version to run (repeatable or comma-separated); known: {', '.join(REGISTRY)}",
    )
    replay.add_argument(
        "--json",
        action="store_true",
        help="JSON Lines on stdout: one documented object per case, streamed as each case ends "
        "(docs/replay.md); the count line goes to stderr",
    )
    replay.add_argument(
        "--no-events",
        action="store_true",
        help="with --json: leave out each run's event list (facts and verdicts only)",
    )
    replay.add_argument(
        "--raw",
        action="store_true",
        help="read every named file as raw fuzzer bytes and run it through the decoder "
        "(*.bin, libfuzzer-corpus/ files and crash-* artifacts are recognised without it)",
    )
    replay.add_argument(
        "--trace",
        action="store_true",
        help="also print each version's event timeline, side by side",
    )
    replay.set_defaults(func=cmd_replay)

    fuzz = sub.add_parser(
        "fuzz",
        help="run a fuzzing campaign: find, record and minimise every distinct finding",
        description="Run one worker per job until the time is up (or Ctrl-C). Each new finding "
        "(version/check/request-kind not shown by the corpus nor already found) is written "
        "atomically as it is found and minimised in the background into "
        "OUT/findings/<signature>.json; OUT/campaign.json holds the summary. Findings the "
        "corpus already shows are counted as known and re-found, with the executions to their "
        "first hit. A live view on a terminal, a plain line every 5 s otherwise. Exit codes: 0 "
        "no new finding, 1 new findings (or the campaign executed nothing), 2 bad input, 130 "
        "interrupted (the summary is still written and printed).",
    )
    fuzz.add_argument(
        "--versions",
        metavar="A,B,...",
        default=None,  # None: not given (with --resume, the campaign's own)
        help=f"versions to run on every case (default: {','.join(DEFAULT_VERSIONS)}; with "
        "--resume, the campaign's)",
    )
    fuzz.add_argument(
        "--engine",
        choices=("atheris", "hypothesis", "random", "pct"),
        default=None,  # None: not given (with --resume, the campaign's own)
        help="atheris (libFuzzer, coverage-guided; default), hypothesis, pct (probabilistic "
        "concurrency testing over the iocbs and the disk), or random (seeded uniform "
        "baseline); with --resume, the campaign's",
    )
    fuzz.add_argument(
        "--depth",
        type=int,
        default=3,
        metavar="D",
        help="pct: the bug depth d the guarantee is for (default 3)",
    )
    fuzz.add_argument(
        "--hypothesis-db",
        type=Path,
        default=None,
        metavar="DIR",
        help="hypothesis: example database directory to share between campaigns "
        "and machines (default OUT/hypothesis-db)",
    )
    fuzz.add_argument(
        "--state-feedback",
        action="store_true",
        help="atheris: also feed libFuzzer counters for new abstract states "
        "(version, event kind, next event kind); measured in docs/fuzzing.md",
    )
    fuzz.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    fuzz.add_argument(
        "--time",
        type=_positive_float,
        default=60.0,
        metavar="SECONDS",
        help="campaign length in seconds (default 60)",
    )
    fuzz.add_argument("--seed", type=int, default=1, help="first worker's seed (default 1)")
    fuzz.add_argument(
        "--out",
        type=Path,
        default=None,
        help="campaign directory (default: a new campaigns/<date>-<time>)",
    )
    fuzz.add_argument(
        "--corpus",
        type=Path,
        default=Path("corpus"),
        help="findings shown by these cases are known, not new (default corpus; it must exist: "
        "--fresh starts from none)",
    )
    fuzz.add_argument(
        "--fresh",
        action="store_true",
        help="start from an empty corpus: every finding counts as new",
    )
    fuzz.add_argument(
        "--resume",
        action="store_true",
        help="continue the stopped campaign in --out (its engine, versions, seeds)",
    )
    fuzz.add_argument("--json", action="store_true", help="print the summary as JSON at the end")
    fuzz.set_defaults(func=cmd_fuzz)

    mini = sub.add_parser(
        "minimize",
        aliases=["minimise"],
        help="shrink a case while it keeps its findings",
        description="Remove steps (delta debugging), pauses and run steps, shrink positions, "
        "counts and sizes, and simplify the config, keeping every finding "
        "(version/check/request-kind) the case shows, or those named by --finding. The result "
        "is 1-minimal: removing any single step loses a finding. Prints what was removed.",
    )
    mini.add_argument(
        "case",
        type=Path,
        metavar="CASE",
        help="a case file, a campaign finding (minimised, raw .json or .bin) or an explore "
        "counterexample; a finding keeps the finding it was recorded for unless --finding says",
    )
    mini.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    mini.add_argument("--impl", action="append", metavar="NAME", help="versions to run")
    mini.add_argument(
        "--finding",
        action="append",
        metavar="VERSION/CHECK/KIND",
        help="keep only this finding (repeatable), e.g. post/completion/aio_write",
    )
    mini.add_argument(
        "--raw", action="store_true", help="read CASE as raw fuzzer bytes (see replay --raw)"
    )
    mini.set_defaults(func=cmd_minimize)

    triage = sub.add_parser(
        "triage",
        help="group raw findings by signature, minimise, classify, promote into the corpus",
        description="Replay each finding (campaign directories, minimised and raw finding "
        "files, .bin inputs, explore counterexamples or case files) three times (a differing "
        "replay is flagged FLAKY), group by signature, minimise each group, and print one "
        "table with, per version, the checks it fails on the minimal case; --promote writes "
        "each minimal case with its expect block, never over a different existing case "
        "without --replace. Exit codes: 0 done, 1 a promotion was refused, 2 an unreadable "
        "file (the others are still triaged) or bad flags, 130 interrupted.",
    )
    triage.add_argument("paths", nargs="+", type=Path, metavar="DIR|FILE")
    triage.add_argument("--impl", action="append", metavar="NAME", help="versions to run")
    triage.add_argument(
        "--promote", action="store_true", help="write the minimal cases into --corpus"
    )
    triage.add_argument(
        "--corpus",
        type=Path,
        default=Path("corpus/findings"),
        help="where --promote writes (default corpus/findings)",
    )
    triage.add_argument(
        "--replace",
        action="store_true",
        help="with --promote: overwrite corpus cases that already exist and differ (without it "
        "they are left alone and the difference is shown)",
    )
    triage.add_argument(
        "--trace", action="store_true", help="print each group's timelines side by side"
    )
    triage.add_argument(
        "--json",
        action="store_true",
        help="print the groups as a JSON list on stdout (the table goes to stderr)",
    )
    triage.set_defaults(func=cmd_triage)

    explore = sub.add_parser(
        "explore",
        help="check every schedule up to a bound; shortest counterexample per finding",
        description="Enumerate every schedule of up to --max-steps steps over the bound's "
        "alphabet (AIO writes of every range, I/O completions, runs of each iocb and, with the "
        "'pause' op, runs that stop at the named points lookup and page), breadth-first so that "
        "the first case found for each finding is a shortest one, pruning schedules that reach "
        "a world state already seen (docs/explore.md). Prints a certificate: the bound, "
        "schedules and distinct states explored, time, and per version either 'no violation "
        "within the bound' or the shortest counterexample per finding, written as case files. "
        "Exploring again into the same --out first removes the certificate.json and "
        "shortest-*.json files there; other files are left alone.",
        epilog="Exit codes: 0 no version has a counterexample within the bound (with "
        "--time-limit: within the depth the certificate says was closed), 1 a version has one "
        "(the default versions pre, post and recheck-locked always do: they are the known bugs), "
        "2 bad input, 130 interrupted (Ctrl-C: the certificate of what was explored is written, "
        'with "complete": false and "interrupted": true).',
    )
    explore.add_argument("--versions", metavar="A,B,...", default=",".join(DEFAULT_VERSIONS))
    explore.add_argument("--max-steps", type=int, required=True, metavar="N")
    explore.add_argument("--pages", type=int, default=2, metavar="P", help="file pages (default 2)")
    explore.add_argument("--iocbs", type=int, default=2, metavar="K", help="iocbs (default 2)")
    explore.add_argument(
        "--queues", type=int, default=2, metavar="Q", help="wait-queue table size (default 2)"
    )
    explore.add_argument(
        "--collide",
        action="store_true",
        help="pin every page to queue 0 (hash collisions everywhere)",
    )
    explore.add_argument(
        "--ops",
        default="aio_write,complete_io,run,pause",
        help="step kinds: aio_write, complete_io, io_error, run, pause, settle, "
        "flush, reclaim, truncate, sync_write, lock_page, unlock_page "
        "(default %(default)s)",
    )
    explore.add_argument("--lookup-next", choices=("last+1", "cursor"), default="last+1")
    explore.add_argument("--filtered-wakeups", action="store_true")
    explore.add_argument(
        "--out",
        type=Path,
        default=Path("explore-out"),
        help="where the counterexamples and certificate.json go (default explore-out)",
    )
    explore.add_argument(
        "--time-limit",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="stop after this long; the certificate then says how deep it closed",
    )
    explore.add_argument(
        "--no-prune",
        action="store_true",
        help="do not prune by state (to check the pruning: same findings)",
    )
    explore.add_argument("--json", action="store_true", help="print the certificate as JSON")
    explore.set_defaults(func=cmd_explore)

    bench = sub.add_parser(
        "bench",
        help="measure speed and search power; regenerate docs/benchmarks.md",
        description="In one run: exec/s of the differential target against a trivial atheris "
        "target (uninstrumented and with feedback), executions to the first finding per engine "
        "(median over 5 seeds), the explorer's states/s and the bound it closes in 60 s, the "
        "minimiser against the explorer's shortest counterexamples, and corpus regression time "
        "per case. About 10 minutes; --quick takes about 1.",
    )
    bench.add_argument("--quick", action="store_true", help="fewer repetitions, shorter runs")
    bench.add_argument(
        "--out",
        type=Path,
        default=Path("docs/benchmarks.md"),
        help="the Markdown report (default docs/benchmarks.md; raw numbers in .json beside it)",
    )
    bench.add_argument("--corpus", type=Path, default=Path("corpus"))
    bench.add_argument(
        "--part",
        choices=("all", "reliability", "memory"),
        default="all",
        help="measure only this part again, keeping the others from the last run",
    )
    bench.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the Markdown from the .json of the last run, measuring nothing",
    )
    bench.set_defaults(func=cmd_bench)

    report = sub.add_parser(
        "report",
        help="regenerate docs/findings.md (and an HTML page) from the corpus and campaigns",
        description="Replay every minimal case in corpus/findings/ against pre, post, "
        "recheck-locked and fixed; test each under every CHOICE setting; add the campaign "
        "summaries in evidence/campaigns/ and the certificates in evidence/certificates/; write "
        "docs/findings.md. Run from the repository root. --check exits 1 when the file on disk "
        "differs from what would be written (CI uses it).",
    )
    report.add_argument("--out", type=Path, default=Path("docs/findings.md"))
    report.add_argument(
        "--html",
        type=Path,
        metavar="DIR",
        help="also write DIR/index.html with timelines as lanes and plots",
    )
    report.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if --out is stale"
    )
    report.set_defaults(func=cmd_report)

    cov = sub.add_parser(
        "coverage",
        help="line and branch coverage of sim/ and impls/ reached by a corpus",
        description="Replay the corpus under coverage.py (in a child process) against every "
        "registered version and report line and branch coverage of sim/ and impls/.",
    )
    cov.add_argument(
        "corpus",
        nargs="*",
        type=Path,
        metavar="CORPUS",
        help="case files or directories (default corpus)",
    )
    cov.add_argument("--html", type=Path, metavar="DIR", help="also write an HTML report")
    cov.set_defaults(func=cmd_coverage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except CaseFileError as exc:
        sys.stderr.write(f"pagefuzz: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("pagefuzz: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours. Point stdout at /dev/null so
        # the interpreter's final flush does not fail again and turn the exit status into 1.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
