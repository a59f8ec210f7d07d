"""pagefuzz: differential fuzz testing of the 2004 operate_on_page_range() patch.

The public door: cases and the files that hold them (`load_case`, `load_source`, `parse_case`),
running one version (`run_case`), and the one evaluation path (`evaluate` -> `Evaluation`, its
findings as `FindingKey` values) with the JSON of a replay (`replay_json`). The world is
`pagefuzz.sim`, the versions `pagefuzz.impls`, the verdicts `pagefuzz.oracle`, the engines
`pagefuzz.fuzz`; the command is `pagefuzz._cli` (docs/architecture.md).

The names are loaded on first use (PEP 562), so that importing the core (`pagefuzz.sim`, which
imports this package first) does not import the command's shell with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pagefuzz._artifacts import load_source
    from pagefuzz._casefile import load_case
    from pagefuzz._replay import replay_json
    from pagefuzz.oracle.evaluate import Evaluation, FindingKey, evaluate
    from pagefuzz.sim import Case, InvalidCase, RunRecord, parse_case, run_case

#: Public name -> the module that defines it.
_HOMES = {
    "Case": "pagefuzz.sim",
    "Evaluation": "pagefuzz.oracle.evaluate",
    "FindingKey": "pagefuzz.oracle.evaluate",
    "InvalidCase": "pagefuzz.sim",
    "RunRecord": "pagefuzz.sim",
    "evaluate": "pagefuzz.oracle.evaluate",
    "load_case": "pagefuzz._casefile",
    "load_source": "pagefuzz._artifacts",
    "parse_case": "pagefuzz.sim",
    "replay_json": "pagefuzz._replay",
    "run_case": "pagefuzz.sim",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pagefuzz' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
