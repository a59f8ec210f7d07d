"""`pagefuzz fuzz`: a campaign shown as it runs (a live table on a terminal, a plain line every
PLAIN_PERIOD_S otherwise) and its end in plain lines: new findings, known ones re-found and
not, the command that replays one. The campaign itself is `fuzz.campaign`."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from pagefuzz._casefile import CaseFileError
from pagefuzz._console import PLAIN_PERIOD_S
from pagefuzz.fuzz.campaign.campaign import Campaign, CampaignError, CampaignRequest, shown_path


def _known_line(snap: dict[str, Any]) -> str:
    """`0 new · 14 of 20 known re-found`: what a campaign on a checkout has to show."""
    refound = len(snap["known_refound"])
    return f"{snap['new']} new · {refound} of {snap['known_total']} known re-found"


def _campaign_table(snap: dict[str, Any], engine: str, seconds: float) -> Table:
    table = Table(
        title=f"pagefuzz fuzz: {engine}, {snap['elapsed']:.0f}/{seconds:.0f} s, "
        f"{snap['executions']} executions, {snap['crashes']} crashes",
        title_justify="left",
    )
    for column in ("worker", "seed", "exec/s", "executions", "coverage", "restarts"):
        table.add_column(column, justify="right")
    for row in snap["workers"]:
        table.add_row(
            str(row["worker"]),
            str(row["seed"]),
            f"{row['exec_per_s']:.0f}",
            str(row["executions"]),
            str(row["coverage"]),
            str(row["restarts"]),
        )
    findings = Table(title="new findings", title_justify="left")
    for column in ("signature", "finding", "first seen", "executions", "steps"):
        findings.add_column(column)
    for f in snap["findings"]:
        findings.add_row(
            f["signature"],
            escape(f["key"]),
            f"{f['first_seen_s']:.1f} s",
            str(f["first_seen_executions"]),
            f"{f['steps_found']} -> {f['steps_minimized']}",
        )
    known = Table(
        title=f"known findings re-found ({len(snap['known_refound'])} of {snap['known_total']})",
        title_justify="left",
    )
    known.add_column("finding")
    known.add_column("first hit: executions", justify="right")
    known.add_column("seconds", justify="right")
    known.add_column("corpus file")
    for r in snap["known_refound"]:
        known.add_row(
            escape(r["key"]),
            str(r["first_seen_executions"]),
            f"{r['first_seen_s']:.2f}",
            escape(r["corpus_file"]),
        )
    outer = Table.grid()
    outer.add_row(table)
    outer.add_row(f"[bold]{_known_line(snap)}[/bold]")
    if snap["findings"]:
        outer.add_row(findings)
    outer.add_row(known)
    return outer


def summary_lines(summary: dict[str, Any], out: Path) -> list[str]:
    """The end of a campaign in plain lines: the count, the new findings, the known ones
    re-found (first hit) and not, where the answer is, and one command that replays a finding:
    the campaign's first new one, else the corpus file of the first known one re-found."""
    lines = [
        f"campaign {summary['status']}: {summary['executions']} executions in "
        f"{summary['seconds']:.1f} s ({summary['exec_per_s']:.0f}/s), "
        f"{summary['crashes']} crashes",
        _known_line(summary),
    ]
    findings = summary["findings"]
    if findings:
        lines.append(f"new findings (minimised into {shown_path(out / 'findings')}):")
    for f in findings:
        also = f"; also fails {f['also_fails']}" if f.get("also_fails") else ""
        lines.append(
            f"  {f['signature']}  {f['key']:<40} first seen {f['first_seen_s']:.1f} s after "
            f"{f['first_seen_executions']} executions; {f['steps_found']} -> "
            f"{f['steps_minimized']} steps{also}"
        )
    refound = summary["known_refound"]
    if refound:
        lines.append("known findings re-found (first hit: executions, seconds):")
    for r in refound:
        lines.append(
            f"  {r['key']:<40} {r['first_seen_executions']:>8} {r['first_seen_s']:>8.2f} s  "
            f"{r['corpus_file']}"
        )
    missed = summary["known_not_refound"]
    if missed:
        lines.append(f"known findings not re-found ({len(missed)}):")
    for m in missed:
        lines.append(f"  {m['key']:<40} {m['corpus_file']}")
    lines.append("what the findings mean: docs/findings.md")
    if findings:
        first = shown_path(out / "findings" / f"{findings[0]['signature']}.json")
        lines.append(f"replay one: pagefuzz replay {first}")
    elif refound:
        lines.append(f"replay one: pagefuzz replay {refound[0]['corpus_file']}")
    lines.append(f"summary: {shown_path(out / 'campaign.json')}")
    return lines


def open_campaign(
    request: CampaignRequest, state_feedback: bool | None = None, instrument: str | None = None
) -> Campaign:
    """A campaign ready to run (`Campaign.create` checks the request against a resumed one);
    what it refuses is one `CaseFileError` line. `state_feedback` and `instrument` are the
    atheris workers' (child processes: passed in their environment)."""
    try:
        campaign = Campaign.create(request)
    except CampaignError as exc:
        raise CaseFileError(str(exc)) from None
    if state_feedback is not None:
        os.environ["PAGEFUZZ_STATE_FEEDBACK"] = "1" if state_feedback else "0"
    if instrument is not None:  # fuzz/campaign/differential_fuzzer.py's SCOPES
        os.environ["PAGEFUZZ_INSTRUMENT"] = instrument
    return campaign


def run_fuzz(console: Console, campaign: Campaign, as_json: bool) -> dict[str, Any]:
    """Run a campaign with a live view on a terminal, periodic plain lines otherwise."""
    try:
        return _run(console, campaign, as_json)
    except CampaignError as exc:
        raise CaseFileError(str(exc)) from None


def _run(console: Console, campaign: Campaign, as_json: bool) -> dict[str, Any]:
    if console.is_terminal and not as_json:
        # Transient: the closing lines below say all the last frame said, and more.
        with Live(console=console, refresh_per_second=2, transient=True) as live:
            summary = campaign.run(
                lambda snap: live.update(_campaign_table(snap, campaign.engine, campaign.seconds))
            )
    else:
        last = [0.0]

        def tick(snap: dict[str, Any]) -> None:
            now = time.monotonic()
            if now - last[0] >= PLAIN_PERIOD_S and not as_json:
                last[0] = now
                rate = sum(float(w["exec_per_s"]) for w in snap["workers"])
                console.print(
                    f"fuzz {campaign.engine} t={snap['elapsed']:.0f}s "
                    f"executions={snap['executions']} exec/s={rate:.0f} "
                    f"crashes={snap['crashes']} · {_known_line(snap)}"
                )

        summary = campaign.run(tick)
    if not as_json:
        for line in summary_lines(summary, campaign.out):
            console.print(escape(line))
    return summary
