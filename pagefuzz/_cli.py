"""The `pagefuzz` command: thin subcommands that parse, call one library function, and print."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from impls.registry import DEFAULT_VERSIONS, REGISTRY
from pagefuzz import _output
from pagefuzz._replay import CaseFileError, collect_case_files, load_case, replay_case

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but bad flags are one line and exit 2 (argparse's own code for usage errors)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _console() -> Console:
    """Colour on a terminal; plain text under CI=true or into a pipe."""
    plain = os.environ.get("CI", "").lower() in ("1", "true", "yes") or not sys.stdout.isatty()
    return Console(force_terminal=False if plain else None, highlight=False, soft_wrap=True)


def _versions(value: str | None, repeated: list[str] | None) -> list[str]:
    names: list[str] = []
    for chunk in ([value] if value else []) + (repeated or []):
        names.extend(n.strip() for n in chunk.split(",") if n.strip())
    for name in names:
        if name not in REGISTRY:
            raise CaseFileError(f"--impl: unknown version {name!r}; known: {', '.join(REGISTRY)}")
    return names or list(DEFAULT_VERSIONS)


def cmd_replay(args: argparse.Namespace) -> int:
    versions = _versions(None, args.impl)
    files = collect_case_files(args.cases)
    cases = [(path, load_case(path)) for path in files]  # validate all before running any
    console = _console()
    results = []
    status = EXIT_OK
    for path, case in cases:
        outcome = replay_case(case, versions)
        results.append(outcome.to_json())
        if not outcome.expectation_ok:
            status = EXIT_MISMATCH
        if not args.json:
            _output.print_replay(console, path, case, outcome, trace=args.trace)
    if args.json:
        payload: object = results[0] if len(results) == 1 else results
        sys.stdout.write(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return status


def cmd_fuzz(args: argparse.Namespace) -> int:
    from fuzz.campaign import Campaign, CampaignError
    from pagefuzz._fuzzing import run_fuzz

    versions = _versions(args.versions, None)
    corpus = None if args.fresh else args.corpus
    if args.out is None:
        if args.resume:
            raise CaseFileError("--resume needs --out: the campaign directory to continue")
        args.out = Path("campaigns") / time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    try:
        campaign = Campaign.create(
            args.out, args.engine, versions, args.jobs, args.time, args.seed, corpus, args.resume
        )
        campaign.depth = args.depth
        if args.state_feedback:
            os.environ["PAGEFUZZ_STATE_FEEDBACK"] = "1"
        if args.hypothesis_db is not None:
            os.environ["PAGEFUZZ_HYPOTHESIS_DB"] = str(args.hypothesis_db.resolve())
        summary = run_fuzz(_console(), campaign, args.json)
    except CampaignError as exc:
        raise CaseFileError(str(exc)) from None
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    if summary["executions"] == 0:
        sys.stderr.write(
            f"pagefuzz: error: {args.out}: the campaign executed nothing; see "
            f"{args.out / 'workers'}\n"
        )
        return EXIT_MISMATCH
    return EXIT_OK


def cmd_minimize(args: argparse.Namespace) -> int:
    from pagefuzz._fuzzing import run_minimize

    run_minimize(_console(), args.case, args.output, _versions(None, args.impl), args.finding or [])
    return EXIT_OK


def cmd_triage(args: argparse.Namespace) -> int:
    from pagefuzz._fuzzing import run_triage

    groups = run_triage(
        _console(),
        args.paths,
        _versions(None, args.impl),
        args.corpus if args.promote else None,
        args.trace,
    )
    if args.json:
        sys.stdout.write(
            json.dumps(
                [
                    {
                        "signature": g.signature,
                        "key": g.key,
                        "class": g.cls,
                        "flaky": g.flaky,
                        "files": g.sources,
                        "case": g.case.to_json(),
                    }
                    for g in groups
                ],
                indent=1,
            )
            + "\n"
        )
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
    cert = run_explore(_console(), _versions(args.versions, None), args, ops)
    if args.json:
        sys.stdout.write(json.dumps(cert, indent=1) + "\n")
    return EXIT_OK


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
    if args.part == "reliability":  # measure one part again, keep the rest of the last run
        from fuzz.bench import measure_reliability

        source = args.out.with_suffix(".json")
        try:
            results = read_json(source)
        except (OSError, ValueError) as exc:
            raise CaseFileError(f"{source}: cannot read the last run: {exc}") from None
        inputs, kills = (2000, 1) if args.quick else (20000, 3)
        results["reliability"] = measure_reliability(inputs, kills, lambda s: console.print(s))
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
        "in, its retries, and the pages of its range not on disk when it completed. Exit "
        'codes: 0 every expectation met (or none given), 1 a case\'s "expect" did not hold, '
        "2 bad input.",
    )
    replay.add_argument(
        "cases",
        nargs="+",
        type=Path,
        metavar="CASE",
        help="case files, or directories searched for *.json",
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
        help="print the documented JSON object (a list for several cases)",
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
        "OUT/findings/<signature>.json; OUT/campaign.json holds the summary. A live view on a "
        "terminal, a plain line every 5 s otherwise.",
    )
    fuzz.add_argument(
        "--versions",
        metavar="A,B,...",
        default=",".join(DEFAULT_VERSIONS),
        help="versions to run on every case (default: %(default)s)",
    )
    fuzz.add_argument(
        "--engine",
        choices=("atheris", "hypothesis", "random", "pct"),
        default="atheris",
        help="atheris (libFuzzer, coverage-guided; default), hypothesis, pct (probabilistic "
        "concurrency testing over the iocbs and the disk), or random (seeded uniform baseline)",
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
        help="findings shown by these cases are known, not new (default corpus)",
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
    mini.add_argument("case", type=Path, metavar="CASE")
    mini.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    mini.add_argument("--impl", action="append", metavar="NAME", help="versions to run")
    mini.add_argument(
        "--finding",
        action="append",
        metavar="VERSION/CHECK/KIND",
        help="keep only this finding (repeatable), e.g. post/completion/aio_write",
    )
    mini.set_defaults(func=cmd_minimize)

    triage = sub.add_parser(
        "triage",
        help="group raw findings by signature, minimise, classify, promote into the corpus",
        description="Replay each finding (campaign directories, finding files or case files) "
        "three times (a differing replay is flagged FLAKY), group by signature, minimise each "
        "group, classify it against the other versions (fixed / regressed / both / crash) and "
        "print one table; --promote writes each minimal case with its expect block.",
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
        "--trace", action="store_true", help="print each group's timelines side by side"
    )
    triage.add_argument("--json", action="store_true", help="also print the groups as JSON")
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
        "within the bound' or the shortest counterexample per finding, written as case files.",
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
        choices=("all", "reliability"),
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
        return EXIT_OK
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
