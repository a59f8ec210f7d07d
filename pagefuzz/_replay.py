"""The `replay` command's loop: `run_replay` evaluates each source (`oracle.evaluate.evaluate`,
the one evaluation path), prints it or streams it as one JSON line, and drops it before the next.
Case files are read by `_casefile`, artifacts by `_artifacts`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console

from pagefuzz import _output
from pagefuzz._artifacts import Source
from pagefuzz.fuzz.versions.resolve import versions_of
from pagefuzz.impls.registry import ERA_DEFAULT_VERSIONS
from pagefuzz.oracle.evaluate import evaluate
from pagefuzz.sim import Case


def replay_json(case: Case, versions: Sequence[str] | None = None) -> dict[str, Any]:
    """The documented `pagefuzz replay --json` object for one case, less its `source`
    (docs/replay.md); the default versions when none are named."""
    return evaluate(case, versions_of(versions or ERA_DEFAULT_VERSIONS[case.config.era])).to_json()


def run_replay(
    console: Console,
    sources: Sequence[Source],
    versions: Callable[[Source], Sequence[str]],
    as_json: bool = False,
    events: bool = True,
    trace: bool = False,
) -> _output.Tally:
    """Evaluate each source in its versions (`versions(source)`), in order, and print it (or,
    `as_json`, write it to stdout as one JSON line, `events` saying whether each run's event
    list is in it). One
    case's runs are held at a time: each is shown and dropped before the next runs, so memory
    stays flat whatever the number of cases. Ends with the count line and the failing files
    (the count line on stderr under `as_json`); returns the tally."""
    tally = _output.Tally()
    with _output.replay_progress(console, len(sources)) as advance:
        for source in sources:
            evaluation = evaluate(source.case, versions_of(versions(source)))
            tally.add(source.path, evaluation)
            if as_json:
                obj = {"case": source.case.name, "source": source.to_json()}
                obj.update(evaluation.to_json(events=events))
                sys.stdout.write(json.dumps(obj) + "\n")
                sys.stdout.flush()
            else:
                _output.print_replay(console, source.path, evaluation, trace, source.describe())
            del evaluation
            advance(source.path)
    if as_json:  # stdout is the JSON Lines alone
        sys.stderr.write(tally.line() + "\n")
    else:
        console.print(tally.line())
        for path in tally.failing:
            why = f" ({tally.why[path]})" if path in tally.why else ""
            console.print(f"  failed: {path}{why}")
    return tally
