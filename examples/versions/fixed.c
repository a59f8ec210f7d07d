/*
 * `fixed` (impls/fixed.py) in C: the candidate correction of the post-patch loop, as kernel code
 * of 2.6.1-mm would have it. pagefuzz compiles it into the simulated world:
 *
 *     pagefuzz replay corpus/examples --versions fixed,c:examples/versions/fixed.c
 *
 * No #include: pagefuzz's kernel header (impls/kernel.h) comes first. tests/test_c_versions.py
 * requires it to behave exactly as `fixed` on every corpus case and on random ones.
 *
 * The loop after the seed patch, with five changes, each against one of post's findings:
 *
 *  1. It ends on the page processed (curr > last), not on the lookup cursor, which passes
 *     last as soon as a batch reaches it.
 *  2. A page the gang lookup returns beyond last (the lookup has no upper bound) ends the
 *     loop before the operator sees it.
 *  3. A truncated page is stepped over and the batch goes on.
 *  4. The count never goes below pos: (curr << PAGE_CACHE_SHIFT) - pos is negative when the
 *     first page is the one still being waited on and pos is not page-aligned.
 *  5. PG_error ends the call with -EIO at once.
 */

static ssize_t operate_on_page_range(struct address_space *mapping,
		loff_t pos, size_t count, int (*operator)(struct page *))
{
	pgoff_t first = pos >> PAGE_CACHE_SHIFT;
	pgoff_t last = (pos + count - 1) >> PAGE_CACHE_SHIFT;	/* inclusive */
	pgoff_t curr = first, cursor;
	struct pagevec pvec;
	ssize_t ret = 0, done;
	unsigned int n;

	if (count == 0)
		return 0;

	pagevec_init(&pvec, 0);
	while (curr <= last) {
		/* Look up from the first page not yet done; the cursor handed back is not needed. */
		cursor = curr;
		if (!pagevec_lookup(&pvec, mapping, &cursor,
				    min((pgoff_t)PAGEVEC_SIZE, last - curr + 1))) {
			curr = last + 1;	/* nothing left in the range: holes need no sync */
			break;
		}
		for (n = 0; n < pagevec_count(&pvec); n++) {
			struct page *page = pvec.pages[n];

			if (page->index > last) {	/* (2) */
				curr = last + 1;
				break;
			}
			curr = page->index;	/* holes before it need no sync */
			if (!page->mapping) {	/* (3) truncated: nothing to sync */
				curr++;
				continue;
			}
			ret = (*operator)(page);
			if (ret == -EIOCBRETRY)
				break;
			if (PageError(page)) {	/* (5) */
				ret = -EIO;
				break;
			}
			curr++;
		}
		pagevec_release(&pvec);
		if (ret == -EIOCBRETRY || ret == -EIO || curr > last)	/* (1) */
			break;
	}
	if (ret == -EIO)
		return ret;
	done = (curr << PAGE_CACHE_SHIFT) - pos;
	if (done < 0)		/* (4) */
		done = 0;
	if ((size_t)done > count)
		done = count;
	return done ? done : ret;
}

/* The AIO retry waits on the page without its lock (no wakeups for anyone else). */
static int page_waiter(struct page *page)
{
	return wait_on_page_writeback_wq(page, current->io_wait);
}

/* kernel-model.md rule 20: lock, give up on a page gone from the file or clean, wait for the
 * write-out already running, then writepage starts the I/O and unlocks. */
static int page_writer(struct page *page)
{
	struct address_space *mapping = page->mapping;
	struct writeback_control wbc = {
		.sync_mode = WB_SYNC_ALL,
		.nr_to_write = 1,
	};

	lock_page(page);
	if (page->mapping == NULL || !test_clear_page_dirty(page)) {
		unlock_page(page);
		return 0;
	}
	wait_on_page_writeback(page);
	return mapping->a_ops->writepage(page, &wbc);
}
