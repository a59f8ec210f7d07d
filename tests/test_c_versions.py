"""`c:FILE.c` versions: the kernel's own C running in the simulated world (impls/cversion.py).

The proof is the seed's own code: its `-` and `+` sides, cut out of the patch at test time
(tests/cseed.py), compiled with pagefuzz's kernel header, must give exactly what the Python
`pre` and `post` give (request facts, verdicts, every event, `Evaluation.to_json()` less the
version's name) on every corpus case and on 2,000 random decoded cases; and
examples/versions/fixed.c must give what `fixed` gives. Then the bridge itself: named points,
Python and C operators mixed, a run that ends with C asleep in it, errors raised by C's kernel
calls, BUG_ON; bad C as one line naming the file and line; the build cache.

Skipped, with the reason, where there is no C compiler, and (the seed's tests) where the seed
patch is not beside the repository.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cseed import MARK, SEED, c_file, hunks, seed_lines_of_page_writer, write_seed_versions

from pagefuzz._casefile import load_case
from pagefuzz.fuzz.generation.decode import INPUT_LEN_MAX, decode
from pagefuzz.impls import cbuild
from pagefuzz.impls.cversion import CVersion, CVersionError, _Greenlet, load_c_version
from pagefuzz.impls.post import Post
from pagefuzz.impls.registry import get_version
from pagefuzz.oracle.evaluate import evaluate
from pagefuzz.sim import Case, Version, parse_case
from pagefuzz.sim.mm import Page
from pagefuzz.sim.points import Gen
from pagefuzz.sim.world import Actor, World

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
FIXED_C = ROOT / "examples" / "versions" / "fixed.c"
RANDOM_CASES = 2000

pytestmark = pytest.mark.skipif(
    cbuild.compiler() is None, reason="no C compiler here (cc, gcc, clang or $CC)"
)
needs_seed = pytest.mark.skipif(
    not SEED.is_file(), reason=f"the seed patch is not here: {SEED} (tests read it at test time)"
)


@pytest.fixture(scope="module", autouse=True)
def c_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A build cache of this module's own, so that the tests build what they load."""
    cache = tmp_path_factory.mktemp("c-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(cbuild.CACHE_ENV, str(cache))
        yield cache


@pytest.fixture(scope="module")
def seed_c(tmp_path_factory: pytest.TempPathFactory, c_cache: Path) -> dict[str, Path]:
    if not SEED.is_file():
        pytest.skip(f"the seed patch is not here: {SEED}")
    pre, post = write_seed_versions(tmp_path_factory.mktemp("seed-c"))
    return {"pre": pre, "post": post}


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    """Every corpus case of the seed's era (the versions here are of it), then RANDOM_CASES
    decoded from seeded random bytes."""
    out = [load_case(p) for p in sorted(CORPUS.rglob("*.json"))]
    out = [case for case in out if case.config.era == "2004-01"]
    rng = random.Random(20040104)
    out += [decode(rng.randbytes(rng.randint(2, INPUT_LEN_MAX))) for _ in range(RANDOM_CASES)]
    return out


def _c(path: Path) -> Version:
    return load_c_version(f"c:{path}")()


def _outcome(case: Case, version: Version) -> str:
    """`Evaluation.to_json()` of the case in one version, its name left out."""
    text = json.dumps(evaluate(case, [version]).to_json(), sort_keys=True)
    return text.replace(json.dumps(version.name), '"VERSION"')


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


def _disagreements(c_version: Version, python: Version, cases: list[Case]) -> list[str]:
    out = []
    for case in cases:
        a, b = _outcome(case, c_version), _outcome(case, python)
        if a != b:
            diff = _first_difference(json.loads(a), json.loads(b))
            out.append(f"{case.name}: {diff}; case {json.dumps(case.to_json())}")
    return out


# --------------------------------------------------------------- the seed's own C, cut out


@needs_seed
@pytest.mark.parametrize("sign", ["-", "+"])
def test_the_seeds_sides_are_cut_out_and_only_the_missing_lines_supplied(sign: str) -> None:
    """Each side holds every line of its side of the hunks of operate_on_page_range and
    page_waiter, none of the other side's changed lines, and only the four supplied lines
    (signature, `if (count == 0)`, `pagevec_release(&pvec);`, the closing brace), marked."""
    patch = SEED.read_text(encoding="utf-8")
    text = c_file(patch, sign)
    supplied = [line for line in text.splitlines() if MARK in line]
    assert [line.split(MARK)[0].strip() for line in supplied] == [
        "static ssize_t operate_on_page_range(struct address_space *mapping,",
        "if (count == 0)",
        "pagevec_release(&pvec);",
        "}",
    ]
    loop = text.split("static int page_writer(struct page *page)")[0].splitlines()
    used = [h for h in hunks(patch) if not h.context.startswith("static int page_writer(")]
    mine = [t for h in used for t in (h.old if sign == "-" else h.new)]
    theirs = {t for h in used for t in (h.new if sign == "-" else h.old)} - set(mine)
    at = iter(loop)
    assert all(any(t == line for line in at) for t in mine), "a seed line is missing or moved"
    assert not theirs & set(loop)


@needs_seed
@pytest.mark.parametrize("sign", ["-", "+"])
def test_page_writers_contain_the_seeds_lines(sign: str) -> None:
    """The page_writer written from rule 20 holds, in order, every line the seed shows of it."""
    patch = SEED.read_text(encoding="utf-8")
    seed = seed_lines_of_page_writer(patch, sign)
    writer = c_file(patch, sign).split("static int page_writer(struct page *page)")[1]
    mine = iter(line.strip() for line in writer.splitlines())
    missing = [line for line in seed if not any(line == m for m in mine)]
    assert not missing


@needs_seed
@pytest.mark.parametrize("name", ["pre", "post"])
def test_the_seeds_c_is_its_python_twin(
    name: str, seed_c: dict[str, Path], cases: list[Case]
) -> None:
    """C pre against Python pre, C post against Python post: identical request facts,
    verdicts and events on every corpus case and on RANDOM_CASES random ones."""
    version = _c(seed_c[name])
    assert version.name == f"c:{seed_c[name]}"
    assert len(cases) >= RANDOM_CASES + 40
    bad = _disagreements(version, get_version(name), cases)
    assert not bad, f"{len(bad)} of {len(cases)} cases disagree; first: {bad[0]}"


def test_fixed_c_is_fixed(cases: list[Case]) -> None:
    """examples/versions/fixed.c, the C rendering of impls/fixed.py, is `fixed`."""
    bad = _disagreements(_c(FIXED_C), get_version("fixed"), cases)
    assert not bad, f"{len(bad)} of {len(cases)} cases disagree; first: {bad[0]}"


# ----------------------------------------------------------------------------- the bridge

#: A three-page AIO write run one named point at a time, with truncation, a synchronous
#: writer and I/O completions between the pauses.
PAUSES = parse_case(
    {
        "format": "pagefuzz/case-v1",
        "name": "pauses",
        "config": {"file_pages": 3, "wait_queues": 2, "auto_settle": False},
        "steps": [
            {"op": "aio_write", "iocb": "A", "pos": 0, "count": 12288},
            {"op": "run", "iocb": "A", "until": "page"},
            {"op": "run", "iocb": "A", "until": "lookup"},
            {"op": "truncate", "task": "T", "size": 8192},
            {"op": "run", "task": "T"},
            {"op": "run", "iocb": "A", "until": "page"},
            {"op": "complete_io", "page": 0},
            {"op": "run", "iocb": "A", "until": "lookup"},
            {"op": "sync_write", "task": "S", "pos": 0, "count": 8192},
            {"op": "run", "task": "S", "until": "page"},
            {"op": "run", "iocb": "A", "until": "page"},
            {"op": "complete_io", "page": 1},
            {"op": "run", "task": "S"},
            {"op": "run", "iocb": "A"},
        ],
    }
)


def test_named_points_pause_c_where_they_pause_python() -> None:
    """`until lookup` and `until page` stop the C at the same events as the Python."""
    c, python = _c(FIXED_C), get_version("fixed")
    events = evaluate(PAUSES, [c]).to_json()["versions"][c.name]["events"]
    assert sum(e["kind"] == "pause" for e in events) >= 5
    assert _outcome(PAUSES, c) == _outcome(PAUSES, python)


def test_python_and_c_functions_mix(cases: list[Case]) -> None:
    """The C loop calling a Python operator (through its trampoline), and a Python loop
    calling the C operators (each its own greenlet): both are `fixed` still."""
    cls = load_c_version(f"c:{FIXED_C}")
    fixed = get_version("fixed")

    class PythonWaiter(cls):  # type: ignore[valid-type, misc]
        def page_waiter(self, k: World, ctx: Actor, page: Page) -> Gen[int]:
            return Post.page_waiter(self, k, ctx, page)

    class PythonLoop(cls):  # type: ignore[valid-type, misc]
        def operate_on_page_range(self, *args: Any) -> Gen[int]:
            return type(fixed).operate_on_page_range(self, *args)

    for mixed in (PythonWaiter(), PythonLoop()):
        bad = _disagreements(mixed, fixed, cases[:300])
        assert not bad, f"{type(mixed).__name__}: {bad[0]}"


def test_a_run_ending_with_c_asleep_leaves_nothing_behind(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Runs that end with a task asleep inside the C (lock_page, a synchronous writeback wait)
    unwind it when the world goes: no greenlet, no world kept alive, nothing printed."""
    version = _c(FIXED_C)
    rng = random.Random(3)
    asleep = 0
    for _ in range(400):
        evaluation = evaluate(decode(rng.randbytes(rng.randint(2, INPUT_LEN_MAX))), [version])
        asleep += bool(evaluation.records[version.name].final.asleep)
        del evaluation
    gc.collect()
    assert asleep >= 20
    assert not [o for o in gc.get_objects() if isinstance(o, _Greenlet)]
    assert not [o for o in gc.get_objects() if isinstance(o, World)]
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def _variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = FIXED_C.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


ONE_PAGE = parse_case(
    {
        "format": "pagefuzz/case-v1",
        "name": "one-page",
        "config": {"file_pages": 1},
        "steps": [
            {"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096},
            {"op": "complete_io", "page": 0},
        ],
    }
)


def test_bug_on_is_a_kernel_bug_at_the_users_line(tmp_path: Path) -> None:
    path = _variant(
        tmp_path, "bug.c", "\tif (count == 0)\n", "\tBUG_ON(count != 0);\n\tif (count == 0)\n"
    )
    line = path.read_text().splitlines().index("\tBUG_ON(count != 0);") + 1
    version = _c(path)
    evaluation = evaluate(ONE_PAGE, [version])
    assert "kernel_bug" in evaluation.verdicts[version.name].checks
    explanations = [v.explanation for v in evaluation.verdicts[version.name].violations]
    assert f"{version.name} line {line}: BUG_ON(count != 0)" in explanations


def test_a_kernel_call_given_a_forged_page_raises(tmp_path: Path) -> None:
    """C that hands the world a struct page it did not get from it: the run raises
    CVersionError (the C unwinds first), as a broken Python version would raise."""
    path = _variant(
        tmp_path,
        "forged.c",
        "\tlock_page(page);\n",
        "\t{ struct page fake = *page; fake.pf_serial = 99; lock_page(&fake); }\n",
    )
    version = _c(path)
    with pytest.raises(CVersionError, match="struct page the world did not hand out"):
        evaluate(ONE_PAGE, [version])
    fixed = evaluate(ONE_PAGE, [get_version("fixed")]).verdicts["fixed"]
    assert fixed.checks == ()  # the world is fine


# ------------------------------------------------------------------------------- bad C


def _error(spec: str) -> str:
    with pytest.raises(CVersionError) as info:
        load_c_version(spec)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_compile_error_is_one_line_with_the_users_file_and_line(tmp_path: Path) -> None:
    path = _variant(tmp_path, "broken.c", "\t\t\tcurr++;\n\t\t}", "\t\t\tcurr++\n\t\t}")
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if t == "\t\t\tcurr++")
    message = _error(f"c:{path}")
    assert re.fullmatch(
        rf"c:{re.escape(str(path))}: {re.escape(str(path))}:{line}:\d+: error: expected ';' .*",
        message,
    ), message


def test_a_relative_path_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _variant(tmp_path, "broken.c", "\treturn done ? done : ret;", "\treturn done ? done : ;")
    monkeypatch.chdir(tmp_path)
    assert _error("c:broken.c").startswith("c:broken.c: broken.c:")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(cbuild.BASE_ENV, str(tmp_path))  # a campaign worker's base directory
    assert _error("c:broken.c").startswith("c:broken.c: broken.c:")


def test_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.c"
    assert _error(f"c:{missing}") == f"c:{missing}: {missing}: no such file"


def test_a_file_without_page_writer(tmp_path: Path) -> None:
    text = FIXED_C.read_text(encoding="utf-8")
    path = tmp_path / "no-writer.c"
    path.write_text(text[: text.index("/* kernel-model.md rule 20")], encoding="utf-8")
    assert _error(f"c:{path}") == (
        f"c:{path}: page_writer is not defined (a C version defines operate_on_page_range,"
        " page_writer and page_waiter)"
    )


def test_a_call_of_an_undeclared_function(tmp_path: Path) -> None:
    path = _variant(tmp_path, "undeclared.c", "\tlock_page(page);\n", "\tlock_pages(page);\n")
    message = _error(f"c:{path}")
    assert f"{path}:" in message and "implicit declaration of function 'lock_pages'" in message


def test_no_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "/nonexistent/cc")
    assert _error(f"c:{FIXED_C}") == (
        f"c:{FIXED_C}: no C compiler found (install cc, gcc or clang, or set CC)"
    )


def test_not_a_c_spec() -> None:
    assert _error("c:") == "c:: a C version is named c:PATH.c"


# --------------------------------------------------------------------------- the cache

LOAD = "from pagefuzz.impls.cversion import load_c_version; load_c_version({spec!r})()"


def test_one_build_per_content_shared_by_processes(tmp_path: Path) -> None:
    """Four processes load the same file at once into an empty cache: all succeed, and the
    cache ends with one complete build and no leftovers; a later process compiles nothing."""
    cache = tmp_path / "cache"
    spec = f"c:{FIXED_C}"
    env = {**os.environ, cbuild.CACHE_ENV: str(cache)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD.format(spec=spec)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    (build,) = cache.iterdir()
    assert not build.name.startswith(".")
    modules = list(build.glob("*.so"))
    assert len(modules) == 1
    before = modules[0].stat().st_mtime_ns
    again = subprocess.run(
        [sys.executable, "-c", LOAD.format(spec=spec)], env={**env, "CC": "/nonexistent/cc"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    # The compiler is part of the key: with another one, it builds (here: fails) anew ...
    # (the error escapes `python -c`: status 1, the error the traceback's last line)
    assert again.returncode == 1, again.stderr
    assert again.stderr.splitlines()[-1] == (
        f"pagefuzz.impls.cversion.CVersionError: {spec}: no C compiler found (install cc, gcc "
        "or clang, or set CC)"
    )
    again = subprocess.run(
        [sys.executable, "-c", LOAD.format(spec=spec)], env=env, capture_output=True, check=False
    )
    # ... and with the same one, it loads what is there.
    assert again.returncode == 0
    assert [p.name for p in cache.iterdir()] == [build.name]
    assert modules[0].stat().st_mtime_ns == before


def test_the_kernel_header_is_package_data() -> None:
    assert "pagevec_lookup" in cbuild.kernel_header()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"pagefuzz.impls" = ["kernel.h"]' in pyproject
    assert issubclass(load_c_version(f"c:{FIXED_C}"), CVersion)
