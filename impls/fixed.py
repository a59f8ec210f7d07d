"""`fixed`: a candidate correction of the post-patch loop (a first cut; docs/versions.md).

The post-patch loop, with five changes, each against one finding pagefuzz reports for `post`:

1. The loop ends on `curr > last` (the page just processed), not on the lookup cursor `next`,
   which jumps past `last` as soon as a batch reaches it: post wrote out and waited on only the
   first page of such a batch.
2. A page the gang lookup returns beyond `last` ends the loop before the operator sees it (the
   lookup has no upper bound): post waited on, and counted, pages of someone else's range.
3. A truncated page is skipped and the batch goes on (`curr` moves past it only): post set
   `curr = next` and credited every later page of the batch unseen.
4. Progress never goes below `pos`: when the first page is the one being waited on and `pos` is
   not page-aligned, `(curr << 12) - pos` is negative, and post's unsigned clamp turned it into
   the whole `count` with the wait entry still queued.
5. PG_error ends the call with -EIO at once: post (and pre) let the next page's operator result
   overwrite an earlier -EIO.

No page lock in the wait path (no retry storms) and progress counted only after a wait that
succeeded, as in post.
"""

from pagefuzz.impls.post import Post
from pagefuzz.sim.cint import EIO, EIOCBRETRY, PAGE_CACHE_SHIFT, PAGEVEC_SIZE, signed, unsigned
from pagefuzz.sim.points import LOOKUP, PAGE, Gen
from pagefuzz.sim.world import Actor, Kernel, Operator


class Fixed(Post):
    name = "fixed"
    summary = "post, ending on curr > last, within the range, past truncated pages, -EIO at once"
    stateless = True  # all its state is in the world (sim/storm.py)

    def operate_on_page_range(
        self, k: Kernel, ctx: Actor, pos: int, count: int, operator: Operator
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
        nbytes = min(max(done, 0), count)  # (4) never below pos, never above count
        return nbytes if nbytes else ret
