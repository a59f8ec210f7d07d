"""Regression over every shipped case: each case's recorded `expect` must still hold.

One test per file (id = path below corpus/), so a changed verdict names its case. On failure the
message shows the differing verdicts and the timeline of each version.
"""

from pathlib import Path

import pytest

from pagefuzz._casefile import load_case
from pagefuzz._output import event_line
from pagefuzz.impls.registry import get_version
from pagefuzz.oracle.evaluate import evaluate

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
CASES = sorted(CORPUS.rglob("*.json"))


def test_corpus_is_not_empty() -> None:
    """The regression suite must replay something: an empty corpus would pass vacuously."""
    assert len(CASES) >= 5


@pytest.mark.parametrize("path", CASES, ids=[str(p.relative_to(CORPUS)) for p in CASES])
def test_corpus_case_meets_its_expectation(path: Path) -> None:
    case = load_case(path)
    assert case.expect is not None, f"{path}: every shipped case carries an expect block"
    outcome = evaluate(case, [get_version(name) for name in _versions_named(case.expect)])
    if not outcome.expectation_ok:
        lines = [m.line() for m in outcome.mismatches]
        for name, record in outcome.records.items():
            lines.append(
                f"--- {name}: " + ", ".join(v.line() for v in outcome.verdicts[name].violations)
            )
            lines.extend(event_line(e.step, e.actor, e.text) for e in record.events)
        pytest.fail("\n".join(lines))


def _versions_named(expect: dict[str, object]) -> list[str]:
    names: list[str] = []
    checks = expect.get("checks", {})
    assert isinstance(checks, dict)
    names.extend(checks)
    diffs = expect.get("differential", {})
    assert isinstance(diffs, dict)
    for pair in diffs:
        names.extend(pair.split("/"))
    return list(dict.fromkeys(names))
