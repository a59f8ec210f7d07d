"""The tail every version of operate_on_page_range shares, in C integer semantics."""

from pagefuzz.sim.cint import EIOCBRETRY, PAGE_CACHE_SHIFT, signed, unsigned


def range_result(done: int, pos: int, count: int, ret: int) -> int:
    """`bytes = (done << PAGE_CACHE_SHIFT) - pos`, clamped, then bytes or ret.

    bytes is ssize_t but `count` is size_t, so `bytes > count` compares as unsigned (R8): a
    negative bytes (done's page starts before pos) is clamped to count, claiming the whole range.
    The result is bytes when any were done and ret is 0 or -EIOCBRETRY, else ret.
    """
    nbytes = signed(unsigned(done << PAGE_CACHE_SHIFT) - pos)
    if unsigned(nbytes) > count:
        nbytes = count
    return nbytes if nbytes and (not ret or ret == -EIOCBRETRY) else ret
