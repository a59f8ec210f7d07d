"""pagefuzz: differential fuzz testing of the 2004 operate_on_page_range() patch.

The public door: cases and the files that hold them (`load_case`, `load_source`, `parse_case`),
running one version (`run_case`), and the one evaluation path (`evaluate` -> `Evaluation`, its
findings as `FindingKey` values) with the JSON of a replay (`replay_json`). The world is `sim`,
the versions `impls`, the verdicts `oracle`, the engines `fuzz`; the command is `_cli`.
"""

from oracle.evaluate import Evaluation, FindingKey, evaluate
from pagefuzz._artifacts import load_source
from pagefuzz._replay import load_case, replay_json
from sim import Case, InvalidCase, RunRecord, parse_case, run_case

__all__ = [
    "Case",
    "Evaluation",
    "FindingKey",
    "InvalidCase",
    "RunRecord",
    "evaluate",
    "load_case",
    "load_source",
    "parse_case",
    "replay_json",
    "run_case",
]
