"""`c:FILE.c` versions: the kernel's own C, compiled and run inside the simulated world.

The user's file is the C as the kernel has it, with no #include, of one of two eras, told by
the function it defines (`era_of_source`):

- the seed's (2004-01): operate_on_page_range, page_writer and page_waiter of 2.6.1-mm
  mm/page-writeback.c; the version is a `CVersion`;
- July 2004 (2004-07, kernel-model-2004-07.md): wait_on_page_writeback_range_wq of the -mm
  mm/filemap.c of patch 17 (J17, J18); the version is a `JulyCVersion`, a `JulyVersion` whose
  wait walk is the C and whose sync_page_range is patch 18's, in Python (impls/july.py).

impls/kernel.h goes in front of the file (after `#define PF_ERA`, which selects the era's part of
it) and a wrapper after it, in one translation unit (so static functions are reached), built by
impls/cbuild.py. `load_c_version("c:PATH.c")` returns the factory of a `Version` named
`c:PATH.c`, whose `era` is the file's.

**The bridge.** Each call of one of the user's functions is a generator, as for every version
(`CVersion.operate_on_page_range`, `JulyCVersion.wait_on_page_writeback_range_wq`...): it runs
the C in a greenlet of its own and passes on what the C suspends at. Every kernel call the C
makes (kernel.h: `lock_page`, `pagevec_lookup`, `pagevec_lookup_tag`,
`wait_on_page_writeback_wq`, `mapping->a_ops->writepage`...) is a cffi `extern "Python"`
callback that calls the same world function the Python versions call (`k.lock_page(ctx,
page)`...), with the world and actor of the call. A world function that is a generator is
started in the callback; if it yields (it sleeps), the callback switches to the driving
generator (greenlet `parent.switch`) and hands it the generator: the C frame stays suspended
inside the callback, the driving generator yields the point to the scheduler and runs the
generator to its end (`yield from`, as a Python version would), then switches back into the C
with its value. The named points go out the same way and match the Python versions': `lookup`
at the end of every gang or tagged lookup; `page`, in the seed's era, in the trampoline through
which the C calls its operator (R11), and in the July era at the start of
`wait_on_page_writeback_wq`, before the wait (J20). So `run X until P` pauses a C version where
it pauses a Python one. The run stays as deterministic as the world: the C runs only between
points, one greenlet at a time.

A C `struct page` is a handle for one world `Page` (a handle table per call, keyed by the page's
serial); its `index` and `mapping` are written from the world's page when the handle is made and
again after every callback returns (the C runs only between callbacks, so it always reads the
world's current state). C integers are C integers: `pos` and `count` enter as `loff_t` and
`size_t`, `start` and `end` as `pgoff_t`, the result leaves as `ssize_t`.

**Unwinding.** When the world drops a run with C suspended in it (the run ended with the task
asleep), or a callback fails, the callback sets `pf_abort_to` and returns; the C side longjmps
back to its entry point at once (kernel.h `pf_check`), so no C keeps running on a dead greenlet.
An error in a callback (a bad `struct page` pointer, a wrong wait entry) is raised from the
generator, as a Python version's would be.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final, cast

import greenlet

from pagefuzz.impls import cbuild
from pagefuzz.impls.july import JulyVersion
from pagefuzz.sim.actors import Actor
from pagefuzz.sim.cint import signed, unsigned
from pagefuzz.sim.failure import WHERE_ATTR, WORLD_CALLS_MAX, VersionTimeout
from pagefuzz.sim.july.filemap import DIRTY, WRITEBACK
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import LOOKUP, PAGE, Gen, Yield
from pagefuzz.sim.world import Kernel, Operator, Version

#: The eras a C file can be of (sim/case.py's era names).
SEED_ERA: Final = "2004-01"
JULY_ERA: Final = "2004-07"

#: What a file of each era defines: the seed's three functions of mm/page-writeback.c, or the
#: July 2004 wait walk of mm/filemap.c (patch 17's signature).
REQUIRED: Final = ("operate_on_page_range", "page_writer", "page_waiter")
JULY_REQUIRED: Final = ("wait_on_page_writeback_range_wq",)

#: What Python sees of the translation unit (cffi's cdef), but for the calls into the world: those
#: are declared once, in kernel.h, and `cdef` adds them from there (`callback_prototypes`); and
#: the era's entry points (`CEra.entry_points`).
ENTRY_POINTS: Final = """
typedef unsigned long pgoff_t;
struct address_space { ...; };
struct page { unsigned long index; struct address_space *mapping; unsigned long pf_serial; ...; };
struct pagevec { unsigned int nr; struct page *pages[16]; ...; };
struct pf_frame { ...; };

extern struct address_space pf_mapping;
extern struct pf_frame *pf_abort_to;
extern int pf_line;
extern const char *pf_func;

int pf_install_crash_handler(void *out, size_t size);
"""

#: A call into the world as kernel.h declares it (`static int pf_cb_NAME(PARAMETERS);`).
_PROTOTYPE: Final = re.compile(r"^static int (pf_cb_\w+)\(([^)]*)\);$", re.MULTILINE)


def callback_prototypes(header: str) -> dict[str, str]:
    """name -> parameter list of every call into the world that kernel.h declares."""
    return {m.group(1): m.group(2) for m in _PROTOTYPE.finditer(header)}


def cdef(header: str, era: str = SEED_ERA) -> str:
    """What Python sees: the entry points (the era's among them), and each call into the world
    kernel.h declares as cffi's `extern "Python"` (a C function whose body is the Python
    callback of that name). Every call is declared in both eras: the era decides only which
    of kernel.h's inline functions and macros reach them."""
    calls = callback_prototypes(header)
    if set(calls) != set(_CALLBACKS):
        missing = sorted(set(calls) ^ set(_CALLBACKS))
        raise cbuild.CBuildError(
            f"kernel.h and impls/cversion.py disagree on the calls into the world: {missing}"
        )
    return (
        ENTRY_POINTS
        + ERAS[era].entry_points
        + "".join(f'extern "Python" int {n}({p});\n' for n, p in calls.items())
    )


#: Before the user's file (after kernel.h): the crash handler, which needs system headers that a
#: user's file left unfinished must not break (its compile error stays at its own line).
PRELUDE: Final = r"""
#include <execinfo.h>
#include <signal.h>

extern int atexit(void (*function)(void));

int pf_line;
const char *pf_func = "";

/* What the crash handler leaves for the process that watches this one (pagefuzz/fuzz/
 * isolation.py reads it, in memory shared with it): the signal, the faulting address, the
 * last kernel call's line and function, and the return addresses of the stack. */
#define PF_CRASH_MAGIC 0x70666372617368ULL
#define PF_FRAMES_MAX 64
struct pf_crash {
	unsigned long long magic;
	long long signo;
	unsigned long long addr;
	long long line;
	char func[64];
	long long depth;
	unsigned long long frames[PF_FRAMES_MAX];
};
static struct pf_crash *pf_crash_out;
static struct sigaction pf_old_actions[65];
static const int pf_fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS };

static void pf_record(int signo, unsigned long long addr)
{
	void *frames[PF_FRAMES_MAX];
	int depth, i;

	if (pf_crash_out == NULL || pf_crash_out->magic == PF_CRASH_MAGIC)
		return;
	depth = backtrace(frames, PF_FRAMES_MAX);
	pf_crash_out->signo = signo;
	pf_crash_out->addr = addr;
	pf_crash_out->line = pf_line;
	for (i = 0; pf_func != NULL && pf_func[i] && i < (int) sizeof(pf_crash_out->func) - 1; i++)
		pf_crash_out->func[i] = pf_func[i];
	for (i = 0; i < depth; i++)
		pf_crash_out->frames[i] = (unsigned long long) (unsigned long) frames[i];
	pf_crash_out->depth = depth;
	pf_crash_out->magic = PF_CRASH_MAGIC;
}

static void pf_crash_handler(int signo, siginfo_t *info, void *context)
{
	(void) context;
	pf_record(signo, (unsigned long long) (unsigned long) info->si_addr);
	/* Die as the signal says, under the previous disposition (the default): */
	/* re-raised when it was sent (kill, abort), re-executed when the code faulted. */
	sigaction(signo, &pf_old_actions[signo], NULL);
	if (info->si_code <= 0 || signo == SIGABRT || signo == SIGTRAP)
		raise(signo);
}

static void pf_on_exit(void)
{
	pf_record(0, 0);	/* exit() called from inside the version */
}

int pf_install_crash_handler(void *out, size_t size)
{
	static char altstack[1 << 16];	/* a stack overflow still runs the handler */
	stack_t stack;
	struct sigaction action;
	void *warm[2];
	size_t i;

	if (size < sizeof(struct pf_crash))
		return -1;
	backtrace(warm, 2);	/* loads the unwinder now, not inside the handler */
	stack.ss_flags = 0;
	stack.ss_sp = altstack;
	stack.ss_size = sizeof(altstack);
	sigaltstack(&stack, NULL);
	action = (struct sigaction) { 0 };
	action.sa_sigaction = pf_crash_handler;
	action.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&action.sa_mask);
	for (i = 0; i < sizeof(pf_fatal) / sizeof(pf_fatal[0]); i++)
		sigaction(pf_fatal[i], &action, &pf_old_actions[pf_fatal[i]]);
	pf_crash_out = out;
	atexit(pf_on_exit);
	return 0;
}

"""

#: After the user's file: the bridge's objects, shared by both eras.
WRAPPER: Final = r"""
struct __wait_queue { int pf_unused; };
static wait_queue_t pf_aio_wait;
struct task_struct pf_task_aio = { &pf_aio_wait };
struct task_struct pf_task_sync = { NULL };

struct pf_frame { jmp_buf jb; };
struct pf_frame *pf_abort_to;

static void pf_unwind(void)
{
	struct pf_frame *frame = pf_abort_to;

	pf_abort_to = NULL;
	longjmp(frame->jb, 1);
}

static int pf_writepage(struct page *page, struct writeback_control *wbc)
{
	(void) wbc;
	return pf_check(pf_cb_writepage(page));
}

static struct address_space_operations pf_aops = { .writepage = pf_writepage };
struct address_space pf_mapping = { .a_ops = &pf_aops };
"""

#: The seed era's entry points: the operator trampolines (the named point `page` comes right
#: before the operator, R11) and the three functions.
SEED_WRAPPER: Final = r"""
static int pf_writer_op(struct page *page)
{
	pf_check(pf_cb_point_page());
	return page_writer(page);
}

static int pf_waiter_op(struct page *page)
{
	pf_check(pf_cb_point_page());
	return page_waiter(page);
}

static int pf_python_op(struct page *page)
{
	pf_check(pf_cb_point_page());
	return pf_check(pf_cb_operator(page));
}

long long pf_operate(struct pf_frame *frame, int op, long long pos, size_t count)
{
	int (*operator)(struct page *) = pf_python_op;

	if (op == 0)
		operator = pf_writer_op;
	else if (op == 1)
		operator = pf_waiter_op;
	if (setjmp(frame->jb))
		return 0;
	return operate_on_page_range(&pf_mapping, pos, count, operator);
}

int pf_page_writer(struct pf_frame *frame, struct page *page)
{
	if (setjmp(frame->jb))
		return 0;
	return page_writer(page);
}

int pf_page_waiter(struct pf_frame *frame, struct page *page)
{
	if (setjmp(frame->jb))
		return 0;
	return page_waiter(page);
}
"""

#: The July era's entry point: the wait walk with the caller's wait entry, current->io_wait
#: (`aio`), NULL for a synchronous caller (J17: sync_page_range passes current->io_wait).
JULY_WRAPPER: Final = r"""
ssize_t pf_wait_range(struct pf_frame *frame, pgoff_t start, pgoff_t end, int aio)
{
	if (setjmp(frame->jb))
		return 0;
	return wait_on_page_writeback_range_wq(&pf_mapping, start, end, aio ? &pf_aio_wait : NULL);
}
"""

#: Last: cffi's own code follows, and must see none of the kernel's short names.
UNDEFINE: Final = r"""
#undef loff_t
#undef min
#undef max
#undef min_t
#undef max_t
#undef likely
#undef unlikely
#undef current
#undef BUG
#undef BUG_ON
#undef PageLocked
#undef PageDirty
#undef PageWriteback
#undef PageError
#undef pagevec_lookup
#undef pagevec_lookup_tag
#undef pagevec_release
#undef page_cache_get
#undef page_cache_release
#undef lock_page
#undef unlock_page
#undef test_clear_page_dirty
#undef test_and_clear_bit
#undef cond_resched
#undef wait_on_page_writeback
#undef wait_on_page_writeback_wq
#undef PAGECACHE_TAG_DIRTY
#undef PAGECACHE_TAG_WRITEBACK
#undef AS_EIO
#undef AS_ENOSPC
#undef PF_AT
"""


@dataclass(frozen=True)
class CEra:
    """What differs between the eras' translation units: kernel.h's PF_ERA, the functions the
    file must define (and how a missing one is explained), the entry points and their cdef."""

    era: str
    macro: int
    required: tuple[str, ...]
    must_define: str
    wrapper: str
    entry_points: str


ERAS: Final[dict[str, CEra]] = {
    SEED_ERA: CEra(
        SEED_ERA,
        200401,
        REQUIRED,
        "a C version defines operate_on_page_range, page_writer and page_waiter",
        SEED_WRAPPER,
        """
long long pf_operate(struct pf_frame *frame, int op, long long pos, size_t count);
int pf_page_writer(struct pf_frame *frame, struct page *page);
int pf_page_waiter(struct pf_frame *frame, struct page *page);
""",
    ),
    JULY_ERA: CEra(
        JULY_ERA,
        200407,
        JULY_REQUIRED,
        "a C version of the July 2004 era defines wait_on_page_writeback_range_wq",
        JULY_WRAPPER,
        """
ssize_t pf_wait_range(struct pf_frame *frame, pgoff_t start, pgoff_t end, int aio);
""",
    ),
}

#: Why a file that defines none of either era's functions cannot be used.
NEITHER: Final = (
    "a C version defines operate_on_page_range, page_writer and page_waiter, or, for the July"
    " 2004 era, wait_on_page_writeback_range_wq"
)

_OP_WRITER: Final = 0
_OP_WAITER: Final = 1
_OP_PYTHON: Final = 2


class CVersionError(Exception):
    """A C version that cannot be loaded, or C that misuses the bridge; str() is one line."""


def _c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def compose(header: str, user: str, shown_path: str, era: str = SEED_ERA) -> str:
    """The translation unit of a file of `era`: kernel.h (its era's part, PF_ERA), the user's
    file (its diagnostics name `shown_path` and its own line numbers), then the wrapper with
    the era's entry points."""
    if not user.endswith("\n"):
        user += "\n"
    chosen = ERAS[era]
    return (
        f"#define PF_ERA {chosen.macro}\n"
        f'#line 1 "<pagefuzz>/kernel.h"\n{header}\n'
        f'#line 1 "<pagefuzz>/prelude.c"\n{PRELUDE}\n'
        f"#line 1 {_c_string(shown_path)}\n{user}"
        f'#line 1 "<pagefuzz>/wrapper.c"\n{WRAPPER}{chosen.wrapper}{UNDEFINE}'
    )


# ------------------------------------------------------------------- the file's era

#: Comments, string and character literals: blanked before the file is scanned (a comment
#: may name a function, `/* like page_waiter() { ... } */`).
_NOT_CODE: Final = re.compile(
    r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.DOTALL
)
_TOKEN: Final = re.compile(r"[{}]|\b([A-Za-z_]\w*)\s*\(")


def _code_of(text: str) -> str:
    """The file with comments, literals and preprocessor lines blanked (newlines kept)."""
    text = _NOT_CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    lines, continued = [], False
    for line in text.split("\n"):
        directive = continued or line.lstrip().startswith("#")
        continued = directive and line.endswith("\\")
        lines.append("" if directive else line)
    return "\n".join(lines)


def defined_functions(text: str) -> set[str]:
    """The names of the functions the C text defines at file scope: an identifier outside every
    brace, its balanced parameter list, then `{`. A reading of the text, not a parse: it decides
    only which era's translation unit to build, and the compiler then checks that the era's
    functions are really defined (a definition hidden in `#if 0` is the compiler's error)."""
    code = _code_of(text)
    found: set[str] = set()
    depth = 0
    for m in _TOKEN.finditer(code):
        token = m.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth = max(0, depth - 1)
        elif depth == 0 and m.group(1) != "__attribute__":
            at = _past_parentheses(code, m.end() - 1)
            rest = code[at:].lstrip()
            while rest.startswith("__attribute__"):  # `f(void) __attribute__((cold)) {`
                opening = rest.find("(")
                if opening < 0:
                    break
                rest = rest[_past_parentheses(rest, opening) :].lstrip()
            if rest.startswith("{"):
                found.add(m.group(1))
    return found


def _past_parentheses(code: str, at: int) -> int:
    """The index just past the parenthesis that closes the one at `at`."""
    nested = 0
    while at < len(code):
        nested += {"(": 1, ")": -1}.get(code[at], 0)
        at += 1
        if nested == 0:
            break
    return at


def era_of_source(text: str, shown: str) -> tuple[str, bool]:
    """The era of a C file, by the functions it defines: the July 2004 era's if it defines
    wait_on_page_writeback_range_wq, else the seed's; and whether it defines any of either
    era's functions (when it defines none, the compiler's "not defined" names both eras).
    A file that defines functions of both eras is a CVersionError: a version is of one era."""
    defined = defined_functions(text)
    seed = [f for f in REQUIRED if f in defined]
    july = [f for f in JULY_REQUIRED if f in defined]
    if seed and july:
        raise CVersionError(
            f"{shown}: defines {', '.join(seed)} (the seed's era, 2004-01) and {july[0]} (the"
            " July 2004 era, 2004-07); a C version is of one era"
        )
    return (JULY_ERA if july else SEED_ERA), bool(seed or july)


# ------------------------------------------------------------------------------ one C call


@dataclass(frozen=True, slots=True)
class _Point:
    """A callback's request: hand `point` to the scheduler, then return `result` to the C."""

    point: Yield
    result: int


@dataclass(frozen=True, slots=True)
class _Await:
    """A callback's request: run the world generator `start(k, ctx)` to its end (its points go
    to the scheduler) and return its value to the C."""

    start: Callable[[Kernel, Actor], Gen[Any]]


@dataclass(slots=True)
class _Started:
    """A world generator that yielded `point` when the callback started it: the driving
    generator takes it out of `gen` (so the suspended greenlet keeps no reference to it),
    yields the point, then runs it to its end and sends its value back into the C."""

    gen: list[Gen[Any]]
    point: Yield


class _Greenlet(greenlet.greenlet):  # type: ignore[misc]
    """The greenlet a C call runs in; callbacks find their call through it."""

    call: _Call


class _Call:
    """One call of a C function from the world: its handles, greenlet and unwinding frame.

    Nothing the suspended greenlet keeps (its frames, this object) refers to the world while
    the C is suspended: `k` and `ctx` are set only while the C runs, and world generators run
    in the driving generator, not in the greenlet. Python's cycle collector cannot see into a
    suspended greenlet's frames, so a reference from there back to the world would keep every
    world whose run ended with C asleep in it alive for good.
    """

    __slots__ = (
        "built",
        "calls",
        "ctx",
        "error",
        "frame",
        "k",
        "mapping",
        "null",
        "operator",
        "pages",
        "shown",
        "version_name",
        "where",
    )

    def __init__(self, version: CVersion | JulyCVersion) -> None:
        self.built = version.built
        self.shown = version.shown
        self.version_name = version.name
        #: Kernel calls since the C last slept or passed a point (sim/failure.py's budget).
        self.calls = 0
        self.where = ""
        self.k: Kernel | None = None
        self.ctx: Actor | None = None
        self.mapping = version.mapping
        self.null = self.built.ffi.NULL
        self.frame = self.built.ffi.new("struct pf_frame *")
        self.pages: dict[int, tuple[Page, Any]] = {}
        self.operator: Operator | None = None
        self.error: BaseException | None = None

    # --------------------------------------------------------------- handles for pages

    def handle(self, page: Page) -> Any:
        entry = self.pages.get(page.serial)
        if entry is not None:
            return entry[1]
        cpage = self.built.ffi.new("struct page *")
        cpage.pf_serial = page.serial
        cpage.index = page.index
        cpage.mapping = self.mapping if page.mapping else self.null
        self.pages[page.serial] = (page, cpage)
        return cpage

    def page(self, cpage: Any) -> Page:
        if cpage == self.null:
            raise CVersionError("a kernel call was given a NULL struct page")
        entry = self.pages.get(cpage.pf_serial)
        if entry is None or entry[1] != cpage:
            raise CVersionError("a kernel call was given a struct page the world did not hand out")
        return entry[0]

    def refresh(self) -> None:
        """What the world holds now, into every struct page this call has."""
        mapping, null = self.mapping, self.null
        for page, cpage in self.pages.values():
            cpage.index = page.index
            cpage.mapping = mapping if page.mapping else null

    def world(self) -> tuple[Kernel, Actor]:
        assert self.k is not None and self.ctx is not None
        return self.k, self.ctx

    def start(self, wait: _Await) -> int | _Started:
        """Run the world generator of `wait` here, in the C's greenlet, up to its first point:
        most calls (a free page lock, no writeback) end without one, and switch no greenlet."""
        k, ctx = self.world()
        gen = wait.start(k, ctx)
        try:
            point = next(gen)
        except StopIteration as stop:
            return int(stop.value or 0)
        return _Started([gen], point)

    # ------------------------------------------------------- suspending the C frame

    def abort(self, exc: BaseException) -> None:
        """Make the C unwind to its entry point as soon as the callback returns; remember where
        in the user's C the failing kernel call was made."""
        if self.error is None and not isinstance(exc, greenlet.GreenletExit):
            self.error = exc
            lib = self.built.lib
            func = self.built.ffi.string(lib.pf_func).decode("utf-8", "replace")
            if lib.pf_line:
                self.where = f"{self.shown}:{lib.pf_line}" + (f" in {func}" if func else "")
        self.built.lib.pf_abort_to = self.frame

    def drive(self, k: Kernel, ctx: Actor, entry: Callable[[], int]) -> Gen[int]:
        """The generator the world resumes: run `entry` (the C) in a greenlet; a callback that
        sleeps or passes a point switches back here with a `_Started` or a `_Point`, which
        this generator carries out as a Python version would (`yield from`, `yield point`),
        and then it switches back into the C with the result. Returns the C function's."""
        g = _Greenlet(lambda _first: entry())  # the first switch passes `value` (None)
        g.call = self  # (and no reference back: a cycle through a greenlet is never collected)
        value: Any = None
        try:
            while True:
                self.k, self.ctx = k, ctx
                g.parent = greenlet.getcurrent()
                try:
                    out = g.switch(value)
                finally:
                    self.k = self.ctx = None
                if g.dead:
                    if self.error is not None:
                        if self.where and not getattr(self.error, WHERE_ATTR, ""):
                            setattr(self.error, WHERE_ATTR, self.where)
                        raise self.error
                    return int(out)
                self.calls = 0  # the C slept or passed a point: progress
                if isinstance(out, _Point):
                    yield out.point
                    value = out.result
                else:
                    assert isinstance(out, _Started)
                    gen = out.gen.pop()
                    yield out.point
                    value = yield from gen
                    del gen
        finally:
            if not g.dead:  # the world dropped this run mid-C: unwind the C frame
                try:
                    g.parent = greenlet.getcurrent()
                    g.throw()
                except RuntimeError:  # greenlet itself is being finalized (interpreter exit)
                    pass


def _current() -> _Greenlet:
    g = greenlet.getcurrent()
    if not isinstance(g, _Greenlet):
        raise CVersionError("a C kernel call outside a C version's run")
    return g


# ------------------------------------------------------------- the callbacks (kernel.h)

_Result = int | _Point | _Await


def _callback(fn: Callable[..., _Result]) -> Callable[..., int]:
    """A kernel call from C: run it with its call's world, carry out its request to sleep or
    pass a point (switching to the driving generator), refresh the handles, and on any
    exception make the C unwind (the driving generator raises the exception)."""

    def callback(*args: Any) -> int:
        g = _current()
        call = g.call
        try:
            call.calls += 1
            if call.calls > WORLD_CALLS_MAX:
                raise VersionTimeout(
                    "world calls", f"{WORLD_CALLS_MAX} kernel calls without sleeping or a point"
                )
            out = fn(call, *args)
            result = call.start(out) if isinstance(out, _Await) else out
            if not isinstance(result, int):
                result = int(g.parent.switch(result) or 0)
            call.refresh()
            return result
        except BaseException as exc:  # the C cannot take it: unwind, re-raise in the driver
            call.abort(exc)
            return 0

    callback.__name__ = fn.__name__
    return callback


def _lookup(call: _Call, pvec: Any, start: int, nr: int, next_ptr: Any) -> _Result:
    k, ctx = call.world()
    if next_ptr == call.null:
        pages = k.pagevec_lookup(ctx, start, nr)
    else:
        pages, nxt = k.pagevec_lookup_next(ctx, start, nr)
        next_ptr[0] = unsigned(nxt)
    for i, page in enumerate(pages):
        pvec.pages[i] = call.handle(page)
    pvec.nr = len(pages)
    return _Point(LOOKUP, len(pages))


#: kernel.h's PAGECACHE_TAG_DIRTY and PAGECACHE_TAG_WRITEBACK (2.6.9 include/linux/fs.h): the
#: world's tags (J1).
_TAGS: Final = {0: DIRTY, 1: WRITEBACK}
#: kernel.h's AS_EIO and AS_ENOSPC (2.6.9 include/linux/pagemap.h): the world's mapping flags.
_MAPPING_FLAGS: Final = {20: "AS_EIO", 21: "AS_ENOSPC"}


def _lookup_tag(call: _Call, pvec: Any, index_ptr: Any, tag: int, nr: int) -> _Result:
    """pagevec_lookup_tag (J4, J5): the world's tagged lookup from *index, the cursor written
    back; the named point `lookup` follows, as in the Python walks (J20)."""
    k, ctx = call.world()
    if tag not in _TAGS:
        raise CVersionError(f"pagevec_lookup_tag: no tag {tag} (PAGECACHE_TAG_DIRTY, _WRITEBACK)")
    pages, nxt = k.pagevec_lookup_tag(ctx, int(index_ptr[0]), _TAGS[tag], nr)
    index_ptr[0] = unsigned(nxt)
    for i, page in enumerate(pages):
        pvec.pages[i] = call.handle(page)
    pvec.nr = len(pages)
    return _Point(LOOKUP, len(pages))


def _test_and_clear_bit(call: _Call, nr: int, of_mapping: int) -> _Result:
    """test_and_clear_bit(AS_EIO or AS_ENOSPC, &mapping->flags) (J17 step 3): the world's flag,
    consumed. Only those two bits of that word are the world's."""
    k, _ = call.world()
    if not of_mapping or nr not in _MAPPING_FLAGS:
        raise CVersionError(
            "test_and_clear_bit: only AS_EIO and AS_ENOSPC of mapping->flags are the world's"
        )
    return int(k.test_and_clear_bit(_MAPPING_FLAGS[nr]))


def _pagevec_release(call: _Call, pvec: Any) -> _Result:
    k, _ = call.world()
    k.pagevec_release([call.page(pvec.pages[i]) for i in range(pvec.nr)])
    return 0


def _page_ref(call: _Call, cpage: Any, delta: int) -> _Result:
    k, _ = call.world()
    page = call.page(cpage)
    if delta < 0:
        k.page_cache_release(page)
    else:
        k.page_cache_get(page)
    return 0


def _lock_page(call: _Call, cpage: Any) -> _Result:
    page = call.page(cpage)
    return _Await(lambda k, ctx: k.lock_page(ctx, page))


def _unlock_page(call: _Call, cpage: Any) -> _Result:
    k, ctx = call.world()
    k.unlock_page(ctx, call.page(cpage))
    return 0


def _page_flag(call: _Call, cpage: Any, flag: int) -> _Result:
    page = call.page(cpage)
    return int((page.locked, page.dirty, page.writeback, page.error)[flag])


def _test_clear_page_dirty(call: _Call, cpage: Any) -> _Result:
    k, _ = call.world()
    return int(k.test_clear_page_dirty(call.page(cpage)))


def _wait_on_page_writeback(call: _Call, cpage: Any) -> _Result:
    page = call.page(cpage)
    return _Await(lambda k, ctx: k.wait_on_page_writeback(ctx, page))


def _wait_on_page_writeback_wq(call: _Call, cpage: Any, aio: int) -> _Result:
    _, ctx = call.world()
    page = call.page(cpage)
    if bool(aio) != (ctx.io_wait is not None):
        raise CVersionError("wait_on_page_writeback_wq: the wait entry must be current->io_wait")
    return _Await(lambda k, ctx: k.wait_on_page_writeback_wq(ctx, page))


def _writepage(call: _Call, cpage: Any) -> _Result:
    k, ctx = call.world()
    return k.writepage(ctx, call.page(cpage))


def _current_is_aio(call: _Call) -> _Result:
    _, ctx = call.world()
    return int(ctx.io_wait is not None)


def _point_page(call: _Call) -> _Result:
    return _Point(PAGE, 0)


def _operator(call: _Call, cpage: Any) -> _Result:
    operator, page = call.operator, call.page(cpage)
    assert operator is not None
    return _Await(lambda k, ctx: operator(k, ctx, page))


def _bug(call: _Call, line: int, what: Any) -> _Result:
    k, ctx = call.world()
    text = call.built.ffi.string(what).decode("utf-8", "replace")
    request = getattr(ctx, "request", None)
    k.bug("c-bug", f"{call.version_name} line {line}: {text}", getattr(request, "id", None))
    return 0


#: The bridge's side of each call kernel.h declares: pf_cb_NAME is `_NAME`.
_CALLBACKS: Final[dict[str, Callable[..., int]]] = {
    "pf_cb_" + fn.__name__.lstrip("_"): _callback(fn)
    for fn in (
        _lookup,
        _lookup_tag,
        _test_and_clear_bit,
        _pagevec_release,
        _page_ref,
        _lock_page,
        _unlock_page,
        _page_flag,
        _test_clear_page_dirty,
        _wait_on_page_writeback,
        _wait_on_page_writeback_wq,
        _writepage,
        _current_is_aio,
        _point_page,
        _operator,
        _bug,
    )
}
_REGISTERED: set[str] = set()


def _register(built: cbuild.Built) -> None:
    """Bind the callbacks to a compiled module (once per module and process)."""
    if built.path in _REGISTERED:
        return
    for name, fn in _CALLBACKS.items():
        built.ffi.def_extern(name=name)(fn)
    _REGISTERED.add(built.path)


# ------------------------------------------------------------------------------ the version


class CCode:
    """What the class of a C version holds, in both eras (set by `load_c_version`)."""

    built: ClassVar[cbuild.Built]
    mapping: ClassVar[Any]
    #: The file's base name, as failures name it (`fix.c:23 in page_waiter`).
    shown: ClassVar[str] = "?"
    #: The file as its `#line` directive names it (what a crash's line table says).
    c_file: ClassVar[str] = "?"


class CVersion(CCode, Version):
    """A version of the seed's era whose three functions are C (one subclass per file, made by
    `load_c_version`)."""

    name: ClassVar[str] = "c:?"
    summary: ClassVar[str] = "kernel C"

    def operate_on_page_range(
        self, k: Kernel, ctx: Actor, pos: int, count: int, operator: Operator
    ) -> Gen[int]:
        call = _Call(self)
        if self._is(operator, CVersion.page_writer):
            op = _OP_WRITER
        elif self._is(operator, CVersion.page_waiter):
            op = _OP_WAITER
        else:  # a Python operator: called back through the trampoline
            op = _OP_PYTHON
            call.operator = operator
        lib, frame = self.built.lib, call.frame
        c_pos, c_count = signed(pos), unsigned(count)  # loff_t pos, size_t count
        return (yield from call.drive(k, ctx, lambda: lib.pf_operate(frame, op, c_pos, c_count)))

    def page_writer(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        call = _Call(self)
        lib, frame, cpage = self.built.lib, call.frame, call.handle(page)
        return (yield from call.drive(k, ctx, lambda: lib.pf_page_writer(frame, cpage)))

    def page_waiter(self, k: Kernel, ctx: Actor, page: Page) -> Gen[int]:
        call = _Call(self)
        lib, frame, cpage = self.built.lib, call.frame, call.handle(page)
        return (yield from call.drive(k, ctx, lambda: lib.pf_page_waiter(frame, cpage)))

    def _is(self, operator: Operator, function: Callable[..., Gen[int]]) -> bool:
        """Is `operator` this version's own C function (not an override in Python)?"""
        return (
            getattr(operator, "__self__", None) is self
            and getattr(operator, "__func__", None) is function
        )


class JulyCVersion(CCode, JulyVersion):
    """A version of the July 2004 era whose wait walk, wait_on_page_writeback_range_wq, is C
    (one subclass per file, made by `load_c_version`); sync_page_range around it is patch
    18's (impls/july.py, J21), as for the Python walks."""

    name: ClassVar[str] = "c:?"
    summary: ClassVar[str] = "kernel C (July 2004 era)"

    def wait_on_page_writeback_range_wq(
        self, k: Kernel, ctx: Actor, start: int, end: int
    ) -> Gen[int]:
        call = _Call(self)
        lib, frame = self.built.lib, call.frame
        c_start, c_end = unsigned(start), unsigned(end)  # pgoff_t start, end
        # The wait entry is the caller's, current->io_wait: the iocb's in an AIO run, NULL in a
        # synchronous task (J17; sync_page_range passes current->io_wait).
        aio = int(ctx.io_wait is not None)

        def entry() -> int:
            return int(lib.pf_wait_range(frame, c_start, c_end, aio))

        return (yield from call.drive(k, ctx, entry))


def load_c_version(
    spec: str, name: str | None = None, path: str | None = None
) -> type[CVersion] | type[JulyCVersion]:
    """The version `c:PATH.c` as typed (`spec`), named `name` (default `spec`; the shell passes
    the file's identity, `c:fix.c`), from `path` (default PATH resolved): a `CVersion` or, for a
    file that defines wait_on_page_writeback_range_wq, a `JulyCVersion` (`era_of_source`);
    compiled once per content and machine (impls/cbuild.py); CVersionError, one line naming the
    file, on any failure. Diagnostics name the file as typed."""
    if not spec.startswith("c:") or len(spec) <= 2:
        raise CVersionError(f"{spec}: a C version is named c:PATH.c")
    text = spec[2:]
    try:
        user = cbuild.read_source(path or cbuild.resolve(text), f"{spec}: {text}")
        era, defines_any = era_of_source(user, spec)
        chosen = ERAS[era]
        header = cbuild.kernel_header()
        built = cbuild.build(
            cdef(header, era),
            compose(header, user, text, era),
            key=compose(header, user, "<user>", era),
            shown=spec,
            required=chosen.required,
            must_define=chosen.must_define if defines_any else NEITHER,
        )
    except cbuild.CBuildError as exc:
        raise CVersionError(str(exc)) from None
    _register(built)
    namespace = {
        "name": name or spec,
        "summary": f"kernel C from {text}" + ("" if era == SEED_ERA else f" (era {era})"),
        "built": built,
        "mapping": built.ffi.addressof(built.lib, "pf_mapping"),
        "shown": text.replace("\\", "/").rsplit("/", 1)[-1],
        "c_file": text,
        "__module__": __name__,
    }
    if era == JULY_ERA:
        return cast(type[JulyCVersion], type("JulyCVersion", (JulyCVersion,), namespace))
    return cast(type[CVersion], type("CVersion", (CVersion,), namespace))


__all__ = [
    "CVersion",
    "CVersionError",
    "JulyCVersion",
    "defined_functions",
    "era_of_source",
    "load_c_version",
]
