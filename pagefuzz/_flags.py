"""The flags several subcommands share, and how the parser reports bad ones: `--versions` (alias
`--impl`, repeatable, comma-separated, each value kept with the flag typed), `--timeout`,
`--version`, numbers of seconds; and a parser whose errors are one line, exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from pagefuzz._exits import EXIT_BAD_INPUT, EXIT_OK
from pagefuzz.impls.registry import REGISTRY


class Parser(argparse.ArgumentParser):
    """argparse, but bad flags are one line and exit 2 (argparse's own code for usage errors)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


class VersionsFlag(argparse.Action):
    """`--versions` (alias `--impl`), repeatable and comma-separated: each value is kept with
    the option string typed, so that an unknown version is reported under the user's flag."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        given = list(getattr(namespace, self.dest) or [])
        given.append((option_string or "--versions", str(values)))
        setattr(namespace, self.dest, given)


def add_versions_flag(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--versions",
        "--impl",
        dest="versions",
        action=VersionsFlag,
        metavar="A,B",
        default=None,
        help=f"versions to run (repeatable or comma-separated; default: {default}); known: "
        f"{', '.join(REGISTRY)}",
    )


class VersionFlag(argparse.Action):
    """`pagefuzz --version`: looked up only when asked (importlib.metadata reads files)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        from pagefuzz._version import package_version

        sys.stdout.write(f"pagefuzz {package_version()}\n")
        parser.exit(EXIT_OK)


def add_timeout_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="wall-clock budget of one run of a version from outside the package (py:, c:, "
        "plugins), which runs in a watched process of its own; past it the run is a `timeout` "
        "finding (default 10; docs/versions.md)",
    )


def positive_float(text: str) -> float:
    try:
        value = float(text.rstrip("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value
