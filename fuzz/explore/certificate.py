"""What an exploration proves: its `Certificate` (counts, the depth closed, the shortest
`Counterexample` of every finding), a `Shard` of the schedule space (`--shard I/N`) and
`merge_certificates`, which combines the certificates of all N shards into one
(docs/explore.md, "Shards")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pagefuzz.fuzz.explore.space import Bound
from pagefuzz.oracle.evaluate import FindingKey
from pagefuzz.sim.case import Case


@dataclass
class Counterexample:
    """The first schedule found for a finding (a shortest one: breadth-first), as a case."""

    key: FindingKey
    signature: str
    case: Case
    depth: int
    schedules: int = 0  # schedules judged when it was found (the explorer's "executions")


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`, counted from 1 as a CI matrix counts its jobs (`--shard 1/2`
    and `--shard 2/2`): the subtrees of every count-th schedule kept at the split depth,
    starting with the index-th."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`I/N` with 1 <= I <= N; ValueError with one line saying what is wrong."""
    first, slash, second = text.partition("/")
    if not slash or not first.strip().isdigit() or not second.strip().isdigit():
        raise ValueError(f"expected I/N (shard I of N, 1 <= I <= N), got {text!r}")
    index, count = int(first), int(second)
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"expected I/N with 1 <= I <= N, got {text!r}")
    return Shard(index, count)


#: A shard splits at the first depth with at least this many kept schedules per shard (or never,
#: if the bound closes before): enough subtrees that each shard gets a fair mix.
SPLIT_PER_SHARD: Final = 4


@dataclass
class Certificate:
    """What an exploration judged: its bound and versions, its counts, how deep it closed, the
    shortest counterexample of each finding; `to_json` is certificate.json."""

    bound: Bound
    versions: list[str]
    schedules: int = 0
    states: int = 0
    pruned: int = 0
    depth_done: int = 0
    complete: bool = False
    interrupted: bool = False  # stopped by Ctrl-C (a time-limit stop only leaves complete false)
    seconds: float = 0.0
    shortest: dict[FindingKey, Counterexample] = field(default_factory=dict)
    jobs: int = 1
    shard: Shard | None = None
    #: With a shard: the depth at which the schedule space was split (None: the bound closed
    #: before, and every shard explored all of it), and the counts up to it, which every shard
    #: shares.
    split_depth: int | None = None
    top: tuple[int, int, int] = (0, 0, 0)
    #: For versions loaded from files (`py:`, `c:`): the SHA-256 of the file, so that shards
    #: explored on other machines are merged only if they ran the same code.
    sources: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What the benchmarks (fuzz/bench/) report of an exploration: the bound, whether and
        how far it closed, its counts, its seconds (unrounded: a measurement) and the shortest
        length of each finding, by the finding's key string, in key-string order."""
        lengths = {str(k): c.depth for k, c in self.shortest.items()}
        return {
            "bound": self.bound.describe(),
            "complete": self.complete,
            "depth_closed": self.depth_done,
            "states": self.states,
            "schedules": self.schedules,
            "seconds": self.seconds,
            "shortest": dict(sorted(lengths.items())),
        }

    def to_json(self) -> dict[str, Any]:
        per_version: dict[str, Any] = {}
        for version in self.versions:
            found = {k: c for k, c in self.shortest.items() if k.version == version}
            per_version[version] = (
                {
                    str(k): {"signature": c.signature, "steps": c.depth, "case": c.case.name}
                    for k, c in sorted(found.items())
                }
                if found
                else "no violation within the bound"
            )
        out: dict[str, Any] = {
            "format": "pagefuzz/certificate-v1",
            "bound": self.bound.describe(),
            "complete": self.complete,
            "interrupted": self.interrupted,
            "depth_closed": self.depth_done,
            "schedules": self.schedules,
            "distinct_states": self.states,
            "pruned": self.pruned,
            "seconds": round(self.seconds, 2),
            "versions": per_version,
        }
        if self.sources:
            out["version_sources"] = dict(self.sources)
        if self.shard is not None:
            schedules, states, pruned = self.top
            out["shard"] = {
                "index": self.shard.index,
                "count": self.shard.count,
                "split_depth": self.split_depth,
                "shared": {"schedules": schedules, "distinct_states": states, "pruned": pruned},
            }
        return out


class MergeError(ValueError):
    """Shard certificates that cannot be merged; str() is one line naming the shard or file."""


#: What a merged certificate says it is (docs/explore.md, "Shards").
MERGED_NOTE: Final = (
    "merged from shards: findings and shortest lengths are exact (each shard explored its "
    "subtrees breadth-first to the same depth); schedules, distinct_states and pruned add the "
    "shards' counts to the part they share, and a state reached in two shards counts twice"
)


def merge_certificates(
    certs: Sequence[tuple[str, dict[str, Any]]],
) -> tuple[dict[str, Any], dict[str, int]]:
    """One certificate from the certificates of all N shards of one bound and versions (given as
    (name, JSON) pairs, any order). Returns it and, for each counterexample it lists, the
    position in `certs` of the shard whose case file shows it (the shard with the lowest index
    among those that found it at the shortest length). MergeError if a shard is missing, given
    twice, or explored another bound, other versions or other code."""
    if not certs:
        raise MergeError("no certificates to merge")
    by_index: dict[int, int] = {}
    first_name, first = certs[0]
    for position, (name, cert) in enumerate(certs):
        shard = cert.get("shard")
        if cert.get("format") != "pagefuzz/certificate-v1" or not isinstance(shard, dict):
            raise MergeError(f"{name}: not a shard certificate (explore --shard I/N writes one)")
        if shard.get("count") != first["shard"].get("count"):
            raise MergeError(
                f"{name}: shard {shard.get('index')}/{shard.get('count')} is not one of "
                f"{first['shard'].get('count')} shards like {first_name}"
            )
        for what in ("bound", "version_sources"):
            if cert.get(what) != first.get(what):
                raise MergeError(
                    f"{name}: {what.replace('_', ' ')} {cert.get(what)!r} differs from "
                    f"{first_name}'s {first.get(what)!r}"
                )
        if list(cert.get("versions", {})) != list(first.get("versions", {})):
            raise MergeError(
                f"{name}: versions {','.join(cert.get('versions', {}))} differ from "
                f"{first_name}'s {','.join(first.get('versions', {}))}"
            )
        if (shard.get("split_depth"), shard.get("shared")) != (
            first["shard"].get("split_depth"),
            first["shard"].get("shared"),
        ):
            raise MergeError(f"{name}: split differs from {first_name}'s (another explorer?)")
        index = shard.get("index")
        if not isinstance(index, int):
            raise MergeError(f"{name}: shard index {index!r} is not a number")
        if index in by_index:
            earlier = certs[by_index[index]][0]
            raise MergeError(f"shard {index}/{shard['count']} given twice: {earlier} and {name}")
        by_index[index] = position
    count = int(first["shard"]["count"])
    for index in range(1, count + 1):
        if index not in by_index:
            have = ", ".join(f"{i}/{count}" for i in sorted(by_index))
            raise MergeError(f"shard {index}/{count} missing (given: {have})")
    ordered = [certs[by_index[i]][1] for i in range(1, count + 1)]
    shared = first["shard"]["shared"]
    totals = {
        what: shared[what] + sum(c[what] - shared[what] for c in ordered)
        for what in ("schedules", "distinct_states", "pruned")
    }
    versions: dict[str, Any] = {}
    chosen: dict[str, int] = {}
    for version in first["versions"]:
        best: dict[str, tuple[int, int, dict[str, Any]]] = {}
        for index, cert in enumerate(ordered):
            found = cert["versions"][version]
            if isinstance(found, str):
                continue
            for key, info in found.items():
                if key not in best or int(info["steps"]) < best[key][0]:
                    best[key] = (int(info["steps"]), index, info)
        versions[version] = (
            {key: best[key][2] for key in sorted(best)} if best else "no violation within the bound"
        )
        for _, index, info in best.values():
            chosen[str(info["case"])] = by_index[index + 1]
    merged: dict[str, Any] = {
        "format": "pagefuzz/certificate-v1",
        "bound": first["bound"],
        "complete": all(c["complete"] for c in ordered),
        "interrupted": any(c.get("interrupted") for c in ordered),
        # A complete shard closed every length of its subtrees; the others, up to theirs.
        "depth_closed": min(
            [int(c["depth_closed"]) for c in ordered if not c["complete"]]
            or [max(int(c["depth_closed"]) for c in ordered)]
        ),
        **totals,
        "seconds": round(sum(float(c["seconds"]) for c in ordered), 2),
        "versions": versions,
    }
    if first.get("version_sources"):
        merged["version_sources"] = first["version_sources"]
    merged["merged"] = {
        "shards": count,
        "split_depth": first["shard"]["split_depth"],
        "from": [certs[by_index[i]][0] for i in range(1, count + 1)],
        "note": MERGED_NOTE,
    }
    return merged, chosen
