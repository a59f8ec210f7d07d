"""Proving the oracle: it is silent on a version correct by construction, it catches each planted
bug with the check named for that bug and no other, and each check and differential class has a
hand-worked shipped case (corpus/examples/check-*, diff-*, mutant-*).

Every expected value below is worked out by hand in the test's docstring, from the seed's lines and
kernel-model.md (the project's kernel-semantics spec, kept outside this repository; docs/model.md
and docs/oracle.md state what these tests rely on), not copied from a run. Steps are case step
indices; the drain counts as step len(steps).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mutants import (
    MUTANT_CASES,
    AioWaiting,
    CompletesWithoutWaiting,
    CountsDespiteError,
    CountsWaitedPage,
    DropsWakeup,
    LeavesPageLocked,
    NeverRechecksWokenPage,
    OopsesOnIoError,
    SpinsOnWriteback,
)

from pagefuzz._casefile import load_case
from pagefuzz.impls.july_reference import JulyReference
from pagefuzz.impls.reference import Reference
from pagefuzz.impls.registry import DEFAULT_VERSIONS, REGISTRY, get_version
from pagefuzz.oracle import CHECKS, Verdict, Violation, differential, judge
from pagefuzz.sim import RunRecord, Version, run_case
from pagefuzz.sim.cint import EIO
from pagefuzz.sim.ids import RequestId

EXAMPLES = Path(__file__).resolve().parent.parent / "corpus" / "examples"
SHIPPED = sorted(EXAMPLES.glob("*.json"))


def _version(version: str | type[Version]) -> Version:
    return get_version(version) if isinstance(version, str) else version()


def run(case_name: str, version: str | type[Version]) -> tuple[RunRecord, Verdict]:
    """The case in the version, as a version from outside the package runs: what its code
    raises is a `crash` finding (tests/mutants.py's OopsesOnIoError), not an error here."""
    case = load_case(EXAMPLES / f"{case_name}.json")
    record = run_case(case, _version(version), catch_version_errors=True)
    return record, judge(record)


def checks(verdict: Verdict) -> set[str]:
    return set(verdict.checks)


def only(verdict: Verdict, check: str) -> Violation:
    """The one violation of `check` (fails if there are none or several)."""
    found = [v for v in verdict.violations if v.check == check]
    assert len(found) == 1, [v.line() for v in verdict.violations]
    return found[0]


def diff_class(case_name: str, left: str | type[Version], right: str | type[Version]) -> str:
    a, av = run(case_name, left)
    b, bv = run(case_name, right)
    return differential(a, av, b, bv).cls


# ------------------------------------------------------------------ the reference


def test_reference_is_registered_but_not_run_by_default() -> None:
    """The reference proves the oracle; it is not one of the versions under test."""
    assert REGISTRY["reference"] is Reference
    assert "reference" not in DEFAULT_VERSIONS


def test_there_are_shipped_cases_to_prove_the_reference_on() -> None:
    """At least the hand-worked cases of this file: eight checks, five classes, two mutant
    cases."""
    names = {p.stem for p in SHIPPED}
    assert {f"check-{c}" for c in CHECKS} <= names
    assert {f"diff-{c}" for c in ("same", "fixed", "regressed", "both", "benign")} <= names
    assert {"mutant-sync-write", "mutant-spurious-wakeup", "one-page-aio"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_reference_has_no_violation_on_any_shipped_case(path: Path) -> None:
    """Correct by construction (each index looked up on its own, page_writer locks, page_waiter
    sleeps until the writeback bit clears even for an iocb, the count is exactly the pages done),
    so any violation here is a false alarm of the oracle, or a case that blames the version for
    what the case itself did. A case of the July 2004 era runs in that era's reference
    (impls/july_reference.py: every page of the range waited for synchronously, errors of every
    page reported)."""
    case = load_case(path)
    record = run_case(case, Reference() if case.config.era == "2004-01" else JulyReference())
    verdict = judge(record)
    assert verdict.passed, [v.line() for v in verdict.violations]
    assert not record.settle_bound_hit and all(r.completed_at is not None for r in record.requests)


def test_reference_waits_synchronously_even_for_an_iocb() -> None:
    """one-page-aio with the reference: A's first run copies p0, writes it out and sleeps in
    wait_on_page_writeback (a synchronous sleep, the iocb's entry is never queued); step 1's I/O
    completion wakes it, the wait phase returns 4096 = count, left = 0: A completes 4096 at step 1
    after exactly one run (no retry at all), with no wakeup ever delivered to its AIO entry."""
    record, verdict = run("one-page-aio", Reference)
    a = record.request("A")
    assert (a.result, a.completed_at, a.retries, a.wakeups) == (4096, 1, 1, ())
    assert verdict.passed


# ------------------------------------------------------------------ the mutants


@pytest.mark.parametrize("mutant", list(MUTANT_CASES), ids=[m.name for m in MUTANT_CASES])
def test_each_mutant_is_caught_by_its_check_alone(mutant: type[Version]) -> None:
    """The table in tests/mutants.py: on its shipped case the mutant violates exactly its named
    check, and the correct version it was made from (Reference or AioWaiting) violates nothing
    there, so the violation is the mutation's."""
    case_file, check = MUTANT_CASES[mutant]
    name = case_file.removesuffix(".json")
    _, verdict = run(name, mutant)
    assert checks(verdict) == {check}, [v.line() for v in verdict.violations]
    base = AioWaiting if issubclass(mutant, AioWaiting) else Reference
    _, base_verdict = run(name, base)
    assert base_verdict.passed, [v.line() for v in base_verdict.violations]


def test_mutant_cases_cover_the_six_bugs_of_the_issue_and_the_two_failures() -> None:
    """completes without waiting, counts the waited page, drops a wakeup, leaves a page lock held,
    reports count on I/O error, never re-checks a woken page; and the two ways a version's code
    fails to come back: spins without sleeping (timeout), raises (crash). Every check has one."""
    assert set(MUTANT_CASES) == {
        CompletesWithoutWaiting,
        CountsWaitedPage,
        DropsWakeup,
        LeavesPageLocked,
        CountsDespiteError,
        NeverRechecksWokenPage,
        SpinsOnWriteback,
        OopsesOnIoError,
    }
    assert {check for _, check in MUTANT_CASES.values()} == set(CHECKS) - {"retry_bound"}


def test_completes_without_waiting_is_a_completion_violation() -> None:
    """mutant-sync-write: T copies p0 (gen 1), the write-out starts its I/O, and the mutant's
    page_waiter returns 0 without sleeping: sync_page_range returns 4096 and T completes 4096 at
    step 0 with p0 under writeback. That late page is charged to completion (request T, step 0);
    the progress report of the same instant claims the same page and is not charged again to
    byte_count. Nothing is queued, locked or leaked."""
    record, verdict = run("mutant-sync-write", CompletesWithoutWaiting)
    v = only(verdict, "completion")
    assert (v.request, v.step) == (RequestId("T"), 0)
    assert [(p.index, p.writeback) for p in v.evidence] == [(0, True)]
    assert record.request("T").not_on_disk_at_completion == (0,)


def test_counting_the_waited_page_is_a_byte_count_violation() -> None:
    """check-byte_count (p0 on q0, p1 on q1): run 1 writes out p0 and p1; the wait phase finds p0
    under writeback, queues A on q0 and stops with -EIOCBRETRY, and the mutant claims through the
    waited page: min(8192, ((0 + 1) << 12) - 0) = 4096, a progress report at step 0 while p0 is in
    flight. Step 1 completes p1 (q1: nobody); step 2 completes p0 and kicks A; run 2 starts at 4096
    (p0 is never looked at again), p1 is on disk: A completes 8192 at step 2 with both pages on
    disk. So byte_count (request A, step 0) and no completion violation; 2 runs <= 1 + 2 + 1."""
    record, verdict = run("check-byte_count", CountsWaitedPage)
    v = only(verdict, "byte_count")
    assert (v.request, v.step) == (RequestId("A"), 0)
    assert "4096 bytes from 0" in v.explanation
    a = record.request("A")
    assert (a.result, a.completed_at, a.retries, a.not_on_disk_at_completion) == (8192, 2, 2, ())


def test_a_dropped_wakeup_is_a_hang() -> None:
    """check-hang (2 queues: p0 on q0, p1 on q1): A's wait finds p0 under writeback; the mutant
    queues A's entry on (0 + 1) % 2 = q1 and returns -EIOCBRETRY with the entry queued, so no
    immediate re-kick (rule 15). Step 1: p0's I/O completes and wakes q0, which is empty. The drain
    (step 2) has no I/O left and nothing runnable: A never completed. hang, request A, step 2;
    A's entry is still on q1 at the end, and A ran once."""
    record, verdict = run("check-hang", DropsWakeup)
    v = only(verdict, "hang")
    assert (v.request, v.step) == (RequestId("A"), 2)
    assert record.final.queued == ((1, "A"),)
    assert record.request("A").retries == 1


def test_a_page_lock_left_held_is_a_kernel_bug() -> None:
    """mutant-sync-write: the mutant's page_waiter locks p0 and waits (sync) for its writeback;
    step 1 completes the I/O, T returns 4096 at step 1 (correct), but p0 is still locked by T when
    the drain (step 2) ends. kernel_bug, step 2, naming T; no sleeper is left behind, because
    nobody else wants p0."""
    record, verdict = run("mutant-sync-write", LeavesPageLocked)
    v = only(verdict, "kernel_bug")
    assert (v.request, v.step) == (RequestId("T"), 2)
    assert "page 0 is still locked by T" in v.explanation
    t = record.request("T")
    assert (t.result, t.completed_at) == (4096, 1)


def test_a_count_despite_an_io_error_is_an_error_violation() -> None:
    """check-error: T writes out p0 and p1 and sleeps on p0; step 1 fails p0's I/O (PG_error set,
    gen 1 never durable); the mutant's waiter returns 0 regardless, p1's I/O completes in the drain
    (step 2) and T returns 8192. error, request T, step 2. Not completion: p0 is neither dirty nor
    under writeback once its I/O ended (the failure is error's to report)."""
    record, verdict = run("check-error", CountsDespiteError)
    v = only(verdict, "error")
    assert (v.request, v.step) == (RequestId("T"), 2)
    assert "I/O of page 0 failed at step 1" in v.explanation
    assert record.request("T").result == 8192


def test_never_rechecking_a_woken_page_is_a_completion_violation() -> None:
    """mutant-spurious-wakeup (p0, p1 pinned to q0): run 1 queues A on q0 for p0 (-EIOCBRETRY).
    Step 1: reclaim try-locks idle p1, evicts it, unlocks it: wake-all on q0 removes A's entry
    and kicks A. Run 2: the mutant takes p0 as done without looking: 4096 = count, A completes at
    step 1 with p0 still under writeback. completion (A, step 1). Not kernel_bug: the wakeup removed
    the entry, and step 2's I/O completion finds q0 empty. Not retry_bound: 2 runs <= 1 + 1 page
    + 1 real wakeup (reclaim is not an iocb)."""
    record, verdict = run("mutant-spurious-wakeup", NeverRechecksWokenPage)
    v = only(verdict, "completion")
    assert (v.request, v.step) == (RequestId("A"), 1)
    a = record.request("A")
    assert (a.result, a.completed_at, a.retries) == (4096, 1, 2)
    assert [(w.waker, w.page, w.real) for w in a.wakeups] == [("vm", 1, True)]


# ------------------------------------------------------------------ one case per check


def test_check_completion_post_never_writes_page_1() -> None:
    """check-completion with post: see test_issue3_post_fails_completion_on_two_page_aio for the
    working. Post violates completion only (A, step 1, p1 dirty, never written out); pre fails it
    too (with p1 under writeback, plus its early count of p0 and the queued entry)."""
    _, post = run("check-completion", "post")
    v = only(post, "completion")
    assert (v.request, v.step) == (RequestId("A"), 1)
    assert checks(post) == {"completion"}
    _, pre = run("check-completion", "pre")
    assert checks(pre) == {"completion", "byte_count", "kernel_bug"}
    assert "page 1 still under writeback" in only(pre, "completion").explanation


def test_check_byte_count_pre_counts_page_0_before_its_wait() -> None:
    """check-byte_count with pre: run 1's wait phase locks p0, sets next = 0 + 1 BEFORE the
    waiter, which unlocks and queues on q0: bytes = (1 << 12) - 0 = 4096 reported at step 0 with p0
    in flight. p1 completes at step 1, p0 at step 2; run 2 from 4096 sees p1 on disk: 8192 at step
    2, every page on disk, so only byte_count (A, step 0)."""
    record, verdict = run("check-byte_count", "pre")
    assert checks(verdict) == {"byte_count"}
    v = only(verdict, "byte_count")
    assert (v.request, v.step) == (RequestId("A"), 0)
    a = record.request("A")
    assert (a.result, a.completed_at, a.retries) == (8192, 2, 2)


def test_check_retry_bound_recheck_locked_storms() -> None:
    """check-retry_bound (p0, p1 pinned to q0, settle_bound 64), recheck-locked. Step 0: A queues
    on q0 (p0 under writeback). Step 1's settle: B's first run (its copy's unlock of p1 wakes A),
    B queues on q0; then A's run locks and unlocks p0 in page_waiter, waking B, and queues again;
    B's run does the same to A, and so on: no I/O completes inside the step, so the 64 dispatches
    split 32 A, 32 B and the bound stops the settle at step 1. retry_bound for A and for B, both at
    step 1, and nothing else (the I/O completions of steps 2 and 3 then let both complete)."""
    record, verdict = run("check-retry_bound", "recheck-locked")
    assert checks(verdict) == {"retry_bound"}
    assert [(v.request, v.step) for v in verdict.violations] == [
        (RequestId("A"), 1),
        (RequestId("B"), 1),
    ]
    assert [(h.step, h.iocbs) for h in record.settle_bound_hits] == [(1, (("A", 32), ("B", 32)))]
    assert [(r.name, r.completed_at) for r in record.requests] == [("A", 2), ("B", 3)]


def test_check_hang_only_a_mutant_can_hang() -> None:
    """check-hang: no real version hangs (a queued AIO entry always sits on the queue of a page
    under writeback, and the drain completes every I/O); the drops-wakeup mutant does (see
    test_a_dropped_wakeup_is_a_hang). The real versions: pre completes at step 0 (completion,
    kernel_bug), post and recheck-locked pass."""
    for version, expected in (
        ("pre", {"completion", "kernel_bug"}),
        ("post", set()),
        ("recheck-locked", set()),
    ):
        _, verdict = run("check-hang", version)
        assert checks(verdict) == expected, version


def test_check_error_pre_overwrites_minus_eio() -> None:
    """check-error with pre: after p0's I/O fails, the waiter returns 0 and the PageError test
    sets ret = -EIO; next = 1 <= last = 1 so the loop goes on and p1's `ret = (*operator)(page)`
    sets ret = 0 again. bytes = (2 << 12) - 0 = 8192, ret == 0: T returns 8192 in the drain (step
    2). error (T, step 2) and nothing else. Post only ever reaches p0 (last+1), so it returns -EIO
    at step 1: it passes."""
    _, verdict = run("check-error", "pre")
    assert checks(verdict) == {"error"}
    v = only(verdict, "error")
    assert (v.request, v.step) == (RequestId("T"), 2)
    post_record, post = run("check-error", "post")
    assert post.passed
    t = post_record.request("T")
    assert (t.result, t.completed_at) == (-EIO, 1)


def test_check_kernel_bug_pre_completes_with_its_entry_queued() -> None:
    """check-kernel_bug with pre: A's gen 1 is durable at step 3; W's gen 2 is in flight on p0
    from step 6. Step 7: pre's next = 1 before the waiter, which queues A on q0: bytes 4096 =
    count, aio_complete with the entry queued (BUG, A, step 7); the drain's completion of gen 2
    wakes the completed iocb (BUG, A, step 8). completion is clean (A's own data is on disk), no
    other check fires."""
    record, verdict = run("check-kernel_bug", "pre")
    assert checks(verdict) == {"kernel_bug"}
    assert [(v.request, v.step) for v in verdict.violations] == [
        (RequestId("A"), 7),
        (RequestId("A"), 8),
    ]
    assert [b.kind for b in record.kernel_bugs] == [
        "complete-with-queued-wait",
        "wake-completed-iocb",
    ]
    _, post = run("check-kernel_bug", "post")
    assert post.passed


# ------------------------------------------------------------------ one case per class


def test_diff_same() -> None:
    """diff-same: a 2048-byte AIO write at pos 1024, p0 under writeback when waited on. post and
    recheck-locked: curr / next still 0, bytes = 0 - 1024 = -1024, unsigned above count, so 2048;
    pre: next = 1, bytes = 4096 - 1024 = 3072 > 2048, so 2048. All three complete 2048 at step 0
    with the entry queued: identical outcomes, `same` for every pair, all failing completion and
    kernel_bug."""
    for left, right in (("pre", "post"), ("pre", "recheck-locked"), ("post", "recheck-locked")):
        assert diff_class("diff-same", left, right) == "same"
    record, verdict = run("diff-same", "post")
    assert checks(verdict) == {"completion", "kernel_bug"}
    a = record.request("A")
    assert (a.result, a.completed_at) == (2048, 0)


def test_diff_fixed() -> None:
    """diff-fixed: pre completes A at step 0 and B at step 1, each with its page in flight and its
    entry queued; post completes them at steps 2 and 3 after their I/O. S(post) = {} is a strict
    subset of S(pre) = {completion, kernel_bug}: `fixed`."""
    _, pre = run("diff-fixed", "pre")
    assert checks(pre) == {"completion", "kernel_bug"}
    assert [(v.request, v.step) for v in pre.violations if v.check == "completion"] == [
        (RequestId("A"), 0),
        (RequestId("B"), 1),
    ]
    assert diff_class("diff-fixed", "pre", "post") == "fixed"


def test_diff_regressed() -> None:
    """diff-regressed: a two-page synchronous write. Post writes out and waits for p0 only
    (next = 2 > last = 1 after the first page) and returns 4096 at step 1: a short count with no
    cause (byte_count) and p1 still dirty (completion), both for T at step 1. Pre passes (8192 at
    step 2): pre/post `regressed`."""
    _, post = run("diff-regressed", "post")
    assert checks(post) == {"completion", "byte_count"}
    assert {(v.request, v.step) for v in post.violations} == {(RequestId("T"), 1)}
    _, pre = run("diff-regressed", "pre")
    assert pre.passed
    assert diff_class("diff-regressed", "pre", "post") == "regressed"


def test_diff_both() -> None:
    """diff-both: A (one page, AIO) trips pre (completion and kernel_bug at step 0); T (two pages,
    sync) trips post (4096 of 8192 at step 3, when p2's I/O completes: byte_count and completion for
    p3). {completion, kernel_bug} vs {completion, byte_count}: neither a subset, `both`."""
    _, pre = run("diff-both", "pre")
    _, post = run("diff-both", "post")
    assert checks(pre) == {"completion", "kernel_bug"}
    assert checks(post) == {"completion", "byte_count"}
    assert {v.request for v in pre.violations} == {RequestId("A")}
    assert {(v.request, v.step) for v in post.violations} == {(RequestId("T"), 3)}
    assert diff_class("diff-both", "pre", "post") == "both"


def test_diff_benign() -> None:
    """diff-benign: T writes two pages synchronously, X truncates to 0 at step 1. Post wrote only
    p0; truncation removes dirty p1 (its data thrown away) and waits for p0; the drain completes p0
    and post returns 4096, short because p1 left the file. Pre wrote both, returns 8192. Both pass,
    results differ: `benign`."""
    pre_record, pre = run("diff-benign", "pre")
    post_record, post = run("diff-benign", "post")
    assert pre.passed and post.passed
    assert (pre_record.request("T").result, post_record.request("T").result) == (8192, 4096)
    assert diff_class("diff-benign", "pre", "post") == "benign"


def test_every_class_is_shown_between_real_versions() -> None:
    """Each class of the differential verdict has a shipped case where two of the seed's versions
    produce it (pre/post, except `same`, also shown there, and nothing needing a mutant)."""
    found = {
        diff_class("diff-same", "pre", "post"),
        diff_class("diff-fixed", "pre", "post"),
        diff_class("diff-regressed", "pre", "post"),
        diff_class("diff-both", "pre", "post"),
        diff_class("diff-benign", "pre", "post"),
    }
    assert found == {"same", "fixed", "regressed", "both", "benign"}


# ------------------------------------------------------------------ issue 3 acceptance


def test_issue3_pre_completes_one_page_aio_early_and_post_fixes_it() -> None:
    """one-page-aio. Pre: run 1 writes out p0 (I/O gen 1); the wait phase locks p0 and sets
    next = 0 + 1 = 1 before page_waiter, which unlocks, finds p0 under writeback, queues A on q0
    and returns -EIOCBRETRY; bytes = (1 << 12) - 0 = 4096 = count, so aio_pwrite has left = 0 and
    completes A at step 0 with p0 in flight: completion (A, step 0). Post: curr stays 0, bytes 0,
    -EIOCBRETRY; step 1's completion kicks A; run 2 finds p0 done, curr = 1: 4096 at step 1.
    pre/post: {} is a strict subset of pre's checks, `fixed`."""
    record, pre = run("one-page-aio", "pre")
    v = only(pre, "completion")
    assert (v.request, v.step) == (RequestId("A"), 0)
    assert record.request("A").not_on_disk_at_completion == (0,)
    post_record, post = run("one-page-aio", "post")
    assert post.passed
    a = post_record.request("A")
    assert (a.result, a.completed_at, a.retries) == (4096, 1, 2)
    assert diff_class("one-page-aio", "pre", "post") == "fixed"


def test_issue3_recheck_locked_storms_where_post_does_not() -> None:
    """check-retry_bound: two one-page AIO writes, p0 and p1 pinned to q0, settle_bound 64. The
    storm is in test_check_retry_bound_recheck_locked_storms (settle bound hit at step 1).
    Post never locks in the wait path, so only real events and the other iocb's copy/write-out
    unlocks wake it: A and B run 3 times each (queue; woken by B's unlock of p1 and requeue; woken
    by the I/O completion and done), within 1 + 1 page + 1 real wakeup, and no settle hits its
    bound. post/recheck-locked: `regressed`."""
    record, verdict = run("check-retry_bound", "recheck-locked")
    assert "retry_bound" in checks(verdict) and record.settle_bound_hit
    assert record.case.config.queue_of == ((0, 0), (1, 0))
    assert record.case.config.settle_bound == 64
    post_record, post = run("check-retry_bound", "post")
    assert post.passed and not post_record.settle_bound_hit
    assert [r.retries for r in post_record.requests] == [3, 3]
    assert diff_class("check-retry_bound", "post", "recheck-locked") == "regressed"


def test_issue3_post_fails_completion_on_two_page_aio() -> None:
    """check-completion: A = aio_write(pos 0, count 8192), file of 2 pages, lookup_next last+1.
    By hand from the seed's + lines: first = 0, last = (0 + 8192 - 1) >> 12 = 1, next = curr = 0.

    Run 1, write-out phase: pagevec_lookup(&next, min(16, 1 - 0 + 1) = 2) returns [p0, p1] and,
    under last+1, sets next = 1 + 1 = 2. p0: curr = 0, not > next, mapped: page_writer locks,
    clears dirty, starts I/O (gen 1), unlocks; ret 0; curr++ = 1; then `if (next > last) break`:
    2 > 1, so p1 is never given to page_writer. bytes = (1 << 12) - 0 = 4096 >= 0, so the wait
    phase runs: same lookup, next = 2; p0 is under writeback: entry queued on q0, -EIOCBRETRY,
    break with curr = 0: bytes 0, result -EIOCBRETRY; aio_pwrite leaves left = 8192.

    Step 1: p0's I/O completes, wakes q0, kicks A. Run 2 (SYNCED: wait phase only, pos 0, count
    8192): p0 not under writeback, waiter 0, curr = 1, next = 2 > 1: break; bytes 4096. left =
    4096, pos = 4096, nothing queued, so A is kicked at once (rule 15). Run 3 (pos 4096, count
    4096): first = last = 1, lookup [p1], next = 2; p1 is dirty but not under writeback (nobody
    wrote it), so the waiter returns 0; curr = 2; bytes = (2 << 12) - 4096 = 4096 = count; left = 0:
    A completes 8192 at step 1, 3 runs, with p1 still dirty. completion (A, step 1), alone."""
    record, verdict = run("check-completion", "post")
    assert checks(verdict) == {"completion"}
    v = only(verdict, "completion")
    assert (v.request, v.step) == (RequestId("A"), 1)
    assert [(p.index, p.dirty, p.writeback) for p in v.evidence] == [(1, True, False)]
    a = record.request("A")
    assert (a.result, a.completed_at, a.retries, a.not_on_disk_at_completion) == (8192, 1, 3, (1,))


def test_error_is_not_charged_once_the_data_was_on_disk() -> None:
    """Regression from fuzzing `fixed`: A's write-out of page 2 completes at step 1 (A's data
    durable), then B's rewrite of page 2 fails at step 3. A returns 8192 and B -EIO in fixed and
    in the reference; `error` must charge neither (the failure is B's, and B reported it)."""
    case = load_case(EXAMPLES / "error-later-writeout-after-durable.json")
    for version in ("fixed", "reference"):
        record = run_case(case, get_version(version))
        assert record.request("A").result == 8192
        assert record.request("B").result == -5
        assert not [v for v in judge(record).violations if v.check == "error"]
