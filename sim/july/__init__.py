"""The July 2004 era of the world (`config.era = "2004-07"`): the -mm AIO O_SYNC write path as
posted on 2 Jul 2004 against 2.6.7, its rules in kernel-model-2004-07.md (J1-J34, JR1-JR7; the
project's second kernel-semantics spec, kept outside this repository; docs/model.md, "Eras",
restates what cases depend on).

What carries over from the seed's era is the seed's own code (pages, truncation, reclaim, the
block device, the scheduler, the oracle). What changes lives here, one module per kernel file:

- sim/july/filemap.py: radix-tree tags and the tagged lookup (J1-J6), 2.6.7's wake-ups: filtered
  synchronous waits, exclusive lock waits, unfiltered AIO entries (J7-J11), writepage and I/O
  completion with tags and AS_EIO (J15, JR4), which background write-out (sim/truncate.py's
  flush, J16) calls too;
- sim/july/mpage.py: the range write-out, filemap_fdatawrite_range and mpage_writepages (J12-J14);
- sim/july/write.py: i_sem, generic_file_aio_write and generic_file_write around the version's
  sync_page_range, and the era's aio_run_iocb (J21-J30).

`JulyWorld` (sim/world.py) binds these functions in place of the seed era's for a case of the
era, so both eras' versions call `k.lock_page(ctx, page)` and each gets its era's rules.
"""
