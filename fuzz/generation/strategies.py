"""Hypothesis strategies over the same space of cases as the byte decoder
(fuzz/generation/decode.py).

Used by property tests and by the hypothesis engine. Both build cases from the one grammar
(fuzz/generation/grammar.py): where the decoder reads each choice from bits of a byte, the strategy
draws it, so the ops come up with the grammar's weights. Cases are drawn as JSON and validated by
`parse_case`, so a strategy can only produce what a hand-written file could say.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from pagefuzz.fuzz.generation.grammar import (
    DECODED_STEPS_MAX,
    Choose,
    Field,
    Names,
    config_from,
    op_from,
    step_from,
)
from pagefuzz.sim.case import FORMAT, Case, parse_case


def _drawer(draw: st.DrawFn) -> Choose:
    """Choices drawn by hypothesis, each shrinking towards its first value."""

    def choose(_what: Field, values: int) -> int:
        return draw(st.integers(0, values - 1))

    return choose


@st.composite
def configs(draw: st.DrawFn, era: str = "2004-01") -> dict[str, Any]:
    return config_from(_drawer(draw), era)


@st.composite
def cases(draw: st.DrawFn, max_steps: int = DECODED_STEPS_MAX, era: str = "2004-01") -> Case:
    """A valid case of the era `era`, of 1 to `max_steps` steps over the grammar's pages,
    iocbs and tasks."""
    choose = _drawer(draw)
    config = config_from(choose, era)
    names = Names()
    steps = [
        step_from(op_from(choose), choose, names) for _ in range(draw(st.integers(1, max_steps)))
    ]
    return parse_case({"format": FORMAT, "name": "hypothesis", "config": config, "steps": steps})
