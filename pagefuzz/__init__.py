"""pagefuzz: differential fuzz testing of the 2004 operate_on_page_range() patch.

The public door: cases, running them, the JSON of a replay. The world is `sim`, the versions
`impls`, the verdicts `oracle`, the engines `fuzz`.
"""

from pagefuzz._replay import load_case, replay_json
from sim import Case, InvalidCase, RunRecord, parse_case, run_case

__all__ = ["Case", "InvalidCase", "RunRecord", "load_case", "parse_case", "replay_json", "run_case"]
