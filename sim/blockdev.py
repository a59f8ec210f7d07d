"""The block device under the file: the write-outs in flight, what the disk holds, and how each
write-out ends (rules 8 and R4, R12 of kernel-model.md, the project's kernel-semantics spec kept
outside this repository).

Fault model. The disk does nothing by itself: a write-out starts when kernel code submits it
(`submit`, from start_writeback) and stays in flight until the schedule ends it.
- Completion order is the schedule's: a `complete_io` step completes the write-out of the page
  it names, whatever was submitted before it, so any order across pages can be tried. After the
  last step the drain completes what is still in flight oldest first (R4).
- I/O errors are the schedule's too: `complete_io` with `error` fails the write-out; the page gets
  PG_error (sticky) and the disk keeps the data generation it had (R12). The drain's completions
  all succeed.
- Nothing else goes wrong: no torn or lost write, no completion without a submission (a
  `complete_io` of a page with nothing in flight is an event and changes nothing), one write-out
  per page at a time (page_writer waits for the old one and flush skips such a page, R12).

State: `outstanding` (pages with a write-out in flight, oldest first), `disk_gen` (the data
generation durable for each file index: 0, what was on disk at the start, for the initial pages)
and `io_log` (every completion, with its sequence number, for the oracle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pagefuzz.sim.events import Message
from pagefuzz.sim.mm import Page
from pagefuzz.sim.record import IoCompletion

if TYPE_CHECKING:
    from pagefuzz.sim.world import World


@dataclass(eq=False, slots=True)
class BlockDevice:
    """The disk of the one file: the pages with a write-out in flight, oldest first; the data
    generation durable for each file index; and every completion."""

    outstanding: list[Page] = field(default_factory=list)
    disk_gen: dict[int, int] = field(default_factory=dict)
    io_log: list[IoCompletion] = field(default_factory=list)

    @classmethod
    def for_file(cls, file_pages: int) -> BlockDevice:
        """The disk of a file of `file_pages` pages, all durable at generation 0."""
        return cls(disk_gen=dict.fromkeys(range(file_pages), 0))

    def submit(self, page: Page) -> None:
        """A write-out of the page's current data generation goes in flight."""
        page.io_gen = page.gen
        self.outstanding.append(page)

    def in_flight(self, index: int) -> Page | None:
        """The page at file index `index` whose write-out is in flight, if any."""
        for page in self.outstanding:
            if page.index == index:
                return page
        return None

    def oldest(self) -> Page | None:
        return self.outstanding[0] if self.outstanding else None

    def finish(self, page: Page, error: bool, step: int, seq: int) -> IoCompletion:
        """The page's write-out ends: it leaves the in-flight list, is logged, and without an
        error its generation becomes the durable one for its index."""
        assert page.io_gen is not None
        self.outstanding.remove(page)
        done = IoCompletion(
            step=step, seq=seq, index=page.index, serial=page.serial, gen=page.io_gen, error=error
        )
        self.io_log.append(done)
        if not error:
            self.disk_gen[page.index] = page.io_gen
        page.io_gen = None
        return done


def complete_io(k: World, index: int, error: bool) -> None:
    """The `complete_io` step: the disk ends the write-out of page `index`, if one is in flight,
    and the kernel's completion handler runs (end_page_writeback)."""
    page = k.device.in_flight(index)
    if page is None:
        k.log("disk", Message.IO_NONE, (index,))
        return
    k.end_page_writeback(page, error)
