"""The case format: validation at the door, and a lossless round trip."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagefuzz.sim.case import CHECKS, CLASSES, FORMAT, InvalidCase, parse_case


def _case(**over: object) -> dict[str, object]:
    raw: dict[str, object] = {"format": FORMAT, "name": "t", "steps": []}
    raw.update(over)
    return raw


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"name": "t", "steps": []}, "format"),
        (_case(format="pagefuzz/case-v0"), "format"),
        (_case(steps=[{"op": "aio_write", "iocb": "A", "pos": -1, "count": 1}]), "steps[0].pos"),
        (_case(steps=[{"op": "aio_write", "iocb": "A", "pos": 0}]), "steps[0].count"),
        (_case(steps=[{"op": "explode"}]), "steps[0].op"),
        (_case(steps=[{"op": "flush", "page": 0, "colour": 1}]), "steps[0].colour"),
        (_case(steps=[{"op": "flush", "page": "0"}]), "steps[0].page"),
        (_case(steps=[{"op": "complete_io", "page": 0, "error": 1}]), "steps[0].error"),
        (_case(steps=[{"op": "run", "task": "T", "until": "middle"}]), "steps[0].until"),
        (_case(steps=[{"op": "run"}]), "steps[0].task"),
        (_case(config={"lookup_next": "next"}), "config.lookup_next"),
        (_case(config={"wait_queues": 0}), "config.wait_queues"),
        (_case(config={"wait_queues": 2, "queue_of": {"0": 2}}), "config.queue_of.0"),
        (_case(config={"queue_of": {"x": 1}}), "config.queue_of.x"),
        (_case(config={"speed": 1}), "config.speed"),
        (_case(config={"auto_settle": "yes"}), "config.auto_settle"),
        (
            _case(
                steps=[
                    {"op": "aio_write", "iocb": "A", "pos": 0, "count": 1},
                    {"op": "aio_write", "iocb": "A", "pos": 0, "count": 1},
                ]
            ),
            "steps[1].iocb",
        ),
        (
            _case(
                steps=[
                    {"op": "aio_write", "iocb": "A", "pos": 0, "count": 1},
                    {"op": "write", "task": "A", "pos": 0, "count": 1},
                ]
            ),
            "steps[1].task",
        ),
        (_case(steps=[{"op": "write", "task": "disk", "pos": 0, "count": 1}]), "steps[0].task"),
        (_case(steps=[{"op": "write", "task": "T", "pos": 0, "count": 1 << 40}]), "steps[0].count"),
        (_case(steps="none"), "steps"),
        (_case(extra=1), "extra"),
        (_case(expect="pass"), "expect"),
        (_case(expect={"checks": {}, "verdict": "fail"}), "expect.verdict"),
        (_case(expect={"checks": []}), "expect.checks"),
        (_case(expect={"checks": {"pre": "completion"}}), "expect.checks.pre"),
        (_case(expect={"checks": {"pre": ["completion", "speed"]}}), "expect.checks.pre[1]"),
        (_case(expect={"checks": {"p/q": []}}), "expect.checks.p/q"),
        (_case(expect={"differential": []}), "expect.differential"),
        (_case(expect={"differential": {"pre": "same"}}), "expect.differential.pre"),
        (_case(expect={"differential": {"a/b/c": "same"}}), "expect.differential.a/b/c"),
        (_case(expect={"differential": {"pre/post": "better"}}), "expect.differential.pre/post"),
    ],
)
def test_bad_case_names_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidCase) as info:
        parse_case(raw)
    assert info.value.field == field


def test_expect_messages_name_the_vocabulary() -> None:
    """The checks and classes a case may name are sim.case's CHECKS and CLASSES, the very
    tuples the oracle judges with (defined once)."""
    from pagefuzz import oracle

    assert oracle.CHECKS is CHECKS and oracle.CLASSES is CLASSES
    with pytest.raises(InvalidCase) as info:
        parse_case(_case(expect={"checks": {"pre": ["speed"]}}))
    assert str(info.value) == (
        "expect.checks.pre[0]: unknown check 'speed'; checks are completion, byte_count, "
        "retry_bound, hang, error, kernel_bug, crash, timeout"
    )
    with pytest.raises(InvalidCase) as info:
        parse_case(_case(expect={"differential": {"pre/post": "better"}}))
    assert str(info.value) == (
        "expect.differential.pre/post: unknown class 'better'; classes are same, fixed, "
        "regressed, both, benign"
    )


def test_an_unregistered_version_is_left_to_the_shell() -> None:
    """sim knows no registry: a well-formed version name parses (the shell's
    `check_expect_versions` refuses it; tests/test_bad_input.py)."""
    case = parse_case(_case(expect={"checks": {"pre2": []}, "differential": {"pre/pre2": "same"}}))
    assert case.expect == {"checks": {"pre2": []}, "differential": {"pre/pre2": "same"}}


def test_defaults_are_the_documented_ones() -> None:
    """docs/case-format.md: file_pages 4, wait_queues 4, last+1, wake-all, auto_settle, 10000."""
    cfg = parse_case(_case()).config
    assert (
        cfg.file_pages,
        cfg.wait_queues,
        cfg.lookup_next,
        cfg.filtered_wakeups,
        cfg.auto_settle,
        cfg.settle_bound,
    ) == (4, 4, "last+1", False, True, 10_000)


_names = st.sampled_from(["A", "B", "T", "U"])
_steps = st.one_of(
    st.builds(
        lambda p, c: {"op": "write", "task": "T", "pos": p, "count": c},
        st.integers(0, 1 << 20),
        st.integers(0, 65536),
    ),
    st.builds(
        lambda p, e: {"op": "complete_io", "page": p, "error": e}, st.integers(0, 64), st.booleans()
    ),
    st.builds(
        lambda t, u: {"op": "run", "task": t, "until": u},
        _names,
        st.sampled_from(["lookup", "page"]),
    ),
    st.builds(lambda s: {"op": "truncate", "task": "U", "size": s}, st.integers(0, 1 << 20)),
    st.just({"op": "settle"}),
)


@given(
    st.lists(_steps, max_size=8),
    st.integers(0, 16),
    st.integers(1, 8),
    st.sampled_from(["last+1", "cursor"]),
    st.booleans(),
)
def test_round_trip(
    steps: list[dict[str, object]], pages: int, queues: int, rule: str, settle: bool
) -> None:
    """A parsed case written back to JSON parses to the same case."""
    raw = _case(
        steps=steps,
        config={
            "file_pages": pages,
            "wait_queues": queues,
            "lookup_next": rule,
            "auto_settle": settle,
        },
    )
    case = parse_case(raw)
    again = parse_case(json.loads(json.dumps(case.to_json())))
    assert again == case
