"""The `pagefuzz` command as a user meets it: help, exit codes, one-line errors, determinism."""

import json
from pathlib import Path

import pytest
from helpers import pagefuzz as _run

from pagefuzz._cli import main

ROOT = Path(__file__).resolve().parent.parent
ONE_PAGE = ROOT / "corpus" / "examples" / "one-page-aio.json"


def test_help_lists_replay(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "replay" in capsys.readouterr().out


def test_replay_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """--help exits 0 and names every exit status of replay (README's table: 0, 1, 2, 130)."""
    with pytest.raises(SystemExit) as info:
        main(["replay", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert (
        'Exit codes: 0 every expectation met (or none given), 1 a case\'s "expect" did not hold, '
        "or a version's code died or hung on a case that does not expect it, 2 bad input, 130 "
        "interrupted."
    ) in " ".join(out.split())


def test_acceptance_one_page_aio(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 2 acceptance. pre: the wait phase locks p0, sets next = 1, unlocks, queues the
    entry (p0 under writeback) and returns bytes = (1 << 12) - 0 = 4096 = count, so aio_pwrite
    completes at once (step 0, 1 run) with p0 still under writeback. post: curr stays 0, bytes 0,
    -EIOCBRETRY; complete_io(p0) at step 1 wakes A; run 2 finds p0 clean, curr = 1, 4096."""
    assert main(["replay", str(ONE_PAGE), "--json", "--impl", "pre,post"]) == 0
    out = json.loads(capsys.readouterr().out)
    pre = out["versions"]["pre"]["requests"]["A"]
    post = out["versions"]["post"]["requests"]["A"]
    assert (
        pre["result"],
        pre["completed_at"],
        pre["retries"],
        pre["not_on_disk_at_completion"],
    ) == (4096, 0, 1, [0])
    assert (
        post["result"],
        post["completed_at"],
        post["retries"],
        post["not_on_disk_at_completion"],
    ) == (4096, 1, 2, [])
    assert out["versions"]["pre"]["verdict"] == "fail"
    assert out["versions"]["post"]["verdict"] == "pass"
    assert out["differential"][0]["pair"] == ["pre", "post"]
    assert out["differential"][0]["class"] == "fixed"


def test_json_is_byte_identical_across_processes_and_hash_seeds() -> None:
    """The whole corpus replayed under three hash seeds: each run meets every case's expect
    (exit 0, the count line on stderr), and the JSON Lines are the same bytes, one per case."""
    n = len(list((ROOT / "corpus").rglob("*.json")))
    outputs = set()
    for seed in ("0", "1", "4242"):
        proc = _run("replay", str(ROOT / "corpus"), "--json", env={"PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stderr == f"replay: {n} cases: 0 failed, {n} passed\n"
        outputs.add(proc.stdout)
    assert len(outputs) == 1
    lines = outputs.pop().splitlines()
    assert len(lines) == n
    assert all(json.loads(line)["case"] for line in lines)


def test_bad_case_file_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "pagefuzz/case-v1", "steps": [{"op": "flush"}]}))
    proc = _run("replay", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"pagefuzz: error: {bad}: steps[0].page: missing (required by flush)"
    ]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"{not json", "invalid JSON at line 1"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "a case must be a JSON object"),
    ],
)
def test_unusable_files_are_one_line(tmp_path: Path, content: bytes, needle: str) -> None:
    bad = tmp_path / "x.json"
    bad.write_bytes(content)
    proc = _run("replay", str(bad))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert needle in proc.stderr and str(bad) in proc.stderr


def test_directory_and_unknown_version_and_bad_flag(tmp_path: Path) -> None:
    assert _run("replay", str(tmp_path)).returncode == 2
    proc = _run("replay", str(ONE_PAGE), "--impl", "nosuch")
    assert proc.returncode == 2 and "unknown version 'nosuch'" in proc.stderr
    proc = _run("replay", str(ONE_PAGE), "--frobnicate")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_changed_expectation_exits_1_with_readable_diff(tmp_path: Path) -> None:
    raw = json.loads(ONE_PAGE.read_text())
    raw["expect"] = {"checks": {"pre": [], "post": []}, "differential": {"pre/post": "same"}}
    case = tmp_path / "changed.json"
    case.write_text(json.dumps(raw))
    proc = _run("replay", str(case), "--impl", "pre,post", env={"CI": "true"})
    assert proc.returncode == 1
    assert "MISMATCH expected pre: pass, got [completion, kernel_bug]" in proc.stdout
    assert "MISMATCH expected pre/post: same, got fixed" in proc.stdout


def test_trace_prints_timeline_plain_when_piped() -> None:
    proc = _run("replay", str(ONE_PAGE), "--trace", "--impl", "post", env={"CI": "true"})
    assert proc.returncode == 0
    assert "timeline post" in proc.stdout
    assert "\x1b[" not in proc.stdout
    assert "   1  disk     I/O on p0 done (gen 1 on disk)" in proc.stdout


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`pagefuzz --version`: the distribution's version, which is pyproject's (0.1.0)."""
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == "pagefuzz 0.1.0\n"


def test_version_falls_back_to_pyproject(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a checkout that was never installed: pyproject.toml's version."""
    from importlib import metadata

    from pagefuzz import _version

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert _version.package_version() == "0.1.0"


def test_every_public_name_imports() -> None:
    """pagefuzz's `__all__` is its public API: each name is there and importable."""
    import pagefuzz

    assert {"evaluate", "Evaluation", "FindingKey", "load_source", "load_case"} <= set(
        pagefuzz.__all__
    )
    for name in pagefuzz.__all__:
        namespace: dict[str, object] = {}
        exec(f"from pagefuzz import {name}", namespace)
        assert namespace[name] is getattr(pagefuzz, name)


def test_versions_and_its_alias_add_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--versions pre --impl post` names both, in order, on explore as on replay. One step is
    one AIO write, and the drain: pre counts the page it waits on before waiting (`next =
    page->index + 1`), so it claims the range with the I/O in flight (completion, byte_count)
    and completes with its entry queued (kernel_bug); post, on a write whose batch reaches
    `last`, writes out only the first page and completes with the second dirty (completion),
    and on an unaligned write clamps the negative `bytes` to `count` with its entry queued
    (kernel_bug). README's walk-through and docs/findings.md trace both."""
    out = tmp_path / "x"
    argv = ["explore", "--max-steps", "1", "--versions", "pre", "--impl", "post", "--out", str(out)]
    assert main([*argv, "--json"]) == 1
    cert = json.loads(capsys.readouterr().out)
    assert list(cert["versions"]) == ["pre", "post"]
    assert sorted(cert["versions"]["pre"]) == [
        "pre/byte_count/aio_write",
        "pre/completion/aio_write",
        "pre/kernel_bug/aio_write",
    ]
    assert sorted(cert["versions"]["post"]) == [
        "post/completion/aio_write",
        "post/kernel_bug/aio_write",
    ]
    assert main(["replay", str(ONE_PAGE), "--json", "--impl", "post", "--versions", "pre"]) == 0
    assert list(json.loads(capsys.readouterr().out)["versions"]) == ["post", "pre"]
