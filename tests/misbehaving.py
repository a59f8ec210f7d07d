"""Versions from outside the package that misbehave on purpose (tests/test_misbehaving.py): each
is `fixed` (examples/versions/fixed.c, impls/fixed.py) with one function replaced by code that
loops, crashes, aborts, exits, raises, recurses without end, allocates without end, or breaks a
kernel rule. Each entry says what pagefuzz must make of it: the check, how the code failed (as
`VersionFailure.how` says it) and, where the failure's frame is known, the function it names.

pagefuzz runs every one of them in a watched process of its own (pagefuzz/fuzz/isolation.py),
so none may stop, hang or crash pagefuzz itself.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXED_C = (ROOT / "examples" / "versions" / "fixed.c").read_text()


@dataclass(frozen=True)
class Misbehaving:
    """One misbehaving version: its file's name and text, and what it must be found as."""

    file: str
    source: str
    check: str  # crash | timeout | kernel_bug
    how: str  # VersionFailure.how (empty for a kernel_bug)
    function: str = ""  # the function its failure's frame names ("" where none is known)

    @property
    def spec(self) -> str:
        return ("c:" if self.file.endswith(".c") else "py:") + self.file

    @property
    def name(self) -> str:
        """Its identity: the prefix and the file's base name."""
        return self.spec


def c_with(function: str, body: str, before: str = "") -> str:
    """fixed.c with `function` (page_waiter or page_writer) replaced by one that runs `body`;
    `before` goes in front of it (declarations, helpers)."""
    pattern = re.compile(rf"static int {function}\(struct page \*page\)\n\{{.*?\n\}}\n", re.S)
    replacement = f"{textwrap.dedent(before)}static int {function}(struct page *page)\n{{\n"
    replacement += textwrap.indent(textwrap.dedent(body).strip("\n"), "\t") + "\n}\n"
    text, count = pattern.subn(lambda _m: replacement, FIXED_C)
    assert count == 1, function
    return text


def py_with(method: str, body: str, imports: str = "") -> str:
    """`fixed` with `method` (page_waiter) replaced by `body` (a generator)."""
    head = "from pagefuzz.impls.fixed import Fixed\n" + textwrap.dedent(imports)
    code = textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 8)
    return (
        f"{head}\n\nclass Misbehaving(Fixed):\n"
        f"    def {method}(self, k, ctx, page):\n{code}\n        yield from ()\n"
    )


C_VERSIONS = [
    Misbehaving(
        "c_loop_calls.c",
        c_with("page_waiter", "while (!PageDirty(page))\n\t;\nreturn 0;"),
        "timeout",
        "world calls",
        "page_waiter",
    ),
    Misbehaving(
        "c_loop_pure.c",
        c_with("page_waiter", "volatile unsigned long spins = 0;\nfor (;;)\n\tspins++;"),
        "timeout",
        "wall clock",
        "page_waiter",
    ),
    Misbehaving(
        "c_null.c",
        c_with("page_waiter", "struct page *volatile none = NULL;\nreturn none->index != 0;"),
        "crash",
        "signal",
        "page_waiter",
    ),
    Misbehaving(
        "c_abort.c",
        c_with("page_waiter", "abort();", "extern void abort(void);\n\n"),
        "crash",
        "signal",
        "page_waiter",
    ),
    Misbehaving(
        "c_recursion.c",
        c_with(
            "page_waiter",
            "return deeper(0);",
            """\
            static int deeper(int n)
            {
            \tvolatile char pad[256];

            \tpad[0] = (char) n;
            \treturn deeper(n + 1) + pad[0];
            }

            """,
        ),
        "crash",
        "signal",
        "deeper",
    ),
    Misbehaving(
        "c_alloc.c",
        c_with(
            "page_waiter",
            """\
            /* Take memory 64 MB at a time, and use it, until there is none. */
            for (;;) {
            \tvolatile char *chunk = malloc((size_t) 64 << 20);

            \tchunk[0] = 1;
            }
            """,
            "extern void *malloc(size_t size);\n\n",
        ),
        "crash",
        "signal",
        "page_waiter",
    ),
    Misbehaving(
        "c_exit.c",
        c_with("page_waiter", "exit(3);", "extern void exit(int status);\n\n"),
        "crash",
        "exit",
        # exit() never returns: the compiler jumps to it, and the innermost frame left is the
        # operator's call in operate_on_page_range.
        "operate_on_page_range",
    ),
    Misbehaving(
        "c_divide.c",
        c_with("page_waiter", "volatile int zero = 0, one = 1;\nreturn one / zero;"),
        "crash",
        "signal",
        "page_waiter",
    ),
    # A kernel rule broken, not a crash: the writer starts a write-out of a page whose last
    # write-out is still in flight (no wait_on_page_writeback); R12, a kernel BUG.
    Misbehaving(
        "c_writeback_twice.c",
        c_with(
            "page_writer",
            """\
            struct address_space *mapping = page->mapping;
            struct writeback_control wbc = { .sync_mode = WB_SYNC_ALL, .nr_to_write = 1 };

            lock_page(page);
            if (page->mapping == NULL || !test_clear_page_dirty(page)) {
            \tunlock_page(page);
            \treturn 0;
            }
            return mapping->a_ops->writepage(page, &wbc);
            """,
        ),
        "kernel_bug",
        "",
    ),
]

PY_VERSIONS = [
    Misbehaving(
        "py_loop_calls.py",
        py_with(
            "page_waiter",
            "while True:\n    k.pagevec_release(k.pagevec_lookup(ctx, page.index, 1))",
        ),
        "timeout",
        "world calls",
        "page_waiter",
    ),
    Misbehaving(
        "py_loop_pure.py",
        py_with("page_waiter", "while True:\n    pass"),
        "timeout",
        "wall clock",
        "page_waiter",
    ),
    Misbehaving(
        "py_sleeps.py",
        py_with("page_waiter", "time.sleep(3600)", "import time\n"),
        "timeout",
        "wall clock",
        "page_waiter",
    ),
    Misbehaving(
        "py_raises.py",
        py_with("page_waiter", "return page.index // 0"),
        "crash",
        "exception",
        "page_waiter",
    ),
    Misbehaving(
        "py_recursion.py",
        py_with(
            "page_waiter",
            "def deeper(n):\n    return deeper(n + 1) + 1\nreturn deeper(0)",
        ),
        "crash",
        "exception",
        "deeper",
    ),
    Misbehaving(
        "py_alloc.py",
        py_with("page_waiter", "hoard = bytearray(64 << 30)\nreturn len(hoard)"),
        "crash",
        "exception",
        "page_waiter",
    ),
    Misbehaving(
        "py_sys_exit.py",
        py_with("page_waiter", "sys.exit(0)", "import sys\n"),
        "crash",
        "exit",
        "page_waiter",
    ),
    Misbehaving(
        "py_os_exit.py",
        py_with("page_waiter", "os._exit(0)", "import os\n"),
        "crash",
        "exit",
    ),
    Misbehaving(
        "py_abort.py",
        py_with("page_waiter", "os.abort()", "import os\n"),
        "crash",
        "signal",
        "page_waiter",
    ),
    Misbehaving(
        "py_kills_itself.py",
        py_with("page_waiter", "os.kill(os.getpid(), signal.SIGKILL)", "import os, signal\n"),
        "crash",
        "signal",
    ),
    Misbehaving(
        "py_yields_garbage.py",
        py_with("page_waiter", "yield 42\nreturn 0"),
        "crash",
        "misuse",
        "page_waiter",
    ),
]

#: Passes like `fixed`, but prints on stdout on every call: pagefuzz's own output (JSON
#: included) must not take any of it.
PRINTS = Misbehaving(
    "py_prints.py",
    "from pagefuzz.impls.fixed import Fixed\n\n\nclass Prints(Fixed):\n"
    "    def page_waiter(self, k, ctx, page):\n"
    '        print(\'{"not": "pagefuzz output"}\', flush=True)\n'
    "        return (yield from super().page_waiter(k, ctx, page))\n",
    "",
    "",
)

ALL = [*C_VERSIONS, *PY_VERSIONS]

#: Two one-page AIO writes of one page: the case where a writer that does not wait for the
#: write-out in flight starts a second one (R12; traced in tests/test_version_failures.py).
TWO_WRITES = {
    "format": "pagefuzz/case-v1",
    "name": "two-writes-one-page",
    "config": {"file_pages": 1},
    "steps": [
        {"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096},
        {"op": "aio_write", "iocb": "B", "pos": 0, "count": 4096},
    ],
}


def write_all(directory: Path) -> None:
    for version in [*ALL, PRINTS]:
        (directory / version.file).write_text(version.source)


__all__ = ["ALL", "C_VERSIONS", "PRINTS", "PY_VERSIONS", "TWO_WRITES", "Misbehaving", "write_all"]
