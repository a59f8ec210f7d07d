"""The campaign plots of the HTML report (matplotlib, written as PNG files beside the page):
findings against executions and time, coverage against time, exec/s per worker."""

from __future__ import annotations

from pathlib import Path

from pagefuzz.fuzz.campaign.summary import CampaignSummary


def campaign_plots(out: Path, name: str, summary: CampaignSummary) -> list[str]:
    """Findings and coverage against executions and time, exec/s per worker (matplotlib)."""
    timeline = summary.timeline
    if len(timeline) < 2:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = [s.seconds for s in timeline]
    # Findings as they were first seen (exact), coverage and exec/s as sampled every 5 s.
    first = summary.findings
    by_exec = sorted(f.first_seen_executions or 0 for f in first)
    by_time = sorted(f.first_seen_s for f in first)
    end_exec, end_time = summary.executions, summary.seconds
    files = []
    plots = (
        (
            "findings-executions",
            [0, *by_exec, end_exec],
            [0, *range(1, len(by_exec) + 1), len(by_exec)],
            "executions",
            "findings",
        ),
        (
            "findings-time",
            [0.0, *by_time, end_time],
            [0, *range(1, len(by_time) + 1), len(by_time)],
            "seconds",
            "findings",
        ),
        ("coverage-time", seconds, [s.coverage for s in timeline], "seconds", "coverage"),
    )
    for label, xs, ys, xlabel, ylabel in plots:
        fig, ax = plt.subplots(figsize=(5, 3), dpi=90)
        ax.plot(xs, ys, drawstyle="steps-post")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{name}: {ylabel} / {xlabel}")
        fig.tight_layout()
        path = out / f"{name}-{label}.png"
        fig.savefig(path)
        plt.close(fig)
        files.append(path.name)
    fig, ax = plt.subplots(figsize=(5, 3), dpi=90)
    workers = max(len(s.exec_per_s) for s in timeline)
    for w in range(workers):
        ax.plot(
            seconds,
            [s.exec_per_s[w] if w < len(s.exec_per_s) else 0 for s in timeline],
            label=f"worker {w}",
        )
    ax.set_xlabel("seconds")
    ax.set_ylabel("exec/s")
    ax.set_title(f"{name}: exec/s per worker")
    ax.legend()
    fig.tight_layout()
    path = out / f"{name}-exec-per-worker.png"
    fig.savefig(path)
    plt.close(fig)
    files.append(path.name)
    return files
