"""Two versions compared on one case: the pair of a differential and of an `expect` block's
`differential` entry. Its one string form is `first/second`."""

from __future__ import annotations

from dataclasses import dataclass

from pagefuzz.sim.case import split_pair


@dataclass(frozen=True)
class Pair:
    """Two versions in the order they were compared (`first` before `second`)."""

    first: str
    second: str

    def __str__(self) -> str:
        return f"{self.first}/{self.second}"

    @classmethod
    def parse(cls, text: str) -> Pair:
        """`a/b` read back, split as the case format splits an `expect` pair
        (`sim.case.split_pair`: the leftmost "/" with a version name on each side, since a
        `py:` or `c:` name may hold "/"); ValueError when there is no such split."""
        split = split_pair(text)
        if split is None:
            raise ValueError(f'{text!r} does not name two versions as "a/b"')
        return cls(*split)
