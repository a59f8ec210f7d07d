"""docs/findings.md is generated, current, and says what the corpus shows; the HTML renders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from mutants import DropsWakeup, LeavesPageLocked

from pagefuzz._casefile import load_case
from pagefuzz._explain import explain
from pagefuzz._report import build
from pagefuzz._report_analysis import Finding
from pagefuzz._report_html import lane_cell, md_html, md_inline, render_html
from pagefuzz.oracle import judge
from pagefuzz.oracle.evaluate import FindingKey
from pagefuzz.sim import run_case

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
#: Names the programs that must be there, so that their tests fail instead of skipping;
#: .ci/run exports it.
REQUIRE = "PAGEFUZZ_REQUIRE"
BROWSER_REASON = "needs Debian's chromium (`apt-get install chromium`); .ci/run installs it"


def browser_or_skip(env: Mapping[str, str] | None = None) -> str:
    """Debian's chromium, found on env's PATH. Missing, the test is skipped (a fresh machine has
    only Python and a C compiler), unless env's PAGEFUZZ_REQUIRE names chromium: then it fails,
    so CI cannot turn green by skipping the one test that looks at the page."""
    env = os.environ if env is None else env
    found = shutil.which("chromium", path=env.get("PATH", ""))
    if found:
        return found
    if "chromium" in [name.strip() for name in env.get(REQUIRE, "").split(",")]:
        pytest.fail(BROWSER_REASON, pytrace=False)
    pytest.skip(BROWSER_REASON)


def test_findings_report_is_up_to_date() -> None:
    """CI fails when docs/findings.md differs from what the corpus and evidence give now."""
    text, _report = build(ROOT)
    assert (ROOT / "docs" / "findings.md").read_text(encoding="utf-8") == text


def test_check_flags_a_stale_report(tmp_path: Path) -> None:
    stale = tmp_path / "findings.md"
    stale.write_text("# old\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pagefuzz", "report", "--check", "--out", str(stale)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 1
    assert "is stale" in proc.stderr


def test_every_section_5_post_prediction_is_a_finding() -> None:
    """Section 5 of kernel-model.md (the project's kernel-semantics spec, kept outside this
    repository) predicts, for post: completion with the wait entry queued (unaligned pos:
    kernel_bug), pages credited without being written (completion and byte_count). Each appears as a
    finding of the report, shown by post."""
    _text, report = build(ROOT)
    keys = {f.key for f in report.findings}
    for text in (
        "post/completion/aio_write",
        "post/kernel_bug/aio_write",
        "post/byte_count/aio_write",
    ):
        key = FindingKey.parse(text)
        assert key in keys
        finding = next(f for f in report.findings if f.key == key)
        assert finding.shown_by["post"] and not finding.shown_by["fixed"]
        assert "No explanation" not in explain(key)


# ---------------------------------------------------------------------- the browser, or not


def _fake_path(tmp_path: Path, with_browser: bool) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if with_browser:
        chromium = bin_dir / "chromium"
        chromium.write_text("#!/bin/sh\n")
        chromium.chmod(0o755)
    return str(bin_dir)


def test_browser_or_skip_returns_the_chromium_on_path(tmp_path: Path) -> None:
    path = _fake_path(tmp_path, with_browser=True)
    assert browser_or_skip({"PATH": path, REQUIRE: "chromium"}) == str(tmp_path / "bin/chromium")


@pytest.mark.parametrize("require", [None, "", "gcc", "gcc, chromium2"])
def test_a_missing_browser_skips_unless_required(tmp_path: Path, require: str | None) -> None:
    env = {"PATH": _fake_path(tmp_path, with_browser=False)}
    if require is not None:
        env[REQUIRE] = require
    with pytest.raises(pytest.skip.Exception) as skipped:
        browser_or_skip(env)
    assert skipped.value.msg == BROWSER_REASON


@pytest.mark.parametrize("require", ["chromium", "gcc, chromium"])
def test_a_missing_browser_fails_where_required(tmp_path: Path, require: str) -> None:
    env = {"PATH": _fake_path(tmp_path, with_browser=False), REQUIRE: require}
    with pytest.raises(pytest.fail.Exception) as failed:
        browser_or_skip(env)
    assert failed.value.msg == BROWSER_REASON


def test_ci_requires_the_browser() -> None:
    """.ci/run exports the switch before the README's test command runs pytest."""
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    export = [i for i, line in enumerate(lines) if line.startswith(f"export {REQUIRE}=chromium")]
    pytest_line = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert len(export) == 1 and export[0] < pytest_line


def test_the_browser_test_skips_here_and_fails_in_ci(tmp_path: Path) -> None:
    """The real test, in a pytest of its own with no chromium on PATH: skipped with the reason,
    then failed with it once PAGEFUZZ_REQUIRE=chromium (as under .ci/run)."""
    test = "tests/test_report.py::test_html_report_renders_in_headless_chromium"
    env = {k: v for k, v in os.environ.items() if k != REQUIRE}
    env["PATH"] = _fake_path(tmp_path, with_browser=False)
    outcomes = []
    for extra in ({}, {REQUIRE: "chromium"}):
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rsf", test],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**env, **extra},
            timeout=120,
            check=False,
        )
        assert BROWSER_REASON in proc.stdout, proc.stdout[-2000:]
        outcomes.append((proc.returncode, proc.stdout.strip().splitlines()[-1].split(" in ")[0]))
    assert outcomes == [(0, "1 skipped"), (1, "1 failed")]


def test_html_report_renders_in_headless_chromium(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Renders docs as a person sees them; the screenshot is kept in artifacts/ for CI."""
    browser = browser_or_skip()  # first: skipping must not wait for the page to be built
    index: Path = request.getfixturevalue("rendered").index
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,1000",
            f"--screenshot={shot}",
            index.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ},
    )
    assert shot.exists(), proc.stderr[-1000:]
    assert shot.stat().st_size > 20_000  # a blank page is a few KB
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "report.png")


# ---------------------------------------------------------------------- the HTML page's content


@dataclass
class Node:
    """An element of the page, parsed: enough of a DOM to walk it."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def elements(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node)]

    def walk(self) -> Iterator[Node]:
        for child in self.elements():
            yield child
            yield from child.walk()

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.walk()
            if n.tag == tag and all(n.attrs.get(k) == v for k, v in attrs.items())
        ]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)


class _Tree(HTMLParser):
    VOID = frozenset({"meta", "img", "br"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.open[-1].children.append(node)
        if tag not in self.VOID:
            self.open.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.open[-1].tag == tag, f"</{tag}> closes <{self.open[-1].tag}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


@dataclass
class Rendered:
    index: Path
    findings: list[Finding]
    body: Node


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    _text, report = build(ROOT)
    index = render_html(tmp_path_factory.mktemp("html"), report)
    tree = _Tree()
    tree.feed(index.read_text(encoding="utf-8"))
    tree.close()
    assert [n.tag for n in tree.open] == ["document"]  # every element closed
    (body,) = tree.root.find_all("body")
    return Rendered(index, report.findings, body)


def _markdown_section(title: str) -> list[str]:
    """The lines of one `## title` section of docs/findings.md, blank lines dropped."""
    lines = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(f"## {title}") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("## "))
    return [line for line in lines[start:end] if line]


def test_html_opens_with_the_answer_then_the_summary_table(rendered: Rendered) -> None:
    """The page's title, then the answer (docs/findings.md's bullets, as text: the Markdown's
    ** and ` rendered away), then the summary: its legend and the table of findings, in
    docs/findings.md's order, with the same x and . per version."""
    top = rendered.body.elements()[:6]
    assert [(n.tag, n.attrs.get("id")) for n in top] == [
        ("h1", None),
        ("h2", "answer"),
        ("ul", None),
        ("h2", "summary"),
        ("p", None),
        ("table", None),
    ]
    assert top[1].text() == "The answer"
    bullets = [
        line.removeprefix("- ").replace("**", "").replace("`", "")
        for line in _markdown_section("The answer")
    ]
    assert [li.text() for li in top[2].find_all("li")] == bullets
    assert len(bullets) == 3 and bullets[1].startswith("Did it break anything? Yes: post has")
    md_rows = [line.split(" | ") for line in _markdown_section("Summary")[3:]]
    html_rows = [[td.text() for td in tr.find_all("td")] for tr in top[5].find_all("tr")[1:]]
    assert len(html_rows) == len(rendered.findings) == 20
    assert [r[:5] for r in html_rows] == [
        [r[0].split("`")[1], *r[1:5]] for r in md_rows
    ]  # finding, pre, post, recheck-locked, fixed
    assert html_rows[0][:5] == ["post/byte_count/aio_write", ".", "x", ".", "."]


def test_every_summary_link_leads_to_that_findings_lanes(rendered: Rendered) -> None:
    links = rendered.body.elements()[5].find_all("a")
    assert len(links) == 20
    for a in links:
        target = a.attrs["href"].removeprefix("#")
        (section,) = [n for n in rendered.body.walk() if n.attrs.get("id") == target]
        assert section.tag == "section"
        assert section.find_all("h3")[0].text() == a.text()
        assert len(section.find_all("table", **{"class": "lanes"})) == 1


def _lane_lines(section: Node, version: str) -> list[tuple[str, str, str]]:
    """(step label, class, text) of every line in `version`'s lane, top to bottom."""
    out = []
    for tr in section.find_all("tr"):
        for td in tr.find_all("td", **{"data-version": version}):
            label = tr.elements()[0].text()
            out += [(label, div.attrs.get("class", ""), div.text()) for div in td.find_all("div")]
    return out


def _section(rendered: Rendered, key: str) -> Node:
    anchor = key.replace("/", "").replace("+", "").lower()
    (section,) = rendered.body.find_all("section", id=anchor)
    return section


def test_post_byte_count_is_marked_in_posts_lane(rendered: Rendered) -> None:
    """post/byte_count/aio_write (A: 4096 at 12288; B: 16384 at 0; p3's I/O fails at step 2).
    In post, B's write-out phase starts I/O on p0 only (`next > last` after the one batch
    p0..p3). In the drain (step 3) p0's I/O completes; B's run 3 counts p0 (on disk), run 4
    looks up p1: not under writeback (never written), wait returns 0, 4096 bytes from 4096
    counted while p1 is dirty; run 5 does the same for p2; run 6 meets p3's PG_error and B
    returns -EIO. So post's lane has exactly two byte_count marks, each right after the run
    that made the count; fixed and recheck-locked pass, pre shows its own findings."""
    section = _section(rendered, "post/byte_count/aio_write")
    lines = _lane_lines(section, "post")
    marks = [(i, line) for i, line in enumerate(lines) if "violation" in line[1]]
    assert [(lines[i - 1][2], line) for i, line in marks] == [
        (
            "B: aio_run_iocb B (run 4)",
            (
                "3drain",
                "violation v-byte_count",
                "✗ byte_count: B counted 4096 bytes from 4096 as synced at step 3 while page 1 "
                "still dirty (never written out)",
            ),
        ),
        (
            "B: aio_run_iocb B (run 5)",
            (
                "3drain",
                "violation v-byte_count",
                "✗ byte_count: B counted 4096 bytes from 8192 as synced at step 3 while page 2 "
                "still dirty (never written out)",
            ),
        ),
    ]
    assert lines[marks[0][0] - 1][1] == "hit"  # the run that counted is marked too
    for version in ("recheck-locked", "fixed"):
        assert not [line for line in _lane_lines(section, version) if "violation" in line[1]]
    verdicts = [td.text() for td in section.find_all("tr")[1].find_all("td")]
    assert verdicts == ["completion kernel_bug ×2", "byte_count ×2", "passes", "passes"]


def test_a_kernel_bug_replaces_its_event_and_precedes_the_completion(rendered: Rendered) -> None:
    """Same case, pre: A's wait phase counts p3 before waiting (next = index + 1), queues its
    entry and returns -EIOCBRETRY with bytes = 4096 = count: aio_pwrite completes A at step 0
    with its entry queued (the BUG), then the completion itself is premature (p3 under
    writeback). The BUG line is the kernel_bug mark; the completion line is followed by its
    completion mark."""
    lines = _lane_lines(_section(rendered, "post/byte_count/aio_write"), "pre")
    step0 = [line[1:] for line in lines if line[0] == "0"]
    assert step0[-4:] == [
        ("", "A: p3 under writeback: entry queued on q0, -EIOCBRETRY"),
        (
            "violation v-kernel_bug",
            "✗ kernel_bug: aio_complete of A while its wait entry is on q0",
        ),
        ("hit", "A: A completes: 4096, not on disk: p3"),
        (
            "violation v-completion",
            "✗ completion: A completed with 4096 bytes at step 0 while page 3 still under "
            "writeback",
        ),
    ]


def test_a_retry_storm_is_marked_at_the_settle_bound(rendered: Rendered) -> None:
    """recheck-locked/retry_bound/aio_write: A and B, on pages sharing q0, wake each other on
    every unlock; at step 2 the settle bound (64 runs) stops the storm with both still kicking
    (32 runs each in the storm): one retry_bound mark per iocb, right after the bound line."""
    lines = _lane_lines(
        _section(rendered, "recheck-locked/retry_bound/aio_write"), "recheck-locked"
    )
    marks = [i for i, line in enumerate(lines) if "violation" in line[1]]
    assert [lines[i][2].split(" was ")[0] for i in marks] == [
        "✗ retry_bound: retry storm: A",
        "✗ retry_bound: retry storm: B",
    ]
    assert lines[marks[0] - 1] == (
        "2drain",
        "hit",
        "sched: settle bound 64 reached; still runnable: A",
    )
    assert marks[1] == marks[0] + 1


def test_every_violation_is_marked_in_its_versions_lane_at_its_step(rendered: Rendered) -> None:
    """For every finding and version: the marks in the lane are exactly the oracle's violations
    (check, explanation, step), none left out and none extra."""
    for f in rendered.findings:
        section = _section(rendered, str(f.key))
        for version, record in f.records.items():
            marked = sorted(
                (label.removesuffix("drain"), cls.split(" v-")[1], text.split(": ", 1)[1])
                for label, cls, text in _lane_lines(section, version)
                if "violation" in cls
            )
            expected = sorted(
                (str(v.step), v.check, v.explanation) for v in judge(record).violations
            )
            assert marked == expected, (f.key, version)


@pytest.mark.parametrize(
    ("case", "mutant", "mark"),
    [
        (
            "check-hang",
            DropsWakeup,
            "<div class='violation v-hang' data-check='hang' title='A never completed: after "
            "the drain nothing is left that could wake it'>✗ hang: A never completed: after the "
            "drain nothing is left that could wake it</div>",
        ),
        (
            "mutant-sync-write",
            LeavesPageLocked,
            "<div class='violation v-kernel_bug' data-check='kernel_bug' title='page 0 is still "
            "locked by T at the end'>✗ kernel_bug: page 0 is still locked by T at the end</div>",
        ),
    ],
)
def test_what_is_judged_after_the_drain_is_marked_in_the_drain(
    case: str, mutant: type[DropsWakeup] | type[LeavesPageLocked], mark: str
) -> None:
    """tests/test_oracle.py works these out: the mutant that queues on the wrong queue hangs A,
    the one that keeps p0 locked leaks the lock; both are judged at the drain (step 2 of a
    two-step case), where nothing is drawn (the drain line is bookkeeping). The cell is the
    mark alone."""
    record = run_case(load_case(ROOT / "corpus" / "examples" / f"{case}.json"), mutant())
    (violation,) = judge(record).violations
    assert violation.step == 2
    assert lane_cell(record, 2, [violation]) == mark


def test_no_markdown_is_left_in_the_page(rendered: Rendered) -> None:
    """Backticks and ** are Markdown; outside code they must have been rendered."""

    def text_outside_code(node: Node) -> str:
        if node.tag in ("code", "pre", "style"):
            return ""
        return "".join(c if isinstance(c, str) else text_outside_code(c) for c in node.children)

    text = text_outside_code(rendered.body)
    assert "`" not in text and "**" not in text
    assert len(rendered.body.find_all("code")) > 100  # the answer's, the sections' and lanes'


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("plain", "<p>plain</p>"),
        ("`a->b` and `(*op)(page)`", "<p><code>a-&gt;b</code> and <code>(*op)(page)</code></p>"),
        ("**bold**, *it*, 2 * 3 * 4", "<p><strong>bold</strong>, <em>it</em>, 2 * 3 * 4</p>"),
        (
            "[`key`](#anchor) [x](../a_b.json)",
            ('<p><a href="#anchor"><code>key</code></a> <a href="../a_b.json">x</a></p>'),
        ),
        ("if (a < b && c) `x & y`", "<p>if (a &lt; b &amp;&amp; c) <code>x &amp; y</code></p>"),
        ("one\nline, two\n\nparagraphs", "<p>one line, two</p>\n<p>paragraphs</p>"),
        (
            "- **Q?** yes\n  continued\n- `b`\n\n1. first\n2. second",
            "<ul><li><strong>Q?</strong> yes continued</li><li><code>b</code></li></ul>\n"
            "<ol><li>first</li><li>second</li></ol>",
        ),
        ("\"q\" 'a'", "<p>&quot;q&quot; &#x27;a&#x27;</p>"),
    ],
)
def test_markdown_to_html(markdown: str, html: str) -> None:
    assert md_html(markdown) == html


def test_markdown_inline_keeps_page_structure_out_of_code() -> None:
    """Escaping comes first: a code span cannot open a tag, and ** inside code stays literal."""
    assert md_inline("`<b>**x**</b>` <i>") == "<code>&lt;b&gt;**x**&lt;/b&gt;</code> &lt;i&gt;"


def test_the_answer_says_in_words_what_the_patch_fixed() -> None:
    """The opening bullet, worded from the findings: pre's 6 findings, none of which post shows
    on their minimal cases, read "Yes: post shows none of pre's 6 findings" (once "Of pre's 6
    findings, post no longer shows 6", which read as if post showed 6 of something); the
    wording for some and for none of them is checked on the same findings, re-marked."""
    from pagefuzz._report_analysis import gather
    from pagefuzz._report_markdown import answer_lines

    report = gather(ROOT)
    pre = [f for f in report.findings if f.version == "pre"]
    assert len(pre) == 6 and not any(f.shown_by["post"] for f in pre)
    first = answer_lines(report)[0]
    assert first.startswith(
        "- **Did the patch fix the premature completion?** Yes: post shows none of pre's 6 "
        "findings on their minimal cases (`pre/byte_count/aio_write`, "
    )
    pre[0].shown_by["post"] = True
    some = answer_lines(report)[0]
    assert "In part: post no longer shows 5 of pre's 6 findings on their minimal cases (" in some
    assert f"and still shows `{pre[0].key}`." in some
    for f in pre:
        f.shown_by["post"] = True
    assert "No: post still shows all of pre's 6 findings." in answer_lines(report)[0]
