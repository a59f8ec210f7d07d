#!/usr/bin/env python3
"""libFuzzer target (atheris): decode bytes to a case, run every version, judge, keep findings.

Run on its own:   python fuzz/campaign/differential_fuzzer.py CORPUS_DIR -max_total_time=60
or through        pagefuzz fuzz --engine atheris

Environment: PAGEFUZZ_OUT (campaign directory; default campaigns/standalone), PAGEFUZZ_VERSIONS
(comma-separated; default impls.registry.DEFAULT_VERSIONS), PAGEFUZZ_WORKER (worker number),
PAGEFUZZ_SEED, PAGEFUZZ_INSTRUMENT and PAGEFUZZ_STATE_FEEDBACK (the feedback, below). Each input is
decoded (fuzz/generation/decode.py) and executed by `WorkerState` (fuzz/campaign/target.py), as the
other engines' cases are. Coverage feedback instruments the versions (`impls`) by default, plus the
abstract-state counters: the harness, the oracle and (unless asked) the world stay uninstrumented
(see ../shared/notes/fuzzing-toolchain.md). A known verdict never stops libFuzzer: findings are
recorded in-process and the target returns normally; only a harness error (an exception outside the
oracle) is recorded as a crash, and fuzzing goes on.
"""

import os
import sys
from pathlib import Path

import atheris

#: What coverage feedback instruments (PAGEFUZZ_INSTRUMENT): "versions" (the versions only, the
#: default: the code under test, at about twice the exec/s of "world"), "world" (the simulated
#: kernel and the versions) or "none" (state feedback only). docs/fuzzing.md has the measurements.
SCOPES = {"world": ["pagefuzz.sim", "pagefuzz.impls"], "versions": ["pagefuzz.impls"], "none": []}
_SCOPE = os.environ.get("PAGEFUZZ_INSTRUMENT", "versions")
if os.environ.get("PAGEFUZZ_NO_INSTRUMENT") == "1":  # the benchmark's uninstrumented mode
    _SCOPE = "none"
if _SCOPE == "versions":
    # atheris instruments a whole top-level package once any of it is imported inside the hook:
    # the world is imported first, uninstrumented, so that only the versions' modules are.
    import pagefuzz.sim.world
if SCOPES.get(_SCOPE):
    with atheris.instrument_imports(include=SCOPES[_SCOPE]):
        import pagefuzz.impls.registry
        import pagefuzz.sim.world  # noqa: F401

# Imported after the instrumentation hook above, so that its choice of scope holds.
import zlib  # noqa: E402

from pagefuzz.fuzz.campaign.target import WorkerState  # noqa: E402
from pagefuzz.fuzz.generation.decode import decode  # noqa: E402
from pagefuzz.fuzz.versions.resolve import resolve_for_worker  # noqa: E402
from pagefuzz.impls.registry import DEFAULT_VERSIONS  # noqa: E402

#: Feedback on abstract states (on unless PAGEFUZZ_STATE_FEEDBACK=0; off in the benchmark's
#: uninstrumented mode): each distinct (version, event kind, next event kind) pair of a run hits
#: one of a pool of libFuzzer counters reserved here, before fuzzing starts (atheris' private
#: counter API, pinned version).
STATE_COUNTERS = 1024
_STATE_FEEDBACK = (
    os.environ.get("PAGEFUZZ_STATE_FEEDBACK", "1") == "1"
    and os.environ.get("PAGEFUZZ_NO_INSTRUMENT") != "1"
)
_COUNTERS = [atheris._reserve_counter() for _ in range(STATE_COUNTERS)] if _STATE_FEEDBACK else []

_STATE: WorkerState | None = None


def _state() -> WorkerState:
    global _STATE
    if _STATE is None:
        out = Path(os.environ.get("PAGEFUZZ_OUT", "campaigns/standalone"))
        names = os.environ.get("PAGEFUZZ_VERSIONS", ",".join(DEFAULT_VERSIONS)).split(",")
        versions = resolve_for_worker(names)  # py:/c: files and plugins, as the campaign gave
        _STATE = WorkerState(
            out,
            int(os.environ.get("PAGEFUZZ_WORKER", "0")),
            versions,
            "atheris",
            int(os.environ.get("PAGEFUZZ_SEED", "0")),
        )
    return _STATE


#: Under a packaged build (ClusterFuzzLite / OSS-Fuzz run the target without pagefuzz's
#: campaign around it) a new finding must surface as a crash, or nobody would see it.
_RAISE = getattr(sys, "frozen", False) or os.environ.get("PAGEFUZZ_RAISE_ON_FINDING") == "1"


class NewFindingError(AssertionError):
    """A finding no corpus case shows, raised only under a packaged build."""


def TestOneInput(data: bytes) -> None:
    state = _state()
    before = len(state.findings)
    evaluation = state.execute(decode(data, state.era), data)
    if _COUNTERS and evaluation is not None:
        for pair in state.last_pairs:
            key = "/".join(pair).encode()
            atheris._trace_branch(_COUNTERS[zlib.crc32(key) % STATE_COUNTERS])
    if _RAISE and len(state.findings) > before:
        raise NewFindingError(str(state.findings[-1]["signature"]))


def _flush_stats() -> None:
    if _STATE is not None:
        _STATE.maybe_write_stats(force=True)


def main() -> None:
    import atexit

    atexit.register(_flush_stats)
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
