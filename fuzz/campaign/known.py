"""The findings a campaign already knows: which ones the corpus shows (and in which file), and
the first hit of each that the workers re-found.

A known finding is never reported as new; re-finding it is how a campaign on a checkout shows
that it works (`20 of 20 known re-found`). The workers record their own first hits
(fuzz/campaign/target.py); `KnownTally` folds them over workers, restarts and rounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pagefuzz.fuzz.campaign.store import shown_path
from pagefuzz.fuzz.campaign.summary import NotRefound, Refound
from pagefuzz.fuzz.campaign.target import Evaluator
from pagefuzz.fuzz.files import corpus_cases
from pagefuzz.fuzz.versions.resolve import era_of_names, spec_of
from pagefuzz.oracle.evaluate import FindingKey


@dataclass(frozen=True)
class KnownFinding:
    """A finding the corpus already shows: its key, and the corpus file to replay for it."""

    key: FindingKey
    file: Path


def case_name(key: FindingKey, signature: str) -> str:
    """The name of a finding's case (and file stem): `pre-completion-aio_write-<signature>`,
    `c-fix.c-crash-aio_write-<signature>` for the version `c:fix.c` (a slug of its name: only
    letters, digits, `_`, `.` and `-`). Campaigns use the whole signature; `triage --promote`
    names corpus files with its first 6 digits."""
    return f"{slug(key.version)}-{key.check}-{key.kind}-{signature}"


def slug(name: str) -> str:
    """A version's name as a file name may hold it: `c:fix.c` -> `c-fix.c`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "version"


def known_findings(
    corpus: Path | None, versions: list[str]
) -> tuple[dict[str, KnownFinding], dict[str, KnownFinding]]:
    """Signatures the corpus holds for these versions (replayed, not trusted from the files, so
    an oracle change is taken into account), each with one file that shows it: the promoted
    finding named after it (`triage --promote` names them `<key>-<sig6>`) when there is one,
    else the shortest case, first by path.

    Two maps: the built-in versions' findings, which a campaign counts as known; and those of
    versions from outside the package, which are never hidden (a user's fix is what is under
    test): a campaign reports them as new, each marked with the corpus file that also shows it."""
    known: dict[str, KnownFinding] = {}
    also: dict[str, KnownFinding] = {}
    if corpus is None or not corpus.exists():
        return known, also
    external = {name for name in versions if spec_of(name).external}
    evaluator = Evaluator(versions)
    era = era_of_names(versions)
    rank: dict[str, tuple[int, int]] = {}
    for path, case in corpus_cases(corpus):
        if case.config.era != era:
            continue  # a case of another era shows only that era's versions' findings
        for failure in evaluator.evaluate(case).failures:
            named = path.stem == case_name(failure.key, failure.signature[:6])
            mine = (0 if named else 1, len(case.steps))
            if failure.signature not in rank or mine < rank[failure.signature]:
                rank[failure.signature] = mine
                which = also if failure.key.version in external else known
                which[failure.signature] = KnownFinding(failure.key, path)
    return known, also


@dataclass(frozen=True)
class FirstHit:
    executions: int
    seconds: float


@dataclass
class KnownTally:
    """The known findings of a campaign and the first hit of each one re-found: the fewest
    executions and the earliest time any worker needed (min over workers, restarts and rounds).
    Both count as a new finding's do, from the worker's start (so the two are comparable), plus
    what came before it: the worker's earlier processes and the campaign's earlier rounds."""

    known: dict[str, KnownFinding] = field(default_factory=dict)
    first_hits: dict[str, FirstHit] = field(default_factory=dict)
    elapsed_before: float = 0.0  # seconds and executions of the campaign's earlier rounds
    executions_before: int = 0
    started: float = 0.0  # when this round started (monotonic)

    def restore(self, earlier: list[Refound]) -> None:
        """The first hits an earlier round recorded, for the findings still known."""
        for entry in earlier:
            if entry.signature in self.known:
                self.first_hits[entry.signature] = FirstHit(
                    entry.first_seen_executions, entry.first_seen_s
                )

    def note(self, hits: object, worker_started: float, executions_earlier: int) -> None:
        """Fold one process's first hits (its stats.json's `known_hits`) into the campaign's."""
        if not isinstance(hits, dict):
            return
        offset = self.elapsed_before + max(0.0, worker_started - self.started)
        for signature, hit in hits.items():
            if signature not in self.known:
                continue
            try:
                executions = self.executions_before + executions_earlier + int(hit["executions"])
                seconds = offset + float(hit["seconds"])
            except (KeyError, TypeError, ValueError):
                continue  # a stats file from another version of pagefuzz: nothing to add
            before = self.first_hits.get(signature)
            if before is not None:
                executions = min(before.executions, executions)
                seconds = min(before.seconds, seconds)
            self.first_hits[signature] = FirstHit(executions, seconds)

    def refound(self) -> list[Refound]:
        """The known findings re-found, in the order of their first hit."""
        return sorted(
            (
                Refound(
                    key=self.known[sig].key,
                    signature=sig,
                    first_seen_executions=hit.executions,
                    first_seen_s=round(hit.seconds, 3),
                    corpus_file=shown_path(self.known[sig].file),
                )
                for sig, hit in self.first_hits.items()
            ),
            key=lambda r: (r.first_seen_executions, r.first_seen_s, str(r.key)),
        )

    def not_refound(self) -> list[NotRefound]:
        """The known findings not re-found, by key."""
        return sorted(
            (
                NotRefound(key=k.key, signature=sig, corpus_file=shown_path(k.file))
                for sig, k in self.known.items()
                if sig not in self.first_hits
            ),
            key=lambda m: str(m.key),
        )
