"""The deterministic 2004 kernel world that every version of operate_on_page_range runs in.

Pure: no I/O, no wall clock, no randomness. `run_case(case, version)` is the one entry point; it
returns a frozen `RunRecord`. The versions themselves live in `impls/` and are handed in.
"""

from pagefuzz.sim.case import Case, InvalidCase, Step, parse_case
from pagefuzz.sim.record import RequestResult, RunRecord
from pagefuzz.sim.world import Version, run_case

__all__ = [
    "Case",
    "InvalidCase",
    "RequestResult",
    "RunRecord",
    "Step",
    "Version",
    "parse_case",
    "run_case",
]
