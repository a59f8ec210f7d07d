"""Typed identities at the oracle's seams: a violation names its request by `RequestId` and
carries the request's kind (resolved once, by `judge`); findings and the differential's
signature are both built from `FindingKey`s; a differential's pair is a `Pair`; the report
matches findings by key and BUGs by their sequence number.

The expected keys and signatures below were computed with the oracle as it was before these
types (kinds looked up by name in `finding_keys_of` and again in `signature_key`), and must not
have moved: corpus files, campaign summaries and certificates are named and keyed by them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mutants import LeavesPageLocked

from pagefuzz._casefile import load_case
from pagefuzz._report_analysis import load_campaigns, promoted_name, violation_seq
from pagefuzz.fuzz.campaign.summary import CampaignSummary
from pagefuzz.fuzz.versions.isolation import failed_record
from pagefuzz.impls.registry import get_version
from pagefuzz.oracle import Pair, differential, judge
from pagefuzz.oracle import evaluate as evaluate_module
from pagefuzz.oracle import findings as findings_module
from pagefuzz.oracle.checks import request_kinds
from pagefuzz.oracle.evaluate import FindingKey, evaluate
from pagefuzz.oracle.verdict import signature_of
from pagefuzz.sim import RunRecord, parse_case, run_case
from pagefuzz.sim.failure import VersionFailure
from pagefuzz.sim.ids import RequestId

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "corpus" / "examples"

#: Task T makes two requests: a buffered write of p3 (T, kind `write`), then a two-page O_SYNC
#: write of p0-p1 (T#2, kind `sync_write`); the disk then completes p0 and p1.
T_TWICE: dict[str, object] = {
    "format": "pagefuzz/case-v1",
    "name": "t-twice",
    "config": {"file_pages": 4},
    "steps": [
        {"op": "write", "task": "T", "pos": 12288, "count": 4096},
        {"op": "sync_write", "task": "T", "pos": 0, "count": 8192},
        {"op": "complete_io", "page": 0},
        {"op": "complete_io", "page": 1},
    ],
}


def _run(case: dict[str, object], name: str) -> RunRecord:
    return run_case(parse_case(case), get_version(name))


def test_a_violation_names_its_request_by_id_and_carries_its_kind() -> None:
    """T_TWICE in post: step 0, T's buffered write returns 4096 at once. Step 1, T#2 copies p0
    and p1; post's write-out lookup sets next = 2 > last = 1 after p0, so only p0 is written
    out, and T#2 sleeps on p0. Step 2, p0 completes: post's wait phase credits p0 alone and
    T#2 returns 4096 with p1 still dirty: `completion` (p1 never written out) and `byte_count`
    (a short count with no truncation or I/O error), both at step 2. Both name T's second
    request, `T#2`, a `sync_write`: not T's first request, whose kind is `write`."""
    record = _run(T_TWICE, "post")
    assert [(r.id, r.kind) for r in record.requests] == [
        (RequestId("T"), "write"),
        (RequestId("T", 2), "sync_write"),
    ]
    verdict = judge(record)
    assert [(v.check, v.request, v.kind, v.step) for v in verdict.violations] == [
        ("completion", RequestId("T", 2), "sync_write", 2),
        ("byte_count", RequestId("T", 2), "sync_write", 2),
    ]
    # Written as before: the request's one string form.
    assert [v.to_json()["request"] for v in verdict.violations] == ["T#2", "T#2"]
    assert verdict.violations[1].line() == (
        "byte_count post T#2 step 2: T#2 reported a short count 4096 of 8192 with no truncation "
        "or I/O error to cause it"
    )


def test_the_kind_of_a_tasks_second_request_is_that_requests() -> None:
    """`request_kinds` of T_TWICE's record: T is a `write`, T#2 a `sync_write` (each request by
    its own id; T as an actor would also be its first request, the same id)."""
    record = _run(T_TWICE, "post")
    assert request_kinds(record) == {RequestId("T"): "write", RequestId("T", 2): "sync_write"}


def test_a_findings_key_and_the_differentials_signature_are_unchanged() -> None:
    """T_TWICE, pre then post. Pre writes out and waits for both pages: T#2 returns 8192 at step
    3 and pre passes; post fails as above. Post's findings: `post/byte_count/sync_write` and
    `post/completion/sync_write`, signatures 99a8473c7f76 and 62cc9b40fa38 (the first 12 hex
    digits of each key's SHA-256; the corpus holds them as post-byte_count-sync_write-99a847 and
    post-completion-sync_write-62cc9b). The differential is `regressed` (pre violates nothing,
    post two checks); its key is the sorted findings of both runs then the model choices,
    `post/byte_count/sync_write,post/completion/sync_write|lookup_next=last+1|
    filtered_wakeups=off`, signature 77ed049532a3: the signature of diff-regressed's pre/post
    too, whose one-request T is the same kind of request with the same two findings (sizes,
    steps and which of T's requests it was are left out of the key on purpose)."""
    outcome = evaluate(parse_case(T_TWICE), [get_version("pre"), get_version("post")])
    assert outcome.verdicts["pre"].passed
    assert [str(k) for k in outcome.keys] == [
        "post/byte_count/sync_write",
        "post/completion/sync_write",
    ]
    assert [k.signature for k in outcome.keys] == ["99a8473c7f76", "62cc9b40fa38"]
    (d,) = outcome.differentials
    assert (d.pair, d.cls) == (Pair("pre", "post"), "regressed")
    assert d.signature_key == (
        "post/byte_count/sync_write,post/completion/sync_write"
        "|lookup_next=last+1|filtered_wakeups=off"
    )
    assert d.signature == signature_of(d.signature_key) == "77ed049532a3"
    assert outcome.expect_block()["differential"] == {"pre/post": "regressed"}


def test_the_differentials_key_is_built_from_both_runs_finding_keys() -> None:
    """one-page-aio, pre then post: pre's findings (`pre/completion/aio_write`,
    `pre/kernel_bug/aio_write`, the two BUGs one finding) and post's (none), sorted, joined by
    commas: the key's body is exactly the text of the sorted FindingKeys."""
    case = load_case(EXAMPLES / "one-page-aio.json")
    pre, post = run_case(case, get_version("pre")), run_case(case, get_version("post"))
    pre_v, post_v = judge(pre), judge(post)
    d = differential(pre, pre_v, post, post_v)
    keys = sorted({*pre_v.finding_keys, *post_v.finding_keys})
    assert keys == [
        FindingKey("pre", "completion", "aio_write"),
        FindingKey("pre", "kernel_bug", "aio_write"),
    ]
    assert d.signature_key.split("|")[0] == ",".join(str(k) for k in keys)
    assert d.signature == "5865162f5a7f"


def test_an_actor_that_made_no_request_is_named_as_its_first_would_be() -> None:
    """diff-benign in the mutant that leaves p0 locked: the truncating task X waits for the lock
    forever. X made no request: the hang names X (RequestId("X"), written `X`) with kind `-`,
    as before, where the kind was looked up by the name "X" and not found."""
    record = run_case(load_case(EXAMPLES / "diff-benign.json"), LeavesPageLocked())
    (v,) = judge(record).violations
    assert (v.check, v.request, v.kind, v.step) == ("hang", RequestId("X"), "-", 2)
    assert v.to_json()["request"] == "X"


def test_a_dead_process_charges_the_request_it_was_running() -> None:
    """A version's process died while running U#2 (a sync_write): its record keeps no requests,
    only the failure. The crash names U#2 and carries the failure's kind, for the finding and,
    since the differential is built from the findings, for the differential too: before, the
    differential looked the kind up among the record's requests, found none and wrote
    `c:null.c/crash/-` while the finding said `c:null.c/crash/sync_write`."""
    case = parse_case(T_TWICE)
    failure = VersionFailure(
        "crash", "signal", "killed by SIGSEGV", "", 1, "U", RequestId("U", 2), "sync_write"
    )
    dead = failed_record(case, "c:null.c", failure)
    dead_v = judge(dead)
    (v,) = dead_v.violations
    assert (v.check, v.request, v.kind, v.step) == ("crash", RequestId("U", 2), "sync_write", 1)
    assert [str(k) for k in dead_v.finding_keys] == ["c:null.c/crash/sync_write"]
    pre = _run(T_TWICE, "pre")
    d = differential(pre, judge(pre), dead, dead_v)
    assert d.signature_key == "c:null.c/crash/sync_write|lookup_next=last+1|filtered_wakeups=off"


def test_a_pair_reads_back_what_it_writes() -> None:
    """`first/second`, split as the case format splits an `expect` pair: the leftmost "/" with a
    version name on each side, so a file version's path may hold "/" on either side."""
    for pair in (
        Pair("pre", "post"),
        Pair("recheck-locked", "fixed"),
        Pair("py:dir/fix.py", "post"),
        Pair("post", "py:dir/fix.py"),
        Pair("c:fix.c", "py:fix.py"),
    ):
        assert Pair.parse(str(pair)) == pair
    assert str(Pair("pre", "post")) == "pre/post"
    try:
        Pair.parse("pre")
    except ValueError as exc:
        assert "two versions" in str(exc)
    else:
        raise AssertionError("a pair of one version")


def test_a_differentials_json_is_what_it_was() -> None:
    """one-page-aio, pre then post: `pair` a list of the two names, and the first divergence
    keyed by each name, as `replay --json` wrote it before Pair (the 9th observable event, step
    0: pre locks p0 where post finds it under writeback and queues its entry)."""
    outcome = evaluate(
        load_case(EXAMPLES / "one-page-aio.json"), [get_version("pre"), get_version("post")]
    )
    obj = outcome.differentials[0].to_json()
    assert obj["pair"] == ["pre", "post"]
    assert obj["first_divergence"] == {
        "index": 8,
        "step": 0,
        "pre": "A: locks p0",
        "post": "A: p0 under writeback: entry queued on q0, -EIOCBRETRY",
    }
    assert outcome.expectation_ok  # its expect block's pairs found by Pair


def test_finding_key_lives_in_one_module() -> None:
    assert evaluate_module.FindingKey is findings_module.FindingKey is FindingKey


def test_the_report_finds_a_findings_file_by_its_key() -> None:
    """The promoted name of post/byte_count/sync_write is its corpus file's: the key as
    `post-byte_count-sync_write` and the first 6 digits of its signature, 99a847."""
    key = FindingKey.parse("post/byte_count/sync_write")
    assert promoted_name(key) == "post-byte_count-sync_write-99a847"
    assert (ROOT / "corpus" / "findings" / f"{promoted_name(key)}.json").exists()


def test_the_report_places_a_bug_by_its_sequence_number() -> None:
    """one-page-aio in pre: the two BUGs the world recorded (seq 15 at step 0, seq 18 at step
    1) are the kernel_bug violations' own events; the end-of-run checks add none here."""
    record = run_case(load_case(EXAMPLES / "one-page-aio.json"), get_version("pre"))
    bugs = [v for v in judge(record).violations if v.check == "kernel_bug"]
    assert [b.seq for b in record.kernel_bugs] == [15, 18]
    assert [violation_seq(record, v) for v in bugs] == [15, 18]
    # A lock left held at the end is no recorded BUG: no event to place it after.
    leaked = run_case(load_case(EXAMPLES / "one-page-aio.json"), LeavesPageLocked())
    (lock,) = judge(leaked).violations
    assert (lock.check, lock.seq, violation_seq(leaked, lock)) == ("kernel_bug", None, None)


def test_the_report_reads_campaign_summaries_typed() -> None:
    """evidence/campaigns/*.json through CampaignSummary: atheris-60s found 20 findings in
    pre, post and recheck-locked, each key parsed."""
    campaigns = dict(load_campaigns(ROOT / "evidence" / "campaigns"))
    atheris = campaigns["atheris-60s"]
    assert isinstance(atheris, CampaignSummary)
    assert (atheris.engine, atheris.versions) == ("atheris", ["pre", "post", "recheck-locked"])
    assert len(atheris.findings) == 20
    assert all(isinstance(f.key, FindingKey) for f in atheris.findings)


def test_an_expect_pair_that_names_no_two_versions_matches_nothing() -> None:
    """A case built by hand (not parsed) may hold a pair the case format refuses: it is not
    compared, as before, rather than an error."""
    case = replace(
        load_case(EXAMPLES / "one-page-aio.json"),
        expect={"checks": {}, "differential": {"pre": "same"}},
    )
    assert evaluate(case, [get_version("pre"), get_version("post")]).mismatches == ()
