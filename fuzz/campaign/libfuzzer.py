"""libFuzzer as pagefuzz drives it (the atheris engine): the options it is given and what its
log says.

Under `-fork` the target runs in child processes that each count from zero, so the campaign
takes executions, exec/s and coverage from libFuzzer's own log rather than from the target.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from pagefuzz.fuzz.generation.decode import INPUT_LEN_MAX

#: libFuzzer options: inputs sized for the decoder's longest case, no slow length ramp-up
#: (measured: time to a bug from ~12 s to ~1 s, ../shared/notes/fuzzing-toolchain.md).
LIBFUZZER_ARGS: Final = (f"-max_len={INPUT_LEN_MAX}", "-len_control=0", "-print_final_stats=1")
#: How much of the end of a log is read for the latest figures.
TAIL_BYTES: Final = 16384

_EXECS = re.compile(r"^#(\d+)|^Done (\d+) runs|stat::number_of_executed_units:\s*(\d+)")
_RATE = re.compile(r"exec/s:? (\d+)")
_COV = re.compile(r" cov: (\d+)")
_FINAL_EXECS = re.compile(r"stat::number_of_executed_units:\s*(\d+)")


def stats_of(text: str) -> dict[str, Any]:
    """Executions (the most any line reports), the last exec/s and the last coverage in a piece
    of libFuzzer's output, as a worker's stats.json would give them."""
    executions = rate = coverage = 0
    for line in text.splitlines():
        found = _EXECS.search(line)
        if found:
            executions = max(executions, int(next(g for g in found.groups() if g)))
        if (m := _RATE.search(line)) is not None:
            rate = int(m.group(1))
        if (m := _COV.search(line)) is not None:
            coverage = int(m.group(1))
    return {"executions": executions, "exec_per_s": float(rate), "coverage": coverage, "crashes": 0}


def read_log_stats(log: Path, offset: int) -> dict[str, Any]:
    """`stats_of` what libFuzzer printed into `log` since `offset` (its last TAIL_BYTES), or {}
    when the log cannot be read."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(offset, log.stat().st_size - TAIL_BYTES))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return {}
    return stats_of(tail)


def final_executions(text: str) -> int | None:
    """The executions of the final statistics (-print_final_stats=1), if printed."""
    found = _FINAL_EXECS.search(text)
    return int(found.group(1)) if found else None
