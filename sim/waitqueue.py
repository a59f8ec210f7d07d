"""Wait queues: a `wait_queue_head_t` and its entries (prepare_to_wait and __wake_up of 2.6.0,
rules 7 and R1 of kernel-model.md, the project's kernel-semantics spec kept outside this
repository).

A `WaitQueue` keeps entries head first. `add` puts an entry at the head, as prepare_to_wait does
(R1); a wake-all walks a `snapshot` from the head and `remove`s each entry it wakes, as
autoremove_wake_function and aio_wake_function do. Which queue a page hashes to and what waking an
entry does belong to the page cache (sim/filemap.py: page_waitqueue, wake_up_page): this file only
keeps the entries, their order, and which queue each is on (trio's ParkingLot, without the
scheduling).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pagefuzz.sim.actors import WaitEntry


@dataclass(eq=False)
class WaitQueue:
    """One hashed wait queue of the table (`WaitTable.queues[index]`)."""

    index: int
    entries: list[WaitEntry] = field(default_factory=list)

    def add(self, entry: WaitEntry) -> None:
        """prepare_to_wait: the entry goes in at the head (R1)."""
        self.entries.insert(0, entry)
        entry.queue = self.index

    def add_tail(self, entry: WaitEntry) -> None:
        """prepare_to_wait_exclusive: the entry goes in at the tail (J9, the July 2004 era)."""
        self.entries.append(entry)
        entry.queue = self.index

    def remove(self, entry: WaitEntry) -> None:
        self.entries.remove(entry)
        entry.queue = None

    def snapshot(self) -> list[WaitEntry]:
        """The entries head first, as a wake-all walks them: removing one does not disturb the
        walk."""
        return list(self.entries)

    def __iter__(self) -> Iterator[WaitEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(eq=False)
class WaitTable:
    """The zone's hashed wait-queue table (rule 6, R9): its queues, and the pages a case pinned
    to a queue by index (`config.queue_of`)."""

    queues: list[WaitQueue]
    pinned: dict[int, int]

    @classmethod
    def of_size(cls, size: int, pinned: dict[int, int]) -> WaitTable:
        return cls([WaitQueue(index) for index in range(size)], pinned)
