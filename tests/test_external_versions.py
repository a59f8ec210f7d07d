"""Versions from outside the package (`--versions py:FILE.py[:Class]`): loaded without editing
pagefuzz (in a fork server of their own, never in pagefuzz's process), named in every output by
the file's base name whatever path was typed, run by replay, fuzz workers and the explorer; a
bad file is one line naming it, exit 2."""

import json
import textwrap
from pathlib import Path

import pytest
from helpers import ROOT
from helpers import pagefuzz as _pagefuzz

EXAMPLE = "py:examples/versions/post_ends_on_curr.py"
#: Its identity: the file's base name (docs/versions.md, "One name per file").
NAME = "py:post_ends_on_curr.py"
TWO_PAGE = str(ROOT / "corpus" / "examples" / "post-two-page-last1.json")


def test_a_python_file_is_a_version_named_as_given() -> None:
    """post-two-page-last1: one two-page AIO write. post's write-out stops after p0 (the batch
    reached last, so `next > last`), and A completes with p1 never written: completion. The
    example's loop ends on `curr > last`, so it writes out and waits on p1 as well: it passes,
    completing after both I/Os (step 2, the drain's second completion). The pair reads
    `fixed`: the example fails a strict subset (none) of post's checks."""
    proc = _pagefuzz("replay", TWO_PAGE, "--versions", f"post,{EXAMPLE}", "--json")
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    assert list(obj["versions"]) == ["post", NAME]
    mine = obj["versions"][NAME]
    assert mine["verdict"] == "pass"
    assert mine["requests"]["A"]["completed_at"] == 2
    assert obj["differential"][0]["pair"] == ["post", NAME]
    assert obj["differential"][0]["class"] == "fixed"


def test_fuzz_workers_and_explore_load_the_file(tmp_path: Path) -> None:
    """Workers run in the campaign's directory: the relative path still resolves, and their
    findings are keyed by the file's name."""
    out = tmp_path / "c"
    proc = _pagefuzz(
        "fuzz", "--engine", "random", "--fresh", "--time", "3", "--out", str(out),
        "--versions", f"post,{EXAMPLE}",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # new findings (post's, and the example's)
    summary = json.loads((out / "campaign.json").read_text())
    assert summary["versions"] == ["post", NAME]
    assert summary["executions"] > 0
    keys = {f["key"] for f in summary["findings"]}
    assert any(k.startswith(f"{NAME}/") for k in keys), keys
    # Its findings replay in the versions they record (post and the example), expect blocks
    # naming the file's version (and the pair post/py:...) included.
    proc = _pagefuzz("replay", str(out))
    assert proc.returncode == 0, proc.stderr
    assert NAME in proc.stdout
    proc = _pagefuzz(
        "explore", "--max-steps", "2", "--versions", EXAMPLE, "--out", str(tmp_path / "x")
    )
    # One step suffices: an unaligned one-page write claims its whole range at once, as post
    # does (the R8 clamp of docs/model.md; the example changed only where the loop ends).
    assert proc.returncode == 1, proc.stderr
    cert = json.loads((tmp_path / "x" / "certificate.json").read_text())
    assert list(cert["versions"]) == [NAME]
    found = cert["versions"][NAME]
    assert found[f"{NAME}/completion/aio_write"]["steps"] == 1
    # File names are slugs of the name: no ':' (nor any path) in them.
    assert found[f"{NAME}/completion/aio_write"]["case"].startswith(
        "shortest-py-post_ends_on_curr.py-completion-aio_write-"
    )


BAD = {
    "missing": (None, "py:{dir}/missing.py: no such file"),
    "syntax": ("def broken(:\n", "py:{dir}/syntax.py: cannot import: SyntaxError: "),
    "raises": ("raise RuntimeError('no')\n", "py:{dir}/raises.py: cannot import: RuntimeError: no"),
    "none": ("X = 1\n", "py:{dir}/none.py: defines no subclass of pagefuzz.sim.world.Version"),
    "two": (
        "from pagefuzz.impls.post import Post\nclass A(Post): pass\nclass B(Post): pass\n",
        "py:{dir}/two.py: defines 2 Version subclasses (A, B); name one: py:{dir}/two.py:A",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_file_is_one_line(tmp_path: Path, name: str) -> None:
    source, message = BAD[name]
    if source is not None:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    proc = _pagefuzz("replay", TWO_PAGE, "--versions", f"py:{tmp_path}/{name}.py")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("pagefuzz: error: --versions: " + message.format(dir=tmp_path))
    assert "Traceback" not in proc.stderr


def test_class_chooses_among_several(tmp_path: Path) -> None:
    (tmp_path / "two.py").write_text(BAD["two"][0] or "")
    proc = _pagefuzz("replay", TWO_PAGE, "--versions", f"py:{tmp_path}/two.py:B", "--json")
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads(proc.stdout)["versions"]) == ["py:two.py:B"]
    proc = _pagefuzz("replay", TWO_PAGE, "--versions", f"py:{tmp_path}/two.py:C")
    assert proc.returncode == 2
    assert "no Version subclass named 'C' (it defines: A, B)" in proc.stderr


def test_pairs_split_where_both_sides_are_version_names() -> None:
    """`a/b` keys of expect.differential: the leftmost "/" with a name on each side, because a
    file's path holds "/" too. "post/py:a/b.py": "post" | "py:a/b.py". "py:a/b.py/py:c.py":
    "py:a" | "b.py/py:c.py" fails ("b.py/py:c.py" is no name), so "py:a/b.py" | "py:c.py"."""
    from pagefuzz.sim.case import split_pair

    assert split_pair("pre/post") == ("pre", "post")
    assert split_pair("post/py:a/b.py") == ("post", "py:a/b.py")
    assert split_pair("py:a/b.py/py:c.py") == ("py:a/b.py", "py:c.py")
    assert split_pair("c:x/fix.c/fixed") == ("c:x/fix.c", "fixed")
    assert split_pair("pre") is None
    assert split_pair("pre/po st") is None


def test_a_case_remembers_its_versions_and_says_when_a_file_changed(tmp_path: Path) -> None:
    """explore writes its counterexamples with the versions they were found with (name, path as
    typed, file, SHA-256). Replayed without --versions they run in those versions (py:mine.py,
    not the default three). Once the file has changed, the replay says so in one warning line
    naming it, and still runs; once it is gone (and not where it was typed either), one line
    says which flag to pass, exit 2."""
    mine = tmp_path / "mine.py"
    mine.write_text((ROOT / EXAMPLE[3:]).read_text())
    proc = _pagefuzz("explore", "--max-steps", "1", "--versions", "py:mine.py", "--out", "x",
                     cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    (case,) = sorted((tmp_path / "x").glob("shortest-py-mine.py-completion-*.json"))
    recorded = json.loads(case.read_text())["versions"]
    assert recorded == [
        {
            "name": "py:mine.py",
            "given": "py:mine.py",
            "file": str(mine),
            "sha256": __import__("hashlib").sha256(mine.read_bytes()).hexdigest(),
        }
    ]
    proc = _pagefuzz("replay", str(case), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads(proc.stdout)["versions"]) == ["py:mine.py"]
    mine.write_text(mine.read_text() + "# changed\n")
    proc = _pagefuzz("replay", str(case), cwd=ROOT)  # not where it was typed: where it was
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith(f"warning: py:mine.py: {mine} has changed since the case was ")
    assert proc.stderr.count("\n") == 1  # one line, once
    mine.unlink()
    proc = _pagefuzz("replay", str(case), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (
        f"pagefuzz: error: {case}: versions: py:mine.py: recorded from {mine}, which is not "
        "there; name the file: --versions py:PATH\n"
    )


def test_one_name_and_signature_per_file_however_its_path_is_typed(tmp_path: Path) -> None:
    """`py:sub/mine.py` typed from one directory and `py:../sub/mine.py` from another are one
    version, `py:mine.py`, whose findings have one signature (post's unaligned-clamp bug, the
    example's too, on post-unaligned-clamp). Two different files named mine.py in one run are
    refused, one line."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "sub" / "mine.py").write_text((ROOT / EXAMPLE[3:]).read_text())
    case = str(ROOT / "corpus" / "examples" / "post-unaligned-clamp.json")
    runs = []
    for cwd, spelling in ((tmp_path, "py:sub/mine.py"), (tmp_path / "other", "py:../sub/mine.py")):
        proc = _pagefuzz("replay", case, "--json", "--versions", spelling, cwd=cwd)
        # The case's expect names only built-in versions, none of which ran: nothing to hold.
        assert proc.returncode == 0, proc.stderr
        obj = json.loads(proc.stdout)
        runs.append((list(obj["versions"]), obj["versions"]["py:mine.py"]["violations"]))
    assert runs[0] == runs[1] and runs[0][0] == ["py:mine.py"] and runs[0][1]
    (tmp_path / "other" / "mine.py").write_text((ROOT / EXAMPLE[3:]).read_text() + "# other\n")
    proc = _pagefuzz("replay", case, "--versions", "py:sub/mine.py,py:other/mine.py",
                     cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == (
        "pagefuzz: error: --versions: py:other/mine.py: another version in this run is named "
        f"py:mine.py (py:sub/mine.py, {tmp_path / 'sub' / 'mine.py'}); rename one of the files\n"
    )
