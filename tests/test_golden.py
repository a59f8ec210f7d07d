"""Hand-worked golden cases (corpus/examples/*.json).

Every expected value below was traced by hand from the seed patch, kernel-model.md (the project's
kernel-semantics spec, kept outside this repository) and docs/model.md *before* the case was run;
the working is in each test's docstring. Notation: pN = the page at index N, qK = hashed wait queue
K, "run k" = the k-th aio_run_iocb of an iocb, W/D/L = writeback/dirty/locked, -530 = -EIOCBRETRY.
Default queues: a page's identity (its allocation serial; initial pages 0..n-1) mod wait_queues (4),
unless pinned by queue_of (R9).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pagefuzz._casefile import load_case
from pagefuzz._replay import replay_json

EXAMPLES = Path(__file__).resolve().parent.parent / "corpus" / "examples"
ALL = ["pre", "post", "recheck-locked"]


def replay(name: str, versions: list[str]) -> dict[str, Any]:
    """The replay JSON of one example, per version."""
    out = replay_json(load_case(EXAMPLES / f"{name}.json"), versions)
    return dict(out["versions"])


def facts(v: dict[str, Any], request: str) -> tuple[Any, ...]:
    """(result, completed_at, retries, not_on_disk_at_completion) of one request."""
    r = v["requests"][request]
    return (r["result"], r["completed_at"], r["retries"], r["not_on_disk_at_completion"])


def bug_steps(v: dict[str, Any]) -> list[int]:
    return [bug["step"] for bug in v["kernel_bugs"]]


def texts(v: dict[str, Any], step: int | None = None, actor: str | None = None) -> list[str]:
    """Event texts, optionally of one step and/or one actor, in order."""
    return [
        e["text"]
        for e in v["events"]
        if (step is None or e["step"] == step) and (actor is None or e["actor"] == actor)
    ]


def seq(v: dict[str, Any], actor: str, text: str, step: int | None = None) -> int:
    """seq of the first event of `actor` whose text starts with `text` (in `step` if given)."""
    for e in v["events"]:
        hit = e["actor"] == actor and e["text"].startswith(text)
        if hit and (step is None or e["step"] == step):
            return int(e["seq"])
    raise AssertionError(f"no event {actor}: {text!r} (step {step})")


def runs_by_step(v: dict[str, Any], iocb: str) -> dict[int, int]:
    """How many aio_run_iocb runs of `iocb` happened in each step."""
    out: dict[int, int] = {}
    for e in v["events"]:
        if e["actor"] == iocb and e["kind"] == "run":
            out[e["step"]] = out.get(e["step"], 0) + 1
    return out


def sleeps_of(v: dict[str, Any], actor: str) -> list[int]:
    """The steps in which `actor` went to sleep, one entry per sleep."""
    return [e["step"] for e in v["events"] if e["actor"] == actor and e["kind"] == "sleep"]


def assert_quiet(v: dict[str, Any]) -> None:
    """No BUG, no settle-bound hit, no skipped step."""
    assert v["kernel_bugs"] == []
    assert v["settle_bound_hit"] is False
    assert v["skipped_steps"] == []


# ------------------------------------------------------------------ section 5 consequences


def test_1a_one_page_aio_pre_completes_at_once_post_and_recheck_wait() -> None:
    """one-page-aio: 1 page (p0 on q0), A = aio_write(0, 4096), then complete_io p0.

    pre, step 0, run 1: copy p0 (lock, gen 1, dirty, unlock: q0 empty). sync_page_range: SYNCED
    set; writer phase: first = last = 0; pagevec_lookup(0, nr=1) -> [p0]; lock_page p0; mapped;
    next = 1 BEFORE the operator; page_writer: clear dirty, no writeback, start I/O, unlock;
    next 1 > last 0: break; bytes = 4096. Wait phase: lookup [p0]; lock p0; next = 1; page_waiter:
    unlock p0 (q0 empty), p0 W -> A's entry queued on q0, -530; break; bytes = (1 << 12) - 0 =
    4096, ret -530 -> returns 4096. aio_write: pos += 4096. aio_pwrite: left = 0 -> result
    nbytes - left = 4096 -> aio_complete with the entry on q0: BUG at step 0; p0 W -> not on
    disk [0]; retries 1. Step 1: end_page_writeback p0 wakes q0: A's entry, A completed -> second
    BUG (R14) at step 1, nothing kicked.

    post, step 0: writer: lookup(&next=0, 1) -> [p0], next = 1; curr = 0 (not > next, mapped);
    page_writer locks, starts I/O, unlocks; curr = 1; break -> 4096. Wait phase: lookup [p0],
    next = 1; curr = 0; page_waiter: W -> queued on q0, -530; break with curr = 0 -> bytes 0 ->
    returns -530; aio_pwrite -530 (left 4096); entry queued, so no immediate kick. Step 1: I/O
    done, q0 wakes A -> kick -> run 2: SYNCED, wait phase only: p0 not W -> 0; curr = 1 ->
    4096; left 0 -> complete 4096, entry not queued, p0 clean: not on disk []. retries 2.

    recheck-locked, step 0: like pre but next moves only after the operator: the wait returns
    -530 with next = 0 -> bytes 0 -> -530, entry on q0. Step 1: wake -> run 2: lock p0, waiter
    unlocks (q0 now empty: the entry was removed by the wake), not W -> 0; next = 1 -> 4096.
    """
    v = replay("one-page-aio", ALL)
    assert facts(v["pre"], "A") == (4096, 0, 1, [0])
    assert bug_steps(v["pre"]) == [0, 1]
    assert "while its wait entry is on q0" in v["pre"]["kernel_bugs"][0]["what"]
    assert "completed iocb A" in v["pre"]["kernel_bugs"][1]["what"]
    assert facts(v["post"], "A") == (4096, 1, 2, [])
    assert facts(v["recheck-locked"], "A") == (4096, 1, 2, [])
    for name in ("post", "recheck-locked"):
        assert_quiet(v[name])
    assert v["pre"]["settle_bound_hit"] is False and v["pre"]["skipped_steps"] == []


def test_1b_post_last1_two_page_writes_only_first_page() -> None:
    """post-two-page-last1: 2 pages (p0 q0, p1 q1), A = aio_write(0, 8192), complete_io p0.

    post, step 0, run 1: copy p0 (gen 1), p1 (gen 2), both D. Writer phase: first 0, last 1;
    lookup(&next=0, nr=min(16, 2)=2) -> [p0, p1] and next = 2 (last+1). p0: curr 0, not > 2,
    mapped; page_writer: lock, clear dirty, start I/O on p0, unlock; curr = 1; then the unchanged
    `if (next > last) break`: 2 > 1 -> break. p1 is never written. bytes = 4096 (>= 0). Wait
    phase: lookup -> [p0, p1], next 2; p0 W -> entry on q0, -530; curr 0 -> bytes 0 -> -530.
    Step 1: p0 done, q0 wakes A -> run 2: left 8192, pos 0, wait phase: lookup -> [p0, p1],
    next 2; p0 not W -> 0; curr 1; 2 > 1 break; bytes 4096 -> 4096 (one page of progress);
    pos 4096, left 4096, -530 with the entry on no queue -> kicked again at once (rule 15) ->
    run 3 in the same step: operate(4096, 4096): first = last = 1; lookup(&1, 1) -> [p1],
    next 2; p1 is D but not W -> page_waiter returns 0; curr 2 -> bytes 8192 - 4096 = 4096;
    left 0 -> result 8192 at step 1, retries 3, p1 still dirty: not on disk [1]. No BUG.

    pre, step 0: writer locks p0 (next 1, writes it), 1 > 1 false, locks p1 (next 2, writes
    it): 8192. Wait: lock p0, next 1, unlock, W -> queued q0, -530 -> bytes 4096 -> returns
    4096; pos 4096, left 4096 -> -530, entry queued. Step 1: wake -> run 2: operate(4096, 4096):
    lock p1, next 2, unlock (q1 empty), p1 W -> queued on q1, -530 -> bytes 4096; left 0 ->
    8192 with the entry on q1: BUG at step 1, p1 W: not on disk [1], retries 2. Drain (step 2):
    p1's I/O completes, q1 wakes completed A: BUG at step 2.

    recheck-locked: writer writes both pages (8192); wait on p0 -> -530 with next 0 -> -530.
    Step 1: run 2: p0 not W -> next 1; p1: lock, unlock, W -> queued q1, -530 -> bytes 4096;
    left 4096, entry queued. Drain: p1 done -> run 3: p1 not W -> 4096 -> 8192 at step 2,
    retries 3, not on disk [].
    """
    v = replay("post-two-page-last1", ALL)
    assert facts(v["post"], "A") == (8192, 1, 3, [1])
    assert_quiet(v["post"])
    assert texts(v["post"], step=0, actor="A").count("starts I/O on p0 (gen 1)") == 1
    assert not [t for t in texts(v["post"]) if t.startswith("starts I/O on p1")]
    assert facts(v["pre"], "A") == (8192, 1, 2, [1])
    assert bug_steps(v["pre"]) == [1, 2]
    assert facts(v["recheck-locked"], "A") == (8192, 2, 3, [])
    assert_quiet(v["recheck-locked"])


def test_1c_post_unmapped_page_credits_rest_of_batch() -> None:
    """post-unmapped-credits-batch (post; auto_settle false; p0 q0, p1 q1).

    0 aio_write A(0, 8192): A runnable only.
    1 run A until lookup: run 1: copy p0 (gen 1), p1 (gen 2), D; writer lookup(&0, 2) -> [p0,
      p1], next 2; pause at 'lookup'.
    2 run A until lookup: p0: page_writer starts I/O on p0; curr 1; next 2 > 1 break -> 4096.
      Wait phase: lookup(&0, 2) -> [p0, p1] (refs held), next = 2; pause at 'lookup'.
    3 flush 1: p1 present, D, unlocked, not W -> clear dirty, start I/O on p1, unlock (q1 empty).
    4 truncate T 0: T runnable. 5 run T: pass 1 from 0: p0 try-locked, W -> unlock, skip; p1
      the same. No partial page (size 0). Pass 2: lock p0, wait_on_page_writeback p0: sleeps on
      q0.
    6 complete_io 0: p0 clean on disk; q0 wakes T (runnable, not run).
    7 run T: p0 no longer W -> removed (mapping cleared), unlock p0; next p1: lock p1, p1 W ->
      T sleeps on q1. Now p0 is unmapped, p1 is mapped and under writeback.
    8 run A: resume the wait loop on its batch [p0, p1]: p0: curr = 0, not > next (2), but
      !page->mapping -> curr = next = 2, break. next 2 > last 1 -> out. bytes = (2 << 12) - 0 =
      8192, ret 0 -> 8192: p1 is claimed without being looked at. aio_write: pos 8192, left 0
      -> result 8192 at step 8, retries 1; entry never queued -> no BUG. Range 0..1: p0 gone,
      p1 still in the file under writeback -> not on disk [1].
    Drain (9): p1's I/O completes, q1 wakes T, which removes p1 and finishes ("truncate done").
    """
    v = replay("post-unmapped-credits-batch", ["post"])["post"]
    assert facts(v, "A") == (8192, 8, 1, [1])
    assert_quiet(v)
    assert not [t for t in texts(v, actor="A") if "entry queued" in t]
    assert "sleeps in wait_on_page_writeback p0 (q0)" in texts(v, step=5, actor="T")
    assert "sleeps in wait_on_page_writeback p1 (q1)" in texts(v, step=7, actor="T")
    assert "truncate done" in texts(v, step=9, actor="T")


def test_1d_unaligned_pos_negative_bytes_clamped_to_count() -> None:
    """post-unaligned-clamp: 1 page, A = aio_write(pos 100, count 200), complete_io p0.

    post, step 0: copy p0. Writer: first 0, last (100 + 199) >> 12 = 0; lookup(&0, 1) -> [p0],
    next 1; p0 written; curr 1 -> bytes 4096 - 100 = 3996 > 200 -> 200 (>= 0). Wait: lookup [p0];
    p0 W -> entry on q0, -530, break with curr = 0: bytes = (0 << 12) - 100 = -100 (ssize_t);
    `bytes > count` compares as size_t (R8): 2^64 - 100 > 200 -> bytes = count = 200; 200 != 0
    and ret == -530 -> returns 200. aio_write: pos 300; aio_pwrite: left 0 -> result 200 with
    the entry on q0: BUG at step 0; p0 W: not on disk [0]; retries 1. Step 1: p0 done, q0 wakes
    completed A: BUG at step 1.
    pre: next = 1 before the wait -> 3996 -> clamped to 200; same outcome.
    recheck-locked: next 0 after the -530 -> -100 -> clamped to 200: same outcome too.
    """
    v = replay("post-unaligned-clamp", ALL)
    for name in ALL:
        assert facts(v[name], "A") == (200, 0, 1, [0]), name
        assert bug_steps(v[name]) == [0, 1], name
        assert v[name]["settle_bound_hit"] is False and v[name]["skipped_steps"] == []


def test_1e_post_lookup_returns_page_beyond_last() -> None:
    """post-lookup-beyond-last (post; auto_settle false; p0 q0, p1 q1).

    0 aio_write A(0, 4096). 1 run A: run 1: copy p0; writer writes p0; wait: p0 W -> entry on
      q0, -530 (bytes 0). A idle with its entry queued.
    2 complete_io 0: p0 clean; q0 wakes A (kicked, runnable, not run).
    3 reclaim 0: try-lock; clean, not W, refs 1 (A holds no pagevec now) -> evicted; unlock (q0
      empty). Index 0 is now a hole.
    4/5 write W(4096, 4096), run W: p1 gets gen 2, D; W completes 4096 at step 5, not on disk [1].
    6 flush 1: p1 D -> I/O started, unlock (q1 empty).
    7 run A: run 2: SYNCED, left 4096, wait phase operate(0, 4096): first = last = 0;
      lookup(&next=0, 1) -> [p1] (no upper bound), next = 2. curr = 1, not > next 2, mapped ->
      page_waiter(p1): W -> entry queued on q1, -530; break with curr = 1: bytes = 4096 - 0 =
      4096 -> returns 4096; pos 4096, left 0 -> result 4096 with the entry on q1: BUG at step 7.
      Range is p0 only, which is gone -> not on disk []. retries 2.
    Drain (8): p1's I/O completes, q1 wakes completed A: BUG at step 8.
    """
    v = replay("post-lookup-beyond-last", ["post"])["post"]
    assert facts(v, "A") == (4096, 7, 2, [])
    assert facts(v, "W") == (4096, 5, 0, [1])
    assert bug_steps(v) == [7, 8]
    assert "wait entry is on q1" in v["kernel_bugs"][0]["what"]
    assert "pagevec_lookup(&next=0, 1) -> [p1], next=2" in texts(v, step=7, actor="A")
    assert v["settle_bound_hit"] is False and v["skipped_steps"] == []


# ------------------------------------------------------------------ section 8 rules


def test_r1_most_recently_queued_is_woken_first() -> None:
    """r1-wake-order (post; p0, p1 pinned to q0).

    0 A(0, 4096): run 1 writes p0, p0 W -> A queued on q0. q0 = [A].
    1 B(4096, 4096): run 1: copy p1; its unlock wakes q0 -> A kicked (runnable). B writes p1,
      the writer's unlock finds q0 empty; wait: p1 W -> B queued, q0 = [B]. Then A run 2: p0 W
      -> A queued at the head: q0 = [A, B].
    2 complete_io 0: wake-all walks from the head: A woken and kicked first, then B. Runs in
      that order: A run 3 (p0 clean -> completes 4096 at step 2), B run 2 (p1 W -> re-queued).
      FIFO (oldest first) would have woken and run B first.
    3 complete_io 1: B run 3 completes at step 3.
    A: (4096, 2, 3, []); B: (4096, 3, 3, []).
    """
    v = replay("r1-wake-order", ["post"])["post"]
    assert facts(v, "A") == (4096, 2, 3, [])
    assert facts(v, "B") == (4096, 3, 3, [])
    assert_quiet(v)
    assert seq(v, "disk", "wakes iocb A", 2) < seq(v, "disk", "wakes iocb B", 2)
    assert seq(v, "A", "aio_run_iocb A (run 3)", 2) < seq(v, "B", "aio_run_iocb B (run 2)", 2)


def test_r2_iocb_asleep_in_lock_page_does_not_block_others() -> None:
    """r2-asleep-iocb-does-not-block (post; p0 q0, p1 q1).

    0 lock_page L 0: L holds p0.
    1 A(0, 4096): run 1, copy phase: p0 exists, lock_page -> locked -> A sleeps on q0.
    2 B(4096, 4096): B is its own schedulable entity: copy p1, write it, p1 W -> queued on q1.
    3 complete_io 1: q1 wakes B -> run 2: p1 clean -> completes 4096 at step 3 (A still asleep).
    4 unlock_page L 0: q0 wakes A (run 1 resumes): lock p0, copy, write p0, p0 W -> queued q0.
    Drain (5): p0 done -> A run 2 completes at step 5.
    A: (4096, 5, 2, []); B: (4096, 3, 2, []).
    """
    v = replay("r2-asleep-iocb-does-not-block", ["post"])["post"]
    assert facts(v, "A") == (4096, 5, 2, [])
    assert facts(v, "B") == (4096, 3, 2, [])
    assert_quiet(v)
    assert "sleeps in lock_page p0 (q0)" in texts(v, step=1, actor="A")


def test_r3_submit_only_queues_first_run_without_auto_settle() -> None:
    """r3-submit-queues-run (post; auto_settle false; p0 q0, p1 q1).

    0 A submitted, 1 B submitted: run list [A, B], nothing runs.
    2 run B: B run 1 (copy, write p1, queued on q1). 3 run B: B is idle (neither runnable nor
    paused) -> skipped step 3. 4 settle: A run 1 (write p0, queued on q0).
    5 complete_io 0: q0 kicks A; it stays runnable (no auto settle).
    Drain (6): settle: A run 2 completes; then p1's I/O: B run 2 completes. Both at step 6.
    A: (4096, 6, 2, []); B: (4096, 6, 2, []); skipped [3].
    """
    v = replay("r3-submit-queues-run", ["post"])["post"]
    assert facts(v, "A") == (4096, 6, 2, [])
    assert facts(v, "B") == (4096, 6, 2, [])
    assert v["skipped_steps"] == [3]
    assert v["kernel_bugs"] == [] and v["settle_bound_hit"] is False
    assert runs_by_step(v, "A") == {4: 1, 6: 1}
    assert runs_by_step(v, "B") == {2: 1, 6: 1}
    assert seq(v, "A", "A completes") < seq(v, "B", "B completes")


def test_r4_drain_completes_oldest_io_first() -> None:
    """r4-drain-oldest-first (post; p0 q0, p1 q1).

    0 B(4096, 4096): I/O on p1 started (outstanding [p1]), B queued q1.
    1 A(0, 4096): I/O on p0 started (outstanding [p1, p0]), A queued q0.
    Drain (2): settle (nothing), complete p1 (oldest) -> B run 2 completes; then p0 -> A run 2.
    A: (4096, 2, 2, []); B: (4096, 2, 2, []), B's completion before A's.
    """
    v = replay("r4-drain-oldest-first", ["post"])["post"]
    assert facts(v, "A") == (4096, 2, 2, [])
    assert facts(v, "B") == (4096, 2, 2, [])
    assert_quiet(v)
    assert seq(v, "disk", "I/O on p1 done") < seq(v, "disk", "I/O on p0 done")
    assert seq(v, "B", "B completes") < seq(v, "A", "A completes")


def test_r5_flush_acts_only_on_dirty_idle_page_and_wakes() -> None:
    """r5-flush (post; p0, p1 pinned to q0).

    0 A(0, 8192): run 1: copy p0, p1 (D); writer writes p0 only (last+1); wait: p0 W -> A on q0.
    1 flush 0: p0 W (not dirty) -> nothing, no wake. 2 flush 2: no page -> nothing.
    3 lock_page L 1 (no wakeup). 4 flush 1: p1 locked -> nothing.
    5 unlock_page L 1: q0 wakes A -> run 2: p0 still W -> re-queued.
    6 flush 1: p1 D, unlocked, not W -> clear dirty, start I/O, unlock -> wakes A -> run 3 ->
      re-queued. 7 flush 1: p1 W -> nothing, no wake.
    8 complete_io 0: run 4: p0 clean -> curr 1, 4096 progress, nothing queued -> kicked at once:
      run 5: operate(4096, 4096): p1 W -> queued on q0, bytes 0 -> -530.
    9 complete_io 1: run 6: p1 clean -> 4096 -> left 0 -> 8192 at step 9, not on disk [].
    Runs per step: {0: 1, 5: 1, 6: 1, 8: 2, 9: 1}; retries 6.
    """
    v = replay("r5-flush", ["post"])["post"]
    assert facts(v, "A") == (8192, 9, 6, [])
    assert_quiet(v)
    assert runs_by_step(v, "A") == {0: 1, 5: 1, 6: 1, 8: 2, 9: 1}
    assert "flush p0: nothing to do (W)" in texts(v, step=1)
    assert "flush p2: nothing to do (no page)" in texts(v, step=2)
    assert "flush p1: nothing to do (LD)" in texts(v, step=4)
    assert "flush p1: nothing to do (W)" in texts(v, step=7)
    assert "wakes iocb A (q0)" in texts(v, step=6, actor="vm")


def test_r6_reclaim_trylocks_evicts_only_idle_and_always_wakes() -> None:
    """r6-reclaim (post; p0, p1, p2 pinned to q0).

    0 A(0, 4096): p0 written, W -> A queued q0 (run 1).
    1 reclaim 0: try-lock ok; W -> kept; unlock wakes A -> run 2 (re-queued).
    2 write W(8192, 4096): copy into p2 (D); its unlock wakes A -> run 3. W: 4096 at step 2, [2].
    3 reclaim 2: D -> kept; unlock wakes A -> run 4.
    4 lock_page L 1. 5 reclaim 1: try-lock fails -> skipped, no unlock, no wake.
    6 unlock_page L 1: wakes A -> run 5.
    7 reclaim 1: clean, unlocked, not W, refs 1 -> evicted; unlock wakes A -> run 6.
    8 reclaim 1: no page -> nothing. 9 complete_io 0: run 7 completes 4096 at step 9.
    """
    v = replay("r6-reclaim", ["post"])["post"]
    assert facts(v, "A") == (4096, 9, 7, [])
    assert facts(v, "W") == (4096, 2, 0, [2])
    assert_quiet(v)
    assert runs_by_step(v, "A") == {0: 1, 1: 1, 2: 1, 3: 1, 6: 1, 7: 1, 9: 1}
    assert "reclaim p0: busy (LW, refs 1), kept" in texts(v, step=1)
    assert "reclaim p2: busy (LD, refs 1), kept" in texts(v, step=3)
    assert "reclaim p1: locked, skipped" in texts(v, step=5)
    assert "removes p1 from the page cache" in texts(v, step=7, actor="vm")
    assert "reclaim p1: no page" in texts(v, step=8)


def test_r7_truncation_passes_and_partial_page() -> None:
    """r7-truncate-passes (post; 4 pages, pN on qN).

    0 A(8192, 4096): p2 written, W -> A queued on q2.
    1 lock_page L 3.
    2 truncate T 6144: start = 2, partial = 2048. Pass 1 from 2: p2 try-locked, W -> unlock
      (wakes A), skipped; p3 try-lock fails (L) -> skipped. Partial page p1: lock, no W, zero the
      tail past 2048, unlock. Pass 2: lock p2, wait for writeback -> T sleeps on q2. Then A run 2:
      p2 still W -> A queued on q2 (q2 = [A, T]).
    3 complete_io 2: wakes A then T. A run 3: p2 (still mapped) clean -> completes 4096 at step 3.
      T: removes p2, unlock; lock_page p3 -> sleeps on q3.
    4 unlock_page L 3: wakes T: lock p3, remove, unlock; rescans from 2: empty -> done.
    A: (4096, 3, 3, []). No page removed in step 2.
    """
    v = replay("r7-truncate-passes", ["post"])["post"]
    assert facts(v, "A") == (4096, 3, 3, [])
    assert_quiet(v)
    t2 = texts(v, step=2, actor="T")
    assert "trylocks p2" in t2 and "trylocks p3" not in t2
    assert "wakes iocb A (q2)" in t2
    assert "zeroes the tail of p1 past 2048" in t2
    assert t2[-1] == "sleeps in wait_on_page_writeback p2 (q2)"
    assert not [t for t in t2 if t.startswith("removes")]
    t3 = texts(v, step=3, actor="T")
    assert "removes p2 from the page cache" in t3 and t3[-1] == "sleeps in lock_page p3 (q3)"
    t4 = texts(v, step=4, actor="T")
    assert "removes p3 from the page cache" in t4 and t4[-1] == "truncate done"


def test_r9_hash_collision_and_queue_pin() -> None:
    """r9-hash-collision / r9-queue-pin / r9-new-page-serial (post, wait_queues 4).

    collision: 5 initial pages, p4 has identity 4 -> q0 like p0. 0 A(0, 4096) queued q0.
    1 B(16384, 4096): copy p4, its unlock wakes q0: A kicked -> run 2 after B's run, re-queued;
    B queued on q0. 2 complete_io 0 wakes both: A completes (run 3), B re-queues (run 2, spurious).
    3 complete_io 4: B run 3 completes. A (4096, 2, 3, []), B (4096, 3, 3, []).
    pin {4: 1}: p4 on q1, nothing shared: A (4096, 2, 2, []), B (4096, 3, 2, []).
    new-page-serial: 1 initial page; B's write creates p4 with identity 1 -> q1 (by index it
    would be q0): A (4096, 2, 2, []), B (4096, 3, 2, []); "creates p4 locked (q1)".
    """
    col = replay("r9-hash-collision", ["post"])["post"]
    assert facts(col, "A") == (4096, 2, 3, [])
    assert facts(col, "B") == (4096, 3, 3, [])
    assert_quiet(col)
    pin = replay("r9-queue-pin", ["post"])["post"]
    assert facts(pin, "A") == (4096, 2, 2, [])
    assert facts(pin, "B") == (4096, 3, 2, [])
    assert_quiet(pin)
    new = replay("r9-new-page-serial", ["post"])["post"]
    assert facts(new, "A") == (4096, 2, 2, [])
    assert facts(new, "B") == (4096, 3, 2, [])
    assert "creates p4 locked (q1)" in texts(new, step=1, actor="B")
    assert_quiet(new)


def test_r10_copy_phase_new_page_locked_without_wakeup() -> None:
    """r10-copy-phase (post; 1 initial page; p0 and index 2 pinned to q0).

    0 A(0, 4096): p0 (gen 1) written, W -> A queued q0.
    1 write W(8192, 4096): index 2 is a hole: p2 created already locked, no wakeup; copy gen 2;
      unlock -> the only wakeup: A kicked -> run 2 (p0 W, re-queued). W: 4096 at step 1, [2].
    2 lock_page L 2. 3 write V(8192, 4096): p2 exists and is locked -> V sleeps on q0 (head).
    4 unlock_page L 2: wakes V, then A. V: lock p2, copy gen 3, unlock -> 4096 at step 4, [2].
      A run 3: re-queued.
    5 complete_io 0: A run 4 completes 4096 at step 5. A retries 4.
    """
    v = replay("r10-copy-phase", ["post"])["post"]
    assert facts(v, "A") == (4096, 5, 4, [])
    assert facts(v, "W") == (4096, 1, 0, [2])
    assert facts(v, "V") == (4096, 4, 0, [2])
    assert_quiet(v)
    w1 = texts(v, step=1, actor="W")
    assert w1[1:5] == [
        "creates p2 locked (q0)",
        "copies into p2 (gen 2), dirty",
        "unlocks p2",
        "wakes iocb A (q0)",
    ]
    assert "sleeps in lock_page p2 (q0)" in texts(v, step=3, actor="V")
    assert seq(v, "L", "wakes V", 4) < seq(v, "L", "wakes iocb A", 4)
    assert "copies into p2 (gen 3), dirty" in texts(v, step=4, actor="V")


def test_r12_io_error_is_eio_for_post_missed_by_pre() -> None:
    """r12-io-error: 1 page, A(0, 4096), complete_io p0 with error.

    pre: completes 4096 at step 0 (page counted before the wait; BUG, entry on q0). Step 1: the
    failed I/O sets PG_error, wakes completed A: BUG. The error is never reported.
    post: step 0 queued (-530). Step 1: error, q0 wakes A -> run 2: p0 not W -> 0; PageError
    and ret 0 -> ret = -EIO; curr 1; bytes 4096 but ret is neither 0 nor -530 -> returns -5.
    aio_write: negative, pos unchanged; aio_pwrite: -5 (left 4096 != 0) -> complete -5 at
    step 1, retries 2. p0 neither D nor W -> not on disk [].
    recheck-locked: the same as post (lock/unlock around the wait; error seen after the wait).
    """
    v = replay("r12-io-error", ALL)
    assert facts(v["pre"], "A") == (4096, 0, 1, [0])
    assert bug_steps(v["pre"]) == [0, 1]
    for name in ("post", "recheck-locked"):
        assert facts(v[name], "A") == (-5, 1, 2, []), name
        assert v[name]["requests"]["A"]["result_name"] == "EIO"
        assert_quiet(v[name])


def test_r13_cursor_equals_last1_when_lookup_is_full() -> None:
    """r13-cursor-two-page: post-two-page-last1 under cursor.

    Every lookup there finds nr pages (lookup(&0, 2) -> [p0, p1]; lookup(&1, 1) -> [p1]), and
    R13 says a full lookup sets next = last found + 1: identical to last+1, so A is again
    (8192, 1, 3, [1]).
    """
    v = replay("r13-cursor-two-page", ["post"])["post"]
    assert facts(v, "A") == (8192, 1, 3, [1])
    assert_quiet(v)
    assert "pagevec_lookup(&next=0, 2) -> [p0, p1], next=2" in texts(v, step=0, actor="A")


def test_r13_short_lookup_cursor_vs_last1() -> None:
    """r13-last1-truncated-tail / r13-cursor-truncated-tail (post; 3 pages, pN on qN).

    0 A(0, 12288): copy p0..p2 (D); writer lookup(&0, 3) -> 3 pages, next 3 under both rules;
      p0 written, break; wait: p0 W -> queued q0.
    1 truncate T 8192: pass 1 removes p2 (D, unlocked, not W; unlock wakes q2: empty). Done.
    2 complete_io 0 -> run 2: operate(0, 12288), last 2, lookup(&0, 3) -> [p0, p1] (short).
      last+1: next = 2 <= last: p0 not W (curr 1), next 2 > 2 false, p1 not W (curr 2); re-lookup
        (&2, 1) -> [] -> out; bytes 8192 -> pos 8192, left 4096, kicked at once. Run 3:
        operate(8192, 4096): lookup(&2, 1) -> [] -> curr = first = 2, bytes 0, ret 0 -> 0;
        aio_pwrite: 0 -> nbytes - left = 8192. A: (8192, 2, 3, [1]) (p1 D, p2 gone).
      cursor: next = 64 (end of the 64-slot leaf) > last: stops after p0: 4096; run 3:
        operate(4096, 8192), lookup(&1, 2) -> [p1] (short), next 64: p1 -> 4096; run 4:
        operate(8192, 4096): empty -> 0 -> 8192. A: (8192, 2, 4, [1]).
    """
    last1 = replay("r13-last1-truncated-tail", ["post"])["post"]
    assert facts(last1, "A") == (8192, 2, 3, [1])
    assert_quiet(last1)
    cur = replay("r13-cursor-truncated-tail", ["post"])["post"]
    assert facts(cur, "A") == (8192, 2, 4, [1])
    assert_quiet(cur)
    assert "pagevec_lookup(&next=0, 3) -> [p0, p1], next=64" in texts(cur, step=2, actor="A")


def test_r14_bug_is_recorded_and_execution_continues() -> None:
    """r14-bug-continues (p0, p1 pinned to q0): A(0, 4096); unlock_page L 1; complete_io 0.

    pre: step 0: A completes 4096 with its entry on q0 (BUG). Step 1: p1 is not locked: BUG,
    yet q0 is woken: A's entry reaches a completed iocb: BUG, entry removed, no kick (retries
    stay 1). Step 2: p0's completion wakes q0, now empty: no further BUG. Bugs at [0, 1, 1].
    post: step 0 queued. Step 1: BUG, the wakeup kicks A -> run 2 (p0 W, re-queued). Step 2:
    run 3 completes 4096. Bugs [1]; A (4096, 2, 3, []).
    recheck-locked: same as post (its unlock of p0 in run 2 finds q0 empty): (4096, 2, 3, []).
    """
    v = replay("r14-bug-continues", ALL)
    assert facts(v["pre"], "A") == (4096, 0, 1, [0])
    assert bug_steps(v["pre"]) == [0, 1, 1]
    assert "L unlocks p1, which is not locked" in v["pre"]["kernel_bugs"][1]["what"]
    assert "completed iocb A" in v["pre"]["kernel_bugs"][2]["what"]
    for name in ("post", "recheck-locked"):
        assert facts(v[name], "A") == (4096, 2, 3, []), name
        assert bug_steps(v[name]) == [1], name
    for name in ALL:
        assert v[name]["settle_bound_hit"] is False and v[name]["skipped_steps"] == []


def test_r15_buffered_write_returns_count() -> None:
    """r15-buffered-write: write W(100, 5000) on 2 pages: copy p0, p1 (D), result = count = 5000
    at step 0, retries 0 (a task), both pages dirty: not on disk [0, 1]. Version-independent."""
    v = replay("r15-buffered-write", ALL)
    for name in ALL:
        assert facts(v[name], "W") == (5000, 0, 0, [0, 1]), name
        assert v[name]["requests"]["W"]["kind"] == "write"
        assert_quiet(v[name])


# ------------------------------------------------------------------ items 3-7


def test_filtered_wakeups_off_vs_on() -> None:
    """filtered-wakeups-off / -on (post; p0, p1 pinned to q0).

    0 lock_page L 0. 1 lock_page M 0: M sleeps in lock_page p0 on q0 (entry keyed p0).
    2 A(4096, 4096): copy p1, unlock p1 wakes q0:
      off: M woken (dequeued, runnable). A writes p1 (writer unlock: q0 empty), queues on q0.
        M runs: p0 still locked -> sleeps again: a wasted dispatch. q0 = [M, A].
      on: M's key is p0, not p1: ignored, stays queued. A queues: q0 = [A, M]; M never runs.
    3 unlock_page L 0: off: wakes M, then A; on: wakes A (AIO: never filtered), then M. M locks
      p0; A run 2: p1 W -> re-queued.
    4 complete_io 1: A run 3 completes 4096 at step 4, retries 3 in both.
    M sleeps: off 2 (steps 1, 2), on 1 (step 1). Wakeups of M: off 2 (by A, by L), on 1 (by L).
    """
    off = replay("filtered-wakeups-off", ["post"])["post"]
    on = replay("filtered-wakeups-on", ["post"])["post"]
    for v in (off, on):
        assert facts(v, "A") == (4096, 4, 3, [])
        assert_quiet(v)
        assert "wakes iocb A (q0)" in texts(v, step=3, actor="L")
    assert sleeps_of(off, "M") == [1, 2]
    assert sleeps_of(on, "M") == [1]
    assert [e["actor"] for e in off["events"] if e["text"] == "wakes M (q0)"] == ["A", "L"]
    assert [e["actor"] for e in on["events"] if e["text"] == "wakes M (q0)"] == ["L"]


def test_immediate_rerun_after_progress_with_nothing_queued() -> None:
    """post-two-page-last1 (post), step 1 (see test_1b): run 2 is caused by the I/O completion;
    it returns 4096 of progress with A's entry on no queue, so aio_run_iocb kicks A again at once
    and run 3 follows with no wakeup in between. retries 3 = run 1 + 1 wakeup + 1 re-kick."""
    v = replay("post-two-page-last1", ["post"])["post"]
    a1 = [e for e in v["events"] if e["step"] == 1 and e["actor"] in ("A", "disk")]
    kinds = [(e["actor"], e["kind"]) for e in a1]
    r2 = kinds.index(("A", "run"))
    r3 = kinds.index(("A", "run"), r2 + 1)
    between = [e["text"] for e in a1[r2:r3]]
    assert "progress and nothing queued: kicked again at once" in between
    assert not [t for t in between if t.startswith("wakes")]
    assert a1[r3]["text"] == "aio_run_iocb A (run 3)"
    assert v["requests"]["A"]["retries"] == 3


def test_aio_pwrite_accounting_left_nbytes_and_clamp() -> None:
    """aio-pwrite-accounting (post; auto_settle false; p0 q0, p1 q1). A(2048, 4096): pages 0-1.

    1 run A until lookup: copy p0, p1; writer lookup. 2 run A until lookup: p0 written; curr 1
      -> bytes 4096 - 2048 = 2048; wait-phase lookup(&0, 2) -> [p0, p1]; paused.
    3 complete_io 0: nothing queued, nothing woken. 4 run A: p0 not W -> curr 1; next 2 > 1
      -> bytes 2048 -> sync_page_range(2048, 4096) -> 2048; pos 4096; left 4096 - 2048 = 2048;
      -530, nothing queued -> kicked at once (runnable, no auto settle).
    5 run A: run 2: r = left = 2048; operate(4096, 2048): lookup(&1, 1) -> [p1]; p1 D, not W ->
      0; curr 2 -> bytes 8192 - 4096 = 4096 > count 2048 -> 2048; pos 6144; left 0 -> result
      nbytes - left = 4096 at step 5, retries 2, p1 dirty: not on disk [1].
    """
    v = replay("aio-pwrite-accounting", ["post"])["post"]
    assert facts(v, "A") == (4096, 5, 2, [1])
    assert_quiet(v)
    t4 = texts(v, step=4, actor="A")
    assert "sync_page_range(2048, 4096) -> 2048" in t4
    assert "aio_pwrite -> -530, left 2048" in t4
    t5 = texts(v, step=5, actor="A")
    assert "sync_page_range(4096, 2048) -> 2048" in t5
    assert "aio_pwrite -> 4096, left 0" in t5


def test_recheck_locked_storms_on_shared_queue_post_does_not() -> None:
    """storm-shared-queue (p0, p1 pinned to q0; settle_bound 50).

    recheck-locked: 0 A: write p0, wait: lock p0, unlock (q0 empty), W -> A on q0.
    1 B: copy p1, unlock wakes A (kicked); B writes p1, waits: lock, unlock (q0 empty), W -> B on
      q0. Dispatch 2, A run 2: lock p0, unlock -> wakes B; p0 W -> A on q0. Dispatch 3, B run 2:
      unlock p1 wakes A; B re-queued... each run wakes the other: dispatch 2k = A run k+1,
      2k+1 = B run k+1. After 50 dispatches (d50 = A run 26) B is still runnable: settle bound
      hit at step 1 ("still runnable: B").
    2 complete_io 0 wakes A: run list [B, A]: B run 26 (unlock: q0 empty, re-queued), A run 27:
      unlock wakes B, p0 clean -> completes 4096; B run 27: q0 empty after, re-queued.
    3 complete_io 1: B run 28 completes. A (4096, 2, 27, []), B (4096, 3, 28, []).
    post: no unlock in the wait. 1 B's copy unlock wakes A (run 2, re-queued). 2 p0 done wakes
      A and B: A run 3 completes, B run 2 re-queued. 3 B run 3 completes.
      A (4096, 2, 3, []), B (4096, 3, 3, []); no bound hit.
    pre: 0 A completes at once (BUG). 1 B's copy unlock wakes completed A (BUG, entry removed),
      B completes at once with its entry on q0 (BUG). 2 p0 done wakes completed B (BUG).
      A (4096, 0, 1, [0]), B (4096, 1, 1, [1]); bugs [0, 1, 1, 2].
    """
    v = replay("storm-shared-queue", ALL)
    rl = v["recheck-locked"]
    assert rl["settle_bound_hit"] is True
    assert facts(rl, "A") == (4096, 2, 27, [])
    assert facts(rl, "B") == (4096, 3, 28, [])
    assert rl["kernel_bugs"] == [] and rl["skipped_steps"] == []
    assert "settle bound 50 reached; still runnable: B" in texts(rl, step=1, actor="sched")
    assert runs_by_step(rl, "A")[1] + runs_by_step(rl, "B")[1] == 50
    assert [t for t in texts(rl, step=1) if t.startswith("aio_run_iocb")][-1] == (
        "aio_run_iocb A (run 26)"
    )
    post = v["post"]
    assert facts(post, "A") == (4096, 2, 3, [])
    assert facts(post, "B") == (4096, 3, 3, [])
    assert_quiet(post)
    pre = v["pre"]
    assert facts(pre, "A") == (4096, 0, 1, [0])
    assert facts(pre, "B") == (4096, 1, 1, [1])
    assert bug_steps(pre) == [0, 1, 1, 2]
    assert pre["settle_bound_hit"] is False


def test_sync_write_one_page() -> None:
    """sync-write-one-page: sync_write T(0, 4096), complete_io p0.

    Both: copy p0; writer starts I/O on p0 (-> 4096); wait phase: page_waiter on p0 W with no
    AIO entry (a task): synchronous sleep on q0 (pre unlocks p0 first). Step 1: the completion
    wakes T: wait returns 0, 4096 -> the write returns 4096 at step 1, retries 0, [].
    """
    v = replay("sync-write-one-page", ALL)
    for name in ALL:
        assert facts(v[name], "T") == (4096, 1, 0, []), name
        assert_quiet(v[name])
        assert "sleeps in wait_on_page_writeback p0 (q0)" in texts(v[name], step=0, actor="T")


def test_sync_write_two_page_short_write_in_post() -> None:
    """sync-write-two-page: sync_write T(0, 8192), complete_io p0, complete_io p1.

    post: writer lookup(&0, 2) -> [p0, p1], next 2: writes p0 only, breaks (4096). Wait: same
      batch, p0 W -> T sleeps on q0. Step 1: woken, 0, curr 1, next 2 > 1 break: 4096 ->
      sync_page_range returns 4096, a positive partial count: the write returns 4096 (short) at
      step 1 with p1 dirty: [1]. Step 2: no I/O outstanding on p1 -> nothing.
    pre: writer writes p0 and p1 (8192). Wait: lock p0, next 1, unlock, sleep on q0; step 1:
      woken; p1: lock, next 2, unlock, sleep on q1; step 2: woken -> 8192 at step 2, [].
    recheck-locked: the same as pre: 8192 at step 2, [].
    """
    v = replay("sync-write-two-page", ALL)
    assert facts(v["post"], "T") == (4096, 1, 0, [1])
    assert "complete_io p1: no I/O outstanding" in texts(v["post"], step=2)
    for name in ("pre", "recheck-locked"):
        assert facts(v[name], "T") == (8192, 2, 0, []), name
    for name in ALL:
        assert_quiet(v[name])
