#!/usr/bin/env python3
"""The benchmark's yardstick: the cheapest atheris target there is (two integers compared).

`PAGEFUZZ_NO_INSTRUMENT=1` runs it uninstrumented; otherwise the function is instrumented, as the
differential target's `sim` and `impls` are."""

import os
import sys

import atheris


def _compare(data: bytes) -> None:
    if len(data) >= 2 and data[0] == data[1] + 1:
        pass


if os.environ.get("PAGEFUZZ_NO_INSTRUMENT") != "1":
    _compare = atheris.instrument_func(_compare)


def TestOneInput(data: bytes) -> None:
    _compare(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
