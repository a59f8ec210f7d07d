/*
 * pagefuzz's kernel header for `c:FILE.c` versions (impls/cversion.py).
 *
 * What the kernel code under test uses, and nothing else: the types, struct page, struct
 * pagevec, struct address_space, struct writeback_control, the constants and the page-cache
 * calls. Two eras, chosen by PF_ERA, which the bridge defines before this text from the
 * function the user's file defines:
 *
 * - 200401 (the seed's): operate_on_page_range, page_writer and page_waiter of 2.6.1-mm
 *   mm/page-writeback.c;
 * - 200407 (kernel-model-2004-07.md): wait_on_page_writeback_range_wq of the July 2004 -mm
 *   mm/filemap.c (patch 17); adds the tagged lookup, mapping->flags with AS_EIO/AS_ENOSPC and
 *   test_and_clear_bit, cond_resched, and passes the named point `page` in
 *   wait_on_page_writeback_wq (J20).
 *
 * pagefuzz puts this text in front of the user's file (the file needs no #include), compiles
 * both with the system C compiler (-std=gnu11), and runs the result inside the simulated
 * world: every kernel call below goes to the world's own function, the one the Python versions
 * call (`k.lock_page`, `k.pagevec_lookup_tag`, ...), and where the world sleeps or passes a
 * named point (`lookup`, `page`) the C frame is suspended and later resumed (greenlet).
 *
 * A `struct page` is a handle for one of the world's pages: its `index` and `mapping` are
 * refreshed from the world after every call into it, so C reads what the world holds.
 * `mapping` is NULL once the page has left the file, else the one file's address_space (the
 * `mapping` argument of operate_on_page_range or wait_on_page_writeback_range_wq). Flags are
 * read through the calls (PageError...).
 *
 * Names starting with pf_ belong to the bridge.
 */
#ifndef PAGEFUZZ_KERNEL_H
#define PAGEFUZZ_KERNEL_H

#if !defined(PF_ERA) || (PF_ERA != 200401 && PF_ERA != 200407)
#error "PF_ERA is the bridge's: 200401 or 200407"
#endif

#include <setjmp.h>
#include <stddef.h>
#include <sys/types.h>

/* ---------------------------------------------------------------------------- types (LP64) */

typedef unsigned long pgoff_t;
/* The kernel's loff_t is long long; the C library's (sys/types.h) is long: renamed, not redefined. */
typedef long long pf_loff_t;
#define loff_t pf_loff_t

/* ------------------------------------------------------------------------------- constants */

#define PAGE_CACHE_SHIFT 12
#define PAGE_CACHE_SIZE (1UL << PAGE_CACHE_SHIFT)
#define PAGE_CACHE_MASK (~(PAGE_CACHE_SIZE - 1))
#define PAGEVEC_SIZE 16

#ifndef EIO
#define EIO 5
#endif
#ifndef EAGAIN
#define EAGAIN 11
#endif
#ifndef ENOSPC
#define ENOSPC 28
#endif
#define EIOCBRETRY 530

/* ---------------------------------------------------------------------- include/linux/kernel.h */

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* The kernel's type-checked min/max: comparing the two pointers warns when the types differ. */
#define min(x, y) ({ \
	const typeof(x) _x = (x); \
	const typeof(y) _y = (y); \
	(void) (&_x == &_y); \
	_x < _y ? _x : _y; })
#define max(x, y) ({ \
	const typeof(x) _x = (x); \
	const typeof(y) _y = (y); \
	(void) (&_x == &_y); \
	_x > _y ? _x : _y; })
#define min_t(type, x, y) ({ type __x = (x); type __y = (y); __x < __y ? __x : __y; })
#define max_t(type, x, y) ({ type __x = (x); type __y = (y); __x > __y ? __x : __y; })

/* ------------------------------------------------------------------------------ structures */

struct address_space;
struct writeback_control;

struct page {
	unsigned long index;		/* the world's page->index, refreshed after every call */
	struct address_space *mapping;	/* NULL once truncated or evicted */
	unsigned long pf_serial;	/* the world's page (its allocation serial) */
};

struct address_space_operations {
	int (*writepage)(struct page *page, struct writeback_control *wbc);
};

struct address_space {
	/* AS_EIO, AS_ENOSPC: the world's bits, read and cleared only through test_and_clear_bit
	 * (the field itself holds nothing: it is the address that names them). */
	unsigned long flags;
	struct address_space_operations *a_ops;
};

enum writeback_sync_modes {
	WB_SYNC_NONE,
	WB_SYNC_ALL,
	WB_SYNC_HOLD,
};

struct writeback_control {
	void *bdi;
	enum writeback_sync_modes sync_mode;
	unsigned long *older_than_this;
	long nr_to_write;
	int nonblocking;
	int encountered_congestion;
	int for_kupdate;
	int for_reclaim;
};

struct pagevec {
	unsigned nr;
	int cold;
	struct page *pages[PAGEVEC_SIZE];
};

typedef struct __wait_queue wait_queue_t;

struct task_struct {
	wait_queue_t *io_wait;		/* the AIO retry's wait entry; NULL in a synchronous task */
};

/* ------------------------------------------------------------------- the bridge (pf_ names) */

struct pf_frame;
/* Set by the bridge when the run must unwind (an error, or the world dropped this code). */
extern struct pf_frame *pf_abort_to;
static void pf_unwind(void) __attribute__((noreturn));
extern struct task_struct pf_task_aio, pf_task_sync;
extern struct address_space pf_mapping;

/* Calls into the world (Python, through cffi's extern "Python"). */
static int pf_cb_lookup(struct pagevec *pvec, unsigned long start, unsigned nr, pgoff_t *next);
static int pf_cb_lookup_tag(struct pagevec *pvec, pgoff_t *index, int tag, unsigned nr);
static int pf_cb_test_and_clear_bit(int nr, int of_mapping);
static int pf_cb_pagevec_release(struct pagevec *pvec);
static int pf_cb_page_ref(struct page *page, int delta);
static int pf_cb_lock_page(struct page *page);
static int pf_cb_unlock_page(struct page *page);
static int pf_cb_page_flag(struct page *page, int flag);
static int pf_cb_test_clear_page_dirty(struct page *page);
static int pf_cb_wait_on_page_writeback(struct page *page);
static int pf_cb_wait_on_page_writeback_wq(struct page *page, int aio);
static int pf_cb_writepage(struct page *page);
static int pf_cb_current_is_aio(void);
static int pf_cb_point_page(void);
static int pf_cb_operator(struct page *page);
static int pf_cb_bug(int line, const char *what);

static inline int pf_check(int value)
{
	if (unlikely(pf_abort_to != NULL))
		pf_unwind();
	return value;
}

/* Where the user's code made its last kernel call (line and function): what a failure reports
 * when the world stops the version inside a call (a budget spent, a bad argument). */
extern int pf_line;
extern const char *pf_func;
#define PF_AT() (pf_line = __LINE__, pf_func = __func__)

enum { PF_LOCKED, PF_DIRTY, PF_WRITEBACK, PF_ERROR };

/* The user's functions; static or not, they are defined in the user's file. */
#if PF_ERA == 200401
static ssize_t operate_on_page_range(struct address_space *mapping, loff_t pos, size_t count,
				     int (*operator)(struct page *));
static int page_writer(struct page *page);
static int page_waiter(struct page *page);
#else
static ssize_t wait_on_page_writeback_range_wq(struct address_space *mapping,
					       pgoff_t start, pgoff_t end, wait_queue_t *wait);
#endif

/* ------------------------------------------------------------- mm/swap.c, linux/pagevec.h */

static inline void pagevec_init(struct pagevec *pvec, int cold)
{
	pvec->nr = 0;
	pvec->cold = cold;
}

static inline unsigned pagevec_count(struct pagevec *pvec)
{
	return pvec->nr;
}

static inline void pf_pagevec_release(struct pagevec *pvec)
{
	pf_check(pf_cb_pagevec_release(pvec));
	pvec->nr = 0;
}
#define pagevec_release(pvec) (PF_AT(), pf_pagevec_release(pvec))

/* Gang lookup by value: up to nr pages at or after start (no upper bound). */
static inline unsigned __pagevec_lookup(struct pagevec *pvec, struct address_space *mapping,
					pgoff_t start, unsigned nr_pages)
{
	(void) mapping;
	return pf_check(pf_cb_lookup(pvec, start, nr_pages, NULL));
}

/* Gang lookup from *next that also hands back the next index to look up. */
static inline unsigned pagevec_lookup_next(struct pagevec *pvec, struct address_space *mapping,
					   pgoff_t *next, unsigned nr_pages)
{
	(void) mapping;
	return pf_check(pf_cb_lookup(pvec, *next, nr_pages, next));
}

/* Both forms of the era: pagevec_lookup(&pvec, mapping, next, nr) before the seed patch,
 * pagevec_lookup(&pvec, mapping, &next, nr) after it (gang_lookup_next.patch). */
#define pagevec_lookup(pvec, mapping, start, nr) (PF_AT(), \
	_Generic((start), pgoff_t *: pagevec_lookup_next, default: __pagevec_lookup) \
		((pvec), (mapping), (start), (nr)))

static inline void pf_page_cache_get(struct page *page)
{
	pf_check(pf_cb_page_ref(page, 1));
}
#define page_cache_get(page) (PF_AT(), pf_page_cache_get(page))

static inline void pf_page_cache_release(struct page *page)
{
	pf_check(pf_cb_page_ref(page, -1));
}
#define page_cache_release(page) (PF_AT(), pf_page_cache_release(page))

/* ------------------------------------------------ mm/filemap.c, linux/page-flags.h, pagemap.h */

static inline void pf_lock_page(struct page *page)
{
	pf_check(pf_cb_lock_page(page));
}
#define lock_page(page) (PF_AT(), pf_lock_page(page))

static inline void pf_unlock_page(struct page *page)
{
	pf_check(pf_cb_unlock_page(page));
}
#define unlock_page(page) (PF_AT(), pf_unlock_page(page))

#define PageLocked(page) (PF_AT(), pf_check(pf_cb_page_flag((page), PF_LOCKED)))
#define PageDirty(page) (PF_AT(), pf_check(pf_cb_page_flag((page), PF_DIRTY)))
#define PageWriteback(page) (PF_AT(), pf_check(pf_cb_page_flag((page), PF_WRITEBACK)))
#define PageError(page) (PF_AT(), pf_check(pf_cb_page_flag((page), PF_ERROR)))

#if PF_ERA == 200401
/* The seed era's dirty clear before write-out (rule 20). Not in the July era: its write-out is
 * the world's (J14), and 2.6.7's test_clear_page_dirty also clears the DIRTY tag (J3), which
 * this call does not. */
static inline int pf_test_clear_page_dirty(struct page *page)
{
	return pf_check(pf_cb_test_clear_page_dirty(page));
}
#define test_clear_page_dirty(page) (PF_AT(), pf_test_clear_page_dirty(page))
#endif

static inline void pf_wait_on_page_writeback(struct page *page)
{
	pf_check(pf_cb_wait_on_page_writeback(page));
}
#define wait_on_page_writeback(page) (PF_AT(), pf_wait_on_page_writeback(page))

/* 0 at once if no writeback; an AIO wait entry is queued and -EIOCBRETRY returned; a
 * synchronous task (wait NULL) sleeps until the writeback bit clears. `wait` must be
 * current->io_wait. In the July era the named point `page` comes first (J20: right before the
 * wait, as the Python walks `yield PAGE` before calling it); in the seed's it comes in the
 * trampoline through which operate_on_page_range calls its operator (R11). */
static inline int pf_wait_on_page_writeback_wq(struct page *page, wait_queue_t *wait)
{
#if PF_ERA == 200407
	pf_check(pf_cb_point_page());
#endif
	return pf_check(pf_cb_wait_on_page_writeback_wq(page, wait != NULL));
}
#define wait_on_page_writeback_wq(page, wait) (PF_AT(), pf_wait_on_page_writeback_wq((page), (wait)))

#if PF_ERA == 200407
/* ------------------------------------- the July 2004 era: 2.6.7 linux/fs.h, pagemap.h, pagevec.h */

/* The radix-tree tags of a page-cache slot (J1), as 2.6.9 include/linux/fs.h numbers them. */
#define PAGECACHE_TAG_DIRTY 0
#define PAGECACHE_TAG_WRITEBACK 1

/* The mapping's error bits (2.6.9 include/linux/pagemap.h: __GFP_BITS_SHIFT + 0, + 1). */
#define AS_EIO 20
#define AS_ENOSPC 21

/* find_get_pages_tag (J4, J5): up to nr_pages pages at or after *index whose slot carries tag,
 * ascending, no upper bound, each referenced; *index becomes one past the last page returned
 * (unchanged when none is). The named point `lookup` follows (J20). */
static inline unsigned pf_pagevec_lookup_tag(struct pagevec *pvec, struct address_space *mapping,
					     pgoff_t *index, int tag, unsigned nr_pages)
{
	(void) mapping;
	return pf_check(pf_cb_lookup_tag(pvec, index, tag, nr_pages));
}
#define pagevec_lookup_tag(pvec, mapping, index, tag, nr) (PF_AT(), \
	pf_pagevec_lookup_tag((pvec), (mapping), (index), (tag), (nr)))

/* Only AS_EIO and AS_ENOSPC of mapping->flags are bits of the world (J17 step 3, J19); any
 * other bit or address is the bridge's error. */
static inline int pf_test_and_clear_bit(int nr, volatile unsigned long *addr)
{
	return pf_check(pf_cb_test_and_clear_bit(nr, addr == &pf_mapping.flags));
}
#define test_and_clear_bit(nr, addr) (PF_AT(), pf_test_and_clear_bit((nr), (addr)))

/* Not a scheduling point in the model (JR2). */
#define cond_resched() ((void) 0)
#endif /* PF_ERA == 200407 */

/* ------------------------------------------------------------------------- linux/sched.h */

static inline struct task_struct *pf_current(void)
{
	return pf_check(pf_cb_current_is_aio()) ? &pf_task_aio : &pf_task_sync;
}
#define current (PF_AT(), pf_current())

/* ------------------------------------------------------------------------------ asm/bug.h */

/* Recorded by the world as a kernel BUG; execution goes on as if BUG() returned (R14). */
#define BUG() ((void) pf_check(pf_cb_bug(__LINE__, "BUG()")))
#define BUG_ON(condition) do { \
	if (unlikely(condition)) \
		(void) pf_check(pf_cb_bug(__LINE__, "BUG_ON(" #condition ")")); \
} while (0)

#endif /* PAGEFUZZ_KERNEL_H */
