"""The seed's own C, as two `c:` versions: the `-` and `+` sides of operate_on_page_range and
page_waiter cut out of ../shared/seed/aio-gang_lookup-fix.patch at test time (never copied into
the repository), completed where the hunks leave lines out, and a page_writer per side written
from kernel-model.md rules 20-21.

What the hunks leave out, supplied here and marked `/* supplied: not in the seed's hunk */` in
the C: the signature (the hunk header cuts it at `operate_on_page_range(str`), the `count == 0`
test before `return 0;` (and the blank line before it), the `pagevec_release(&pvec);` between
the two loops' ends, and the function's closing brace. Each gap is checked to be exactly as
long as what fills it, on both sides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seed" / "aio-gang_lookup-fix.patch"
FILE = "mm/page-writeback.c"
MARK = "/* supplied: not in the seed's hunk */"

#: The signature, cut by the hunk header; the line after it is the hunk's first, `{`.
SIGNATURE: Final = (
    f"static ssize_t operate_on_page_range(struct address_space *mapping,\t{MARK}",
    "\t\tloff_t pos, size_t count, int (*operator)(struct page *))",
)
#: What fills each gap between consecutive hunks, in order (the same on both sides).
GAPS: Final = (
    ("", f"\tif (count == 0)\t{MARK}"),
    (f"\t\tpagevec_release(&pvec);\t{MARK}",),
    (f"}}\t{MARK}",),
)

#: page_writer per side, from kernel-model.md rule 20 (the seed shows only its middle, which
#: `test_page_writers_contain_the_seeds_lines` checks they contain): pre-patch the page comes
#: locked by the loop; post-patch page_writer locks it and gives up on a truncated page. Not
#: dirty: unlock, 0. Else the dirty bit is cleared, running writeback waited for, and the
#: filesystem's writepage starts the I/O and unlocks.
PAGE_WRITER: Final = {
    "-": """
static int page_writer(struct page *page)
{
	struct address_space *mapping = page->mapping;
	struct writeback_control wbc = {
		.sync_mode	= WB_SYNC_ALL,
		.nr_to_write	= 1,
	};

	if (!test_clear_page_dirty(page)) {
		unlock_page(page);
		return 0;
	}
	wait_on_page_writeback(page);
	return mapping->a_ops->writepage(page, &wbc);
}
""",
    "+": """
static int page_writer(struct page *page)
{
	struct address_space *mapping = page->mapping;
	struct writeback_control wbc = {
		.sync_mode	= WB_SYNC_ALL,
		.nr_to_write	= 1,
	};

	lock_page(page);
	if (!page->mapping) {	/* truncated */
		unlock_page(page);
		return 0;
	}
	if (!test_clear_page_dirty(page)) {
		unlock_page(page);
		return 0;
	}
	wait_on_page_writeback(page);
	return mapping->a_ops->writepage(page, &wbc);
}
""",
}

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")


@dataclass
class Hunk:
    old_start: int
    new_start: int
    context: str  # what follows the second @@: the enclosing function, cut
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)


def hunks(patch: str, path: str = FILE) -> list[Hunk]:
    """The hunks of one file of a unified diff, each side's lines in order."""
    out: list[Hunk] = []
    lines = patch.splitlines()
    in_file = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("+++ "):
            in_file = line[4:].split("\t")[0].endswith(path)
        m = _HUNK.match(line)
        if m and in_file:
            old_left, new_left = int(m[2] or 1), int(m[4] or 1)
            hunk = Hunk(int(m[1]), int(m[3]), m[5])
            i += 1
            while old_left or new_left:
                body = lines[i] if i < len(lines) else ""
                tag, text = (body[:1], body[1:]) if body else (" ", "")
                if tag in (" ", "-"):
                    hunk.old.append(text)
                    old_left -= 1
                if tag in (" ", "+"):
                    hunk.new.append(text)
                    new_left -= 1
                if tag not in (" ", "-", "+"):
                    raise ValueError(f"line {i + 1} of the patch: not in a hunk: {body!r}")
                i += 1
            out.append(hunk)
            continue
        i += 1
    return out


def side(patch: str, sign: str) -> str:
    """The `-` or `+` side of operate_on_page_range and page_waiter, completed, as C text."""
    found = hunks(patch)
    loop = [h for h in found if h.context.startswith("static ssize_t operate_on_page_range(")]
    first = loop[0]
    assert SIGNATURE[0].startswith(first.context), (first.context, SIGNATURE[0])
    # The hunks that hold operate_on_page_range and then page_waiter: up to the one that shows
    # page_waiter's closing brace.
    waiter = next(i for i, h in enumerate(found) if any("page_waiter(" in t for t in h.old))
    used = found[found.index(first) : waiter + 1]
    assert len(used) == len(GAPS) + 1, f"expected {len(GAPS) + 1} hunks, found {len(used)}"
    text: list[str] = list(SIGNATURE)
    end = None
    for n, h in enumerate(used):
        start, body = (h.old_start, h.old) if sign == "-" else (h.new_start, h.new)
        if end is not None:
            gap = GAPS[n - 1]
            assert start - end == len(gap), f"gap before line {start} on {sign}: {start - end}"
            text.extend(gap)
        text.extend(body)
        end = start + len(body)
    return "\n".join(text) + "\n"


def seed_lines_of_page_writer(patch: str, sign: str) -> list[str]:
    """The lines of page_writer the seed shows, on one side, stripped."""
    h = next(h for h in hunks(patch) if h.context.startswith("static int page_writer("))
    return [t.strip() for t in (h.old if sign == "-" else h.new) if t.strip()]


def c_file(patch: str, sign: str) -> str:
    which = "before" if sign == "-" else "after"
    head = (
        f"/* The seed's {sign} side ({which} aio-gang_lookup-fix.patch), cut out of the patch at"
        " test time;\n * page_writer written from kernel-model.md rules 20-21. */\n\n"
    )
    return head + side(patch, sign) + PAGE_WRITER[sign]


def write_seed_versions(directory: Path) -> tuple[Path, Path]:
    """pre.c and post.c in `directory`, from the seed patch (which must exist)."""
    patch = SEED.read_text(encoding="utf-8")
    pre, post = directory / "pre.c", directory / "post.c"
    pre.write_text(c_file(patch, "-"), encoding="utf-8")
    post.write_text(c_file(patch, "+"), encoding="utf-8")
    return pre, post
