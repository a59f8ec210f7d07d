"""A finding's identity: `FindingKey` (version, check, request kind), its one string form and its
signature. The atomic findings of a run (campaigns, minimisation, triage and the report key on
them) and the differential's signature (oracle/verdict.py) are both built from these keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from pagefuzz.oracle.checks import Violation
from pagefuzz.sim.case import CHECKS


def signature_of(key: str) -> str:
    """A short, file-name-safe digest of a key's text (12 hex digits of SHA-256)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True, order=True)
class FindingKey:
    """One way a version goes wrong: the version, the violated check and the kind of request it
    concerns (`-` for none). Its one string form is `version/check/kind`; its signature is the
    first 12 hex digits of that string's SHA-256 (the name of finding files)."""

    version: str
    check: str
    kind: str

    def __str__(self) -> str:
        return f"{self.version}/{self.check}/{self.kind}"

    @property
    def signature(self) -> str:
        return signature_of(str(self))

    @classmethod
    def of(cls, violation: Violation) -> FindingKey:
        """The finding a violation shows: its version, check and request kind (`judge` resolved
        the kind from the record)."""
        return cls(violation.version, violation.check, violation.kind)

    @classmethod
    def parse(cls, text: str) -> FindingKey:
        """The key a user typed or a file holds; ValueError naming the part that is wrong.
        Split from the right: a version from a file is named by its path (`py:dir/fix.py`),
        which may hold "/"; checks and request kinds never do."""
        parts = text.rsplit("/", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{text!r} is not VERSION/CHECK/KIND (e.g. post/completion/aio_write)")
        if parts[1] not in CHECKS:
            raise ValueError(
                f"{text!r}: unknown check {parts[1]!r}; checks are {', '.join(CHECKS)}"
            )
        return cls(parts[0], parts[1], parts[2])


def finding_keys(violations: Iterable[Violation]) -> tuple[FindingKey, ...]:
    """The atomic findings of violations, sorted and without repeats: one per distinct
    (version, check, request kind). Campaigns deduplicate on these, not on the whole set:
    independent bugs in one case would otherwise combine into a new set at every execution."""
    return tuple(sorted({FindingKey.of(v) for v in violations}))
