"""`july-reference`: correct by construction in the July 2004 era, to prove the oracle on that
era's cases (as `reference` does in the seed's): the wait walk looks up every page of the range,
tagged or not, waits for each one's writeback synchronously even in an iocb's run (so it never
returns -EIOCBRETRY and never leaves an entry queued), and returns -EIO if any page of the range
has PG_error; around it, the 2005 sync_page_range and generic_file_aio_write (0 or an error, the
byte count kept on success)."""

from typing import ClassVar

from pagefuzz.impls.y2005 import Y2005
from pagefuzz.sim.cint import EIO, PAGEVEC_SIZE, unsigned
from pagefuzz.sim.points import Gen
from pagefuzz.sim.world import Actor, Kernel


class JulyReference(Y2005):
    name = "july-reference"
    summary = "correct by construction in era 2004-07: synchronous waits on every page of the range"
    stateless = True  # all its state is in the world (sim/storm.py)
    form: ClassVar[str] = "2005-06"

    def wait_on_page_writeback_range_wq(
        self, k: Kernel, ctx: Actor, start: int, end: int
    ) -> Gen[int]:
        ret = 0
        index = start
        while index <= end:
            pvec = k.pagevec_lookup(ctx, index, min(unsigned(end - index) + 1, PAGEVEC_SIZE))
            if not pvec:
                break
            for page in pvec:
                index = page.index + 1
                if page.index > end:
                    break
                yield from k.wait_on_page_writeback(ctx, page)
                if page.error:
                    ret = -EIO
            k.pagevec_release(pvec)
            if pvec[-1].index >= end:
                break
        if k.test_and_clear_bit("AS_EIO"):
            ret = -EIO
        return ret
