"""Judging runs: the checks of a correct O_SYNC write, and the differential verdict.

Pure: reads `sim.record.RunRecord` values only and never runs the world.
"""

from pagefuzz.oracle.checks import CHECKS, Violation
from pagefuzz.oracle.findings import FindingKey
from pagefuzz.oracle.pair import Pair
from pagefuzz.oracle.verdict import (
    CLASSES,
    Differential,
    Verdict,
    differential,
    judge,
    signature_of,
)

__all__ = [
    "CHECKS",
    "CLASSES",
    "Differential",
    "FindingKey",
    "Pair",
    "Verdict",
    "Violation",
    "differential",
    "judge",
    "signature_of",
]
