"""A user's version, outside the package: the post-patch loop with one change, the first of
`fixed`'s five. The loop ends when the page just processed (`curr`) passes `last`, instead of
when the lookup cursor `next` does (it passes `last` as soon as a batch reaches it, so `post`
wrote out and waited on only the first page of such a batch).

    pagefuzz replay corpus/examples --versions post,py:examples/versions/post_ends_on_curr.py

It fixes post's two-page completion finding and keeps the others (docs/versions.md).
"""

from pagefuzz.impls.common import range_result
from pagefuzz.impls.post import Post
from pagefuzz.sim.cint import EIO, EIOCBRETRY, PAGE_CACHE_SHIFT, PAGEVEC_SIZE, unsigned
from pagefuzz.sim.points import LOOKUP, PAGE, Gen
from pagefuzz.sim.world import Actor, Operator, World


class PostEndsOnCurr(Post):
    name = "post-ends-on-curr"
    summary = "post, with the loop ending on curr > last"

    def operate_on_page_range(
        self, k: World, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        first = unsigned(pos >> PAGE_CACHE_SHIFT)
        last = unsigned((pos + count - 1) >> PAGE_CACHE_SHIFT)
        nxt = curr = first
        ret = 0
        if count == 0:
            return 0
        while curr <= last:
            pvec, nxt = k.pagevec_lookup_next(ctx, nxt, min(PAGEVEC_SIZE, unsigned(last - nxt + 1)))
            yield LOOKUP
            if not pvec:
                break
            for page in pvec:
                curr = page.index
                if curr > nxt or not page.mapping:
                    curr = nxt
                    break
                yield PAGE
                ret = yield from operator(k, ctx, page)
                if ret == -EIOCBRETRY:
                    break
                if page.error and not ret:
                    ret = -EIO
                curr = unsigned(curr + 1)
                if curr > last:  # the one change: the page just processed, not the cursor
                    break
            k.pagevec_release(pvec)
            if ret == -EIOCBRETRY:
                break
        return range_result(curr, pos, count, ret)
