/*
 * p19 (impls/p19.py) in C: the July 2004 era's wait walk after patch 19, written from
 * kernel-model-2004-07.md rules J4-J6, J17, J18 and J20 (not from the mails).
 *
 *     pagefuzz replay CASE --versions p19,c:examples/versions/p19_walk.c
 *
 * Waits for writeback on the pages start..end (inclusive) of `mapping`. `wait` is the caller's
 * entry, current->io_wait: an AIO run's, which a page under writeback queues (and the walk stops
 * with -EIOCBRETRY, the entry left queued); NULL for a synchronous caller, whose waits sleep.
 * Returns the range's page count when every wait succeeded, -EIOCBRETRY, or an error.
 * sync_page_range (patch 18, impls/july.py) turns a count into bytes.
 */

/* J17: lock the page to see whether it is still in the file, then unlock it; the unlock wakes
 * the page's whole hashed queue (J7, J10). */
static int still_in_file(struct page *page, struct address_space *mapping)
{
	int in_file;

	lock_page(page);
	in_file = page->mapping == mapping;
	unlock_page(page);
	return in_file;
}

static ssize_t wait_on_page_writeback_range_wq(struct address_space *mapping,
					       pgoff_t start, pgoff_t end, wait_queue_t *wait)
{
	struct pagevec batch;
	pgoff_t next = start;	/* the lookup's cursor (J5) */
	int result = 0;		/* an int, as the kernel's: every page's wait overwrites it */
	int stop = 0;

	if (end < start)
		return 0;
	pagevec_init(&batch, 0);
	while (!stop && next <= end) {
		/* J6: at most PAGEVEC_SIZE, fewer near the end; computed in pgoff_t */
		unsigned want = min(end - next, (pgoff_t) PAGEVEC_SIZE - 1) + 1;
		unsigned found = pagevec_lookup_tag(&batch, mapping, &next,
						    PAGECACHE_TAG_WRITEBACK, want);
		unsigned k;

		if (found == 0)
			break;
		for (k = 0; k < found && !stop; k++) {
			struct page *page = batch.pages[k];

			if (page->index > end)	/* J4: the lookup has no upper bound */
				continue;
			if (!still_in_file(page, mapping))
				continue;
			result = wait_on_page_writeback_wq(page, wait);
			if (result == -EIOCBRETRY)
				stop = 1;	/* J18: no partial count, the entry stays queued */
			else if (PageError(page))
				result = -EIO;
		}
		pagevec_release(&batch);
		cond_resched();
	}

	/* J17 step 3: the mapping's errors, consumed here, even after -EIOCBRETRY */
	if (test_and_clear_bit(AS_ENOSPC, &mapping->flags))
		result = -ENOSPC;
	if (test_and_clear_bit(AS_EIO, &mapping->flags))
		result = -EIO;
	if (result == 0)
		result = end - start + 1;	/* pages, as an int */
	return result;
}
