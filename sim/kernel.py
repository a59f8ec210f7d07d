"""What a version may call: the kernel functions the 2004 code of operate_on_page_range,
page_writer, page_waiter and sync_page_range calls, and nothing of the simulator's bookkeeping.

`Kernel` is a Protocol: the world (sim/world.py) provides it, and a version's methods receive it
as `k` (`k.lock_page(ctx, page)`). Python versions, the mutants of the tests and the benchmark,
and the C bridge (impls/cversion.py, which is how a `c:` version's kernel.h calls arrive) call
only these; mypy holds the package's versions to it and tests/test_kernel_interface.py every
other (the tests' mutants, the examples). A version reads a page's flags and fields (its
`struct page`) and its actor's `io_wait` and `name` (`current`); it changes them only through
these calls.

The functions are the world's own, in the module named after the kernel file they model:
lookups, references, locks, writeback and its waits in sim/filemap.py; BUG() in sim/world.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pagefuzz.sim.actors import Actor, WaitEntry
    from pagefuzz.sim.mm import Page
    from pagefuzz.sim.points import Gen
    from pagefuzz.sim.record import RequestId


class Kernel(Protocol):
    """The kernel as a version sees it (mm/filemap.c, mm/swap.c, the filesystem's writepage)."""

    # mm/swap.c: gang lookups and page references
    def pagevec_lookup(self, ctx: Actor, start: int, nr: int) -> list[Page]:
        """Up to nr pages at or after start, each referenced (rule 3)."""
        ...

    def pagevec_lookup_next(self, ctx: Actor, start: int, nr: int) -> tuple[list[Page], int]:
        """The same, and the next index to look up (rule 4, R13)."""
        ...

    def pagevec_release(self, pages: list[Page]) -> None:
        """Drop the references a lookup took."""
        ...

    def page_cache_get(self, page: Page) -> None:
        """Take a reference."""
        ...

    def page_cache_release(self, page: Page) -> None:
        """Drop a reference."""
        ...

    # mm/filemap.c: page locks, dirty bits, writeback and its waits
    def lock_page(self, ctx: Actor, page: Page) -> Gen[None]:
        """Sleep until the page's lock is free, then take it (rule 9)."""
        ...

    def unlock_page(self, ctx: Actor, page: Page) -> None:
        """Clear the lock and wake the page's whole queue (rule 7)."""
        ...

    def test_clear_page_dirty(self, page: Page) -> bool:
        """Clear the dirty bit; whether it was set."""
        ...

    def wait_on_page_writeback(self, ctx: Actor, page: Page) -> Gen[None]:
        """Sleep until the writeback bit clears (even in AIO)."""
        ...

    def wait_on_page_writeback_wq(self, ctx: Actor, page: Page) -> Gen[int]:
        """0 if no writeback; else an AIO entry is queued and -EIOCBRETRY returned, or a
        synchronous task sleeps until it clears (rule 10)."""
        ...

    def writepage(self, ctx: Actor, page: Page) -> int:
        """The filesystem's writepage on a locked page: start the I/O, unlock (rule 20)."""
        ...

    # the hashed wait queues (a version that queues an entry itself)
    def page_waitqueue(self, page: Page) -> int:
        """The index of the page's hashed queue (R9)."""
        ...

    def wait_table_size(self) -> int:
        """How many queues the table has."""
        ...

    def add_wait_queue(self, queue: int, entry: WaitEntry) -> None:
        """prepare_to_wait on queue `queue` (R1: at the head)."""
        ...

    # The July 2004 era (sim/july/, kernel-model-2004-07.md): a version of that era calls these
    # as well (the seed era's world has none of them: a 2004-01 version never calls them).
    def pagevec_lookup_tag(
        self, ctx: Actor, index: int, tag: str, nr: int
    ) -> tuple[list[Page], int]:
        """Up to nr pages at or after index whose slot carries `tag` ("dirty", "writeback"),
        each referenced, and the cursor: one past the last returned (J4, J5)."""
        ...

    def test_and_clear_bit(self, flag: str) -> bool:
        """The mapping's AS_EIO or AS_ENOSPC: whether it was set; cleared (J17 step 3)."""
        ...

    def wait_on_page_writeback_bit(self, ctx: Actor, page: Page) -> Gen[int]:
        """__wait_on_page_writeback with a wait-bit entry (J31, J33: the 2005 form)."""
        ...

    def kiocb_try_sync(self, ctx: Actor) -> bool:
        """kiocbTrySync: test-and-set KIF_SYNCED of the running iocb (J21 step 3)."""
        ...

    def filemap_fdatawrite_range(self, ctx: Actor, start: int, end: int) -> Gen[int]:
        """WB_SYNC_ALL write-out of the bytes start..end (J12-J15)."""
        ...

    def generic_osync_inode(self, ctx: Actor, nolock: bool = False) -> Gen[int]:
        """The metadata step of sync_page_range, under i_sem unless `nolock` (J21, J25)."""
        ...

    # asm/bug.h
    def bug(
        self, kind: str, what: str, request: RequestId | None = None, by_case: bool = False
    ) -> None:
        """BUG(): recorded; execution goes on as if it returned (R14)."""
        ...


__all__ = ["Kernel"]
