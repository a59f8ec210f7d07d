"""Every file pagefuzz writes replays: a campaign's findings (minimised, raw JSON, raw bytes), its
directory, explore's counterexamples and directory; files that hold no case are one error line.
And what a user reads at the end of a replay, a minimisation and a promotion."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT
from helpers import pagefuzz as _pagefuzz

from pagefuzz._casefile import load_case

EXAMPLES = ROOT / "corpus" / "examples"


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short random campaign from an empty corpus: it finds several of the seed's bugs in a
    few seconds and writes every kind of finding file.

    --fresh: no corpus, nothing is known, so every finding is new and the exit status is 1
    (README, exit codes: `fuzz` 1 = new findings); 0 would mean it found nothing, 2 a harness
    error. The random engine's first inputs already show the seed's bugs (pre's one-page
    premature completion, post's two-page one), so there are findings whatever the machine's
    speed; the count line and the summary both give their number, one minimised file each."""
    out = tmp_path_factory.mktemp("artifacts") / "campaign"
    proc = _pagefuzz(
        "fuzz", "--engine", "random", "--fresh", "--time", "4", "--seed", "3", "--out", str(out)
    )
    assert proc.returncode == 1, proc.stderr
    minimised = list((out / "findings").glob("*.json"))
    assert minimised, proc.stdout
    summary = json.loads((out / "campaign.json").read_text())
    assert summary["status"] == "done" and summary["crashes"] == 0
    assert summary["known_total"] == 0 and summary["new"] == len(minimised)
    assert {f"{f['signature']}.json" for f in summary["findings"]} == {p.name for p in minimised}
    assert f"{len(minimised)} new · 0 of 0 known re-found" in proc.stdout.splitlines()
    return out


@pytest.fixture(scope="module")
def explored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every schedule of up to 2 steps over the default bound (2 pages, 2 iocbs, 2 queues,
    ops aio_write, complete_io, run, pause), in pre and post. Each has counterexamples of one
    step, one AIO write and the drain, so the exit status is 1 (docs/explore.md: a version has
    one), and the bound closes complete at depth 2. By hand, from the hand-traced examples:

    - pre, A writes page 0 (pos 0, 4096): the wait phase sets next = 1 before waiting and
      counts the page, A completes at step 0 with p0 under writeback and its wait entry queued:
      completion and kernel_bug (one-page-aio.json, README walk-through);
    - pre, A writes pages 0-1 (or the unaligned 512, 4096, which touches both): its count
      credits a page still in flight: byte_count as well (the corpus's minimal case for
      pre/byte_count is that two-page write, pre-byte_count-aio_write-59942f.json);
    - post, A writes pages 0-1: the batch reaches `last`, next > last, only p0 is written out:
      completion (post-two-page-last1.json); post, the unaligned write: (curr << 12) - pos is
      negative, the unsigned clamp makes it `count`, A completes with its entry queued:
      completion and kernel_bug (post-unaligned-clamp.json).

    Nothing else: each other finding of pre or post needs a failed I/O completion or a
    sync_write (their minimal cases in corpus/findings/), neither in this alphabet."""
    out = tmp_path_factory.mktemp("artifacts") / "explore"
    proc = _pagefuzz("explore", "--max-steps", "2", "--versions", "pre,post", "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    cert = json.loads((out / "certificate.json").read_text())
    assert cert["complete"] and cert["depth_closed"] == 2 and not cert["interrupted"]
    shortest = {
        version: {key: info["steps"] for key, info in found.items()}
        for version, found in cert["versions"].items()
    }
    assert shortest == {
        "pre": {
            "pre/byte_count/aio_write": 1,
            "pre/completion/aio_write": 1,
            "pre/kernel_bug/aio_write": 1,
        },
        "post": {"post/completion/aio_write": 1, "post/kernel_bug/aio_write": 1},
    }
    cases = {f"{i['case']}.json" for found in cert["versions"].values() for i in found.values()}
    assert {p.name for p in out.glob("shortest-*.json")} == cases
    assert f"certificate: {out / 'certificate.json'}" in proc.stdout.splitlines()
    return out


def _checks(obj: dict[str, Any], version: str) -> list[str]:
    """The checks a version fails in one `replay --json` object, in the oracle's order."""
    names = [v["check"] for v in obj["versions"][version]["violations"]]
    return sorted(set(names), key=names.index)


def _files(campaign: Path) -> dict[str, list[Path]]:
    findings = campaign / "findings"
    return {
        "finding": sorted(findings.glob("*.json")),
        "raw-finding": sorted((findings / "raw").glob("*.json")),
        "raw-input": sorted((findings / "raw").glob("*.bin")),
    }


def test_every_campaign_file_replays_with_its_metadata(campaign: Path) -> None:
    """Each minimised finding, raw finding and raw input replays (exit 0: a minimised finding's
    expect block holds; raw ones carry none), and the JSON names the kind of file and the
    finding it was recorded for: the metadata is shown, not lost."""
    for kind, paths in _files(campaign).items():
        assert paths, kind
        for path in paths:
            proc = _pagefuzz("replay", str(path), "--json", "--no-events")
            assert proc.returncode == 0, (path, proc.stderr)
            obj = json.loads(proc.stdout)
            assert obj["source"]["kind"] == kind
            assert obj["source"]["file"] == str(path)
            assert obj["source"]["signature"] == path.stem
            assert all("events" not in v for v in obj["versions"].values())
            # The finding it was recorded for is among what the case shows now.
            version, check, _kind = obj["source"]["key"].split("/")
            assert check in _checks(obj, version)


def test_text_replay_of_a_finding_shows_where_it_came_from(campaign: Path) -> None:
    path = _files(campaign)["finding"][0]
    meta = json.loads(path.read_text())
    proc = _pagefuzz("replay", str(path))
    assert proc.returncode == 0, proc.stderr
    assert (
        f"  from: campaign finding; {meta['key']} (signature {meta['signature']}); engine "
        f"random, worker {meta['worker']}; first seen after {meta['first_seen_executions']} "
        in proc.stdout
    )


def test_a_campaign_directory_replays_its_minimised_findings(campaign: Path) -> None:
    """`replay campaigns/X` runs each minimised finding once (not its raw copies), streams one
    JSON line per case, and ends with a count on stderr."""
    minimised = _files(campaign)["finding"]
    proc = _pagefuzz("replay", str(campaign), "--json", "--no-events")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert sorted(json.loads(line)["source"]["file"] for line in lines) == sorted(
        map(str, minimised)
    )
    n = len(minimised)
    assert proc.stderr == f"replay: {n} case{'s' if n != 1 else ''}: 0 failed, {n} passed\n"


def test_a_finding_not_yet_minimised_is_replayed_from_its_raw_file(
    campaign: Path, tmp_path: Path
) -> None:
    """A campaign stopped while minimising keeps the raw finding only: replaying the directory
    must still include it."""
    copy = tmp_path / "c"
    shutil.copytree(campaign, copy)
    victim = sorted((copy / "findings").glob("*.json"))[0]
    victim.unlink()
    proc = _pagefuzz("replay", str(copy), "--json", "--no-events")
    assert proc.returncode == 0, proc.stderr
    kinds = {json.loads(line)["source"]["file"]: json.loads(line)["source"]["kind"] for line in
             proc.stdout.splitlines()}  # fmt: skip
    assert kinds[str(copy / "findings" / "raw" / victim.name)] == "raw-finding"


def test_minimize_and_triage_take_every_campaign_file(campaign: Path, tmp_path: Path) -> None:
    """minimize keeps the finding the file was recorded for; triage takes the directory and
    each file, raw bytes included."""
    for kind, paths in _files(campaign).items():
        path = paths[0]
        out = tmp_path / f"{kind}.json"
        proc = _pagefuzz("minimize", str(path), "-o", str(out))
        assert proc.returncode == 0, (path, proc.stderr)
        key = json.loads((path.with_suffix(".json") if kind == "raw-input" else path).read_text())[
            "key"
        ]
        assert f"kept: {key}\n" in proc.stdout
        small = load_case(out)
        assert small.name == kind
        assert small.notes.startswith(f"Minimised by pagefuzz from {path} (")
        assert small.notes.endswith(f"keeping {key}.")
        proc = _pagefuzz("triage", str(path), "--json")
        assert proc.returncode == 0, (path, proc.stderr)
        assert key in {g["key"] for g in json.loads(proc.stdout)}
    proc = _pagefuzz("triage", str(campaign), "--json")
    assert proc.returncode == 0, proc.stderr
    found = {g["key"] for g in json.loads(proc.stdout)}
    recorded = {json.loads(p.read_text())["key"] for p in _files(campaign)["finding"]}
    assert recorded <= found


def test_explore_counterexamples_replay_minimize_and_triage(explored: Path, tmp_path: Path) -> None:
    """The explore directory replays its counterexamples (not certificate.json); each says which
    finding and bound it is the shortest counterexample for."""
    shortest = sorted(explored.glob("shortest-*.json"))
    proc = _pagefuzz("replay", str(explored), "--json", "--no-events")
    assert proc.returncode == 0, proc.stderr
    sources = [json.loads(line)["source"] for line in proc.stdout.splitlines()]
    assert [s["file"] for s in sources] == list(map(str, shortest))
    cert = json.loads((explored / "certificate.json").read_text())
    for source in sources:
        assert source["kind"] == "counterexample"
        assert source["bound"] == cert["bound"]
        assert Path(source["file"]).stem.startswith("shortest-" + source["key"].replace("/", "-"))
    proc = _pagefuzz("minimize", str(shortest[0]), "-o", str(tmp_path / "m.json"))
    assert proc.returncode == 0, proc.stderr
    proc = _pagefuzz("triage", str(explored), "--json")
    assert proc.returncode == 0, proc.stderr
    assert {s["key"] for s in sources} <= {g["key"] for g in json.loads(proc.stdout)}


@pytest.mark.parametrize("command", ["replay", "minimize", "triage"])
def test_files_that_hold_no_case_are_one_line(
    campaign: Path, explored: Path, tmp_path: Path, command: str
) -> None:
    """A certificate, a campaign summary and known.json hold no case: each is one error line
    naming the file and what to replay instead, exit 2."""
    expected = {
        explored / "certificate.json": "an explore certificate, which holds no case; replay its "
        f"counterexamples: pagefuzz replay {explored}",
        campaign / "campaign.json": "a campaign summary, which holds no case; replay the "
        f"campaign's findings: pagefuzz replay {campaign}",
        campaign / "known.json": "a campaign's list of known findings, which holds no case",
    }
    for path, why in expected.items():
        extra = ["-o", str(tmp_path / "o.json")] if command == "minimize" else []
        proc = _pagefuzz(command, str(path), *extra)
        assert proc.returncode == 2, (path, proc.stdout)
        assert proc.stderr.splitlines()[-1] == f"pagefuzz: error: {path}: {why}"
        assert not (tmp_path / "o.json").exists()


def test_replay_of_a_directory_ends_with_a_count_and_the_failing_files(tmp_path: Path) -> None:
    """One mismatch among three cases: exit 1, and the last lines say so and name the file,
    where the last line used to read "expectation: met" (the last case's)."""
    for name in ("one-page-aio", "post-two-page-last1", "r5-flush"):
        shutil.copy(EXAMPLES / f"{name}.json", tmp_path / f"{name}.json")
    wrong = json.loads((EXAMPLES / "one-page-aio.json").read_text())
    wrong["expect"] = {"checks": {"post": ["completion"]}}  # post passes one-page-aio
    (tmp_path / "one-page-aio.json").write_text(json.dumps(wrong))
    proc = _pagefuzz("replay", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-2:] == [
        "replay: 3 cases: 1 failed, 2 passed",
        f"  failed: {tmp_path / 'one-page-aio.json'}",
    ]


def test_json_has_one_shape_whatever_the_number_of_cases() -> None:
    """JSON Lines: one object per case, for one case as for two (it used to be an object for
    one and a list for several)."""
    one = _pagefuzz("replay", str(EXAMPLES / "one-page-aio.json"), "--json")
    two = _pagefuzz(
        "replay", str(EXAMPLES / "one-page-aio.json"), str(EXAMPLES / "r5-flush.json"), "--json"
    )
    assert one.returncode == two.returncode == 0
    assert one.stdout.splitlines() == two.stdout.splitlines()[:1]
    assert [json.loads(line)["case"] for line in two.stdout.splitlines()] == [
        "one-page-aio",
        "r5-flush",
    ]


def test_raw_bytes_replay_through_the_decoder(tmp_path: Path) -> None:
    """Worked from fuzz/generation/decode.py: byte 0 = 0x00 gives 1 page and 1 wait queue; byte 1 =
    0x00 no flags; then (opcode 0, argument 0) is aio_write of iocb A over the first page range,
    which is pre's one-page premature completion. With --raw any file name works."""
    data = bytes([0, 0, 0, 0])
    path = tmp_path / "input"
    path.write_bytes(data)
    proc = _pagefuzz("replay", str(path), "--raw", "--json", "--impl", "pre")
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    assert obj["source"] == {"file": str(path), "kind": "raw-input", "bytes": 4}
    assert _checks(obj, "pre") == ["completion", "kernel_bug"]
    without = _pagefuzz("replay", str(path))
    assert without.returncode == 2
    assert "not UTF-8" in without.stderr or "invalid JSON" in without.stderr


def test_promote_never_replaces_a_corpus_case_without_replace(tmp_path: Path) -> None:
    """A corpus case that still shows the finding, in words and names of its own (the curated
    one: its note, its iocbs), is kept as it is: not refused, not replaced (exit 0). One at that
    name that no longer shows it (here one-page-aio, on which post passes) is never replaced
    without --replace: triage shows the difference and exits 1; with --replace it is
    overwritten, keeping the `fixed` entry of its expect, which this triage could not
    recompute."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    name = "post-completion-aio_write-060739.json"
    curated = ROOT / "corpus" / "findings" / name
    shutil.copy(curated, corpus / name)
    before = (corpus / name).read_text()
    proc = _pagefuzz("triage", str(curated), "--impl", "pre,post", "--promote", "--corpus",
                     str(corpus))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (corpus / name).read_text() == before
    assert f"kept {corpus / name}: it already shows post/completion/aio_write" in proc.stdout
    other = json.loads((ROOT / "corpus" / "examples" / "one-page-aio.json").read_text())
    other["expect"] = {"checks": {"fixed": []}}
    (corpus / name).write_text(json.dumps(other))
    before = (corpus / name).read_text()
    proc = _pagefuzz("triage", str(curated), "--impl", "pre,post", "--promote", "--corpus",
                     str(corpus))  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert (corpus / name).read_text() == before
    assert f"not replaced {corpus / name}" in proc.stdout
    assert "pass --replace to overwrite them" in proc.stderr
    assert any(line.startswith("  -") and '"notes"' in line for line in proc.stdout.splitlines())
    proc = _pagefuzz("triage", str(curated), "--impl", "pre,post", "--promote", "--replace",
                     "--corpus", str(corpus))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    after = json.loads((corpus / name).read_text())
    assert after["expect"]["checks"]["fixed"] == [] == other["expect"]["checks"]["fixed"]
    assert after["expect"]["checks"]["post"] == ["completion"]
    assert load_case(corpus / name).expect is not None
