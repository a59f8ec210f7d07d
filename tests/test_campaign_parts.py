"""The parts a campaign is made of, each on its own: the typed summary writes campaign.json as
before, field for field; the known tally folds first hits; PCT's bound per version and check;
libFuzzer's log read for its figures."""

import json
import os
from pathlib import Path
from typing import Any

import pytest
from helpers import OLD_CAMPAIGN_SUMMARY

from pagefuzz.fuzz.campaign.known import KnownFinding, KnownTally, case_name
from pagefuzz.fuzz.campaign.libfuzzer import (
    LIBFUZZER_ARGS,
    final_executions,
    read_log_stats,
    stats_of,
)
from pagefuzz.fuzz.campaign.pct import pct_bounds
from pagefuzz.fuzz.campaign.store import CampaignError, CampaignStore
from pagefuzz.fuzz.campaign.summary import TIMELINE_MAX, CampaignSummary, Sample
from pagefuzz.oracle.evaluate import FindingKey

#: campaign.json of a resumed PCT campaign as pagefuzz wrote it before the summary was typed
#: (commit 9fe2f6d; shortened: two versions, two samples, one finding, one worker restart).
OLD_SUMMARY: dict[str, Any] = {
    "format": "pagefuzz/campaign-v1",
    "machine": {"platform": "Linux-6.18-x86_64-with-glibc2.36", "python": "3.11.7", "cpus": 2},
    "engine": "pct",
    "versions": ["pre", "post"],
    "jobs": 1,
    "seed": 1,
    "corpus": "/work/main/corpus",
    "findings": [
        {
            "signature": "0607397bfc41",
            "key": "post/completion/aio_write",
            "engine": "pct",
            "first_seen_s": 0.004,
            "first_seen_executions": 1,
            "steps_found": 7,
            "steps_minimized": 1,
        }
    ],
    "crashes": 0,
    "rounds": 2,
    "known_at_start": 20,
    "next_seed": 3,
    "timeline": [
        {"seconds": 0.01, "executions": 0, "findings": 0, "coverage": 0, "exec_per_s": [0.0]},
        {"seconds": 5.04, "executions": 1013, "findings": 1, "coverage": 80, "exec_per_s": [202.6]},
    ],
    "status": "done",
    "seconds": 11.546,
    "executions": 2509,
    "exec_per_s": 217.3,
    "workers": [
        {
            "worker": 0,
            "seed": 2,
            "exec_per_s": 0.0,
            "executions": 1013,
            "coverage": 0,
            "restarts": 1,
            "alive": False,
        }
    ],
    "new": 1,
    "known_total": 2,
    "known_refound": [
        {
            "key": "pre/completion/aio_write",
            "signature": "9e5afde09dfa",
            "first_seen_executions": 1,
            "first_seen_s": 0.054,
            "corpus_file": "corpus/findings/pre-completion-aio_write-9e5afd.json",
        }
    ],
    "known_not_refound": [
        {
            "key": "pre/error/aio_write",
            "signature": "0f364e0e385f",
            "corpus_file": "corpus/findings/pre-error-aio_write-0f364e.json",
        }
    ],
    "pct": {
        "depth": 3,
        "runs": 1013,
        "actors_max": 4,
        "steps_max": 24,
        "bound_if_not_found": 0.6441874131327358,
        "by_version_and_check": {
            "pre/completion": "found",
            "pre/byte_count": "missed with probability <= 0.644",
            "pre/retry_bound": "missed with probability <= 0.644",
            "pre/hang": "missed with probability <= 0.644",
            "pre/error": "missed with probability <= 0.644",
            "pre/kernel_bug": "missed with probability <= 0.644",
            "post/completion": "found",
            "post/byte_count": "missed with probability <= 0.644",
            "post/retry_bound": "missed with probability <= 0.644",
            "post/hang": "missed with probability <= 0.644",
            "post/error": "missed with probability <= 0.644",
            "post/kernel_bug": "missed with probability <= 0.644",
        },
    },
    "worker_restarts": 1,
}


def test_summary_reads_and_writes_campaign_json_field_for_field() -> None:
    """Read back and written again: the same text, so the same fields in the same order."""
    summary = CampaignSummary.from_json(OLD_SUMMARY)
    assert summary.findings[0].key == FindingKey("post", "completion", "aio_write")
    assert summary.pct is not None and summary.pct.runs == 1013
    assert json.dumps(summary.to_json(), indent=1) == json.dumps(OLD_SUMMARY, indent=1)


def test_a_new_summary_has_the_fields_of_a_new_campaign_in_order() -> None:
    """Not PCT and no restart: no `pct`, no `worker_restarts` (written once there is one)."""
    summary = CampaignSummary(engine="random", versions=["pre"], jobs=1, seed=1)
    fields = list(summary.to_json())
    assert fields == [
        "format", "engine", "versions", "jobs", "seed", "corpus", "findings", "crashes",
        "rounds", "known_at_start", "next_seed", "timeline", "status", "seconds", "executions",
        "exec_per_s", "workers", "new", "known_total", "known_refound", "known_not_refound",
    ]  # fmt: skip
    summary.worker_restarts = 1
    assert list(summary.to_json())[-1] == "worker_restarts"


def test_summary_of_an_older_pagefuzz_keeps_what_it_had() -> None:
    """Without machine, jobs or seed (not written back), with a field this pagefuzz does not
    know (written back unchanged, last)."""
    old = {**OLD_CAMPAIGN_SUMMARY, "from_the_future": {"x": 1}}
    out = CampaignSummary.from_json(old).to_json()
    assert "machine" not in out and "jobs" not in out and "seed" not in out
    assert out["next_seed"] == 5 and out["status"] == "stopped"
    assert list(out)[-1] == "from_the_future" and out["from_the_future"] == {"x": 1}


def test_timeline_is_thinned_beyond_its_maximum() -> None:
    """At TIMELINE_MAX + 1 = 2001 samples (executions 0..2000), `del timeline[1:-1:2]` takes
    out indices 1, 3, ..., 1999, keeping 0, 2, ..., 1998 and the last, 2000: 1001 samples."""
    summary = CampaignSummary(engine="random", versions=["pre"])
    for n in range(TIMELINE_MAX + 1):
        summary.add_sample(Sample(float(n), n, 0, 0, []))
    kept = [s.executions for s in summary.timeline]
    assert len(kept) == 1001 and kept[:3] == [0, 2, 4] and kept[-2:] == [1998, 2000]


def test_known_tally_takes_the_first_hit_over_workers() -> None:
    """An earlier round ran 10 s and 100 executions; this round started at t=50.
    Worker 1, started at t=52 after 20 executions of its earlier processes, hit A at its 7th
    execution, 1.5 s in: 100 + 20 + 7 = 127 executions, 10 + 2 + 1.5 = 13.5 s. Worker 0,
    started at t=50, hit A at its 200th execution, 0.5 s in: 300 executions, 10.5 s. The
    first hit is the least of each: 127 executions, 10.5 s. B was never hit; an unknown
    signature and a malformed hit are ignored."""
    a = FindingKey("pre", "completion", "aio_write")
    b = FindingKey("pre", "kernel_bug", "aio_write")
    tally = KnownTally(
        known={
            a.signature: KnownFinding(a, Path("corpus/findings/a.json")),
            b.signature: KnownFinding(b, Path("corpus/findings/b.json")),
        },
        elapsed_before=10.0,
        executions_before=100,
        started=50.0,
    )
    tally.note({a.signature: {"executions": 7, "seconds": 1.5}}, 52.0, 20)
    tally.note({a.signature: {"executions": 200, "seconds": 0.5}, "000000000000": {}}, 50.0, 0)
    tally.note({b.signature: {"executions": "many"}}, 50.0, 0)
    [refound] = tally.refound()
    assert (refound.key, refound.first_seen_executions, refound.first_seen_s) == (a, 127, 10.5)
    assert refound.corpus_file == "corpus/findings/a.json"
    assert [m.key for m in tally.not_refound()] == [b]


def test_case_name_is_the_key_and_the_signature() -> None:
    key = FindingKey("recheck-locked", "retry_bound", "aio_write")
    assert case_name(key, "1bd8dd") == "recheck-locked-retry_bound-aio_write-1bd8dd"


def test_pct_bounds_per_version_and_check() -> None:
    """Two workers: 10 + 5 = 15 runs, n = max(3, 4) = 4 actors, k = max(20, 24) = 24 steps,
    depth 3: one run finds a bug of depth 3 with probability >= 1 / (4 * 24^2) = 1/2304, so 15
    runs miss it with probability <= (2303/2304)^15 = 0.99351 (to 5 digits)."""
    bounds = pct_bounds(
        [
            {"runs": 10, "actors_max": 3, "steps_max": 20},
            {"runs": 5, "actors_max": 4, "steps_max": 24},
        ],
        [FindingKey("pre", "completion", "aio_write"), FindingKey("post", "hang", "-")],
        ["pre"],
        3,
    )
    assert (bounds.runs, bounds.actors_max, bounds.steps_max) == (15, 4, 24)
    assert bounds.bound_if_not_found == (2303 / 2304) ** 15
    assert round(bounds.bound_if_not_found, 5) == 0.99351
    assert bounds.by_version_and_check == {
        "pre/completion": "found",
        "pre/byte_count": "missed with probability <= 0.994",
        "pre/retry_bound": "missed with probability <= 0.994",
        "pre/hang": "missed with probability <= 0.994",
        "pre/error": "missed with probability <= 0.994",
        "pre/kernel_bug": "missed with probability <= 0.994",
        "pre/crash": "missed with probability <= 0.994",
        "pre/timeout": "missed with probability <= 0.994",
    }


LOG = """INFO: Seed: 1
#2\tINITED cov: 120 ft: 130 corp: 1/1b exec/s: 0 rss: 50Mb
#64\tpulse  cov: 150 ft: 170 corp: 5/40b lim: 34 exec/s: 32 rss: 52Mb
#128\tNEW    cov: 160 ft: 180 corp: 6/44b lim: 34 exec/s: 42 rss: 52Mb
Done 130 runs in 3 second(s)
stat::number_of_executed_units: 131
"""


def test_libfuzzer_log_figures() -> None:
    """Executions: the most any line says (#2, #64, #128, Done 130, the final 131): 131;
    exec/s and coverage: the last line that says them (#128's 42 and 160)."""
    assert stats_of(LOG) == {"executions": 131, "exec_per_s": 42.0, "coverage": 160, "crashes": 0}
    assert final_executions(LOG) == 131 and final_executions("#2 INITED") is None
    assert "-max_len=34" in LIBFUZZER_ARGS


def test_libfuzzer_log_is_read_from_the_process_offset(tmp_path: Path) -> None:
    """An appended log: only what the current process printed (from its offset) counts."""
    log = tmp_path / "log.txt"
    earlier = "#5000\tpulse  cov: 999 ft: 1 corp: 1/1b exec/s: 900 rss: 1Mb\n"
    log.write_text(earlier + LOG)
    assert read_log_stats(log, len(earlier))["executions"] == 131
    assert read_log_stats(log, 0)["executions"] == 5000
    assert read_log_stats(tmp_path / "missing.txt", 0) == {}


def test_the_campaign_lock_appears_with_its_owner_in_it(tmp_path: Path) -> None:
    """OUT/.lock is hard-linked into place from a file that already holds the pid, so a
    campaign that finds it never reads it empty. A lock held by a live process (this test's
    parent, alive while the test runs) is refused naming it; one whose owner is dead (a pid
    past any in use: /proc/sys/kernel/pid_max is at most 2**22) is taken over and then holds
    this process's pid; no file of the taking is left behind."""
    store = CampaignStore(tmp_path)
    lock = tmp_path / ".lock"
    lock.write_text(str(os.getppid()))
    with pytest.raises(CampaignError) as info:
        store.take_lock()
    assert str(info.value) == f"{tmp_path}: campaign {os.getppid()} is running here ({lock})"
    lock.write_text(str(2**22 + 1))
    store.take_lock()
    assert lock.read_text() == str(os.getpid())
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock"]
    store.release_lock()
    assert not lock.exists()
