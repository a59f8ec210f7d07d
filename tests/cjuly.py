"""The July 2004 era's own C, as two `c:` versions: patch 17's wait walk,
`wait_on_page_writeback_range_wq`, cut out of the `+` side of its mm/filemap.c hunks in
../shared/seed/lineage/17-aio-wait_on_page_writeback_range.mail at test time (never copied into
the repository), completed where the hunks leave lines out; and patch 19's hunks
(19-O_SYNC-write-fix.mail) applied to that text by their context lines.

What patch 17's hunks leave out, supplied here and marked `/* supplied: not in the mail's hunk
*/` (a blank line is supplied unmarked), from Linux 2.6.9's mm/filemap.c
`wait_on_page_writeback_range` (kernel-model-2004-07.md JR3; patch 17's hunk offsets place them
as 2.6.9 has them):

- between hunks 1 and 2 (4 lines): the `for` over the batch, `struct page *page =
  pvec.pages[i];`, a blank line and patch 13's comment before the range check (patch 13's own
  hunk shows these four lines, which `gap_lines_patch_13_shows` checks);
- between hunks 2 and 3 (7 lines): `pagevec_release(&pvec);`, `cond_resched();`, the closing
  brace of the while loop, a blank line, the comment and the AS_ENOSPC check.

Each gap is checked to be exactly as long as what fills it. Patch 19's hunks must each match the
patch-17 text once, at the line their header names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from cseed import Hunk, hunks

ROOT = Path(__file__).resolve().parent.parent
LINEAGE = ROOT.parent / "shared" / "seed" / "lineage"
MAIL_13 = LINEAGE / "13-fix-writeback-range.mail"
MAIL_17 = LINEAGE / "17-aio-wait_on_page_writeback_range.mail"
MAIL_19 = LINEAGE / "19-O_SYNC-write-fix.mail"
FILE = "mm/filemap.c"
MARK = "/* supplied: not in the mail's hunk */"

#: The walk's first line (its signature, on the `+` side of patch 17's first hunk).
SIGNATURE = "static ssize_t wait_on_page_writeback_range_wq(struct address_space *mapping,"

#: What fills each gap between patch 17's consecutive mm/filemap.c hunks, in order.
GAPS: Final = (
    (
        f"\t\tfor (i = 0; i < nr_pages; i++) {{\t{MARK}",
        f"\t\t\tstruct page *page = pvec.pages[i];\t{MARK}",
        "",
        f"\t\t\t/* until radix tree lookup accepts end_index */\t{MARK}",
    ),
    (
        f"\t\tpagevec_release(&pvec);\t{MARK}",
        f"\t\tcond_resched();\t{MARK}",
        f"\t}}\t{MARK}",
        "",
        f"\t/* Check for outstanding write errors */\t{MARK}",
        f"\tif (test_and_clear_bit(AS_ENOSPC, &mapping->flags))\t{MARK}",
        f"\t\tret = -ENOSPC;\t{MARK}",
    ),
)


def unmarked(line: str) -> str:
    """A supplied line as the kernel has it (its mark and the tab before it taken off)."""
    return line.split(f"\t{MARK}")[0]


def walk_hunks(mail: str) -> list[Hunk]:
    """Patch 17's mm/filemap.c hunks: the first is the one whose `+` side has the signature."""
    found = hunks(mail, FILE)
    first = next(i for i, h in enumerate(found) if SIGNATURE in h.new)
    used = found[first : first + len(GAPS) + 1]
    assert len(used) == len(GAPS) + 1, f"expected {len(GAPS) + 1} hunks, found {len(used)}"
    return used


def p17_walk(mail: str) -> tuple[list[str], int]:
    """Patch 17's wait walk as C lines, from its signature to its closing brace, completed; and
    the line of mm/filemap.c (after patch 17) its signature is on."""
    used = walk_hunks(mail)
    lines: list[str] = []
    first_line = 0
    end = None
    for n, h in enumerate(used):
        body = h.new
        start = h.new_start
        if n == 0:
            at = body.index(SIGNATURE)
            first_line = start + at
            body, start = body[at:], start + at
        else:
            assert end is not None
            gap = GAPS[n - 1]
            assert start - end == len(gap), f"gap before line {start}: {start - end} lines"
            lines.extend(gap)
        if n == len(used) - 1:
            body = body[: body.index("}") + 1]  # the walk's closing brace, at column 0
        lines.extend(body)
        end = start + len(body)
    return lines, first_line


def apply_by_context(lines: list[str], first_line: int, mail: str) -> list[str]:
    """`lines` (file lines from `first_line` on) with the mail's mm/filemap.c hunks applied:
    each hunk's `-` side (context and removed lines) must occur once, at the line its header
    names, and becomes its `+` side."""
    out = list(lines)
    shift = 0
    for h in hunks(mail, FILE):
        n = len(h.old)
        places = [i for i in range(len(out) - n + 1) if out[i : i + n] == h.old]
        assert len(places) == 1, f"hunk @@ -{h.old_start}: matches {len(places)} places"
        at = places[0]
        assert first_line + at - shift == h.old_start, (
            f"hunk @@ -{h.old_start}: matches line {first_line + at - shift}"
        )
        out[at : at + n] = h.new
        shift += len(h.new) - n
    return out


def gap_lines_patch_13_shows(mail_13: str) -> bool:
    """Whether patch 13's hunks show the first gap's four lines, in order, together."""
    want = [unmarked(line) for line in GAPS[0]]
    for h in hunks(mail_13, FILE):
        for i in range(len(h.new) - len(want) + 1):
            if h.new[i : i + len(want)] == want:
                return True
    return False


HEAD: Final = (
    "/* {what}: the `+` side of patch 17's mm/filemap.c hunks, cut out of\n"
    " * ../shared/seed/lineage/{mail} at test time{more};\n"
    " * the lines the hunks leave out supplied from Linux 2.6.9 (marked). */\n\n"
)


def c_files(mail_17: str, mail_19: str) -> tuple[str, str]:
    """The text of p17.c and p19.c."""
    walk, first_line = p17_walk(mail_17)
    fixed = apply_by_context(walk, first_line, mail_19)
    p17 = HEAD.format(what="p17's wait walk", mail=MAIL_17.name, more="")
    p19 = HEAD.format(
        what="p19's wait walk",
        mail=MAIL_17.name,
        more=f",\n * with the hunks of {MAIL_19.name} applied by their context",
    )
    return p17 + "\n".join(walk) + "\n", p19 + "\n".join(fixed) + "\n"


def write_july_versions(directory: Path) -> tuple[Path, Path]:
    """p17.c and p19.c in `directory`, from the mails (which must exist)."""
    p17_text, p19_text = c_files(
        MAIL_17.read_text(encoding="utf-8"), MAIL_19.read_text(encoding="utf-8")
    )
    p17, p19 = directory / "p17.c", directory / "p19.c"
    p17.write_text(p17_text, encoding="utf-8")
    p19.write_text(p19_text, encoding="utf-8")
    return p17, p19
