"""The `pagefuzz` command line: the argument parser (every subcommand's flags and help, the
`--versions` flag with its `--impl` alias, `--version`) and `main`, which runs the chosen
subcommand (`_commands`) and turns bad input, Ctrl-C and a closed pipe into exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pagefuzz._casefile import CaseFileError
from pagefuzz._commands import (
    cmd_bench,
    cmd_coverage,
    cmd_explore,
    cmd_fuzz,
    cmd_minimize,
    cmd_replay,
    cmd_report,
    cmd_triage,
)
from pagefuzz._exits import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK
from pagefuzz._flags import (
    Parser,
    VersionFlag,
    add_timeout_flag,
    add_versions_flag,
    positive_float,
)
from pagefuzz.fuzz.campaign.engines import ENGINES
from pagefuzz.impls.registry import DEFAULT_VERSIONS, ERA_DEFAULT_VERSIONS


def add_era_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--era",
        choices=tuple(ERA_DEFAULT_VERSIONS),
        default=None,
        help="the kernel era the generated cases are of: 2004-01 (the seed's, default) or "
        "2004-07 (the July 2004 rework: versions p17, p19, y2005); without --versions, that "
        "era's versions run. --versions of one era imply it (docs/model.md, 'Eras')",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="pagefuzz",
        description="Differential fuzz testing of the 2004 operate_on_page_range() patch: run "
        "versions of the AIO O_SYNC wait loop side by side in a simulated 2.6 kernel and say, "
        "with evidence, which one is wrong.",
    )
    parser.add_argument(
        "--version", action=VersionFlag, nargs=0, help="print pagefuzz's version and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    replay = sub.add_parser(
        "replay",
        help="run case files against versions and show what each request returned",
        description="Run each case against each version (default: "
        f"{', '.join(DEFAULT_VERSIONS)}) and show every request's result, the step it completed "
        "in, its retries, and the pages of its range not on disk when it completed; a finding's "
        "metadata (engine, executions to first sight) is shown with it. Ends with a count line "
        "and the failing files. Exit codes: 0 every expectation met (or none given), 1 a "
        "case's \"expect\" did not hold, or a version's code died or hung on a case that does "
        "not expect it, 2 bad input, 130 interrupted.",
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
    add_versions_flag(replay, ",".join(DEFAULT_VERSIONS))
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
    add_timeout_flag(replay)
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
    add_versions_flag(fuzz, f"{','.join(DEFAULT_VERSIONS)}; with --resume, the campaign's")
    add_era_flag(fuzz)
    fuzz.add_argument(
        "--engine",
        choices=ENGINES,
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
        action=argparse.BooleanOptionalAction,
        default=None,
        help="atheris: also feed libFuzzer counters for new abstract states (version, event "
        "kind, next event kind); on by default, --no-state-feedback turns it off "
        "(measured in docs/fuzzing.md)",
    )
    fuzz.add_argument(
        "--instrument",
        choices=("world", "versions", "none"),
        default=None,
        help="atheris: what coverage feedback instruments: the versions only (versions, the "
        "default), the simulated kernel and the versions (world), or nothing (the abstract "
        "states alone); exec/s and search power of each in docs/fuzzing.md",
    )
    fuzz.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    fuzz.add_argument(
        "--time",
        type=positive_float,
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
        default=None,
        help="findings of the built-in versions shown by these cases are known, not new "
        "(default: the corpus pagefuzz ships, from any directory; with --resume, the "
        "campaign's); a version from outside the package has all its findings shown",
    )
    fuzz.add_argument(
        "--fresh",
        action="store_true",
        help="start from an empty corpus: every finding counts as new (--resume keeps it)",
    )
    fuzz.add_argument(
        "--resume",
        action="store_true",
        help="continue the stopped campaign in --out (its engine, versions, seeds)",
    )
    fuzz.add_argument(
        "--stop-on-finding",
        action="store_true",
        help="end the campaign as soon as its first new finding is on disk (benchmarks: the "
        "finding's line gives the executions to it)",
    )
    fuzz.add_argument("--json", action="store_true", help="print the summary as JSON at the end")
    add_timeout_flag(fuzz)
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
    add_versions_flag(mini, ",".join(DEFAULT_VERSIONS))
    mini.add_argument(
        "--finding",
        action="append",
        metavar="VERSION/CHECK/KIND",
        help="keep only this finding (repeatable), e.g. post/completion/aio_write",
    )
    mini.add_argument(
        "--raw", action="store_true", help="read CASE as raw fuzzer bytes (see replay --raw)"
    )
    add_timeout_flag(mini)
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
    add_versions_flag(triage, ",".join(DEFAULT_VERSIONS))
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
    add_timeout_flag(triage)
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
    add_versions_flag(explore, ",".join(DEFAULT_VERSIONS))
    explore.add_argument(
        "--max-steps", type=int, default=None, metavar="N", help="required unless --merge"
    )
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
    add_era_flag(explore)
    explore.add_argument(
        "--out",
        type=Path,
        default=Path("explore-out"),
        help="where the counterexamples and certificate.json go (default explore-out)",
    )
    explore.add_argument(
        "--time-limit",
        type=positive_float,
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
    explore.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="worker processes sharing the replays (default 1); the certificate is the same "
        "for any N",
    )
    explore.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="explore only shard I of N (1 <= I <= N: --shard 1/2, --shard 2/2) of the schedule "
        "space, for N machines or "
        "CI jobs; combine their certificates with --merge",
    )
    explore.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        default=None,
        metavar="CERT",
        help="merge the certificates of all N shards (files, or the --out directories holding "
        "them) into --out, with their counterexamples, instead of exploring",
    )
    add_timeout_flag(explore)
    explore.set_defaults(func=cmd_explore)

    bench = sub.add_parser(
        "bench",
        help="measure speed and search power; regenerate docs/benchmarks.md",
        description="In one run: this checkout against a baseline commit (evaluation "
        "throughput, the atheris target's exec/s with feedback and without, the explorer's "
        "states/s; side by side, alternating, best of several rounds), the C versions' "
        "evaluation rate beside the Python ones', exec/s against a trivial atheris target, "
        "executions to the first finding per engine, the mutation benchmark (mutants of fixed "
        "found per engine), the minimiser, corpus regression, reliability and memory. Writes "
        "docs/benchmarks.md and the raw numbers beside it. About an hour; --quick takes a few "
        "minutes (CI runs it).",
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
        choices=("all", "core", "speed", "c-versions", "mutants", "reliability", "memory", "july"),
        default="all",
        help="measure only this part again, keeping the others from the last run (core: "
        "the trivial-target rates, engines, explorer, minimiser and corpus regression; july: "
        "the July 2004 era's evaluation rate, corpus regression and explorer)",
    )
    bench.add_argument(
        "--baseline",
        metavar="COMMIT",
        default=None,
        help="the commit the speed figures are ratios to, checked out into a temporary git "
        "worktree (default 088e9e9, the last commit before the newcomer issue)",
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
    add_timeout_flag(report)
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
    if getattr(args, "timeout", None) is not None:
        from pagefuzz.fuzz.versions.isolation import set_timeout

        set_timeout(args.timeout)  # for this process and every one it starts
    try:
        code: int = args.func(args)
    except CaseFileError as exc:
        sys.stderr.write(f"pagefuzz: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("pagefuzz: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours. Point stdout at /dev/null so
        # the interpreter's final flush does not fail again and turn the exit status into 1.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # a directory that cannot be written, a disk that is full
        where = f"{exc.filename}: " if exc.filename else ""
        sys.stderr.write(f"pagefuzz: error: {where}{exc.strerror or exc}\n")
        return EXIT_BAD_INPUT
    except Exception as exc:  # pagefuzz's own bug: one line, never a traceback
        if os.environ.get("PAGEFUZZ_TRACEBACK"):
            raise
        what = " ".join(f"{type(exc).__name__}: {exc}".split())
        sys.stderr.write(
            f"pagefuzz: internal error: {what} (PAGEFUZZ_TRACEBACK=1 shows where; please "
            "report it)\n"
        )
        return EXIT_BAD_INPUT
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
