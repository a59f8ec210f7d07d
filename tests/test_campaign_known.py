"""What a campaign shows about the findings pagefuzz already knows, its exit codes, and the
smaller campaign fixes: unique default names, --resume against explicit flags, the hypothesis
database, a missing corpus."""

import json
import random
import re
import signal
import time
from pathlib import Path

import pytest
from helpers import (
    OLD_CAMPAIGN_SUMMARY,
    campaign_status,
    start_campaign,
    wait_until,
    worker_stats,
)
from helpers import pagefuzz as _pagefuzz

from pagefuzz._casefile import load_case
from pagefuzz._cli import main
from pagefuzz.fuzz.campaign.known import known_findings
from pagefuzz.fuzz.campaign.store import KNOWN_FORMAT, new_campaign_dir, read_known
from pagefuzz.fuzz.campaign.target import Evaluator, WorkerState
from pagefuzz.fuzz.campaign.worker import random_bytes
from pagefuzz.fuzz.generation.decode import decode
from pagefuzz.impls.registry import DEFAULT_VERSIONS

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
VERSIONS = list(DEFAULT_VERSIONS)
POST_COMPLETION = CORPUS / "findings" / "post-completion-aio_write-060739.json"
PRE_COMPLETION = CORPUS / "findings" / "pre-completion-aio_write-9e5afd.json"
ONE_PAGE = CORPUS / "examples" / "one-page-aio.json"
# Signatures of the keys these cases show (oracle.signature_of), worked out once by hand with
# `pagefuzz replay`: one-page-aio shows pre's completion and kernel_bug; post's 2-page write
# shows those, pre's byte_count and post's completion.
PRE_COMPLETION_SIG = "9e5afde09dfa"
PRE_KERNEL_BUG_SIG = "ca341c369a6f"
PRE_BYTE_COUNT_SIG = "59942f5d4044"
POST_COMPLETION_SIG = "0607397bfc41"


def _summary(stdout: str) -> dict[str, object]:
    return json.loads(stdout[stdout.index("{") :])  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- known findings


def test_known_findings_name_the_corpus_file_that_shows_them(tmp_path: Path) -> None:
    """Each known signature maps to its key and one corpus file: the promoted finding named
    after it when there is one, else the shortest case that shows it."""
    corpus = tmp_path / "corpus"
    (corpus / "findings").mkdir(parents=True)
    for source in (POST_COMPLETION, PRE_COMPLETION):
        (corpus / "findings" / source.name).write_bytes(source.read_bytes())
    known, also = known_findings(corpus, VERSIONS)
    assert also == {}  # built-in versions only: nothing of a version from outside to mark
    post_file = corpus / "findings" / POST_COMPLETION.name
    pre_file = corpus / "findings" / PRE_COMPLETION.name
    assert {sig: (str(k.key), k.file) for sig, k in known.items()} == {
        PRE_COMPLETION_SIG: ("pre/completion/aio_write", pre_file),
        PRE_KERNEL_BUG_SIG: ("pre/kernel_bug/aio_write", post_file),
        PRE_BYTE_COUNT_SIG: ("pre/byte_count/aio_write", post_file),
        POST_COMPLETION_SIG: ("post/completion/aio_write", post_file),
    }


def test_worker_records_the_first_hit_of_each_known_signature(tmp_path: Path) -> None:
    """A known signature is not a finding, but its first hit is counted: an empty case (no
    failure), then one-page-aio twice: both of its known signatures first hit at execution 2.
    post's 2-page write then shows two signatures not known: new findings, not hits."""
    (tmp_path / "known.json").write_text(
        json.dumps(
            {
                "format": KNOWN_FORMAT,
                "corpus": {
                    PRE_COMPLETION_SIG: {"key": "pre/completion/aio_write", "file": "a.json"},
                    PRE_KERNEL_BUG_SIG: {"key": "pre/kernel_bug/aio_write", "file": "a.json"},
                },
                "campaign": [],
            }
        )
    )
    state = WorkerState(tmp_path, 0, VERSIONS, "random", 1)
    state.execute(decode(b""), b"")
    one_page = load_case(ONE_PAGE)
    state.execute(one_page, None)
    state.execute(one_page, None)
    assert {sig: hit["executions"] for sig, hit in state.known_hits.items()} == {
        PRE_COMPLETION_SIG: 2,
        PRE_KERNEL_BUG_SIG: 2,
    }
    assert not (tmp_path / "findings").exists()
    state.execute(load_case(POST_COMPLETION), None)
    assert set(state.known_hits) == {PRE_COMPLETION_SIG, PRE_KERNEL_BUG_SIG}
    raw = {p.stem for p in (tmp_path / "findings" / "raw").glob("*.json")}
    assert raw == {PRE_BYTE_COUNT_SIG, POST_COMPLETION_SIG}
    state.maybe_write_stats(force=True)
    stats = json.loads((tmp_path / "workers" / "0" / "stats.json").read_text())
    assert {sig: hit["executions"] for sig, hit in stats["known_hits"].items()} == {
        PRE_COMPLETION_SIG: 2,
        PRE_KERNEL_BUG_SIG: 2,
    }


def test_an_old_known_list_is_still_read(tmp_path: Path) -> None:
    """known.json of campaigns before the corpus map was a plain list of signatures: still
    known (not findings), with nothing to say which corpus file shows them."""
    (tmp_path / "known.json").write_text(json.dumps([PRE_COMPLETION_SIG, PRE_KERNEL_BUG_SIG]))
    corpus, campaign = read_known(tmp_path / "known.json")
    assert corpus == {
        PRE_COMPLETION_SIG: {"key": None, "file": None},
        PRE_KERNEL_BUG_SIG: {"key": None, "file": None},
    }
    assert campaign == set()
    state = WorkerState(tmp_path, 0, VERSIONS, "random", 1)
    state.execute(load_case(ONE_PAGE), None)
    assert not (tmp_path / "findings").exists()


def _first_hits(seed: int, keys: set[str], executions: int) -> dict[str, int]:
    """The random engine's stream for `seed`, replayed here: the execution (1-based) at which
    each key first shows."""
    rng = random.Random(seed)
    evaluator = Evaluator(VERSIONS)
    first: dict[str, int] = {}
    for n in range(1, executions + 1):
        for failure in evaluator.evaluate(decode(random_bytes(rng))).failures:
            if str(failure.key) in keys:
                first.setdefault(str(failure.key), n)
        if len(first) == len(keys):
            break
    return first


def test_campaign_summary_lists_known_findings_re_found(tmp_path: Path) -> None:
    """A corpus of one case that shows four keys: the summary counts 4 known, lists each one
    re-found with the execution of its first hit (worker 0 runs seed 1's stream) and the corpus
    file, and the campaign's other findings as new: exit 1."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    case_file = corpus / POST_COMPLETION.name
    case_file.write_bytes(POST_COMPLETION.read_bytes())
    out = tmp_path / "c"
    proc = _pagefuzz(
        "fuzz", "--engine", "random", "--time", "3", "--out", str(out),
        "--corpus", str(corpus), "--json",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    summary = _summary(proc.stdout)
    assert summary["known_total"] == 4
    refound = summary["known_refound"]
    assert isinstance(refound, list)
    keys = {
        "pre/completion/aio_write",
        "pre/kernel_bug/aio_write",
        "pre/byte_count/aio_write",
        "post/completion/aio_write",
    }
    assert {r["key"] for r in refound} == keys
    expected = _first_hits(1, keys, 1000)
    assert {r["key"]: r["first_seen_executions"] for r in refound} == expected
    assert all(r["corpus_file"] == str(case_file) for r in refound)
    assert all(0 <= r["first_seen_s"] <= summary["seconds"] for r in refound)
    assert [r["first_seen_executions"] for r in refound] == sorted(expected.values())
    assert summary["known_not_refound"] == []
    assert summary["new"] == len(summary["findings"]) > 0
    assert not keys & {f["key"] for f in summary["findings"]}
    on_disk = json.loads((out / "campaign.json").read_text())
    assert on_disk["known_refound"] == refound
    known = json.loads((out / "known.json").read_text())
    assert known["format"] == KNOWN_FORMAT
    assert set(known["corpus"]) == {r["signature"] for r in refound}


def test_main_command_output_on_a_checkout(tmp_path: Path) -> None:
    """The shipped corpus knows all 20 findings: nothing new, exit 0 (what CI gates on), a
    plain progress line every 5 s with the known count, and at the end the re-found ones with
    their first hit and corpus file, the rest, where the answer is and one replay command."""
    out = tmp_path / "c"
    proc = _pagefuzz(
        "fuzz", "--engine", "random", "--time", "6", "--out", str(out), "--corpus", "corpus"
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    progress = [ln for ln in lines if ln.startswith("fuzz random t=")]
    assert len(progress) >= 2
    for line in progress:
        assert re.fullmatch(
            r"fuzz random t=\d+s executions=\d+ exec/s=\d+ crashes=0 · "
            r"0 new · \d+ of 20 known re-found",
            line,
        ), line
    summary = json.loads((out / "campaign.json").read_text())
    refound = summary["known_refound"]
    missed = summary["known_not_refound"]
    assert summary["new"] == 0 and summary["known_total"] == 20
    assert len(refound) + len(missed) == 20 and refound
    start = lines.index(f"0 new · {len(refound)} of 20 known re-found")
    assert lines[start - 1].startswith("campaign done: ")
    assert lines[start + 1] == "known findings re-found (first hit: executions, seconds):"
    for i, r in enumerate(refound):
        assert lines[start + 2 + i] == (
            f"  {r['key']:<40} {r['first_seen_executions']:>8} {r['first_seen_s']:>8.2f} s  "
            f"{r['corpus_file']}"
        )
        assert r["corpus_file"] == f"corpus/findings/{r['key'].replace('/', '-')}-" + (
            f"{r['signature'][:6]}.json"
        )
    rest = lines[start + 2 + len(refound) :]
    if missed:
        assert rest[0] == f"known findings not re-found ({len(missed)}):"
        assert rest[1 : 1 + len(missed)] == [f"  {m['key']:<40} {m['corpus_file']}" for m in missed]
        rest = rest[1 + len(missed) :]
    assert rest == [
        "what the findings mean: docs/findings.md",
        f"replay one: pagefuzz replay {refound[0]['corpus_file']}",
        f"summary: {out / 'campaign.json'}",
    ]


def test_new_findings_are_listed_with_their_replay_command(tmp_path: Path) -> None:
    """From an empty corpus every finding is new: exit 1, the count line says so, and the
    replay command names the campaign's minimised finding."""
    out = tmp_path / "c"
    proc = _pagefuzz("fuzz", "--engine", "random", "--time", "2", "--out", str(out), "--fresh")
    assert proc.returncode == 1, proc.stderr
    summary = json.loads((out / "campaign.json").read_text())
    findings = summary["findings"]
    assert summary["new"] == len(findings) > 0 and summary["known_total"] == 0
    lines = proc.stdout.splitlines()
    assert f"{len(findings)} new · 0 of 0 known re-found" in lines
    first = out / "findings" / f"{findings[0]['signature']}.json"
    assert first.exists()
    assert lines[-3:] == [
        "what the findings mean: docs/findings.md",
        f"replay one: pagefuzz replay {first}",
        f"summary: {out / 'campaign.json'}",
    ]


# ---------------------------------------------------------------------- exit codes


def test_interrupted_campaign_exits_130_with_its_summary(tmp_path: Path) -> None:
    """SIGINT: exit 130, and the summary is still written (status stopped) and printed.

    Sent once the campaign is observably inside its run (campaign.json says "running", written
    after its workers started) and its worker has executed (its statistics are on disk): on a
    busy machine that may take any time, and a 60 s campaign leaves it all the time it needs."""
    out = tmp_path / "c"
    proc = start_campaign(out, "60")
    try:
        wait_until(lambda: campaign_status(out) == "running", "campaign.json: running")
        wait_until(lambda: "pid" in worker_stats(out), "the worker's statistics")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    summary = json.loads((out / "campaign.json").read_text())
    assert summary["status"] == "stopped" and summary["executions"] > 0
    assert any(line.startswith("campaign stopped: ") for line in stdout.splitlines())
    assert not (out / ".lock").exists()


# ---------------------------------------------------------------------- campaign fixes


def test_default_campaign_names_never_collide(tmp_path: Path) -> None:
    """Two default names in the same second: the second gets -2, the third -3; each directory
    is created by the call that names it."""
    first = new_campaign_dir(tmp_path / "campaigns", "20040115-120000")
    second = new_campaign_dir(tmp_path / "campaigns", "20040115-120000")
    third = new_campaign_dir(tmp_path / "campaigns", "20040115-120000")
    assert [p.name for p in (first, second, third)] == [
        "20040115-120000",
        "20040115-120000-2",
        "20040115-120000-3",
    ]
    assert all(p.is_dir() for p in (first, second, third))


def test_a_default_named_campaign_does_not_reuse_one_from_the_same_second(
    tmp_path: Path,
) -> None:
    """The default directory of this second (and of every second until the command's own
    300 s timeout, so that however late a busy machine starts it) already holds a campaign:
    the new one starts beside it, with a suffix, instead of refusing to start."""
    now = time.time()
    taken = set()
    for ahead in range(301):
        name = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now + ahead))
        (tmp_path / "campaigns" / name).mkdir(parents=True)
        (tmp_path / "campaigns" / name / "campaign.json").write_text("{}")
        taken.add(name)
    proc = _pagefuzz(
        "fuzz", "--engine", "random", "--time", "1", "--corpus", str(CORPUS), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    made = [p for p in (tmp_path / "campaigns").iterdir() if p.name.endswith("-2")]
    assert len(made) == 1 and (made[0] / "campaign.json").exists()
    assert made[0].name.removesuffix("-2") in taken
    assert json.loads((made[0] / "campaign.json").read_text())["status"] == "done"


def _random_campaign(out: Path) -> None:
    out.mkdir()
    (out / "campaign.json").write_text(json.dumps(OLD_CAMPAIGN_SUMMARY))


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--engine", "atheris", "--engine: the campaign in {out} ran engine random; leave "
         "--engine out to resume it"),
        ("--versions", "pre,post,recheck-locked", "--versions: the campaign in {out} ran "
         "versions pre,post; leave --versions out to resume it"),
    ],
)  # fmt: skip
def test_resume_refuses_an_explicit_engine_or_versions_that_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    out = tmp_path / "c"
    _random_campaign(out)
    assert main(["fuzz", "--resume", "--out", str(out), "--time", "1", flag, value]) == 2
    err = capsys.readouterr().err
    assert err == f"pagefuzz: error: {message.format(out=out.resolve())}\n"
    assert not (out / "workers").exists()


def test_hypothesis_db_is_created_and_holds_entries(tmp_path: Path) -> None:
    """--hypothesis-db DIR: hypothesis saves its failing examples there (even under CI=true,
    whose profile has no database), so campaigns can share them."""
    db = tmp_path / "db"
    proc = _pagefuzz(
        "fuzz", "--engine", "hypothesis", "--time", "3", "--fresh",
        "--out", str(tmp_path / "c"), "--hypothesis-db", str(db),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert db.is_dir()
    assert [p for p in db.rglob("*") if p.is_file()]


def test_missing_corpus_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt --corpus is refused like coverage refuses it, instead of fuzzing as if the
    corpus were empty; without --corpus, from a directory that has none (a kernel engineer's
    tree), the corpus pagefuzz ships is used: its 20 findings are known."""
    missing = tmp_path / "corpsu"
    out = tmp_path / "c"
    base = ["fuzz", "--engine", "random", "--time", "1", "--out", str(out)]
    assert main([*base, "--corpus", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"pagefuzz: error: --corpus: {missing}: no such directory "
        "(use --fresh to start from an empty corpus)\n"
    )
    assert main(["coverage", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"pagefuzz: error: CORPUS: {missing}: no such file or directory\n"
    )
    assert not out.exists()
    monkeypatch.chdir(tmp_path)
    assert main([*base, "--json"]) == 0  # nothing new in a second of random inputs
    summary = json.loads(capsys.readouterr().out)
    assert summary["corpus"] == str(ROOT / "corpus")
    assert summary["known_total"] == 20


def test_json_is_json_only(tmp_path: Path) -> None:
    """--json: stdout is the summary alone, with the known findings' fields. There are some to
    check: the first input of worker 0's stream (seed 1) already shows five of the corpus's 20
    findings, pre's completion among them, re-found at execution 1."""
    proc = _pagefuzz(
        "fuzz", "--engine", "random", "--time", "1", "--out", str(tmp_path / "c"),
        "--corpus", str(CORPUS), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert {"new", "known_total", "known_refound", "known_not_refound"} <= set(summary)
    assert summary["known_total"] == 20 and summary["new"] == 0
    first = _first_hits(1, {"pre/completion/aio_write"}, 1)
    assert first == {"pre/completion/aio_write": 1}
    refound = {r["key"]: r["first_seen_executions"] for r in summary["known_refound"]}
    assert refound["pre/completion/aio_write"] == 1
    for entry in summary["known_refound"]:
        assert set(entry) == {
            "key",
            "signature",
            "first_seen_executions",
            "first_seen_s",
            "corpus_file",
        }


def test_fuzz_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["fuzz", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "Exit codes: 0 no new finding, 1 new findings (or the campaign executed nothing), 2 bad "
        "input, 130 interrupted (the summary is still written and printed)."
    ) in text


def test_a_users_version_has_every_finding_shown(tmp_path: Path) -> None:
    """A version from outside the package that is the post-patch loop unchanged fails the
    corpus's cases the way post does; on this checkout's corpus a campaign still reports each
    of its findings as new (exit 1), never among the built-in versions' known ones re-found,
    and marks the ones a corpus case also shows with that file. Post's own are known."""
    (tmp_path / "mine.py").write_text(
        "from pagefuzz.impls.post import Post\n\n\nclass Mine(Post):\n    pass\n"
    )
    out = tmp_path / "c"
    proc = _pagefuzz(
        "fuzz", "--engine", "random", "--time", "3", "--out", str(out), "--json",
        "--versions", "post,py:mine.py", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    keys = {f["key"]: f for f in summary["findings"]}
    assert keys and all(k.startswith("py:mine.py/") for k in keys), sorted(keys)
    assert all(not r["key"].startswith("py:") for r in summary["known_refound"])
    completion = keys["py:mine.py/completion/aio_write"]
    assert completion["also_fails"].startswith(str(ROOT / "corpus" / "findings" / "post-"))
    assert summary["known_total"] == 7  # post's seven in corpus/findings; none of the user's
