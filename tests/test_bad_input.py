"""Bad case files through the CLI: one line naming the file (and the step and field), exit 2,
no traceback, nothing written."""

import json
from pathlib import Path

import pytest
from helpers import ROOT, pagefuzz

from pagefuzz._cli import main

GOOD = {
    "format": "pagefuzz/case-v1",
    "name": "ok",
    "config": {"file_pages": 2},
    "steps": [{"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096}],
}


def _with(**change: object) -> dict[str, object]:
    raw = json.loads(json.dumps(GOOD))
    raw.update(change)
    return raw


def _step(**fields: object) -> dict[str, object]:
    return _with(steps=[{"op": "aio_write", "iocb": "A", "pos": 0, "count": 4096}, fields])


CASES = [
    ("invalid-json", b'{"format": ', "invalid JSON at line 1"),
    ("not-utf8", b"\x80\x81\x82", "not UTF-8 (byte 0)"),
    ("empty", b"", "invalid JSON"),
    ("a-list", b"[1, 2]", "a case must be a JSON object"),
    ("no-format", _with(format=None) | {"format": "x"}, "format: must be 'pagefuzz/case-v1'"),
    ("missing-format", {k: v for k, v in GOOD.items() if k != "format"}, "format: missing"),
    ("unknown-top-field", _with(colour="red"), "colour: unknown field"),
    ("steps-not-list", _with(steps={"op": "settle"}), "steps: must be a list"),
    ("step-not-object", _with(steps=["settle"]), "steps[0]: must be an object"),
    ("unknown-op", _step(op="fsync"), "steps[1].op: unknown op 'fsync'"),
    ("missing-op", _step(page=1), "steps[1].op: missing"),
    ("unknown-step-field", _step(op="flush", page=0, force=True), "steps[1].force: not a field"),
    ("missing-field", _step(op="flush"), "steps[1].page: missing (required by flush)"),
    (
        "negative-pos",
        _step(op="aio_write", iocb="B", pos=-1, count=1),
        "steps[1].pos: must be between",
    ),
    (
        "huge-count",
        _step(op="aio_write", iocb="B", pos=0, count=1 << 40),
        "steps[1].count: must be between",
    ),
    (
        "pos-string",
        _step(op="aio_write", iocb="B", pos="0", count=1),
        "steps[1].pos: must be an integer",
    ),
    (
        "count-bool",
        _step(op="aio_write", iocb="B", pos=0, count=True),
        "steps[1].count: must be an integer",
    ),
    ("page-out-of-range", _step(op="flush", page=1 << 30), "steps[1].page: must be between"),
    (
        "error-not-bool",
        _step(op="complete_io", page=0, error="yes"),
        "steps[1].error: must be true or false",
    ),
    ("bad-until", _step(op="run", iocb="A", until="midway"), "steps[1].until: must be one of"),
    ("run-both", _step(op="run", iocb="A", task="T"), "steps[1].task: run names exactly one"),
    (
        "duplicate-iocb",
        _step(op="aio_write", iocb="A", pos=0, count=1),
        "steps[1].iocb: iocb 'A' is already submitted",
    ),
    (
        "task-named-like-iocb",
        _step(op="write", task="A", pos=0, count=1),
        "steps[1].task: 'A' is an iocb's name",
    ),
    (
        "reserved-name",
        _step(op="write", task="disk", pos=0, count=1),
        "steps[1].task: 'disk' is reserved",
    ),
    ("bad-name", _step(op="write", task="a b", pos=0, count=1), "steps[1].task: must be a name"),
    (
        "queues-zero",
        _with(config={"wait_queues": 0}),
        "config.wait_queues: must be between 1 and 4096",
    ),
    ("pages-too-many", _with(config={"file_pages": 100000}), "config.file_pages: must be between"),
    (
        "pin-out-of-range",
        _with(config={"wait_queues": 2, "queue_of": {"0": 5}}),
        "config.queue_of.0: must be between 0 and 1",
    ),
    (
        "pin-bad-key",
        _with(config={"queue_of": {"01": 0}}),
        "config.queue_of.01: key must be a page index",
    ),
    (
        "unknown-lookup-rule",
        _with(config={"lookup_next": "radix"}),
        "config.lookup_next: must be one of",
    ),
    ("unknown-config-field", _with(config={"hash": "fnv"}), "config.hash: unknown field"),
    (
        "settle-bound-zero",
        _with(config={"settle_bound": 0}),
        "config.settle_bound: must be between",
    ),
    (
        "unknown-version-in-expect",
        _with(expect={"checks": {"pre2": []}}),
        "expect.checks.pre2: unknown version",
    ),
    (
        "unknown-check-in-expect",
        _with(expect={"checks": {"pre": ["speed"]}}),
        "expect.checks.pre[0]: unknown check 'speed'",
    ),
    (
        "unknown-class-in-expect",
        _with(expect={"differential": {"pre/post": "better"}}),
        "expect.differential.pre/post: unknown class",
    ),
    ("unknown-field-in-expect", _with(expect={"verdict": "fail"}), "expect.verdict: unknown field"),
    ("expect-not-object", _with(expect=[]), "expect: must be an object"),
    (
        "checks-not-a-list",
        _with(expect={"checks": {"pre": "completion"}}),
        "expect.checks.pre: must be a list of checks",
    ),
    (
        "version-name-malformed-in-expect",
        _with(expect={"checks": {"pre post": []}}),
        "expect.checks.pre post: not a version name",
    ),
    (
        "pair-not-a-pair",
        _with(expect={"differential": {"pre": "same"}}),
        'expect.differential.pre: must name two versions as "a/b"',
    ),
    (
        "unknown-version-in-pair",
        _with(expect={"differential": {"pre/post2": "same"}}),
        'expect.differential.pre/post2: must name two known versions as "a/b"',
    ),
]


@pytest.mark.parametrize(("name", "content", "needle"), CASES, ids=[c[0] for c in CASES])
def test_bad_case_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: object, needle: str
) -> None:
    path = tmp_path / f"{name}.json"
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"pagefuzz: error: {path}: ")
    assert needle in err, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("wrapper", ["case", "finding", "raw-finding"])
def test_every_loading_path_checks_the_versions_of_expect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], wrapper: str
) -> None:
    """parse_case checks expect's form; whether its versions exist is the registry's, asked by
    the shell's one door (`_replay.case_from_json`) whatever holds the case: a case file, a
    campaign's minimised finding, a raw one. The field is named inside the finding (`case.`)."""
    case = _with(expect={"checks": {"pre2": []}})
    if wrapper == "case":
        path, content, field = tmp_path / "c.json", case, "expect"
    else:
        where = tmp_path / "findings" / ("raw" if wrapper == "raw-finding" else "")
        where.mkdir(parents=True)
        path, field = where / "0123456789ab.json", "case.expect"
        content = {"signature": "0123456789ab", "key": "pre/completion/aio_write", "case": case}
    path.write_text(json.dumps(content))
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"pagefuzz: error: {path}: {field}.checks.pre2: unknown version\n"


def test_directory_without_cases_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(tmp_path)]) == 2
    assert "no *.json case files" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "absent.json")]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and err.count("\n") == 1


def test_a_bad_file_among_good_ones_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "a.json"
    good.write_text(json.dumps(GOOD))
    bad = tmp_path / "b.json"
    bad.write_text("{")
    assert main(["replay", str(good), str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and str(bad) in captured.err


ONE_PAGE = Path(__file__).resolve().parent.parent / "corpus" / "examples" / "one-page-aio.json"


COMMANDS = {
    "fuzz": ["fuzz", "--engine", "random", "--time", "1"],
    "explore": ["explore", "--max-steps", "1"],
    "replay": ["replay", str(ONE_PAGE)],
    "minimize": ["minimize", str(ONE_PAGE), "-o", "OUT"],
    "triage": ["triage", str(ONE_PAGE)],
}


@pytest.mark.parametrize("flag", ["--versions", "--impl"])
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_unknown_version_is_named_under_the_flag_typed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, flag: str
) -> None:
    """Every command takes --versions and its alias --impl (repeatable, comma-separated); a
    misspelt version is reported under the flag the user typed. Nothing runs and nothing is
    written."""
    command = COMMANDS[name]
    argv = [str(tmp_path / "o") if a == "OUT" else a for a in command]
    if name in ("fuzz", "explore"):
        argv += ["--out", str(tmp_path / "o")]
    assert main([*argv, flag, "pre,psot"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"pagefuzz: error: {flag}: unknown version 'psot'; known: "
        "pre, post, recheck-locked, reference, fixed, "
        "p17, p19, y2005, y2005-fixed, july-reference\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_flag_named_is_the_one_holding_the_unknown_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--versions pre --impl psot`: the error names --impl, where psot was typed."""
    assert main(["replay", str(ONE_PAGE), "--versions", "pre", "--impl", "psot"]) == 2
    assert capsys.readouterr().err.startswith("pagefuzz: error: --impl: unknown version 'psot'")


@pytest.mark.parametrize(
    ("finding", "why"),
    [
        ("post/completion", "'post/completion' is not VERSION/CHECK/KIND"),
        ("post/speed/aio_write", "'post/speed/aio_write': unknown check 'speed'"),
    ],
)
def test_a_bad_finding_flag_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], finding: str, why: str
) -> None:
    """--finding is parsed at the edge (FindingKey.parse): one line naming the flag, exit 2,
    nothing written."""
    out = tmp_path / "small.json"
    assert main(["minimize", str(ONE_PAGE), "-o", str(out), "--finding", finding]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pagefuzz: error: --finding: {why}") and err.count("\n") == 1
    assert not out.exists()


def test_a_directory_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    """Where a command must write a directory and cannot (here a file stands where it goes:
    as root no permission bit stops a write), one line naming it, exit 2, no traceback, and
    nothing run first: fuzz's default campaigns/ directory, explore's and report's --out."""
    (tmp_path / "campaigns").write_text("")
    (tmp_path / "blocked").write_text("")
    proc = pagefuzz("fuzz", "--time", "1", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (
        f"pagefuzz: error: {tmp_path / 'campaigns'}: cannot create the campaign directory: "
        "File exists (choose one with --out)\n"
    )
    proc = pagefuzz("explore", "--max-steps", "1", "--out", "blocked/x", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "pagefuzz: error: --out: blocked/x: cannot create it: Not a directory\n"
    proc = pagefuzz("report", "--out", str(tmp_path / "blocked" / "findings.md"), cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr == f"pagefuzz: error: --out: {tmp_path / 'blocked'}: not a directory\n"
