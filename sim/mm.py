"""Pages and the page cache of the one file: section 1 of kernel-model.md (the project's
kernel-semantics spec, kept outside this repository; docs/model.md states what pagefuzz settled
where it is silent).

The cache is a sparse map index -> page kept with a sorted index list, which is all the radix
tree's gang lookup needs: the next present pages at or after an index, ascending.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from pagefuzz.sim.cint import PAGE_CACHE_SHIFT, PAGEVEC_SIZE


def page_range(pos: int, count: int) -> range:
    """The page indices of the byte range [pos, pos + count); empty when count is 0."""
    if count <= 0:
        return range(0)
    return range(pos >> PAGE_CACHE_SHIFT, ((pos + count - 1) >> PAGE_CACHE_SHIFT) + 1)


@dataclass(eq=False)
class Page:
    """A `struct page` of the file. `serial` is its identity for wait-queue hashing (R9)."""

    serial: int
    index: int
    mapping: bool = True
    locked: bool = False
    dirty: bool = False
    writeback: bool = False
    error: bool = False
    refs: int = 1  # the page cache's own reference
    gen: int = 0  # data generation in memory (0: what was on disk at the start)
    io_gen: int | None = None  # generation the outstanding I/O is writing
    lock_owner: str | None = None
    task_refs: int = 0  # references held by the case's own lock_page tasks
    task_locked: bool = False  # the lock is held by a case task's lock_page step
    #: The radix-tree tags of its slot (July 2004 era, J1-J3; always clear in the seed's era).
    #: They live with the slot: removing the page from the file clears both.
    tag_dirty: bool = False
    tag_writeback: bool = False

    def flags(self) -> str:
        """Compact flag string for traces: L locked, D dirty, W writeback, E error, - none."""
        text = "".join(
            letter
            for letter, on in (
                ("L", self.locked),
                ("D", self.dirty),
                ("W", self.writeback),
                ("E", self.error),
            )
            if on
        )
        return text or "-"


@dataclass
class PageCache:
    """The file's mapping: index -> page, plus the sorted indices for gang lookups; and every
    struct page ever allocated, by serial (a page removed from the file lives on while
    referenced)."""

    pages: dict[int, Page] = field(default_factory=dict)
    indices: list[int] = field(default_factory=list)
    allocated: list[Page] = field(default_factory=list)
    #: The mapping's error flags AS_EIO and AS_ENOSPC (July 2004 era, J17 step 3, JR4): set
    #: by a failed write-out, consumed by the first wait walk of any caller.
    as_eio: bool = False
    as_enospc: bool = False

    def get(self, index: int) -> Page | None:
        return self.pages.get(index)

    def insert(self, page: Page) -> None:
        assert page.index not in self.pages
        self.pages[page.index] = page
        bisect.insort(self.indices, page.index)

    def remove(self, page: Page) -> None:
        del self.pages[page.index]
        self.indices.pop(bisect.bisect_left(self.indices, page.index))

    def find_get_pages(self, start: int, nr: int) -> list[Page]:
        """Up to `nr` present pages with index >= start, ascending, no upper bound (rule 3).

        Each page returned gets a reference; the caller drops it with `pagevec_release`.
        """
        at = bisect.bisect_left(self.indices, start)
        found = [self.pages[i] for i in self.indices[at : at + min(nr, PAGEVEC_SIZE)]]
        for page in found:
            page.refs += 1
        return found

    def find_get_pages_tag(self, start: int, tag: str, nr: int) -> list[Page]:
        """find_get_pages_tag (J4): up to `nr` present pages at or after `start` whose slot
        carries `tag` ("dirty" or "writeback") now, ascending, no upper bound; each referenced."""
        at = bisect.bisect_left(self.indices, start)
        wanted = min(nr, PAGEVEC_SIZE)
        found: list[Page] = []
        for index in self.indices[at:]:
            if len(found) == wanted:
                break
            page = self.pages[index]
            if page.tag_dirty if tag == "dirty" else page.tag_writeback:
                found.append(page)
        for page in found:
            page.refs += 1
        return found

    def in_order(self) -> list[Page]:
        return [self.pages[i] for i in self.indices]
