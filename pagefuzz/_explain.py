"""Plain-kernel explanations of each kind of finding, pointing at the seed's line responsible.

Written by hand from the seed and traced on the minimal cases; the report attaches them to the
findings pagefuzz actually produced (a finding with no entry here is reported as unexplained).
"""

from typing import Final

from pagefuzz.oracle.evaluate import FindingKey

#: (version, check) -> explanation. `{kind}` is replaced by the request kind.
EXPLANATIONS: Final[dict[tuple[str, str], str]] = {
    ("pre", "completion"): (
        "The pre-patch loop moves its cursor past the page before it waits: "
        "`next = page->index + 1;` comes before `ret = (*operator)(page);` (the seed's `-` lines). "
        "When `page_waiter` finds the page under writeback it queues the iocb's entry and returns "
        "-EIOCBRETRY, but the tail `bytes = (next << PAGE_CACHE_SHIFT) - pos` already counts "
        "that page. No retry looks at it again, so the last page of the range is reported synced "
        "while its I/O is still in flight."
    ),
    ("pre", "byte_count"): (
        "Each retry's progress includes the page it could not wait for (`next = page->index + 1;` "
        "before the operator, the seed's `-` lines): aio_pwrite subtracts it from `left` while the "
        "page is still under writeback."
    ),
    ("pre", "kernel_bug"): (
        "Because the waited page is already counted (`next = page->index + 1;` before the "
        "operator), the progress of the retry that queued the wait entry can reach `left == 0`; "
        "aio_pwrite then completes the iocb with its entry still on the wait queue, the BUG_ON in "
        "aio_run_iocb, and the I/O completion later wakes a completed iocb."
    ),
    ("pre", "error"): (
        "Two ways the -EIO of a failed write-out is lost: a page counted before its wait "
        "(`next = page->index + 1;`) is never re-checked for PG_error after its I/O fails, and "
        "`ret = (*operator)(page);` overwrites an earlier page's -EIO with the next page's 0."
    ),
    ("post", "completion"): (
        "The patch kept `if (next > last) break;` but `next` is now the gang lookup's cursor "
        "(`pagevec_lookup(&pvec, mapping, &next, ...)`, the seed's `+` line), which is past "
        "`last` as soon as one batch reaches the end of the range. The write-out phase therefore "
        "writes only the first page of such a batch, and the wait phase returns one page of "
        "progress per call; the later pages are found clean of writeback (never written) and "
        "counted: the {kind} completes with dirty pages."
    ),
    ("post", "byte_count"): (
        "Progress is counted for pages that were never written out: the write-out phase stops "
        "after the first page (`if (next > last) break;` tests the lookup cursor), and a page "
        "found truncated sets `curr = next`, crediting every later page of the batch unseen (the "
        "seed's `+` lines)."
    ),
    ("post", "kernel_bug"): (
        "With `pos` not page-aligned and the first page still under writeback, `curr` stays at "
        "the first page and `bytes = (curr << PAGE_CACHE_SHIFT) - pos` (the seed's `+` line) is "
        "negative; `if (bytes > count)` compares it as unsigned, so it becomes `count`: the whole "
        "range is claimed while the wait entry is queued, and aio_pwrite completes the iocb with "
        "the entry still on the queue."
    ),
    ("post", "error"): (
        "`ret = (*operator)(page);` is unchanged by the patch: the next page's successful wait "
        "overwrites an earlier page's -EIO, and the request reports success."
    ),
    ("recheck-locked", "retry_bound"): (
        "The rejected fix keeps the pre-patch `lock_page`/`unlock_page` per page, and "
        "`page_waiter` unlocks before waiting (the seed's `-	unlock_page(page);`). The unlock "
        "wakes every AIO entry on the page's hashed queue with no key; two iocbs whose pages share "
        "a queue wake each other on every retry: a retry storm, exactly what the seed's "
        "description reports."
    ),
    ("recheck-locked", "completion"): (
        "It counts a page only after its wait succeeded, but keeps the pre-patch tail "
        "`bytes = (next << PAGE_CACHE_SHIFT) - pos`: with `pos` not page-aligned and the first "
        "page being waited on, bytes is negative and the unsigned clamp turns it into `count`."
    ),
    ("recheck-locked", "kernel_bug"): (
        "The same unsigned clamp of a negative `bytes` (unaligned `pos`, first page under "
        "writeback) completes the iocb with its wait entry queued."
    ),
    ("recheck-locked", "byte_count"): (
        "The unaligned-`pos` clamp claims the whole range at once, and a lost -EIO lets the "
        "request count pages whose write-out failed."
    ),
    ("recheck-locked", "error"): (
        "`ret = (*operator)(page);` (unchanged from the seed) lets the next page's 0 overwrite an "
        "earlier page's -EIO."
    ),
}

_LOST_EIO_THEN_REWRITTEN: Final = (
    "A blocking O_SYNC write waits synchronously, so nothing is counted early; what goes wrong "
    "is the error: the write-out of one of its pages fails, and `ret = (*operator)(page);` "
    "(unchanged by the seed) lets the next page's successful wait overwrite the -EIO. The write "
    "returns success; a later writer re-dirties the failed page, which is then still in memory "
    "only with this write's data in it."
)

#: Findings whose request kind changes the story: their own explanation.
BY_KIND: Final[dict[FindingKey, str]] = {
    FindingKey("pre", "completion", "sync_write"): _LOST_EIO_THEN_REWRITTEN,
    FindingKey("recheck-locked", "completion", "sync_write"): _LOST_EIO_THEN_REWRITTEN,
}


def explain(key: FindingKey) -> str:
    """The explanation of a finding: its own, else its version's and check's, the request kind
    filled in."""
    if key in BY_KIND:
        return BY_KIND[key]
    text = EXPLANATIONS.get((key.version, key.check))
    if text is None:
        return "No explanation written yet: read the minimal case's timeline."
    return text.replace("{kind}", key.kind.replace("_", " "))


def anchor(key: FindingKey) -> str:
    """The id of a finding's section, in the Markdown (GitHub's rule) and the HTML alike."""
    return str(key).replace("/", "").replace("+", "").lower()
