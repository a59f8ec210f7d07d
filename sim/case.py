"""The case file, format `pagefuzz/case-v1`: parsed and validated at the door.

A case is data: a config and a list of steps. `parse_case` turns decoded JSON into a frozen `Case`
or raises `InvalidCase` naming the field (`steps[3].pos`), never an error from deep inside the
world. Limits keep every run small enough to finish quickly; each names its bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any, Final

from pagefuzz.sim.cint import PAGE_CACHE_SIZE

FORMAT: Final = "pagefuzz/case-v1"

#: Bounds on what a case may ask for. They keep one run well under a second and the radix tree
#: small; they are far above anything the bugs need (the seed's bugs show with 1-3 pages).
FILE_PAGES_MAX: Final = 256
WAIT_QUEUES_MAX: Final = 4096
PAGE_INDEX_MAX: Final = (1 << 20) - 1
POS_MAX: Final = (1 << 32) - 1
COUNT_MAX: Final = 256 * PAGE_CACHE_SIZE
SIZE_MAX: Final = 1 << 32
SETTLE_BOUND_MAX: Final = 1_000_000
STEPS_MAX: Final = 10_000
#: Pages the write steps of one case may cover in all (1 GiB of data). Each page a request
#: writes costs a run some state that lives to the end (the page, its generation, the request's
#: view of it at completion): about 800 bytes, so a run stays under about 250 MB however the
#: steps are chosen. Without it 10,000 writes of 256 pages each took a run to 1.8 GB.
WRITTEN_PAGES_MAX: Final = 1 << 18

LOOKUP_RULES: Final = ("last+1", "cursor")
#: The kernel eras the world models (docs/model.md, "Eras"): the seed's (January 2004,
#: operate_on_page_range) and the July 2004 -mm rework (tagged write-out and wait walks).
ERAS: Final = ("2004-01", "2004-07")
I_SEM_RULES: Final = ("full", "copy-only", "off")
NULL_IO_WAIT_RULES: Final = ("sync", "bug")
#: The config fields that belong to one era only (the rest mean the same in both): a field of
#: another era is refused, naming the era, rather than silently ignored.
ERA_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "2004-01": ("lookup_next", "filtered_wakeups"),
    "2004-07": ("i_sem", "io_error_sets_as_eio", "y2005_null_io_wait"),
}
POINTS: Final = ("lookup", "page")
RESERVED_ACTORS: Final = ("disk", "vm")

#: The vocabulary of a case's `expect` block, defined here once because the case format names it
#: and sim imports nothing above it: the oracle's checks, by their stable names and in the order
#: verdicts list them (oracle/checks.py has one check function per name), and the differential
#: classes of a pair of versions (oracle/verdict.py decides them). Version names are checked
#: here for their form only; whether a version exists is the registry's business (impls/), and
#: the shell asks it for every case it loads.
CHECKS: Final = (
    "completion",
    "byte_count",
    "retry_bound",
    "hang",
    "error",
    "kernel_bug",
    "crash",
    "timeout",
)
CLASSES: Final = ("same", "fixed", "regressed", "both", "benign")

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class InvalidCase(ValueError):
    """A case that breaks the format; `field` names where (`steps[2].count`), `message` why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Config:
    file_pages: int = 4
    wait_queues: int = 4
    queue_of: tuple[tuple[int, int], ...] = ()
    lookup_next: str = "last+1"
    filtered_wakeups: bool = False
    auto_settle: bool = True
    settle_bound: int = 10_000
    #: The kernel era (ERAS); the fields below are the July 2004 era's switches, each a CHOICE
    #: of kernel-model-2004-07.md with its default (JR1, J25, JR4, J34).
    era: str = "2004-01"
    i_sem: str = "full"
    io_error_sets_as_eio: bool = True
    y2005_null_io_wait: str = "sync"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its fields in order (a case crosses to a version's own process for every
        # run, fuzz/versions/isolation.py): a third faster to load than the generic dataclass state.
        return (Config, tuple(getattr(self, f) for f in _CONFIG_FIELDS))

    def to_json(self) -> dict[str, Any]:
        """Every field of the case's era (the seed's era writes no `era`, so every case of it
        reads as it always did)."""
        out: dict[str, Any] = {} if self.era == "2004-01" else {"era": self.era}
        out["file_pages"] = self.file_pages
        out["wait_queues"] = self.wait_queues
        out["queue_of"] = {str(index): queue for index, queue in self.queue_of}
        if self.era == "2004-01":
            out["lookup_next"] = self.lookup_next
            out["filtered_wakeups"] = self.filtered_wakeups
        else:
            out["i_sem"] = self.i_sem
            out["io_error_sets_as_eio"] = self.io_error_sets_as_eio
            out["y2005_null_io_wait"] = self.y2005_null_io_wait
        out["auto_settle"] = self.auto_settle
        out["settle_bound"] = self.settle_bound
        return out

    def switches(self) -> dict[str, object]:
        """The era and its CHOICE switches, as every report names them."""
        return {"era": self.era, **{name: getattr(self, name) for name in ERA_FIELDS[self.era]}}


@dataclass(frozen=True)
class Step:
    """One event of the schedule. Fields a given op does not use stay None."""

    op: str
    task: str | None = None
    iocb: str | None = None
    pos: int | None = None
    count: int | None = None
    page: int | None = None
    size: int | None = None
    error: bool = False
    until: str | None = None

    @property
    def actor(self) -> str | None:
        return self.iocb if self.iocb is not None else self.task

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            Step,
            (
                self.op,
                self.task,
                self.iocb,
                self.pos,
                self.count,
                self.page,
                self.size,
                self.error,
                self.until,
            ),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op}
        for name in ("task", "iocb", "pos", "count", "page", "size", "until"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.error:
            out["error"] = True
        return out


@dataclass(frozen=True)
class VersionRecord:
    """A version a case was found with, as the artifact remembers it (docs/case-format.md,
    "versions"): its name; for a file, the path as typed (`given`), the file resolved and its
    SHA-256; for an installed plugin, `plugin`. The shell turns it back into a version."""

    name: str
    given: str | None = None
    file: str | None = None
    sha256: str | None = None
    plugin: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.plugin:
            out["plugin"] = True
        for key in ("given", "file", "sha256"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class Case:
    name: str
    config: Config
    steps: tuple[Step, ...]
    notes: str = ""
    expect: dict[str, Any] | None = field(default=None, compare=False)
    #: The versions the case was found with (what replay, minimize and triage run by default).
    versions: tuple[VersionRecord, ...] = field(default=(), compare=False)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            Case,
            (self.name, self.config, self.steps, self.notes, self.expect, self.versions),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT, "name": self.name}
        if self.notes:
            out["notes"] = self.notes
        out["config"] = self.config.to_json()
        out["steps"] = [step.to_json() for step in self.steps]
        if self.versions:
            out["versions"] = [v.to_json() for v in self.versions]
        if self.expect is not None:
            out["expect"] = self.expect
        return out


#: Config's fields in order (what it pickles as).
_CONFIG_FIELDS: Final = tuple(f.name for f in fields(Config))

# Which fields each op takes: (required, optional).
_OP_FIELDS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "aio_write": (("iocb", "pos", "count"), ()),
    "sync_write": (("task", "pos", "count"), ()),
    "write": (("task", "pos", "count"), ()),
    "flush": (("page",), ()),
    "complete_io": (("page",), ("error",)),
    "truncate": (("task", "size"), ()),
    "reclaim": (("page",), ()),
    "lock_page": (("task", "page"), ()),
    "unlock_page": (("task", "page"), ()),
    "run": ((), ("task", "iocb", "until")),
    "settle": ((), ()),
}
OPS: Final = tuple(_OP_FIELDS)


def _int(value: object, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCase(where, f"must be an integer, got {_show(value)}")
    if not low <= value <= high:
        raise InvalidCase(where, f"must be between {low} and {high}, got {value}")
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidCase(where, f"must be true or false, got {_show(value)}")
    return value


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidCase(
            where, f"must be a name of 1-32 letters, digits, '_', '.', '-', got {_show(value)}"
        )
    if value in RESERVED_ACTORS:
        raise InvalidCase(where, f"{value!r} is reserved for the world's own actors")
    return value


def _show(value: object) -> str:
    text = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _parse_config(raw: object) -> Config:
    if raw is None:
        return Config()
    if not isinstance(raw, dict):
        raise InvalidCase("config", f"must be an object, got {_show(raw)}")
    known = {
        "file_pages",
        "wait_queues",
        "queue_of",
        "lookup_next",
        "filtered_wakeups",
        "auto_settle",
        "settle_bound",
        "era",
        *ERA_FIELDS["2004-07"],
    }
    for key in sorted(raw):
        if key not in known:
            raise InvalidCase(f"config.{key}", "unknown field")
    era = raw.get("era", "2004-01")
    if era not in ERAS:
        raise InvalidCase("config.era", f"must be one of {', '.join(ERAS)}, got {_show(era)}")
    for other, names in ERA_FIELDS.items():
        for key in names:
            if other != era and key in raw:
                raise InvalidCase(
                    f"config.{key}", f"a setting of era {other}, meaningless in era {era}"
                )
    defaults = Config()
    file_pages = _int(
        raw.get("file_pages", defaults.file_pages), "config.file_pages", 0, FILE_PAGES_MAX
    )
    wait_queues = _int(
        raw.get("wait_queues", defaults.wait_queues), "config.wait_queues", 1, WAIT_QUEUES_MAX
    )
    queue_of_raw = raw.get("queue_of", {})
    if not isinstance(queue_of_raw, dict):
        raise InvalidCase("config.queue_of", f"must be an object, got {_show(queue_of_raw)}")
    pins: dict[int, int] = {}
    for key, queue in queue_of_raw.items():
        where = f"config.queue_of.{key}"
        if not isinstance(key, str) or not key.isdigit() or (len(key) > 1 and key[0] == "0"):
            raise InvalidCase(where, "key must be a page index written in decimal")
        index = _int(int(key), where, 0, PAGE_INDEX_MAX)
        pins[index] = _int(queue, where, 0, wait_queues - 1)
    lookup_next = raw.get("lookup_next", defaults.lookup_next)
    if lookup_next not in LOOKUP_RULES:
        raise InvalidCase(
            "config.lookup_next",
            f"must be one of {', '.join(LOOKUP_RULES)}, got {_show(lookup_next)}",
        )
    i_sem = raw.get("i_sem", defaults.i_sem)
    if i_sem not in I_SEM_RULES:
        raise InvalidCase(
            "config.i_sem", f"must be one of {', '.join(I_SEM_RULES)}, got {_show(i_sem)}"
        )
    null_io_wait = raw.get("y2005_null_io_wait", defaults.y2005_null_io_wait)
    if null_io_wait not in NULL_IO_WAIT_RULES:
        raise InvalidCase(
            "config.y2005_null_io_wait",
            f"must be one of {', '.join(NULL_IO_WAIT_RULES)}, got {_show(null_io_wait)}",
        )
    return Config(
        era=era,
        i_sem=i_sem,
        io_error_sets_as_eio=_bool(
            raw.get("io_error_sets_as_eio", defaults.io_error_sets_as_eio),
            "config.io_error_sets_as_eio",
        ),
        y2005_null_io_wait=null_io_wait,
        file_pages=file_pages,
        wait_queues=wait_queues,
        queue_of=tuple(sorted(pins.items())),
        lookup_next=lookup_next,
        filtered_wakeups=_bool(
            raw.get("filtered_wakeups", defaults.filtered_wakeups), "config.filtered_wakeups"
        ),
        auto_settle=_bool(raw.get("auto_settle", defaults.auto_settle), "config.auto_settle"),
        settle_bound=_int(
            raw.get("settle_bound", defaults.settle_bound),
            "config.settle_bound",
            1,
            SETTLE_BOUND_MAX,
        ),
    )


def _parse_step(raw: object, where: str) -> Step:
    if not isinstance(raw, dict):
        raise InvalidCase(where, f"must be an object, got {_show(raw)}")
    op = raw.get("op")
    if op is None:
        raise InvalidCase(f"{where}.op", "missing")
    if not isinstance(op, str) or op not in _OP_FIELDS:
        raise InvalidCase(f"{where}.op", f"unknown op {_show(op)}; ops are {', '.join(OPS)}")
    required, optional = _OP_FIELDS[op]
    for key in sorted(raw):
        if key != "op" and key not in required and key not in optional:
            raise InvalidCase(f"{where}.{key}", f"not a field of {op}")
    for key in required:
        if key not in raw:
            raise InvalidCase(f"{where}.{key}", f"missing (required by {op})")
    values: dict[str, Any] = {}
    for key in required + optional:
        if key not in raw:
            continue
        value = raw[key]
        at = f"{where}.{key}"
        if key in ("task", "iocb"):
            values[key] = _name(value, at)
        elif key == "pos":
            values[key] = _int(value, at, 0, POS_MAX)
        elif key == "count":
            values[key] = _int(value, at, 0, COUNT_MAX)
        elif key == "page":
            values[key] = _int(value, at, 0, PAGE_INDEX_MAX)
        elif key == "size":
            values[key] = _int(value, at, 0, SIZE_MAX)
        elif key == "error":
            values[key] = _bool(value, at)
        elif key == "until":
            if value not in POINTS:
                raise InvalidCase(at, f"must be one of {', '.join(POINTS)}, got {_show(value)}")
            values[key] = value
    if op == "run" and ("task" in values) == ("iocb" in values):
        raise InvalidCase(f"{where}.task", "run names exactly one of task or iocb")
    return Step(op=op, **values)


def parse_case(raw: object, default_name: str = "case") -> Case:
    """Validate decoded JSON and build a `Case`; raises `InvalidCase` naming the bad field."""
    if not isinstance(raw, dict):
        raise InvalidCase("", f"a case must be a JSON object, got {_show(raw)}")
    if "format" not in raw:
        raise InvalidCase("format", f'missing; a case starts with "format": "{FORMAT}"')
    if raw["format"] != FORMAT:
        raise InvalidCase("format", f"must be {FORMAT!r}, got {_show(raw['format'])}")
    for key in sorted(raw):
        if key not in ("format", "name", "notes", "config", "steps", "versions", "expect"):
            raise InvalidCase(key, "unknown field")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name or len(name) > 200:
        raise InvalidCase("name", f"must be a non-empty string, got {_show(name)}")
    notes = raw.get("notes", "")
    if not isinstance(notes, str):
        raise InvalidCase("notes", f"must be a string, got {_show(notes)}")
    config = _parse_config(raw.get("config"))
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list):
        raise InvalidCase("steps", f"must be a list, got {_show(steps_raw)}")
    if len(steps_raw) > STEPS_MAX:
        raise InvalidCase("steps", f"at most {STEPS_MAX} steps, got {len(steps_raw)}")
    steps = tuple(_parse_step(s, f"steps[{i}]") for i, s in enumerate(steps_raw))
    _check_names(steps)
    _check_written_pages(steps)
    expect = raw.get("expect")
    if expect is not None:
        _check_expect(expect)
    versions = parse_versions(raw.get("versions", []))
    return Case(
        name=name, config=config, steps=steps, notes=notes, expect=expect, versions=versions
    )


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def parse_versions(raw: object) -> tuple[VersionRecord, ...]:
    """`[{"name": ..., "given": ..., "file": ..., "sha256": ...}, ...]` (docs/case-format.md)."""
    if not isinstance(raw, list):
        raise InvalidCase("versions", f"must be a list of versions, got {_show(raw)}")
    out = []
    for i, entry in enumerate(raw):
        where = f"versions[{i}]"
        if not isinstance(entry, dict):
            raise InvalidCase(where, f"must be an object, got {_show(entry)}")
        for key in sorted(entry):
            if key not in ("name", "given", "file", "sha256", "plugin"):
                raise InvalidCase(f"{where}.{key}", "unknown field")
        name = entry.get("name")
        if not isinstance(name, str) or not is_version_name(name):
            raise InvalidCase(f"{where}.name", f"not a version name: {_show(name)}")
        text: dict[str, str | None] = {}
        for key in ("given", "file", "sha256"):
            value = entry.get(key)
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidCase(f"{where}.{key}", f"must be a string, got {_show(value)}")
            text[key] = value
        sha = text["sha256"]
        if sha is not None and not _SHA256.match(sha):
            raise InvalidCase(f"{where}.sha256", "must be 64 lowercase hex digits")
        if name.startswith(("py:", "c:")) and text["file"] is None:
            raise InvalidCase(f"{where}.file", f"missing (required for {name})")
        out.append(
            VersionRecord(
                name=name,
                given=text["given"],
                file=text["file"],
                sha256=sha,
                plugin=_bool(entry.get("plugin", False), f"{where}.plugin"),
            )
        )
    return tuple(out)


def _check_expect(expect: object) -> None:
    """`{"checks": {version: [check...]}, "differential": {"a/b": class}}`: known fields, known
    checks and classes, version names of the right form (docs/case-format.md, "expect")."""
    if not isinstance(expect, dict):
        raise InvalidCase("expect", f"must be an object, got {_show(expect)}")
    for key in sorted(expect):
        if key not in ("checks", "differential"):
            raise InvalidCase(f"expect.{key}", "unknown field (use checks, differential)")
    checks = expect.get("checks", {})
    if not isinstance(checks, dict):
        raise InvalidCase("expect.checks", "must be an object of version -> checks")
    for version, names in checks.items():
        where = f"expect.checks.{version}"
        if not is_version_name(version):
            raise InvalidCase(
                where,
                "not a version name (1-32 letters, digits, '_', '.', '-'; or py:FILE, c:FILE)",
            )
        if not isinstance(names, list):
            raise InvalidCase(where, "must be a list of checks")
        for i, name in enumerate(names):
            if name not in CHECKS:
                raise InvalidCase(
                    f"{where}[{i}]", f"unknown check {_show(name)}; checks are {', '.join(CHECKS)}"
                )
    diffs = expect.get("differential", {})
    if not isinstance(diffs, dict):
        raise InvalidCase("expect.differential", 'must be an object of "a/b" -> class')
    for pair, cls in diffs.items():
        where = f"expect.differential.{pair}"
        if split_pair(pair) is None:
            raise InvalidCase(where, 'must name two versions as "a/b"')
        if cls not in CLASSES:
            raise InvalidCase(
                where, f"unknown class {_show(cls)}; classes are {', '.join(CLASSES)}"
            )


#: A version from outside the package is named by its file: `py:fix.py[:Class]`, `c:fix.c`.
_EXTERNAL = re.compile(r"^(py|c):\S+$")


def is_version_name(name: str) -> bool:
    """A registered version's name, or a `py:`/`c:` file (whose path may hold "/")."""
    return bool(_NAME.match(name) or _EXTERNAL.match(name))


def split_pair(pair: str) -> tuple[str, str] | None:
    """`a/b` as (a, b): the leftmost "/" with a version name on each side, since a `py:` or `c:`
    name may hold "/" itself; None when there is no such split."""
    for at in (i for i, c in enumerate(pair) if c == "/"):
        left, right = pair[:at], pair[at + 1 :]
        if is_version_name(left) and is_version_name(right):
            return left, right
    return None


def _check_written_pages(steps: tuple[Step, ...]) -> None:
    written = 0
    for i, step in enumerate(steps):
        if step.op in ("aio_write", "sync_write", "write") and step.count:
            assert step.pos is not None
            first, last = step.pos >> 12, (step.pos + step.count - 1) >> 12
            written += last - first + 1
            if written > WRITTEN_PAGES_MAX:
                raise InvalidCase(
                    f"steps[{i}].count",
                    f"the write steps of a case cover at most {WRITTEN_PAGES_MAX} pages in all "
                    f"(WRITTEN_PAGES_MAX, 1 GiB), and this one takes them to {written}",
                )


def _check_names(steps: tuple[Step, ...]) -> None:
    """Task names and iocb names are disjoint, and each iocb is submitted once."""
    tasks: set[str] = set()
    iocbs: set[str] = set()
    for i, step in enumerate(steps):
        if step.op == "aio_write":
            assert step.iocb is not None
            if step.iocb in iocbs:
                raise InvalidCase(f"steps[{i}].iocb", f"iocb {step.iocb!r} is already submitted")
            iocbs.add(step.iocb)
        elif step.task is not None and step.op != "run":
            tasks.add(step.task)
    for i, step in enumerate(steps):
        if step.task is not None and step.task in iocbs:
            raise InvalidCase(f"steps[{i}].task", f"{step.task!r} is an iocb's name")
        if step.op == "run" and step.iocb is not None and step.iocb in tasks:
            raise InvalidCase(f"steps[{i}].iocb", f"{step.iocb!r} is a task's name")
