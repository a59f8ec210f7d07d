"""The one step grammar (fuzz/generation/grammar.py): the decoder built from it decodes every byte
string to exactly the case the decoder before the grammar gave (frozen below), so raw findings keep
re-decoding to their recorded case; and the strategy built from it draws valid cases."""

import hashlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pagefuzz.fuzz.generation.decode import INPUT_LEN_MAX, decode
from pagefuzz.fuzz.generation.grammar import DECODED_STEPS_MAX, IOCB_NAMES, OPCODES
from pagefuzz.fuzz.generation.strategies import cases
from pagefuzz.sim.case import FORMAT, Case, parse_case
from pagefuzz.sim.cint import PAGE_CACHE_SIZE

# ---------------------------------------------------------------------- the frozen decoder

# fuzz/generation/decode.py as it was before the grammar was defined once (commit 9fe2f6d), kept
# verbatim but for names: the byte format that raw findings (findings/raw/*.bin) were written in.
_FROZEN_OPCODES = (
    "aio_write", "complete_io", "aio_write", "complete_io", "run", "flush", "sync_write",
    "truncate", "reclaim", "lock_page", "unlock_page", "settle", "write", "run", "complete_io",
    "aio_write",
)  # fmt: skip


def _frozen_byte(data: bytes, at: int) -> int:
    return data[at] if at < len(data) else 0


def _frozen_range(arg: int) -> tuple[int, int]:
    start = arg & 3
    unaligned = bool(arg & 4)
    pages = 1 + ((arg >> 3) & 3)
    pos = start * PAGE_CACHE_SIZE + (512 if unaligned else 0)
    return pos, pages * PAGE_CACHE_SIZE


def _frozen_actor(name: str, iocbs: list[str]) -> dict[str, str]:
    return {"iocb": name} if name in iocbs else {"task": name}


def frozen_decode(data: bytes) -> Case:
    b0, b1 = _frozen_byte(data, 0), _frozen_byte(data, 1)
    config: dict[str, Any] = {
        "file_pages": 1 + (b0 & 3),
        "wait_queues": 1 + ((b0 >> 2) & 3),
        "lookup_next": "cursor" if b1 & 1 else "last+1",
        "filtered_wakeups": bool(b1 & 2),
        "auto_settle": not b1 & 4,
        "settle_bound": 64,
    }
    pin_mode = (b1 >> 3) & 3
    if pin_mode == 1:
        config["queue_of"] = {str(i): 0 for i in range(4)}
    elif pin_mode == 2:
        config["queue_of"] = {"0": 0, "1": 0}
    steps: list[dict[str, Any]] = []
    iocbs: list[str] = []
    actors: list[str] = []
    body = data[2:]
    for at in range(0, min(len(body), 2 * 16), 2):
        op = _FROZEN_OPCODES[body[at] % len(_FROZEN_OPCODES)]
        arg = _frozen_byte(body, at + 1)
        page = arg & 3
        step: dict[str, Any]
        if op == "aio_write" and len(iocbs) < 4:
            pos, count = _frozen_range(arg)
            name = ("A", "B", "C", "D")[len(iocbs)]
            iocbs.append(name)
            step = {"op": "aio_write", "iocb": name, "pos": pos, "count": count}
        elif op in ("sync_write", "write"):
            pos, count = _frozen_range(arg)
            step = {"op": op, "task": ("T", "U")[(arg >> 5) & 1], "pos": pos, "count": count}
        elif op == "truncate":
            size = (arg % 5) * PAGE_CACHE_SIZE
            if arg & 0x80 and size:
                size -= PAGE_CACHE_SIZE // 2
            step = {"op": "truncate", "task": "X", "size": size}
        elif op in ("lock_page", "unlock_page"):
            step = {"op": op, "task": "L", "page": page}
        elif op == "run" and actors:
            step = {"op": "run", **_frozen_actor(actors[(arg >> 2) % len(actors)], iocbs)}
            until = ("", "lookup", "page")[(arg & 3) % 3]
            if until:
                step["until"] = until
        elif op in ("flush", "reclaim"):
            step = {"op": op, "page": page}
        elif op == "settle":
            step = {"op": "settle"}
        else:
            step = {"op": "complete_io", "page": page}
            if arg & 0x70 == 0x70:
                step["error"] = True
        for key in ("iocb", "task"):
            who = step.get(key)
            if isinstance(who, str) and who not in actors and step["op"] != "run":
                actors.append(who)
        steps.append(step)
    digest = hashlib.sha256(data).hexdigest()[:10]
    return parse_case(
        {"format": FORMAT, "name": f"fuzz-{digest}", "config": config, "steps": steps}
    )


# ---------------------------------------------------------------------- the decoder


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=INPUT_LEN_MAX + 6))
def test_decoder_decodes_as_the_frozen_decoder(data: bytes) -> None:
    assert decode(data) == frozen_decode(data)


def test_every_config_and_every_step_decodes_as_the_frozen_decoder() -> None:
    """Exhaustively: all 65,536 config byte pairs, and every (opcode, argument) pair after a
    prefix that submitted A and started task T (so `run` picks among two actors, one an iocb)
    and after one that submitted all four iocbs (so a fifth AIO write falls back to an I/O
    completion)."""
    for b0 in range(256):
        for b1 in range(256):
            data = bytes([b0, b1])
            assert decode(data) == frozen_decode(data)
    two_actors = bytes([0x05, 0x00, 0x00, 0x00, 0x06, 0x20])
    four_iocbs = bytes([0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x02, 0x12, 0x0F, 0x1B])
    for prefix in (two_actors, four_iocbs):
        for op in range(len(OPCODES)):
            for arg in range(256):
                data = prefix + bytes([op, arg])
                assert decode(data) == frozen_decode(data)


def test_a_hand_decoded_input() -> None:
    """bytes 25 1b | 00 0d | 04 06 | 07 f3, by hand from the grammar's bits:
    byte 0 = 0b0010_0101: file_pages 1 + 0b01 = 2, wait_queues 1 + 0b01 = 2; byte 1 =
    0b0001_1011: lookup_next bit 0 set = cursor, filtered_wakeups bit 1 set, auto_settle off
    bit 2 clear = on, pins bits 3-4 = 0b11 = the hash.
    00 0d: OPCODES[0] = aio_write; 0x0d = 0b0000_1101: start page 0b01 = 1, unaligned (bit 2),
    length 1 + 0b01 = 2 pages: pos 4096 + 512 = 4608, count 8192; the first iocb, A.
    04 06: OPCODES[4] = run; actor (6 >> 2) % 1 = 0: A; until (6 & 3) % 3 = 2: page.
    07 f3: OPCODES[7] = truncate; 243 % 5 = 3 pages = 12288, bit 7 set: less 2048 = 10240."""
    case = decode(bytes([0x25, 0x1B, 0x00, 0x0D, 0x04, 0x06, 0x07, 0xF3]))
    raw = case.to_json()
    assert raw["config"] == {
        "file_pages": 2,
        "wait_queues": 2,
        "queue_of": {},
        "lookup_next": "cursor",
        "filtered_wakeups": True,
        "auto_settle": True,
        "settle_bound": 64,
    }
    assert raw["steps"] == [
        {"op": "aio_write", "iocb": "A", "pos": 4608, "count": 8192},
        {"op": "run", "iocb": "A", "until": "page"},
        {"op": "truncate", "task": "X", "size": 10240},
    ]


def test_input_len_max_is_the_config_and_every_step() -> None:
    """2 config bytes + 2 bytes for each of 16 steps = 34 (libFuzzer's -max_len)."""
    assert DECODED_STEPS_MAX == 16 and INPUT_LEN_MAX == 34


# ---------------------------------------------------------------------- the strategy


@settings(max_examples=200, deadline=None)
@given(cases())
def test_strategy_draws_cases_of_the_grammar(case: Case) -> None:
    """Valid (parse_case accepted it), 1-16 steps, iocbs named A, B, ... in submission order,
    every `run` naming an actor an earlier step introduced."""
    assert 1 <= len(case.steps) <= DECODED_STEPS_MAX
    submitted = [s.iocb for s in case.steps if s.op == "aio_write"]
    assert submitted == list(IOCB_NAMES[: len(submitted)])
    seen: set[str] = set()
    for step in case.steps:
        who = step.iocb or step.task
        if step.op == "run":
            assert who in seen
        elif who is not None:
            seen.add(who)
