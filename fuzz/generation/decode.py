"""The only code that sees raw fuzzer bytes: a total, structure-aware decoder from bytes to a Case.

Every byte string decodes to a valid case (bytes past the end read as zero), so libFuzzer never
wastes an execution on a parse error. The layout keeps mutations local:

    bytes 0-1  the config: file_pages, wait_queues, lookup_next, filtered_wakeups, auto_settle
               off, queue pinning (fuzz/generation/grammar.py: the config fields and their bits)
    then       two bytes per step (opcode, argument), at most DECODED_STEPS_MAX steps

so changing one byte changes one config choice or one step, and a short input is a short case. What
each bit means is the grammar's (fuzz/generation/grammar.py), shared with the hypothesis strategy.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

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

#: The longest input that still matters: two config bytes and two bytes per step (libFuzzer's
#: -max_len).
INPUT_LEN_MAX: Final = 2 + 2 * DECODED_STEPS_MAX


def _byte(data: bytes, at: int) -> int:
    return data[at] if at < len(data) else 0


def _reader(bits: int) -> Choose:
    """Choices read from the bits of one byte (or, for the config, of the first two)."""

    def choose(what: Field, values: int) -> int:
        return what.read(bits, values)

    return choose


def decode(data: bytes, era: str = "2004-01") -> Case:
    """Decode any byte string into a valid case of the era `era`."""
    config = config_from(_reader(_byte(data, 0) | _byte(data, 1) << 8), era)
    names = Names()
    steps: list[dict[str, Any]] = []
    body = data[2:]
    for at in range(0, min(len(body), 2 * DECODED_STEPS_MAX), 2):
        op = op_from(_reader(body[at]))
        steps.append(step_from(op, _reader(_byte(body, at + 1)), names))
    digest = hashlib.sha256(data).hexdigest()[:10]
    raw = {"format": FORMAT, "name": f"fuzz-{digest}", "config": config, "steps": steps}
    return parse_case(raw)
