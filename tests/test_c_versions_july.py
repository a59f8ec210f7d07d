"""`c:FILE.c` versions of the July 2004 era (kernel-model-2004-07.md): a C file that defines
`wait_on_page_writeback_range_wq` is a `JulyCVersion`, of era "2004-07", whose sync_page_range
is patch 18's (impls/july.py) around the C walk.

The proof is the mails' own code: patch 17's wait walk cut out of its mail at test time and
completed from Linux 2.6.9 where the hunks leave lines out, and that walk with patch 19's hunks
applied (tests/cjuly.py), compiled with pagefuzz's kernel header, must give exactly what the
Python `p17` and `p19` give (request facts, verdicts, every event: `Evaluation.to_json()` less
the version's name) on every corpus case of the era, on hand-made cases that reach what the
decoder does not (walks of more than one batch, pauses at both points, a page leaving the file
while the walk sleeps on its lock, the mapping's error bits, a page index near 2^20), on wide
random cases, and on RANDOM_CASES cases decoded from seeded random bytes. Then
examples/versions/p19_walk.c, written from the spec, must be `p19`; and the shell must run a
July C file in its fork server as a version of that era.

Skipped, with the reason, where there is no C compiler, and (the mails' tests) where
../shared/seed/lineage is not beside the repository.
"""

from __future__ import annotations

import gc
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cjuly import (
    GAPS,
    LINEAGE,
    MAIL_13,
    MAIL_17,
    MAIL_19,
    MARK,
    SIGNATURE,
    c_files,
    gap_lines_patch_13_shows,
    unmarked,
    walk_hunks,
    write_july_versions,
)
from cseed import hunks
from helpers import pagefuzz

from pagefuzz._casefile import load_case
from pagefuzz.fuzz.generation.decode import INPUT_LEN_MAX, decode
from pagefuzz.fuzz.versions.resolve import era_of, era_of_names, resolve_name
from pagefuzz.impls import cbuild
from pagefuzz.impls.cversion import (
    CVersion,
    CVersionError,
    JulyCVersion,
    _Greenlet,
    defined_functions,
    load_c_version,
)
from pagefuzz.impls.registry import get_version
from pagefuzz.oracle.evaluate import evaluate
from pagefuzz.sim import Case, Version, parse_case
from pagefuzz.sim.case import POS_MAX
from pagefuzz.sim.world import EraMismatch, World

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
P19_WALK_C = ROOT / "examples" / "versions" / "p19_walk.c"
FIXED_C = ROOT / "examples" / "versions" / "fixed.c"
ERA = "2004-07"
RANDOM_CASES = 2000
WIDE_CASES = 150
MAILS = (MAIL_13, MAIL_17, MAIL_19)

pytestmark = pytest.mark.skipif(
    cbuild.compiler() is None, reason="no C compiler here (cc, gcc, clang or $CC)"
)
needs_mails = pytest.mark.skipif(
    not all(m.is_file() for m in MAILS),
    reason=f"the lineage mails are not here: {LINEAGE} (tests read them at test time)",
)


@pytest.fixture(scope="module", autouse=True)
def c_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A build cache of this module's own, so that the tests build what they load."""
    cache = tmp_path_factory.mktemp("c-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(cbuild.CACHE_ENV, str(cache))
        yield cache


@pytest.fixture(scope="module")
def july_c(tmp_path_factory: pytest.TempPathFactory, c_cache: Path) -> dict[str, Path]:
    if not all(m.is_file() for m in MAILS):
        pytest.skip(f"the lineage mails are not here: {LINEAGE}")
    p17, p19 = write_july_versions(tmp_path_factory.mktemp("july-c"))
    return {"p17": p17, "p19": p19}


# ------------------------------------------------------------------------------ the cases


def _case(name: str, config: dict[str, Any], steps: list[dict[str, Any]]) -> Case:
    return parse_case(
        {
            "format": "pagefuzz/case-v1",
            "name": name,
            "config": {"era": ERA, **config},
            "steps": steps,
        }
    )


def _aio(iocb: str, pos: int, count: int) -> dict[str, Any]:
    return {"op": "aio_write", "iocb": iocb, "pos": pos, "count": count}


def _sync(task: str, pos: int, count: int) -> dict[str, Any]:
    return {"op": "sync_write", "task": task, "pos": pos, "count": count}


def _done(page: int, error: bool = False) -> dict[str, Any]:
    return {"op": "complete_io", "page": page, **({"error": True} if error else {})}


def _run(who: str, until: str | None = None, task: bool = False) -> dict[str, Any]:
    return {"op": "run", ("task" if task else "iocb"): who, **({"until": until} if until else {})}


P = 4096

#: Cases written by hand for what the decoder's cases (1-4 pages, writes of 1-4 pages) never
#: reach; each says what it is for.
HAND_MADE: tuple[Case, ...] = (
    # The brief's case: an unaligned two-page AIO write, the first page's I/O done first.
    _case("unaligned-two-page", {"file_pages": 2}, [_aio("A", 2048, P), _done(0)]),
    # 40 pages: tag lookups of 16, 16 and 8 (J6), I/O ending out of order, one in error, a
    # synchronous writer over the middle of the range.
    _case(
        "three-batches",
        {"file_pages": 40, "wait_queues": 8},
        [
            _aio("A", 0, 40 * P),
            _sync("S", 10 * P, 20 * P),
            *[_done(i, error=i == 23) for i in (39, 17, 0, 16, 5, 23, 31, 15)],
            _run("A"),
        ],
    ),
    # The same without auto-settle, paused at both points, the cursor past a batch.
    _case(
        "three-batches-paused",
        {"file_pages": 36, "wait_queues": 2, "auto_settle": False, "settle_bound": 64},
        [
            _aio("A", 512, 35 * P),
            _run("A", "lookup"),
            *[_done(i) for i in range(16)],
            _run("A", "lookup"),
            _run("A", "page"),
            _done(16),
            _run("A", "page"),
            _sync("S", 0, 36 * P),
            _run("S", "lookup", task=True),
            *[_done(i) for i in range(17, 36)],
            _run("S", "page", task=True),
            _run("A"),
            _run("S", task=True),
        ],
    ),
    # Pauses at lookup and page with a truncation and a synchronous writer between them.
    _case(
        "pauses-truncate",
        {"file_pages": 3, "wait_queues": 2, "auto_settle": False},
        [
            _aio("A", 0, 3 * P),
            _run("A", "page"),
            _run("A", "lookup"),
            {"op": "truncate", "task": "T", "size": 2 * P},
            _run("T", task=True),
            _run("A", "page"),
            _done(0),
            _run("A", "lookup"),
            _sync("S", 0, 2 * P),
            _run("S", "page", task=True),
            _run("A", "page"),
            _done(1),
            _run("S", task=True),
            _run("A"),
        ],
    ),
    # The walk sleeps in lock_page on a page a truncation holds while it waits for the page's
    # I/O; the truncation takes the page out of the file before the walk gets the lock:
    # `page->mapping != mapping`, unlock, skip.
    _case(
        "truncated-while-locking",
        {"file_pages": 1, "auto_settle": False},
        [
            _aio("A", 0, P),
            _run("A", "lookup"),
            {"op": "truncate", "task": "T", "size": 0},
            _run("T", task=True),
            _run("A"),
            _done(0),
            _run("T", task=True),
            _run("A"),
        ],
    ),
    # A tag lookup that returns a page past the range (the lookup has no upper bound, J4): S's
    # walk over p0..p2 finds p1 done and p3 still under A's write-out.
    _case(
        "past-the-range",
        {"file_pages": 4},
        [
            _aio("A", 0, 4 * P),
            _sync("S", 0, 3 * P),
            _done(0),
            _done(1),
            _done(1),
            _done(2),
            _done(0),
            _done(2),
            _done(3),
        ],
    ),
    # The walk left asleep in lock_page when the case ends: the run unwinds the C.
    _case(
        "asleep-at-the-end",
        {"file_pages": 1, "auto_settle": False},
        [
            _aio("A", 0, P),
            _run("A", "lookup"),
            {"op": "lock_page", "task": "L", "page": 0},
            _run("L", task=True),
            _run("A"),
        ],
    ),
    # I/O errors with the bio path (no AS_EIO): only PG_error of a page whose wait succeeded
    # reaches the walk, and the next page's wait overwrites it (J19).
    _case(
        "pg-error-only",
        {"file_pages": 3, "io_error_sets_as_eio": False},
        [_sync("S", 0, 3 * P), _done(0, error=True), _done(1), _done(2, error=True)],
    ),
    # AS_EIO consumed by the first walk that reaches the flags: two writers of one page range.
    _case(
        "as-eio-consumed",
        {"file_pages": 2},
        [_aio("A", 0, 2 * P), _aio("B", P, P), _done(1, error=True), _done(0), _run("B")],
    ),
    # A page index near 2^20: the range's start and end near the top of pos.
    _case(
        "far-pages",
        {"file_pages": 1},
        [_aio("A", POS_MAX - 2 * P + 1, 2 * P), _sync("S", POS_MAX - P + 1, P), _done(1048575)],
    ),
    # i_sem off and copy-only, with a buffered write and a flush between.
    *(
        _case(
            f"i_sem-{rule}",
            {"file_pages": 4, "i_sem": rule, "wait_queues": 1},
            [
                _aio("A", 0, 4 * P),
                {"op": "write", "task": "W", "pos": P, "count": 2 * P},
                {"op": "flush", "page": 2},
                _aio("B", 0, 3 * P),
                _done(2),
                _done(0),
                _done(1),
                _done(3),
            ],
        )
        for rule in ("off", "copy-only")
    ),
)


def _wide_case(rng: random.Random, n: int) -> Case:
    """A random case outside the decoder's grammar: up to 70 pages, writes of up to the whole
    file, unaligned ends, I/O errors, pauses at both points, every switch of the era."""
    pages = rng.choice([1, 2, 5, 16, 17, 33, 70])
    config = {
        "file_pages": pages,
        "wait_queues": rng.choice([1, 2, 4, 8]),
        "auto_settle": rng.random() < 0.5,
        "settle_bound": 64,
        "i_sem": rng.choice(["full", "copy-only", "off"]),
        "io_error_sets_as_eio": rng.random() < 0.5,
    }
    steps: list[dict[str, Any]] = []
    iocbs: list[str] = []
    tasks = ["S", "T"]
    for _ in range(rng.randint(1, 24)):
        kind = rng.choices(["aio", "sync", "done", "run", "truncate", "other"], [3, 2, 6, 4, 1, 1])
        first = rng.randrange(pages + 1)
        count = rng.randint(1, max(1, pages - first)) * P - rng.choice([0, 0, 512])
        pos = first * P + rng.choice([0, 0, 512])
        if kind[0] == "aio" and len(iocbs) < 4:
            iocbs.append("ABCD"[len(iocbs)])
            steps.append(_aio(iocbs[-1], pos, count))
        elif kind[0] == "sync":
            steps.append(_sync(rng.choice(tasks), pos, count))
        elif kind[0] == "done":
            steps.append(_done(rng.randrange(pages + 1), error=rng.random() < 0.1))
        elif kind[0] == "run" and (iocbs or steps):
            until = rng.choice([None, "lookup", "page"])
            if iocbs and rng.random() < 0.7:
                steps.append(_run(rng.choice(iocbs), until))
            else:
                steps.append(_run(rng.choice(tasks), until, task=True))
        elif kind[0] == "truncate":
            steps.append({"op": "truncate", "task": "T", "size": rng.randrange(pages + 1) * P})
        else:
            steps.append(
                rng.choice(
                    [
                        {"op": "flush", "page": rng.randrange(pages + 1)},
                        {"op": "reclaim", "page": rng.randrange(pages + 1)},
                        {"op": "settle"},
                    ]
                )
            )
    return _case(f"wide-{n}", config, steps)


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    """The corpus's cases of the era, the hand-made ones, WIDE_CASES wide ones, then
    RANDOM_CASES decoded from seeded random bytes."""
    corpus = [load_case(p) for p in sorted(CORPUS.rglob("*.json"))]
    out = [c for c in corpus if c.config.era == ERA] + list(HAND_MADE)
    rng = random.Random(20040702)
    out += [_wide_case(rng, n) for n in range(WIDE_CASES)]
    out += [decode(rng.randbytes(rng.randint(2, INPUT_LEN_MAX)), ERA) for _ in range(RANDOM_CASES)]
    return out


# ------------------------------------------------------------------------ comparing runs


def _outcome(case: Case, version: Version) -> str:
    """`Evaluation.to_json()` of the case in one version, its name left out."""
    text = json.dumps(evaluate(case, [version]).to_json(), sort_keys=True)
    return text.replace(json.dumps(version.name), '"VERSION"')


@pytest.fixture(scope="module")
def python_outcomes(cases: list[Case]) -> dict[str, list[str]]:
    """The Python versions' outcomes, computed once for the C files compared with them."""
    return {name: [_outcome(c, get_version(name)) for c in cases] for name in ("p17", "p19")}


def _first_difference(a: Any, b: Any, where: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{where}.{key}")
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
        if len(a) != len(b):
            return f"{where}: {len(a)} items against {len(b)}"
    return f"{where}: {a!r} against {b!r}"


def _disagreements(
    version: Version, cases: list[Case], theirs: list[str], other: list[str] | None = None
) -> list[str]:
    """Where `version` gives other outcomes than `theirs`, one line each. With `other` (another
    version's outcomes), the comparison is also shown not to be vacuous: it tells that one
    apart on some case."""
    out = []
    told_apart = other is None
    for n, (case, b) in enumerate(zip(cases, theirs, strict=True)):
        a = _outcome(case, version)
        if a != b:
            diff = _first_difference(json.loads(a), json.loads(b))
            out.append(f"{case.name}: {diff}; case {json.dumps(case.to_json())}")
        told_apart = told_apart or (other is not None and a != other[n])
    assert told_apart, "the cases do not tell the versions apart"
    return out


def _c(path: Path) -> Version:
    return load_c_version(f"c:{path}")()


# ------------------------------------------------------------- the mails' own C, cut out


@needs_mails
def test_p17_is_cut_out_and_only_the_missing_lines_supplied() -> None:
    """p17.c holds, in order, every `+` line of patch 17's mm/filemap.c hunks from the walk's
    signature to its closing brace, none of their `-` lines, and only the supplied lines
    (the gaps' lines, marked), each gap as long as the hunks' line numbers leave."""
    mail = MAIL_17.read_text(encoding="utf-8")
    p17, _ = c_files(mail, MAIL_19.read_text(encoding="utf-8"))
    lines = p17.splitlines()
    walk = lines[lines.index(SIGNATURE) :]
    supplied = [unmarked(line).strip() for line in walk if MARK in line]
    assert supplied == [unmarked(line).strip() for gap in GAPS for line in gap if line]
    assert supplied[-3:] == [
        "/* Check for outstanding write errors */",
        "if (test_and_clear_bit(AS_ENOSPC, &mapping->flags))",
        "ret = -ENOSPC;",
    ]
    used = walk_hunks(mail)
    new = [t for h in used for t in h.new]
    last = used[-1].new
    mine = new[new.index(SIGNATURE) : len(new) - len(last) + last.index("}") + 1]
    at = iter(walk)
    assert all(any(t == line for line in at) for t in mine), "a line of the mail is missing"
    removed = {t for h in used for t in h.old} - set(new)
    assert removed and not removed & set(walk)
    assert walk[-1] == "}" and sum(line.startswith("}") for line in walk) == 1


@needs_mails
def test_the_first_gap_is_what_patch_13_shows() -> None:
    """The four lines before the range check are patch 13's own (the patch that added it)."""
    assert gap_lines_patch_13_shows(MAIL_13.read_text(encoding="utf-8"))


@needs_mails
def test_p19_is_p17_with_patch_19s_hunks() -> None:
    """p19.c is p17.c less exactly the lines patch 19 removes (`curr` and the partial page
    count) plus the one it adds, each hunk matched once at the line its header names."""
    p17, p19 = c_files(MAIL_17.read_text(encoding="utf-8"), MAIL_19.read_text(encoding="utf-8"))
    fix = hunks(MAIL_19.read_text(encoding="utf-8"), "mm/filemap.c")
    removed = [t for h in fix for t in h.old if t not in h.new]
    added = [t for h in fix for t in h.new if t not in h.old]
    a, b = p17.split("\n")[4:], p19.split("\n")[5:]  # below the heads (4 and 5 lines)
    assert [t for t in a if t not in b] == removed
    assert [t for t in b if t not in a] == added == ["\tpgoff_t index;"]
    assert "curr" not in "\n".join(b) and "curr" in "\n".join(a)


@needs_mails
@pytest.mark.parametrize("name", ["p17", "p19"])
def test_the_mails_walks_are_their_python_twins(
    name: str,
    july_c: dict[str, Path],
    cases: list[Case],
    python_outcomes: dict[str, list[str]],
) -> None:
    """C p17 against Python p17, C p19 against Python p19: identical request facts, verdicts
    and events on every case (the corpus's of the era, hand-made, wide and random); and the
    cases tell each C walk from the other Python one."""
    version = _c(july_c[name])
    assert isinstance(version, JulyCVersion) and version.era == ERA
    assert len(cases) >= RANDOM_CASES + WIDE_CASES + len(HAND_MADE)
    other = python_outcomes["p19" if name == "p17" else "p17"]
    bad = _disagreements(version, cases, python_outcomes[name], other)
    assert not bad, f"{len(bad)} of {len(cases)} cases disagree; first: {bad[0]}"


def test_p19_walk_c_is_p19(cases: list[Case], python_outcomes: dict[str, list[str]]) -> None:
    """examples/versions/p19_walk.c, written from the spec, is `p19`."""
    bad = _disagreements(_c(P19_WALK_C), cases, python_outcomes["p19"], python_outcomes["p17"])
    assert not bad, f"{len(bad)} of {len(cases)} cases disagree; first: {bad[0]}"


# ----------------------------------------------------------------------------- the bridge


def test_named_points_pause_the_c_walk_where_they_pause_python() -> None:
    """`until lookup` stops right after a tag lookup and `until page` right before the wait
    (J20): the pauses and what follows each are the Python walk's."""
    case = next(c for c in HAND_MADE if c.name == "three-batches-paused")
    c, python = _c(P19_WALK_C), get_version("p19")
    events = evaluate(case, [c]).to_json()["versions"][c.name]["events"]
    assert sum(e["kind"] == "pause" for e in events) >= 4
    assert _outcome(case, c) == _outcome(case, python)


def test_a_run_ending_with_the_c_walk_asleep_leaves_nothing_behind(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A run that ends with the walk asleep in lock_page (or a synchronous writeback wait)
    unwinds the C when the world goes: no greenlet, no world kept alive, nothing printed."""
    version = _c(P19_WALK_C)
    asleep_at_end = next(c for c in HAND_MADE if c.name == "asleep-at-the-end")
    rng = random.Random(5)
    runs = [asleep_at_end] + [
        decode(rng.randbytes(rng.randint(2, INPUT_LEN_MAX)), ERA) for _ in range(300)
    ]
    asleep = 0
    for case in runs:
        evaluation = evaluate(case, [version])
        asleep += bool(evaluation.records[version.name].final.asleep)
        del evaluation
    gc.collect()
    assert asleep >= 10
    assert not [o for o in gc.get_objects() if isinstance(o, _Greenlet)]
    assert not [o for o in gc.get_objects() if isinstance(o, World)]
    assert capfd.readouterr() == ("", "")


def test_the_era_is_told_by_the_function_the_file_defines(tmp_path: Path) -> None:
    """wait_on_page_writeback_range_wq makes a July C version, the seed's three a seed one; a
    function named in a comment, declared or called is not defined; both eras in one file is
    one line naming the functions."""
    assert issubclass(load_c_version(f"c:{P19_WALK_C}"), JulyCVersion)
    assert issubclass(load_c_version(f"c:{FIXED_C}"), CVersion)
    assert defined_functions(P19_WALK_C.read_text()) == {
        "still_in_file",
        "wait_on_page_writeback_range_wq",
    }
    text = (
        "/* page_waiter(struct page *page) { } */\n"
        "#define page_writer(p) { }\n"
        'static const char *s = "operate_on_page_range(x) {";\n'
        "static int page_waiter(struct page *page);\n"
        "static int f(int (*g)(int)) { return page_writer(0); }\n"
        "static int h(void) __attribute__((cold, noinline));\n"
        "static int h(void) __attribute__((cold)) { return 1; }\n"
    )
    assert defined_functions(text) == {"f", "h"}
    both = tmp_path / "both.c"
    both.write_text(
        FIXED_C.read_text(encoding="utf-8") + P19_WALK_C.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    with pytest.raises(CVersionError) as info:
        load_c_version(f"c:{both}")
    assert str(info.value) == (
        f"c:{both}: defines operate_on_page_range, page_writer, page_waiter (the seed's era, "
        "2004-01) and wait_on_page_writeback_range_wq (the July 2004 era, 2004-07); a C "
        "version is of one era"
    )


def test_a_file_defining_neither_era_names_both(tmp_path: Path) -> None:
    path = tmp_path / "neither.c"
    path.write_text("static int helper(void) { return 0; }\n", encoding="utf-8")
    with pytest.raises(CVersionError) as info:
        load_c_version(f"c:{path}")
    assert str(info.value) == (
        f"c:{path}: operate_on_page_range is not defined (a C version defines "
        "operate_on_page_range, page_writer and page_waiter, or, for the July 2004 era, "
        "wait_on_page_writeback_range_wq)"
    )


def test_the_eras_headers_differ(tmp_path: Path) -> None:
    """The July era's names are not declared for seed-era C, nor the seed's write-out call for
    July C: each is a compile error at the user's line."""
    seed = tmp_path / "seed_tag.c"
    text = FIXED_C.read_text(encoding="utf-8")
    seed.write_text(text.replace("\tlock_page(page);\n", "\tcond_resched();\n", 1), "utf-8")
    with pytest.raises(CVersionError, match="implicit declaration of function 'cond_resched'"):
        load_c_version(f"c:{seed}")
    july = tmp_path / "july_dirty.c"
    walk = P19_WALK_C.read_text(encoding="utf-8")
    july.write_text(walk.replace("\tlock_page(page);\n", "\ttest_clear_page_dirty(page);\n"))
    with pytest.raises(CVersionError, match=r"implicit declaration of .*test_clear_page_dirty"):
        load_c_version(f"c:{july}")


def test_a_july_version_runs_only_in_its_era() -> None:
    with pytest.raises(EraMismatch):
        evaluate(load_case(CORPUS / "examples" / "one-page-aio.json"), [_c(P19_WALK_C)])


def test_bit_operations_off_the_mapping_raise(tmp_path: Path) -> None:
    """test_and_clear_bit on anything but AS_EIO/AS_ENOSPC of mapping->flags: CVersionError,
    with the user's line, as a broken Python version would raise."""
    path = tmp_path / "bits.c"
    walk = P19_WALK_C.read_text(encoding="utf-8")
    path.write_text(
        walk.replace(
            "test_and_clear_bit(AS_EIO, &mapping->flags)",
            "test_and_clear_bit(AS_EIO, &batch.pages[0]->index)",
        ),
        encoding="utf-8",
    )
    case = HAND_MADE[0]
    with pytest.raises(CVersionError, match="only AS_EIO and AS_ENOSPC of mapping->flags"):
        evaluate(case, [_c(path)])


# --------------------------------------------------------------------------------- the shell


def test_replay_runs_a_july_c_file_beside_p19(tmp_path: Path) -> None:
    """`pagefuzz replay CASE --versions p19,c:p19_walk.c`: the file is loaded in its fork
    server, which reports its era, so a case of the era runs it (and a case of the seed's era
    refuses it, naming the era); both read the same."""
    case = tmp_path / "three-batches.json"
    case.write_text(json.dumps(HAND_MADE[1].to_json()), encoding="utf-8")
    proc = pagefuzz("replay", str(case), "--versions", f"p19,c:{P19_WALK_C}", "--json")
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    assert list(obj["versions"]) == ["p19", "c:p19_walk.c"]
    mine, theirs = obj["versions"]["c:p19_walk.c"], obj["versions"]["p19"]
    assert mine["requests"] == theirs["requests"] and mine["verdict"] == theirs["verdict"]
    assert obj["differential"][0]["class"] == "same"
    seed_case = str(CORPUS / "examples" / "one-page-aio.json")
    proc = pagefuzz("replay", seed_case, "--versions", f"c:{P19_WALK_C}")
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith(
        "a case of era 2004-01, and none of the versions c:p19_walk.c is of it (that era's: "
        "pre, post, recheck-locked)"
    )


def test_the_shell_knows_a_files_era_from_its_fork_server() -> None:
    """A `c:` file's era is what its loaded code says (its fork server reports it), and one
    list of versions is of one era."""
    name = resolve_name(f"c:{P19_WALK_C}")
    assert name == "c:p19_walk.c"
    assert (era_of(name), era_of("p19"), era_of("post")) == (ERA, ERA, "2004-01")
    assert era_of_names(["p19", name]) == ERA
    with pytest.raises(ValueError, match="versions of two eras cannot run together"):
        era_of_names(["post", name])
