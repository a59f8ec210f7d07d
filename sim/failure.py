"""When a version's own code does not come back to the world: it raised, it died, or it ran past
its budget. Such a run ends where it stopped, with a `VersionFailure` in its record, and the
oracle's `crash` and `timeout` checks report it as a finding like any other (docs/oracle.md).

Two budgets bound a version's code, so that a loop in it is a finding, never a hung pagefuzz:
- world calls without progress: one dispatch of an actor (from its resumption until it sleeps,
  ends or pauses) may log at most `WORLD_CALLS_MAX` events and pass at most `WORLD_CALLS_MAX`
  named points; a C version's kernel calls count too (impls/cversion.py). Deterministic: the
  same case runs out at the same event in any process. The most a dispatch of a correct version
  makes is a few thousand (a 256-page range takes each page through copy, write-out and wait).
- wall-clock time per run, for a loop that calls nothing: enforced from outside the world, by
  the process that hosts a version from outside the package (pagefuzz/fuzz/isolation.py), which
  raises `VersionTimeout` into Python code and stops C code by a signal.

Only the world-call budget applies to the built-in versions, which are trusted not to raise: an
exception from one is a harness error and is raised as such. A version from outside the package
runs with `catch_version_errors`, and anything it raises becomes a `crash`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from pagefuzz.sim.ids import RequestId

#: Events one dispatch may log, and named points it may pass, before the version is stopped:
#: far above what any correct run makes (see the module docstring), and reached in about a
#: second by a loop that calls the world.
WORLD_CALLS_MAX: Final = 100_000
#: What a log's limit is outside dispatches (world code of its own, the drain's bookkeeping).
NO_LIMIT: Final = 1 << 62

#: The attribute by which an exception raised out of C code carries where in the C it was
#: raised (impls/cversion.py sets it: the user's file, line and function of the kernel call).
WHERE_ATTR: Final = "pagefuzz_where"

#: The checks a `VersionFailure` reports under (sim.case.CHECKS names them).
CRASH: Final = "crash"
TIMEOUT: Final = "timeout"


class VersionTimeout(BaseException):
    """Raised into a version's code when a budget is spent. A BaseException, so that a version's
    own `except Exception` does not swallow it; `how` is "world calls" or "wall clock"."""

    def __init__(self, how: str, detail: str) -> None:
        super().__init__(detail)
        self.how = how
        self.detail = detail


class VersionMisuse(Exception):
    """A version broke the world's interface itself (yielded something that is not a sleep or a
    named point): the version's fault, reported as a crash."""


@dataclass(frozen=True)
class VersionFailure:
    """How a run of a version ended early: `check` is `crash` or `timeout`; `how` says which
    (an exception, a signal, the process ending, world calls, wall clock); `detail` is one line
    (`ZeroDivisionError: division by zero`, `SIGSEGV: NULL dereference`); `where` the innermost
    frame in the version's own file (`fix.py:12 in page_waiter`, `fix.c:23 in page_waiter`),
    or "" when none is known; `step`, `actor`, `request` and `kind` say what was running."""

    check: str
    how: str
    detail: str
    where: str
    step: int
    actor: str | None = None
    request: RequestId | None = None
    kind: str = "-"

    def explanation(self) -> str:
        """The violation's text: what happened, where in the version, and what was running."""
        what = {
            CRASH: "the version's code died",
            TIMEOUT: "the version's code ran past its budget",
        }.get(self.check, self.check)
        where = f" at {self.where}" if self.where else ""
        running = ""
        if self.actor is not None:
            running = f", running {self.actor}" + (f" ({self.kind})" if self.kind != "-" else "")
        return f"{what} ({self.how}): {self.detail}{where}{running}"

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "how": self.how,
            "detail": self.detail,
            "where": self.where,
            "step": self.step,
            "actor": self.actor,
            "request": None if self.request is None else str(self.request),
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> VersionFailure:
        request = raw.get("request")
        return cls(
            check=str(raw["check"]),
            how=str(raw["how"]),
            detail=str(raw["detail"]),
            where=str(raw.get("where", "")),
            step=int(raw["step"]),
            actor=None if raw.get("actor") is None else str(raw["actor"]),
            request=None if request is None else RequestId.parse(str(request)),
            kind=str(raw.get("kind", "-")),
        )


def one_line(exc: BaseException) -> str:
    """`Type: message`, on one line and at most 200 characters."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= 200 else line[:197] + "..."


def where_raised(exc: BaseException, source: str | None) -> str:
    """Where in the version's own code `exc` came from: what C code attached to it, else the
    innermost traceback frame in the file `source`."""
    attached = getattr(exc, WHERE_ATTR, None)
    if isinstance(attached, str) and attached:
        return attached
    return innermost_frame(exc.__traceback__, source)


def innermost_frame(tb: TracebackType | None, source: str | None) -> str:
    """The innermost traceback frame in the file `source` (a version's own file), as
    `file.py:LINE in function` with the file's base name (the same on every machine); "" if
    the traceback never passed through it."""
    if source is None:
        return ""
    found = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == source:
            base = source.replace("\\", "/").rsplit("/", 1)[-1]
            found = f"{base}:{tb.tb_lineno} in {code.co_name}"
        tb = tb.tb_next
    return found
