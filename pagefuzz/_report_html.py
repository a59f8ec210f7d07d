"""The HTML page of `pagefuzz report --html DIR`: the same answer and summary as
docs/findings.md (its Markdown rendered), then per finding every version's timeline as lanes
side by side with each violation marked after the event it is about, then the campaigns'
plots. Rendering only: the facts are a `Report` (`_report_analysis`)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from pagefuzz._explain import anchor, explain
from pagefuzz._report_analysis import (
    LANE_KINDS,
    REPORT_VERSIONS,
    Finding,
    Report,
    violation_seq,
)
from pagefuzz._report_july import (
    JULY_VERSIONS,
    JulyFinding,
    JulyReport,
    choice_words,
    explanation,
    july_answer_lines,
)
from pagefuzz._report_markdown import SUMMARY_LEGEND, answer_lines, found_by_text
from pagefuzz._report_plots import campaign_plots
from pagefuzz.fuzz.files import write_atomic
from pagefuzz.oracle import CHECKS, Violation
from pagefuzz.sim import RunRecord
from pagefuzz.sim.events import Event, EventKind

#: One colour per check, for the marks in the lanes and their legend.
CHECK_COLOURS: Final = {
    "completion": "#f4a3a3",
    "byte_count": "#f0b3df",
    "retry_bound": "#cdb8f5",
    "hang": "#a9c8f0",
    "error": "#ffe27a",
    "kernel_bug": "#ffc27d",
    "crash": "#c9c9c9",
    "timeout": "#b6e3c0",
}

_BASE_CSS: Final = """
body { font-family: sans-serif; margin: 1.5em; color: #222; line-height: 1.35; }
h2 { border-bottom: 2px solid #888; margin-top: 1.4em; } h3 { margin-top: 1.6em; }
code { font-family: monospace; background: #f2f2f2; padding: 0 2px; }
#answer + ul li { margin: 0.3em 0; }
table.summary { border-collapse: collapse; font-size: 14px; }
table.summary td, table.summary th { border: 1px solid #ccc; padding: 2px 8px; }
table.summary td.x { background: #f4a3a3; text-align: center; font-weight: bold; }
table.summary td.dot { color: #999; text-align: center; }
table.lanes { border-collapse: collapse; width: 100%; font: 12px monospace; }
table.lanes td, table.lanes th { border: 1px solid #ccc; padding: 2px 6px; vertical-align: top; }
table.lanes th.own { background: #eee; }
.complete { background: #d8f5d8; } .bug { background: #ffe3c4; }
.wake { color: #1a5fb4; } .io { color: #6a1b9a; }
.hit { font-weight: bold; border-left: 3px solid #c01c28; padding-left: 3px; }
.violation { border: 1px solid #c01c28; margin: 1px 0; padding: 1px 3px; }
span.violation { display: inline-block; font: 12px monospace; }
img { max-width: 48%; border: 1px solid #ddd; margin: 4px; }
"""
_CSS: Final = _BASE_CSS + "".join(f".v-{c} {{ background: {CHECK_COLOURS[c]}; }}\n" for c in CHECKS)

_CODE_SPAN: Final = re.compile(r"`([^`]+)`")
_LINK: Final = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD: Final = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC: Final = re.compile(r"\*(?=\S)([^*]+?)(?<=\S)\*")
_KEPT: Final = re.compile("\x00(\\d+)\x00")
_LIST_ITEM: Final = re.compile(r"(?:[-*]|(\d+)\.) +(\S.*)")


def md_inline(text: str) -> str:
    """The inline Markdown the report's texts use, as HTML: `code`, **bold**, *italics* and
    [links](url). Escaped first, so `<`, `>` and `&` (kernel code has them) stay text; code spans
    are set aside before the rest, so `*operator` in code is not emphasis."""
    kept: list[str] = []

    def keep(fragment: str) -> str:
        kept.append(fragment)
        return f"\x00{len(kept) - 1}\x00"

    out = _CODE_SPAN.sub(lambda m: keep(f"<code>{m[1]}</code>"), html.escape(text))
    out = _LINK.sub(lambda m: keep(f'<a href="{m[2]}">{_emphasis(m[1])}</a>'), out)
    out = _emphasis(out)
    while "\x00" in out:  # a kept link may hold a kept code span
        out = _KEPT.sub(lambda m: kept[int(m[1])], out)
    return out


def _emphasis(text: str) -> str:
    return _ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", text))


def md_html(text: str) -> str:
    """Markdown blocks as HTML: blank-line separated paragraphs, and lists (`- `, `* ` or `1. `
    items; a line that starts no item continues the one before)."""
    blocks = []
    for block in re.split(r"\n[ \t]*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines()]
        first = _LIST_ITEM.fullmatch(lines[0])
        if first is None:
            blocks.append(f"<p>{md_inline(' '.join(lines))}</p>")
            continue
        items: list[str] = []
        for line in lines:
            item = _LIST_ITEM.fullmatch(line)
            if item is not None:
                items.append(item[2])
            else:
                items[-1] += " " + line
        tag = "ul" if first[1] is None else "ol"
        body = "".join(f"<li>{md_inline(item)}</li>" for item in items)
        blocks.append(f"<{tag}>{body}</{tag}>")
    return "\n".join(blocks)


#: The CSS class of a lane line, by the kind of its event (the legend above the lanes).
EVENT_CLASSES: Final = {
    EventKind.COMPLETE: "complete",
    EventKind.BUG: "bug",
    EventKind.WAKE: "wake",
    EventKind.KICK: "wake",
    EventKind.IO_DONE: "io",
    EventKind.IO_ERROR: "io",
    EventKind.WRITEBACK: "io",
}


def _event_class(event: Event) -> str:
    return EVENT_CLASSES.get(event.kind, "")


def _mark(violation: Violation) -> str:
    check = html.escape(violation.check)
    words = html.escape(violation.explanation)
    return (
        f"<div class='violation v-{check}' data-check='{check}' title='{words}'>"
        f"✗ {check}: {words}</div>"
    )


def lane_cell(record: RunRecord, step: int, violations: list[Violation]) -> str:
    """One version's events of one step, each violation marked right after the event it is
    about (before the first event when that event is not drawn, at the end when it has none)."""
    events = [e for e in record.events if e.step == step and e.kind in LANE_KINDS]
    at: dict[int, list[Violation]] = {}
    first: list[Violation] = []
    last: list[Violation] = []
    for v in violations:
        seq = violation_seq(record, v)
        anchor = max((e.seq for e in events if seq is not None and e.seq <= seq), default=None)
        if seq is None:
            last.append(v)
        elif anchor is None:
            first.append(v)
        else:
            at.setdefault(anchor, []).append(v)
    bug_seqs = {violation_seq(record, v) for v in violations if v.check == "kernel_bug"}
    lines = [_mark(v) for v in first]
    for e in events:
        marks = at.get(e.seq, [])
        if not (e.kind == EventKind.BUG and e.seq in bug_seqs):  # the mark says it: not twice
            cls = "hit" if marks else _event_class(e)
            attr = f" class='{cls}'" if cls else ""
            lines.append(f"<div{attr}>{html.escape(e.actor)}: {html.escape(e.text)}</div>")
        lines.extend(_mark(v) for v in marks)
    lines.extend(_mark(v) for v in last)
    return "".join(lines)


def _verdict_cell(violations: list[Violation]) -> str:
    if not violations:
        return "passes"
    counts = {c: sum(1 for v in violations if v.check == c) for c in CHECKS}
    return " ".join(
        f"<span class='violation v-{c}'>{c}{f' ×{n}' if n > 1 else ''}</span>"
        for c, n in counts.items()
        if n
    )


def _lanes(f: Finding | JulyFinding, versions: Sequence[str] = REPORT_VERSIONS) -> str:
    records = f.evaluation.records
    verdicts = {v: list(f.evaluation.verdicts[v].violations) for v in versions}
    steps = sorted(
        {e.step for v in versions for e in records[v].events if e.kind in LANE_KINDS}
        | {x.step for v in versions for x in verdicts[v]}
    )
    own = {v: " class='own'" if v == f.key.version else "" for v in versions}
    head = "".join(f"<th{own[v]}>{html.escape(v)}</th>" for v in versions)
    verdict_row = "".join(f"<td>{_verdict_cell(verdicts[v])}</td>" for v in versions)
    rows = [f"<tr><th>step</th>{head}</tr>", f"<tr><th>verdict</th>{verdict_row}</tr>"]
    for step in steps:
        # The step after the last is the drain: the world runs until nothing can.
        label = f"{step}" if step < len(f.case.steps) else f"{step}<br>drain"
        cells = "".join(
            f"<td data-version='{html.escape(v)}'>"
            + lane_cell(records[v], step, [x for x in verdicts[v] if x.step == step])
            + "</td>"
            for v in versions
        )
        rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    return f"<table class='lanes'>{''.join(rows)}</table>"


def _summary_table(
    findings: Sequence[Finding | JulyFinding],
    versions: Sequence[str],
    last: str,
    notes: list[str],
) -> str:
    """A chapter's summary: per finding, an x for each version showing it, and a last column
    (`last`, a note per finding)."""
    head = "".join(f"<th>{html.escape(v)}</th>" for v in versions)
    rows = [f"<tr><th>finding</th>{head}<th>{html.escape(last)}</th></tr>"]
    for f, note in zip(findings, notes, strict=True):
        marks = "".join(
            "<td class='x'>x</td>" if f.shown_by[v] else "<td class='dot'>.</td>" for v in versions
        )
        rows.append(
            f"<tr><td><a href='#{anchor(f.key)}'><code>{html.escape(str(f.key))}</code></a>"
            f"</td>{marks}<td>{html.escape(note)}</td></tr>"
        )
    return f"<table class='summary'>{''.join(rows)}</table>"


def _july_parts(r: JulyReport) -> list[str]:
    """The July 2004 era's chapter: its answer, its summary and each finding's lanes in the
    era's versions (the same facts as docs/findings.md's chapter)."""
    table = _summary_table(
        r.findings, JULY_VERSIONS, "on the minimal case", [choice_words(f) for f in r.findings]
    )
    parts = [
        "<h2 id='july'>The July 2004 rework (era 2004-07)</h2>",
        md_html("\n".join(july_answer_lines(r))),
        table,
    ]
    for f in r.findings:
        parts += [
            f"<section id='{anchor(f.key)}'>",
            f"<h3>{html.escape(str(f.key))}</h3>",
            md_html(f"Minimal case `{f.path}`, {len(f.case.steps)} steps."),
            md_html(explanation(f)),
            _lanes(f, JULY_VERSIONS),
            "<p><a href='#july'>back to the chapter</a></p>",
            "</section>",
        ]
    return parts


def render_html(out: Path, report: Report) -> Path:
    """DIR/index.html: the answer and the summary first, then each finding's lanes, then the
    campaigns' plots (PNG files beside it)."""
    out.mkdir(parents=True, exist_ok=True)
    findings = report.findings
    by_campaign = report.found_by()
    table = _summary_table(
        findings,
        REPORT_VERSIONS,
        "found by (executions to first)",
        [found_by_text(f, by_campaign) for f in findings],
    )
    legend = ", ".join(f"<span class='violation v-{c}'>{c}</span>" for c in CHECKS)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>pagefuzz findings</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>What pagefuzz finds in the 2004 patch</h1>",
        "<h2 id='answer'>The answer</h2>",
        md_html("\n".join(answer_lines(report))),
        "<h2 id='summary'>Summary</h2>",
        md_html(SUMMARY_LEGEND + " Each finding links to its timelines."),
        table,
        "<h2 id='timelines'>Timelines</h2>",
        "<p>Per finding, every version's timeline of its minimal case as lanes side by side, one "
        "row per case step and one for the drain after the last; the finding's own version has "
        "the grey heading. Every violation the oracle reports is marked in its version's lane, "
        f"after the event it is about: {legend}. "
        "A bold line with a red edge is that event; <span class='complete'>green</span>: a "
        "request completing; blue: wakeups and kicks; purple: I/O.</p>",
    ]
    for f in findings:
        steps = len(f.case.steps)
        shown = ", ".join(v for v in REPORT_VERSIONS if f.shown_by[v])
        parts += [
            f"<section id='{anchor(f.key)}'>",
            f"<h3>{html.escape(str(f.key))}</h3>",
            md_html(
                f"Check `{f.check}`, shown on the minimal case by {shown}; minimal case "
                f"`{f.path}`, {steps} step{'s' if steps != 1 else ''}."
            ),
            md_html(explain(f.key)),
            _lanes(f),
            "<p><a href='#summary'>back to the summary</a></p>",
            "</section>",
        ]
    if report.july is not None:
        parts += _july_parts(report.july)
    parts.append("<h2>Campaigns</h2>")
    for name, summary in report.campaigns:
        parts.append(
            f"<h3>{html.escape(name)}: {html.escape(summary.engine)}, "
            f"{summary.executions} executions in {summary.seconds} s</h3>"
        )
        for png in campaign_plots(out, name, summary):
            parts.append(f"<img src='{html.escape(png)}' alt='{html.escape(png)}'>")
    parts.append("</body></html>")
    index = out / "index.html"
    write_atomic(index, "\n".join(parts).encode())
    return index
