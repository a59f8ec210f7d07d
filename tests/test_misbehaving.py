"""A user's version that loops, crashes, aborts, exits, raises, recurses or allocates without end
is a finding, never the end of pagefuzz (docs/versions.md, "When your version crashes or hangs"):
through replay, fuzz (random and atheris), --resume, minimize, triage, explore (one job and
two) and report, each gets the right check and exit code, every campaign completes with its
summary and no lock, and nothing is lost.

The versions are tests/misbehaving.py's: `fixed` (C and Python) with one function replaced. The
wall-clock budget is cut to half a second or a second (`--timeout`) so that hangs cost little;
the budget of world calls is the world's own (sim/failure.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, pagefuzz, wait_for
from misbehaving import ALL, C_VERSIONS, PRINTS, PY_VERSIONS, TWO_WRITES, Misbehaving, write_all

ONE_PAGE_AIO = ROOT / "corpus" / "examples" / "one-page-aio.json"

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="needs a C compiler (the C versions)")  # fmt: skip


@pytest.fixture(scope="module")
def here(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding every misbehaving version, where the commands run (relative
    paths)."""
    directory = tmp_path_factory.mktemp("misbehaving")
    write_all(directory)
    return directory


def _by_name(*files: str) -> list[Misbehaving]:
    return [v for v in ALL if v.file in files]


def _specs(versions: list[Misbehaving]) -> str:
    return ",".join(v.spec for v in versions)


def _violation(entry: dict[str, Any], check: str) -> dict[str, Any]:
    found = [v for v in entry["violations"] if v["check"] == check]
    assert len(found) == 1, entry["violations"]
    return found[0]


def test_replay_says_how_each_version_failed_and_where(here: Path) -> None:
    """one-page-aio (A writes p0 with AIO; step 1 completes its I/O) in every misbehaving
    version at once, plus one that prints on stdout. Each replaced function runs at step 0, in
    A's first run (page_waiter: the wait phase; page_writer: the write-out): each version gets
    its one check, at step 0, for A (aio_write), with how its code failed and, where the
    failure's frame is known, the function named. The one that breaks R12 needs a second write
    of the page and passes here; the printer passes and its output stays out of the JSON. The
    case fails (exit 1), and the failing line names each version that died."""
    versions = [*ALL, PRINTS]
    proc = pagefuzz(
        "replay", str(ONE_PAGE_AIO), "--timeout", "1", "--json", "--versions", _specs(versions),
        cwd=here,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    obj = json.loads(proc.stdout)  # one JSON line: nothing the versions printed got in
    assert list(obj["versions"]) == [v.name for v in versions]
    for version in ALL:
        entry = obj["versions"][version.name]
        if version.check == "kernel_bug":
            assert entry["verdict"] == "pass"
            continue
        violation = _violation(entry, version.check)
        assert (violation["request"], violation["step"]) == ("A", 0), version.file
        assert f"({version.how})" in violation["explanation"], violation
        if version.function:
            assert f" in {version.function}, running A (aio_write)" in violation["explanation"]
        # The run ended where the code failed: nothing else is charged to it.
        assert {v["check"] for v in entry["violations"]} == {version.check}, version.file
    assert obj["versions"][PRINTS.name]["verdict"] == "pass"
    assert "replay: 1 case: 1 failed, 0 passed" in proc.stderr


def test_replay_text_names_the_failing_case_and_what_died(here: Path) -> None:
    """Text output: the failing case is listed with the versions that died on it."""
    versions = _by_name("c_null.c", "py_sys_exit.py")
    proc = pagefuzz("replay", str(ONE_PAGE_AIO), "--versions", _specs(versions), cwd=here)
    assert proc.returncode == 1, proc.stderr
    assert f"  failed: {ONE_PAGE_AIO} (c:c_null.c crash, py:py_sys_exit.py crash)" in proc.stdout
    assert "SIGSEGV (Segmentation fault) at address 0x0: a NULL dereference" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_second_write_out_in_flight_is_a_kernel_bug(here: Path, tmp_path: Path) -> None:
    """Two one-page AIO writes of p0 (tests/test_version_failures.py traces it): the C writer
    that does not wait for the write-out in flight starts a second one at step 1: the kernel's
    BUG (R12), charged to B; never an assertion of the simulator."""
    case = tmp_path / "two-writes.json"
    case.write_text(json.dumps(TWO_WRITES))
    (twice,) = _by_name("c_writeback_twice.c")
    proc = pagefuzz("replay", str(case), "--json", "--versions", f"fixed,{twice.spec}", cwd=here)
    assert proc.returncode == 0, proc.stderr  # no expect, and nobody died
    obj = json.loads(proc.stdout)
    assert obj["versions"]["fixed"]["verdict"] == "pass"
    bug = _violation(obj["versions"][twice.name], "kernel_bug")
    assert (bug["request"], bug["step"]) == ("B", 1)
    assert "R12" in bug["explanation"]


def test_a_dead_process_names_the_request_it_was_running(here: Path, tmp_path: Path) -> None:
    """Task U makes two requests: a buffered write (U, no sync: no version code runs) and an
    O_SYNC write (U#2, whose wait phase runs the version's page_waiter, which dereferences
    NULL). The process dies in U#2's run: the finding is U#2's, a sync_write, at step 1 (not
    U's first request, whose kind was `write`)."""
    case = tmp_path / "two-requests.json"
    case.write_text(
        json.dumps(
            {
                "format": "pagefuzz/case-v1",
                "name": "two-requests",
                "config": {"file_pages": 1},
                "steps": [
                    {"op": "write", "task": "U", "pos": 0, "count": 4096},
                    {"op": "sync_write", "task": "U", "pos": 0, "count": 4096},
                ],
            }
        )
    )
    (null,) = _by_name("c_null.c")
    proc = pagefuzz("replay", str(case), "--json", "--versions", null.spec, cwd=here)
    assert proc.returncode == 1, proc.stderr
    violation = _violation(json.loads(proc.stdout)["versions"][null.name], "crash")
    assert (violation["request"], violation["step"]) == ("U#2", 1)
    assert violation["explanation"].endswith(", running U (sync_write)")


# ------------------------------------------------------------------------------ campaigns

#: The campaigns' versions: crashes, a process that ends, a loop the world's budget stops, a
#: wall-clock hang (each run of it costs the budget: only the random campaign has one).
CAMPAIGN = {
    "random": ("c_null.c", "c_loop_calls.c", "py_raises.py", "py_loop_pure.py", "py_os_exit.py"),
    "atheris": ("c_null.c", "c_abort.c", "py_os_exit.py"),
    # PCT drives its schedules with each version's own world: the C one's in its process.
    "pct": ("c_null.c", "py_raises.py"),
    "hypothesis": ("c_divide.c", "py_sys_exit.py"),
}


@pytest.fixture(scope="module")
def campaigns(here: Path) -> dict[str, Path]:
    """One short campaign per engine, from an empty corpus, over misbehaving versions."""
    out: dict[str, Path] = {}
    for engine, files in CAMPAIGN.items():
        out[engine] = here / f"campaign-{engine}"
        proc = pagefuzz(
            "fuzz", "--engine", engine, "--fresh", "--time", "4", "--timeout", "0.5",
            "--out", str(out[engine]), "--versions", _specs(_by_name(*files)), cwd=here,
        )  # fmt: skip
        assert proc.returncode == 1, (engine, proc.stdout[-2000:], proc.stderr[-2000:])
    return out


@pytest.mark.parametrize("engine", sorted(CAMPAIGN))
def test_a_campaign_turns_every_failure_into_a_finding(
    engine: str, campaigns: dict[str, Path], here: Path
) -> None:
    """Every version dies or hangs on any write, so each shows its finding on the first
    executions that write (the atheris engine's random writes are sync_write as often as
    aio_write). The campaign runs to its end: status done, no lock, no harness error (crashes
    0), the summary lists each version's check among its findings, each minimised to the one
    write step that shows it, and each finding file replays in the versions it records with
    its `expect` met (exit 0)."""
    out = campaigns[engine]
    summary = json.loads((out / "campaign.json").read_text())
    assert summary["status"] == "done"
    assert summary["crashes"] == 0
    assert not (out / ".lock").exists()
    assert summary["corpus"] is None
    found = {(f["key"].rsplit("/", 2)[0], f["key"].rsplit("/", 2)[1]) for f in summary["findings"]}
    for version in _by_name(*CAMPAIGN[engine]):
        assert (version.name, version.check) in found, (version.file, found)
    assert {f["steps_minimized"] for f in summary["findings"]} == {1}
    for f in summary["findings"]:
        record = json.loads((out / "findings" / f"{f['signature']}.json").read_text())
        recorded = [v["name"] for v in record["case"]["versions"]]
        assert recorded == [v.name for v in _by_name(*CAMPAIGN[engine])]
    proc = pagefuzz("replay", str(out), "--timeout", "0.5", cwd=here)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"{len(summary['findings'])} passed" in proc.stdout


def test_resume_goes_on_from_a_fresh_campaign_and_stays_fresh(
    campaigns: dict[str, Path], here: Path
) -> None:
    """--resume of the atheris campaign (started --fresh, --timeout 0.5): it runs again (a
    second round) with no corpus, so nothing of its versions is counted as known, and with its
    own budget; its findings are still its own (exit 1), and again no lock is left."""
    out = campaigns["atheris"]
    proc = pagefuzz("fuzz", "--resume", "--out", str(out), "--time", "2", "--json", cwd=here)
    assert proc.returncode == 1, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert (summary["status"], summary["rounds"], summary["corpus"]) == ("done", 2, None)
    assert (summary["known_total"], summary["timeout"]) == (0, 0.5)
    assert not (out / ".lock").exists()
    proc = pagefuzz("fuzz", "--resume", "--out", str(out), "--time", "1", "--corpus",
                    str(ROOT / "corpus"), cwd=here)  # fmt: skip
    assert proc.returncode == 2
    assert "ran with --fresh; leave --corpus and --fresh out to resume it" in proc.stderr


def test_minimize_and_triage_run_the_versions_a_finding_records(
    campaigns: dict[str, Path], here: Path
) -> None:
    """Without --versions, minimize of a raw finding keeps the finding it was recorded for, in
    the versions it records (not the default pre, post and recheck-locked); triage of the
    campaign lists every one of the user's findings."""
    out = campaigns["random"]
    summary = json.loads((out / "campaign.json").read_text())
    null = next(f for f in summary["findings"] if f["key"].startswith("c:c_null.c/crash/"))
    raw = out / "findings" / "raw" / f"{null['signature']}.json"
    small = here / "small.json"
    proc = pagefuzz("minimize", str(raw), "-o", str(small), "--timeout", "0.5", cwd=here)
    assert proc.returncode == 0, proc.stderr
    assert f"kept: {null['key']}" in proc.stdout
    case = json.loads(small.read_text())
    assert len(case["steps"]) == 1
    assert "crash" in case["expect"]["checks"]["c:c_null.c"]
    proc = pagefuzz("triage", str(out), "--json", "--timeout", "0.5", cwd=here)
    assert proc.returncode == 0, proc.stderr[-2000:]
    groups = {g["key"] for g in json.loads(proc.stdout)}
    assert {f["key"] for f in summary["findings"]} <= groups


def test_explore_finds_the_shortest_crash_and_hang_with_any_number_of_jobs(
    here: Path, tmp_path: Path
) -> None:
    """Explore's cases do not settle by themselves: after `aio_write A` nothing has run, and
    the drain runs A. So the shortest counterexample of each version is one step (an AIO write;
    the version fails in the drain), and a schedule on which a version failed is extended no
    further. The certificate is the same with two jobs; the counterexamples replay."""
    versions = _by_name("c_null.c", "py_raises.py", "c_loop_calls.c")
    certs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"x{jobs}"
        proc = pagefuzz(
            "explore", "--max-steps", "2", "--jobs", jobs,
            "--versions", _specs(versions), "--out", str(out), cwd=here,
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr[-2000:]
        cert = json.loads((out / "certificate.json").read_text())
        assert cert["complete"]
        for version in versions:
            found = cert["versions"][version.name]
            assert found[f"{version.name}/{version.check}/aio_write"]["steps"] == 1
        certs.append({k: v for k, v in cert.items() if k not in ("seconds",)})
    assert certs[0] == certs[1]
    proc = pagefuzz("replay", str(tmp_path / "x1"), cwd=here)
    assert proc.returncode == 0, proc.stdout[-2000:]
    # A wall-clock hang, to one step: each schedule that runs the loop costs the budget.
    (hang,) = _by_name("py_loop_pure.py")
    proc = pagefuzz("explore", "--max-steps", "1", "--timeout", "0.5", "--versions", hang.spec,
                    "--out", str(tmp_path / "hang"), cwd=here)  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    cert = json.loads((tmp_path / "hang" / "certificate.json").read_text())
    assert cert["complete"]
    assert cert["versions"][hang.name][f"{hang.name}/timeout/aio_write"]["steps"] == 1


def test_report_shows_a_users_finding_promoted_into_the_corpus(
    campaigns: dict[str, Path], here: Path, tmp_path: Path
) -> None:
    """A checkout's report, with the user's crash promoted into corpus/findings and the user's
    campaign in evidence/campaigns: the report replays the finding in the version it records
    (in its fork server) and lists it, with the campaign that found it."""
    root = tmp_path / "checkout"
    root.mkdir()
    for part in ("corpus", "evidence"):
        shutil.copytree(ROOT / part, root / part)
    out = campaigns["atheris"]
    summary = json.loads((out / "campaign.json").read_text())
    null = next(f for f in summary["findings"] if f["key"] == "c:c_null.c/crash/aio_write")
    finding = out / "findings" / f"{null['signature']}.json"
    proc = pagefuzz("triage", str(finding), "--promote", "--corpus",
                    str(root / "corpus" / "findings"), cwd=here)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    shutil.copy(out / "campaign.json", root / "evidence" / "campaigns" / "users-fix.json")
    proc = pagefuzz("report", "--out", str(root / "findings.md"), cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = (root / "findings.md").read_text()
    assert "`c:c_null.c/crash/aio_write`" in text
    assert "users-fix" in text


def test_ctrl_c_stops_a_replay_of_a_version_that_loops(tmp_path: Path) -> None:
    """A Python version that loops for ever (its budget is an hour here): Ctrl-C, sent once it
    is looping (it says so by creating a file), ends the replay at once, exit 130."""
    marker = tmp_path / "looping"
    (tmp_path / "spin.py").write_text(
        "import pathlib\nfrom pagefuzz.impls.fixed import Fixed\n\n\n"
        "class Spin(Fixed):\n"
        "    def page_waiter(self, k, ctx, page):\n"
        f"        pathlib.Path({str(marker)!r}).touch()\n"
        "        while True:\n            pass\n        yield\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pagefuzz", "replay", str(ONE_PAGE_AIO), "--timeout", "3600",
         "--versions", "py:spin.py"],
        cwd=tmp_path, env={**os.environ, "CI": "true"}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    wait_for(marker, seconds=120)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().endswith("pagefuzz: interrupted")


def test_a_version_that_ends_the_process_as_it_loads_is_one_line(tmp_path: Path) -> None:
    """Code run at import is the version's code too: it runs in its fork server, and a file
    whose import ends that process is refused like any file that cannot be loaded: one line,
    exit 2."""
    (tmp_path / "quits.py").write_text("import os\nos._exit(7)\n")
    proc = pagefuzz("replay", str(ONE_PAGE_AIO), "--versions", "py:quits.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (
        "pagefuzz: error: --versions: py:quits.py: loading it ended its process (exit status 7)\n"
    )


def test_every_misbehaving_version_is_listed_once() -> None:
    """The suite's own bookkeeping: distinct files, C and Python both represented."""
    assert len({v.file for v in ALL}) == len(ALL)
    assert len(C_VERSIONS) >= 8 and len(PY_VERSIONS) >= 10
