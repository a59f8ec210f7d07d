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
