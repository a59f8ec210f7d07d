"""Single-change mutants of `fixed`: unplanted-looking kernel mistakes, for the mutation benchmark
(fuzz/mutation.py, docs/mutants.md) and tests/test_mutants_of_fixed.py only.

They are deliberately *not* in impls/registry.py's REGISTRY: `replay`, `fuzz` and `explore` never
run them unless asked, as `--versions py:impls/mutants.py:ClassName`, or after a test or the
benchmark imported this module. `MUTANTS` maps each mutant's name (what the benchmark shows,
`fixed~...`) to its class.

Each mutant is `Fixed` (impls/fixed.py) with ONE change: the method it overrides is fixed's (or
post's, for page_writer and page_waiter) copied as it is, with the changed line marked
`# MUTANT:` (tests/test_mutants_of_fixed.py checks that the copy differs from the original by that
one change and nothing else). A mistake inside a kernel function a version calls (a lost wakeup, a
wrong hash) cannot be planted in sim/: it is modelled by the version calling a variant of the
kernel helper, defined here beside it, in the helper's own terms.

Each docstring says the kernel mistake it models, and the oracle check expected to catch it (or
why it may be equivalent: no schedule the model allows tells it apart from `fixed`).
"""

from __future__ import annotations

from typing import Final

from pagefuzz.impls.fixed import Fixed
from pagefuzz.sim.cint import (
    EIO,
    EIOCBRETRY,
    PAGE_CACHE_SHIFT,
    PAGE_CACHE_SIZE,
    PAGEVEC_SIZE,
    signed,
    unsigned,
)
from pagefuzz.sim.events import Message
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import LOOKUP, PAGE, Gen
from pagefuzz.sim.world import Actor, Operator, Version, World

# --------------------------------------------------------------- kernel helpers, mistaken


def unlock_page_without_wakeup(k: World, ctx: Actor, page: Page) -> None:
    """`unlock_page` that clears PG_locked but forgets `wake_up_page` (the lost wakeup of an
    unlock path that open-codes `ClearPageLocked`): the page's sleepers stay asleep."""
    page.locked = False
    page.lock_owner = None
    page.task_locked = False
    k.log(ctx.name, Message.UNLOCK, (page.index,), page)


def writepage_without_wakeup(k: World, ctx: Actor, page: Page) -> int:
    """The filesystem's writepage on a locked page: start the I/O, then the unlock above."""
    k.start_writeback(ctx, page)
    unlock_page_without_wakeup(k, ctx, page)
    return 0


def wait_on_page_writeback_wq_hashing_index(k: World, ctx: Actor, page: Page) -> Gen[int]:
    """`wait_on_page_writeback_wq` whose AIO path picks the wait queue by hashing the page's file
    index (`page->index`) instead of the struct page (`page_waitqueue(page)`, R9). The wakeup
    (`end_page_writeback`) goes to the page's real queue: whenever the two hashes differ (a page
    pinned to another queue, a page re-created after truncation or reclaim) the iocb's entry
    sits on a queue nobody wakes for it. The synchronous path is the kernel's own."""
    if not page.writeback:
        k.log(ctx.name, Message.WAIT_IDLE, (page.index,), page)
        return 0
    wait = ctx.io_wait
    if wait is not None:
        if wait.queue is None:
            k.waits.queues[page.index % len(k.waits.queues)].add(wait)
        k.log(ctx.name, Message.QUEUE, (page.index, wait.queue), page)
        return -EIOCBRETRY
    yield from k.wait_on_page_writeback(ctx, page)
    k.log(ctx.name, Message.WAIT_DONE, (page.index,), page)
    return 0


def wait_on_page_writeback_wq_unqueued(k: World, ctx: Actor, page: Page) -> Gen[int]:
    """`wait_on_page_writeback_wq` whose AIO path tests PG_writeback and returns -EIOCBRETRY
    without `prepare_to_wait` (the entry is never queued): nothing will wake the iocb, and
    aio_run_iocb, seeing -EIOCBRETRY with the entry on no queue, kicks it again at once (rule
    15). The synchronous path is the kernel's own."""
    if not page.writeback:
        k.log(ctx.name, Message.WAIT_IDLE, (page.index,), page)
        return 0
    wait = ctx.io_wait
    if wait is not None:
        k.log(ctx.name, Message.QUEUE, (page.index, wait.queue), page)
        return -EIOCBRETRY
    yield from k.wait_on_page_writeback(ctx, page)
    k.log(ctx.name, Message.WAIT_DONE, (page.index,), page)
    return 0


# -------------------------------------------------------------------------- the mutants


class LastOffByOne(Fixed):
    """`last = (pos + count) >> PAGE_CACHE_SHIFT`: the `- 1` of the inclusive last index
    forgotten. A page-aligned range then takes in the page after it: the write-out phase writes
    it if dirty (harmless) and the wait phase waits on it. An AIO iocb that reaches that page
    while someone else's write-out of it is in flight queues its entry there and returns -
    with every page of its own range already counted, `min(done, count)` is the whole count - so
    aio_pwrite completes it with the entry still queued. Caught by `kernel_bug` (completion with
    a queued wait entry); needs a second writer on the next page."""

    name = "fixed~last-off-by-one"
    summary = "last = (pos + count) >> 12: the page after the range is waited on too"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count) >> PAGE_CACHE_SHIFT)  # MUTANT: the - 1 forgotten
        curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            # Look up from the first page not yet done (the returned cursor is not needed).
            pvec, _ = k.pagevec_lookup_next(ctx, curr, min(PAGEVEC_SIZE, unsigned(last - curr + 1)))
            yield LOOKUP
            if not pvec:
                curr = unsigned(last + 1)  # nothing left in the range: holes need no sync
                break
            for page in pvec:
                if page.index > last:  # (2) the lookup has no upper bound
                    curr = unsigned(last + 1)
                    break
                curr = page.index  # holes before it need no sync
                if not page.mapping:  # (3) truncated: nothing to sync, go on
                    curr = unsigned(curr + 1)
                    continue
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error:  # (5) report the error now
                    ret = -EIO
                    break
                curr = unsigned(curr + 1)
            k.pagevec_release(pvec)
            if ret in (-EIOCBRETRY, -EIO) or curr > last:  # (1) test the page, not the cursor
                break
        if ret == -EIO:
            return ret
        done = signed(unsigned(curr << PAGE_CACHE_SHIFT) - pos)
        nbytes = min(max(done, 0), count)  # (4) never below pos, never above count
        return nbytes if nbytes else ret


class LookupNrOffByOne(Fixed):
    """`nr = min(PAGEVEC_SIZE, last - curr)`: the `+ 1` of the page count forgotten. When only
    the last page is left the lookup asks for none, finds none, and the loop takes the range as
    done: the last page of every range is never written out nor waited on. Caught by
    `completion` (a one-page O_SYNC write reports success with its page still dirty)."""

    name = "fixed~nr-off-by-one"
    summary = "nr = min(16, last - curr): the last page of the range is never looked up"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            # Look up from the first page not yet done (the returned cursor is not needed).
            # MUTANT: the + 1 of the number of pages left forgotten
            pvec, _ = k.pagevec_lookup_next(ctx, curr, min(PAGEVEC_SIZE, unsigned(last - curr)))
            yield LOOKUP
            if not pvec:
                curr = unsigned(last + 1)  # nothing left in the range: holes need no sync
                break
            for page in pvec:
                if page.index > last:  # (2) the lookup has no upper bound
                    curr = unsigned(last + 1)
                    break
                curr = page.index  # holes before it need no sync
                if not page.mapping:  # (3) truncated: nothing to sync, go on
                    curr = unsigned(curr + 1)
                    continue
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error:  # (5) report the error now
                    ret = -EIO
                    break
                curr = unsigned(curr + 1)
            k.pagevec_release(pvec)
            if ret in (-EIOCBRETRY, -EIO) or curr > last:  # (1) test the page, not the cursor
                break
        if ret == -EIO:
            return ret
        done = signed(unsigned(curr << PAGE_CACHE_SHIFT) - pos)
        nbytes = min(max(done, 0), count)  # (4) never below pos, never above count
        return nbytes if nbytes else ret


class NoBreakOnRetry(Fixed):
    """The `break` after `ret == -EIOCBRETRY` is missing: the loop goes on past the page it
    queued on, counts it (`curr++`) and waits on the next pages; the next page's operator result
    overwrites -EIOCBRETRY. A one-page AIO write then reports all its bytes on the first run,
    its page in flight and its entry queued. Caught by `completion` and `kernel_bug`."""

    name = "fixed~no-break-on-retry"
    summary = "no break on -EIOCBRETRY: the page being waited on is counted, the next ones visited"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            # Look up from the first page not yet done (the returned cursor is not needed).
            pvec, _ = k.pagevec_lookup_next(ctx, curr, min(PAGEVEC_SIZE, unsigned(last - curr + 1)))
            yield LOOKUP
            if not pvec:
                curr = unsigned(last + 1)  # nothing left in the range: holes need no sync
                break
            for page in pvec:
                if page.index > last:  # (2) the lookup has no upper bound
                    curr = unsigned(last + 1)
                    break
                curr = page.index  # holes before it need no sync
                if not page.mapping:  # (3) truncated: nothing to sync, go on
                    curr = unsigned(curr + 1)
                    continue
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    pass  # MUTANT: the break is missing
                if page.error:  # (5) report the error now
                    ret = -EIO
                    break
                curr = unsigned(curr + 1)
            k.pagevec_release(pvec)
            if ret in (-EIOCBRETRY, -EIO) or curr > last:  # (1) test the page, not the cursor
                break
        if ret == -EIO:
            return ret
        done = signed(unsigned(curr << PAGE_CACHE_SHIFT) - pos)
        nbytes = min(max(done, 0), count)  # (4) never below pos, never above count
        return nbytes if nbytes else ret


class CountsBeforeWait(Fixed):
    """`curr++` moved before the operator call: a page counts as done before its wait (pre's
    `next = page->index + 1`, which the seed patch set out to fix). An AIO call that stops on a
    page with -EIOCBRETRY claims it; the retry starts after it and never checks it again. Caught
    by `completion` (and `kernel_bug`: the last page's entry is still queued at completion)."""

    name = "fixed~counts-before-wait"
    summary = "curr++ before the operator: a page counts before its wait"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            # Look up from the first page not yet done (the returned cursor is not needed).
            pvec, _ = k.pagevec_lookup_next(ctx, curr, min(PAGEVEC_SIZE, unsigned(last - curr + 1)))
            yield LOOKUP
            if not pvec:
                curr = unsigned(last + 1)  # nothing left in the range: holes need no sync
                break
            for page in pvec:
                if page.index > last:  # (2) the lookup has no upper bound
                    curr = unsigned(last + 1)
                    break
                curr = page.index  # holes before it need no sync
                if not page.mapping:  # (3) truncated: nothing to sync, go on
                    curr = unsigned(curr + 1)
                    continue
                curr = unsigned(curr + 1)  # MUTANT: counted before the operator, not after
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error:  # (5) report the error now
                    ret = -EIO
                    break
            k.pagevec_release(pvec)
            if ret in (-EIOCBRETRY, -EIO) or curr > last:  # (1) test the page, not the cursor
                break
        if ret == -EIO:
            return ret
        done = signed(unsigned(curr << PAGE_CACHE_SHIFT) - pos)
        nbytes = min(max(done, 0), count)  # (4) never below pos, never above count
        return nbytes if nbytes else ret


class SkipsPageError(Fixed):
    """The PageError test after the operator is missing: a page whose write-out failed is
    counted like any other, and the write reports its full count. Caught by `error` (an I/O
    error on the request's data, and no -EIO)."""

    name = "fixed~skips-page-error"
    summary = "no PageError test: a failed write-out is counted as done"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            # Look up from the first page not yet done (the returned cursor is not needed).
            pvec, _ = k.pagevec_lookup_next(ctx, curr, min(PAGEVEC_SIZE, unsigned(last - curr + 1)))
            yield LOOKUP
            if not pvec:
                curr = unsigned(last + 1)  # nothing left in the range: holes need no sync
                break
            for page in pvec:
                if page.index > last:  # (2) the lookup has no upper bound
                    curr = unsigned(last + 1)
                    break
                curr = page.index  # holes before it need no sync
                if not page.mapping:  # (3) truncated: nothing to sync, go on
                    curr = unsigned(curr + 1)
                    continue
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                # MUTANT: the PageError test is missing
                curr = unsigned(curr + 1)
            k.pagevec_release(pvec)
            if ret in (-EIOCBRETRY, -EIO) or curr > last:  # (1) test the page, not the cursor
                break
        if ret == -EIO:
            return ret
        done = signed(unsigned(curr << PAGE_CACHE_SHIFT) - pos)
        nbytes = min(max(done, 0), count)  # (4) never below pos, never above count
        return nbytes if nbytes else ret


class ErrorOverwritten(Fixed):
    """PageError sets -EIO but does not end the loop (post's `if (!ret) ret = -EIO;` without the
    break): the next page's operator result overwrites it, and a later page that syncs fine
    turns the failed write into a success. Caught by `error`, on a range of two pages or more
    whose first page's I/O fails."""

    name = "fixed~error-overwritten"
    summary = "-EIO does not end the loop: the next page's result overwrites it"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            # Look up from the first page not yet done (the returned cursor is not needed).
            pvec, _ = k.pagevec_lookup_next(ctx, curr, min(PAGEVEC_SIZE, unsigned(last - curr + 1)))
            yield LOOKUP
            if not pvec:
                curr = unsigned(last + 1)  # nothing left in the range: holes need no sync
                break
            for page in pvec:
                if page.index > last:  # (2) the lookup has no upper bound
                    curr = unsigned(last + 1)
                    break
                curr = page.index  # holes before it need no sync
                if not page.mapping:  # (3) truncated: nothing to sync, go on
                    curr = unsigned(curr + 1)
                    continue
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error:  # (5) report the error now
                    ret = -EIO
                    # MUTANT: no break: the loop goes on to the next page
                curr = unsigned(curr + 1)
            k.pagevec_release(pvec)
            if ret in (-EIOCBRETRY, -EIO) or curr > last:  # (1) test the page, not the cursor
                break
        if ret == -EIO:
            return ret
        done = signed(unsigned(curr << PAGE_CACHE_SHIFT) - pos)
        nbytes = min(max(done, 0), count)  # (4) never below pos, never above count
        return nbytes if nbytes else ret


class ClampWithoutFloor(Fixed):
    """The wrong clamp `min(done, count)`: above by count, but not below by 0. When the call
    stops on the first page of a range that starts inside it (`pos` not page-aligned), done =
    (first << 12) - pos is negative and is returned as it is: -512 is taken for an errno.
    Caught by `byte_count` (a result that is no errno this path can return) and `kernel_bug`
    (the iocb completes with that result and its entry still queued)."""

    name = "fixed~clamp-without-floor"
    summary = "nbytes = min(done, count): a negative done escapes as a bogus errno"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            # Look up from the first page not yet done (the returned cursor is not needed).
            pvec, _ = k.pagevec_lookup_next(ctx, curr, min(PAGEVEC_SIZE, unsigned(last - curr + 1)))
            yield LOOKUP
            if not pvec:
                curr = unsigned(last + 1)  # nothing left in the range: holes need no sync
                break
            for page in pvec:
                if page.index > last:  # (2) the lookup has no upper bound
                    curr = unsigned(last + 1)
                    break
                curr = page.index  # holes before it need no sync
                if not page.mapping:  # (3) truncated: nothing to sync, go on
                    curr = unsigned(curr + 1)
                    continue
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error:  # (5) report the error now
                    ret = -EIO
                    break
                curr = unsigned(curr + 1)
            k.pagevec_release(pvec)
            if ret in (-EIOCBRETRY, -EIO) or curr > last:  # (1) test the page, not the cursor
                break
        if ret == -EIO:
            return ret
        done = signed(unsigned(curr << PAGE_CACHE_SHIFT) - pos)
        nbytes = min(done, count)  # MUTANT: no floor at 0
        return nbytes if nbytes else ret


class NoUpperBound(Fixed):
    """The test `page->index > last` is missing (post's loop had none): the gang lookup has no
    upper bound, so when the range's own pages are gone (reclaimed, truncated) it returns a page
    beyond `last`, which the loop then writes out, waits on and credits. An AIO iocb waiting on
    someone else's page in flight queues its entry there with its count already full: it
    completes with the entry queued. Caught by `kernel_bug`; the case needs a hole in the range
    while the iocb waits and a later page under writeback, so it is deep (7 steps or more)."""

    name = "fixed~no-upper-bound"
    summary = "no page->index > last test: a page past the range is waited on and counted"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            # Look up from the first page not yet done (the returned cursor is not needed).
            pvec, _ = k.pagevec_lookup_next(ctx, curr, min(PAGEVEC_SIZE, unsigned(last - curr + 1)))
            yield LOOKUP
            if not pvec:
                curr = unsigned(last + 1)  # nothing left in the range: holes need no sync
                break
            for page in pvec:
                # MUTANT: no test of page.index > last
                curr = page.index  # holes before it need no sync
                if not page.mapping:  # (3) truncated: nothing to sync, go on
                    curr = unsigned(curr + 1)
                    continue
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error:  # (5) report the error now
                    ret = -EIO
                    break
                curr = unsigned(curr + 1)
            k.pagevec_release(pvec)
            if ret in (-EIOCBRETRY, -EIO) or curr > last:  # (1) test the page, not the cursor
                break
        if ret == -EIO:
            return ret
        done = signed(unsigned(curr << PAGE_CACHE_SHIFT) - pos)
        nbytes = min(max(done, 0), count)  # (4) never below pos, never above count
        return nbytes if nbytes else ret


class TruncatedEndsRange(Fixed):
    """A truncated page is taken for the end of the file: `curr = last + 1; break` instead of
    skipping it (truncation removes everything after `from`, so why look further?). But
    truncation's first pass skips pages that are locked or under writeback, and they stay in
    the file until its second pass gets to them: the loop credits them unseen. Caught by
    `completion` (success with a later page still under writeback); the case needs a truncation
    racing the wait phase, so it is deep."""

    name = "fixed~truncated-ends-range"
    summary = "a truncated page ends the range: the pages after it are credited unseen"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            # Look up from the first page not yet done (the returned cursor is not needed).
            pvec, _ = k.pagevec_lookup_next(ctx, curr, min(PAGEVEC_SIZE, unsigned(last - curr + 1)))
            yield LOOKUP
            if not pvec:
                curr = unsigned(last + 1)  # nothing left in the range: holes need no sync
                break
            for page in pvec:
                if page.index > last:  # (2) the lookup has no upper bound
                    curr = unsigned(last + 1)
                    break
                curr = page.index  # holes before it need no sync
                if not page.mapping:  # (3) truncated: nothing to sync, go on
                    curr = unsigned(last + 1)  # MUTANT: the rest of the range taken as gone
                    break
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error:  # (5) report the error now
                    ret = -EIO
                    break
                curr = unsigned(curr + 1)
            k.pagevec_release(pvec)
            if ret in (-EIOCBRETRY, -EIO) or curr > last:  # (1) test the page, not the cursor
                break
        if ret == -EIO:
            return ret
        done = signed(unsigned(curr << PAGE_CACHE_SHIFT) - pos)
        nbytes = min(max(done, 0), count)  # (4) never below pos, never above count
        return nbytes if nbytes else ret


class TruncatedNoAdvance(Fixed):
    """The `curr++` before `continue` on a truncated page is missing. Expected EQUIVALENT: the
    next page of the batch sets `curr = page->index` anyway, and when the truncated page ends
    the batch `curr <= last` sends the loop to one more gang lookup from that index, which no
    longer finds the removed page: it finds the next page (handled as usual), one past `last`
    (`curr = last + 1`), or nothing (`curr = last + 1`). The only difference is that extra lookup
    (and its `lookup` pause point), after which the counts agree."""

    name = "fixed~truncated-no-advance"
    summary = "no curr++ on a truncated page (expected equivalent: the next lookup moves past it)"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            # Look up from the first page not yet done (the returned cursor is not needed).
            pvec, _ = k.pagevec_lookup_next(ctx, curr, min(PAGEVEC_SIZE, unsigned(last - curr + 1)))
            yield LOOKUP
            if not pvec:
                curr = unsigned(last + 1)  # nothing left in the range: holes need no sync
                break
            for page in pvec:
                if page.index > last:  # (2) the lookup has no upper bound
                    curr = unsigned(last + 1)
                    break
                curr = page.index  # holes before it need no sync
                if not page.mapping:  # (3) truncated: nothing to sync, go on
                    continue  # MUTANT: curr is not moved past the truncated page
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error:  # (5) report the error now
                    ret = -EIO
                    break
                curr = unsigned(curr + 1)
            k.pagevec_release(pvec)
            if ret in (-EIOCBRETRY, -EIO) or curr > last:  # (1) test the page, not the cursor
                break
        if ret == -EIO:
            return ret
        done = signed(unsigned(curr << PAGE_CACHE_SHIFT) - pos)
        nbytes = min(max(done, 0), count)  # (4) never below pos, never above count
        return nbytes if nbytes else ret


class FirstRoundsUp(Fixed):
    """`first = (pos + PAGE_CACHE_SIZE - 1) >> PAGE_CACHE_SHIFT`: the first index rounded up,
    as for a range of whole pages. When `pos` is not page-aligned the partial first page is
    never written out nor waited on, and the count `(curr << 12) - pos`, clamped, still claims
    it. Caught by `completion` (success with the first page still dirty)."""

    name = "fixed~first-rounds-up"
    summary = "first = (pos + 4095) >> 12: the partial first page is skipped"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned((pos + PAGE_CACHE_SIZE - 1) >> PAGE_CACHE_SHIFT)  # MUTANT: rounded up
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)  # inclusive
        curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            # Look up from the first page not yet done (the returned cursor is not needed).
            pvec, _ = k.pagevec_lookup_next(ctx, curr, min(PAGEVEC_SIZE, unsigned(last - curr + 1)))
            yield LOOKUP
            if not pvec:
                curr = unsigned(last + 1)  # nothing left in the range: holes need no sync
                break
            for page in pvec:
                if page.index > last:  # (2) the lookup has no upper bound
                    curr = unsigned(last + 1)
                    break
                curr = page.index  # holes before it need no sync
                if not page.mapping:  # (3) truncated: nothing to sync, go on
                    curr = unsigned(curr + 1)
                    continue
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error:  # (5) report the error now
                    ret = -EIO
                    break
                curr = unsigned(curr + 1)
            k.pagevec_release(pvec)
            if ret in (-EIOCBRETRY, -EIO) or curr > last:  # (1) test the page, not the cursor
                break
        if ret == -EIO:
            return ret
        done = signed(unsigned(curr << PAGE_CACHE_SHIFT) - pos)
        nbytes = min(max(done, 0), count)  # (4) never below pos, never above count
        return nbytes if nbytes else ret


class LostWakeup(Fixed):
    """A lost wakeup in a kernel function the version calls: page_waiter calls a
    `wait_on_page_writeback_wq` that queues the iocb's entry on the queue its file index hashes
    to, not the struct page's queue (`wait_on_page_writeback_wq_hashing_index` above).
    `end_page_writeback` wakes the page's real queue: when the two differ (the page pinned to
    another queue, or a page re-created since with a new identity) the iocb is never kicked
    again. Caught by `hang` (after the drain nothing can wake the request)."""

    name = "fixed~lost-wakeup"
    summary = "page_waiter queues the iocb on the queue of page->index: the wakeup goes elsewhere"

    def page_waiter(self, k: World, ctx: Actor, page: Page) -> Gen[int]:
        # MUTANT: a variant of the kernel's wait that hashes page->index
        return (yield from wait_on_page_writeback_wq_hashing_index(k, ctx, page))


class RetryWithoutQueueing(Fixed):
    """A lost wakeup of the other kind: page_waiter calls a `wait_on_page_writeback_wq` that
    returns -EIOCBRETRY before `prepare_to_wait` (`wait_on_page_writeback_wq_unqueued` above), so
    no wakeup can ever reach the iocb. aio_run_iocb sees -EIOCBRETRY with the entry on no queue
    and kicks the iocb again at once (rule 15): it spins until the I/O completes. Caught by
    `retry_bound` (a retry storm: the settle bound stops the iocb still kicking itself)."""

    name = "fixed~retry-without-queueing"
    summary = "page_waiter returns -EIOCBRETRY without queueing its entry: the iocb spins"

    def page_waiter(self, k: World, ctx: Actor, page: Page) -> Gen[int]:
        # MUTANT: a variant of the kernel's wait that never queues the entry
        return (yield from wait_on_page_writeback_wq_unqueued(k, ctx, page))


class WriterUnlockWithoutWakeup(Fixed):
    """A lost wakeup in writepage: page_writer's last call, the filesystem's writepage, starts the
    I/O and clears PG_locked without waking the page's queue (`writepage_without_wakeup`
    above). Expected EQUIVALENT under this model: whoever went to sleep on the lock while
    page_writer held it (only possible while it waited for an older write-out) sleeps on the
    page's own queue, and the write-out page_writer has just started ends in
    `end_page_writeback`, which wakes that whole queue: the sleeper is woken late, never lost
    (the drain completes every I/O). No check judges how late a lock is taken."""

    name = "fixed~writer-unlock-no-wakeup"
    summary = "writepage unlocks without wake_up_page (expected equivalent: the I/O end wakes)"

    def page_writer(self, k: World, ctx: Actor, page: Page) -> Gen[int]:
        yield from k.lock_page(ctx, page)
        if not page.mapping:  # truncated
            k.unlock_page(ctx, page)
            return 0
        if not k.test_clear_page_dirty(page):
            k.unlock_page(ctx, page)
            return 0
        yield from k.wait_on_page_writeback(ctx, page)
        return writepage_without_wakeup(k, ctx, page)  # MUTANT: its unlock wakes nobody


#: name (what the benchmark shows) -> mutant class, in the order the benchmark lists them.
MUTANTS: Final[dict[str, type[Version]]] = {
    cls.name: cls
    for cls in (
        LastOffByOne,
        LookupNrOffByOne,
        FirstRoundsUp,
        NoBreakOnRetry,
        CountsBeforeWait,
        SkipsPageError,
        ErrorOverwritten,
        ClampWithoutFloor,
        NoUpperBound,
        TruncatedEndsRange,
        LostWakeup,
        RetryWithoutQueueing,
        TruncatedNoAdvance,
        WriterUnlockWithoutWakeup,
    )
}
