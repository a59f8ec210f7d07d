"""Versions from outside the package run in processes of their own, watched: a crash, a hang, an
exit or an exception in them is a finding, never the end of pagefuzz (docs/versions.md, "When
your version crashes or hangs").

Each such version gets a fork server (fuzz/versions/forkserver.py: it loads the code once) and, from
it, one runner process at a time that runs the jobs sent to it. `Host` is the watching: it sends
jobs to the runner and waits for each answer at most the wall-clock budget plus a grace; when the
runner dies, or does not answer in time (then it is sent SIGABRT, so that its crash handler records
where it was, and SIGKILL), the server says how it ended and where, the job gets a
`VersionFailure` (check `crash` or `timeout`) in place of its result, and the next job goes to
a fresh runner forked from the server (a fork, not a new interpreter: about a millisecond).
`HostedVersion` is what the registry holds for such a version: `oracle.evaluate` calls its
`run`, which is one `evaluate` job.

Built-in versions stay in pagefuzz's own process: they are trusted not to crash, and the
world's own budget of world calls (sim/failure.py) stops a loop in them deterministically.

The budget is `PAGEFUZZ_TIMEOUT` seconds per run (default 10; every command's `--timeout`
sets it, for its worker processes too).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any, Final

from pagefuzz.fuzz.versions.forkserver import recv_message, send_message
from pagefuzz.fuzz.versions.spec import VersionLoadError, VersionSpec
from pagefuzz.oracle.evaluate import Judged
from pagefuzz.sim.case import Case
from pagefuzz.sim.events import MESSAGES, MessageType
from pagefuzz.sim.failure import CRASH, TIMEOUT, VersionFailure
from pagefuzz.sim.record import FinalState, RequestId, RunRecord

#: The environment variable holding the wall-clock budget of one run, in seconds.
TIMEOUT_ENV: Final = "PAGEFUZZ_TIMEOUT"
#: The budget when nothing sets it: a run takes milliseconds; ten seconds is a loop.
DEFAULT_TIMEOUT_S: Final = 10.0
#: How long past the budget the caller waits before it stops the runner itself (at most; as
#: long as the budget when that is shorter): the runner's own alarm stops a Python loop at the
#: budget, but C code does not return to Python for it.
GRACE_S: Final = 2.0
#: How long a runner sent SIGABRT has to record its stack and die before SIGKILL.
KILL_WAIT_S: Final = 2.0
#: How long the fork server may take to load the version (a C version compiles first).
START_S: Final = 600.0


class HostError(Exception):
    """The fork server itself failed (not the version's code): a harness error, one line."""


def timeout_s() -> float:
    """The wall-clock budget of one run (PAGEFUZZ_TIMEOUT, default DEFAULT_TIMEOUT_S)."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if value > 0 else DEFAULT_TIMEOUT_S


def set_timeout(seconds: float) -> None:
    """Set the budget for this process and every process it starts."""
    os.environ[TIMEOUT_ENV] = f"{seconds:g}"


def describe_signal(signo: int, addr: int | None) -> str:
    """`SIGSEGV (Segmentation fault) at address 0x0: a NULL dereference`."""
    try:
        name = signal.Signals(signo).name
    except ValueError:
        name = f"signal {signo}"
    text = f"{name} ({signal.strsignal(signo) or name})"
    if signo in (signal.SIGSEGV, signal.SIGBUS) and addr is not None:
        text += f" at address {addr:#x}" + (": a NULL dereference" if addr < 4096 else "")
    if signo == signal.SIGKILL:
        text += ": killed, by the code itself or the kernel (out of memory?)"
    if signo == signal.SIGABRT:
        text += ": abort()"
    return text


def failure_of(death: dict[str, Any], number: int, seconds: float) -> VersionFailure:
    """The finding a dead runner leaves: what it died of, where, and what it was running
    (when its progress is of the job that died)."""
    ours = death.get("job") == number and int(death.get("step", -1)) >= 0
    running = str(death.get("actor") or "") if ours else ""
    kind = str(death.get("kind") or "-") if ours else "-"
    step = int(death["step"]) if ours else 0
    where = str(death.get("where") or "")
    if death.get("timed_out"):
        check, how = TIMEOUT, "wall clock"
        detail = f"ran past the wall-clock budget of {seconds:g} s (stopped by pagefuzz)"
    elif "signal" in death:
        check, how = CRASH, "signal"
        detail = f"killed by {describe_signal(int(death['signal']), death.get('addr'))}"
    else:
        check, how = CRASH, "exit"
        detail = f"the process ended from inside the version (exit status {death.get('exit')})"
    actor, request = _running(running, kind)
    return VersionFailure(check, how, detail, where, step, actor, request, kind)


def _running(text: str, kind: str) -> tuple[str | None, RequestId | None]:
    """The actor and request a runner's progress names (`T#2`: T's second request)."""
    if not text:
        return None, None
    actor, _, nth = text.partition("#")
    if kind == "-":
        return actor, None
    return actor, RequestId(actor, int(nth) if nth.isdigit() else 1)


def failed_record(
    case: Case,
    version: str,
    failure: VersionFailure | None,
    messages: tuple[MessageType, ...] = (),
) -> RunRecord:
    """The record of a run whose process died: nothing of it survived but how it ended. (With
    `messages`: the stub of a run judged in its runner, which sent only its verdict, findings
    and its timeline's messages.)"""
    return RunRecord(
        case=case,
        version=version,
        requests=(),
        kernel_bugs=(),
        settle_bound_hits=(),
        skipped_steps=(),
        events=(),
        final=FinalState(pages=(), queued=(), asleep=(), outstanding_io=()),
        failure=failure,
        messages=messages,
    )


def failure_digest(failure: VersionFailure) -> bytes:
    """The explorer's state digest of a run its version's failure ended (nothing can follow)."""
    text = repr(("failed", failure.check, failure.how, failure.kind))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


# ------------------------------------------------------------------------- the fork server


class ForkServer:
    """The process that loaded the version, seen from here: `fork` a runner, `reap` one."""

    def __init__(self, spec: VersionSpec) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.ctl = ours
        try:
            stderr: Any = sys.stderr.fileno()
        except (AttributeError, ValueError, OSError):
            stderr = None
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pagefuzz.fuzz.versions.forkserver",
                str(theirs.fileno()),
                json.dumps(spec.to_json()),
            ],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            start_new_session=True,  # Ctrl-C on a terminal is pagefuzz's, not the version's
        )
        theirs.close()
        ours.settimeout(START_S)
        try:
            message, _ = recv_message(ours)
        except (OSError, EOFError) as exc:
            self.close()
            raise VersionLoadError(f"{spec.given}: cannot be loaded: {exc}") from None
        finally:
            ours.settimeout(None)
        if message is None:
            code = self.process.wait()
            raise VersionLoadError(f"{spec.given}: loading it ended its process ({_ended(code)})")
        if message[0] == "error":
            self.close()
            raise VersionLoadError(str(message[1]))
        self.info: dict[str, Any] = message[1]

    def fork(self, seconds: float) -> tuple[int, Connection]:
        send_message(self.ctl, ("fork", seconds))
        message, fds = recv_message(self.ctl)
        if message is None or message[0] != "forked" or len(fds) != 1:
            raise HostError("the version's fork server stopped answering")
        return int(message[1]), Connection(fds[0])

    def reap(self, pid: int, timed_out: bool) -> dict[str, Any]:
        send_message(self.ctl, ("reap", pid, timed_out))
        message, _ = recv_message(self.ctl)
        if message is None or message[0] != "reaped":
            raise HostError("the version's fork server stopped answering")
        death: dict[str, Any] = message[1]
        return death

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.ctl.close()
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _ended(code: int) -> str:
    return f"killed by {describe_signal(-code, None)}" if code < 0 else f"exit status {code}"


@dataclass
class _Live:
    pid: int
    conn: Connection


#: A job's result when its runner died on it: made from the job and the failure.
OnFailure = Callable[[tuple[Any, ...], VersionFailure], Any]


class Host:
    """One version's fork server and its current runner, watched. `setup` jobs are sent to
    every new runner first (the explorer's bound)."""

    def __init__(self, spec: VersionSpec) -> None:
        self.spec = spec
        self.server: ForkServer | None = None
        self.runner: _Live | None = None
        self.setup: list[tuple[Any, ...]] = []
        self.jobs = 0
        #: Runners replaced after a failure (reported by campaigns and benchmarks).
        self.restarts = 0

    def start(self) -> None:
        if self.server is None:
            self.server = ForkServer(self.spec)

    def _fork(self) -> _Live:
        self.start()
        assert self.server is not None
        seconds = timeout_s()
        pid, conn = self.server.fork(seconds)
        self.runner = _Live(pid, conn)
        if self.setup:
            numbered = [(self._number(), job) for job in self.setup]
            conn.send(numbered)
            for _ in numbered:
                reply = self._reply(self.runner, seconds)
                if not isinstance(reply, tuple) or reply[0] != "ok":
                    raise HostError(f"{self.spec.name}: its runner failed to start")
        return self.runner

    def _number(self) -> int:
        self.jobs += 1
        return self.jobs

    def call(self, jobs: Sequence[tuple[Any, ...]], on_failure: OnFailure) -> list[Any]:
        """Run `jobs` in order; each answer, or `on_failure(job, failure)` for the job its
        runner died on or ran past its budget in (the rest go to a fresh runner)."""
        return self.submit(jobs, on_failure)()

    def submit(
        self, jobs: Sequence[tuple[Any, ...]], on_failure: OnFailure
    ) -> Callable[[], list[Any]]:
        """Send `jobs` to the runner now and return what collects their answers (`call`'s):
        the caller may do other work meanwhile (evaluate runs the built-in versions while a
        hosted one runs). One batch at a time."""
        seconds = timeout_s()
        try:
            runner = self.runner or self._fork()
            numbered = [(self._number(), job) for job in jobs]
            runner.conn.send(numbered)
        except BaseException:
            self._kill()
            raise
        return lambda: self._collect(runner, numbered, on_failure, seconds)

    def _collect(
        self,
        runner: _Live,
        numbered: list[tuple[int, tuple[Any, ...]]],
        on_failure: OnFailure,
        seconds: float,
    ) -> list[Any]:
        results: list[Any] = []
        try:
            while numbered:
                done = 0
                for number, job in numbered:
                    reply = self._reply(runner, seconds)
                    done += 1
                    if isinstance(reply, dict):  # the runner is gone: `reply` is how it ended
                        results.append(on_failure(job, failure_of(reply, number, seconds)))
                        self.runner = None
                        self.restarts += 1
                        break
                    results.append(self._result(reply, job, number, seconds, on_failure))
                numbered = numbered[done:]
                if numbered:  # what the dead runner did not get to, to a fresh one
                    runner = self._fork()
                    numbered = [(self._number(), job) for _, job in numbered]
                    runner.conn.send(numbered)
        except BaseException:
            self._kill()  # Ctrl-C or a harness error mid-job: the runner's state is unknown
            raise
        return results

    def _result(
        self,
        reply: tuple[Any, ...],
        job: tuple[Any, ...],
        number: int,
        seconds: float,
        on_failure: OnFailure,
    ) -> Any:
        if reply[0] == "ok":
            return reply[1]
        if reply[0] == "timeout":  # the alarm went off in the world's code, not the version's
            _tag, detail, step, running, kind = reply
            actor, request = _running(running, kind)
            failure = VersionFailure(
                TIMEOUT, "wall clock", detail, "", max(0, int(step)), actor, request, kind
            )
            return on_failure(job, failure)
        raise HostError(f"{self.spec.name}: harness error in its runner: {reply[1].strip()}")

    def _reply(self, runner: _Live, seconds: float) -> Any:
        """The runner's next answer, or (a dict) how it ended: it died, or it did not answer
        within `seconds` + GRACE_S and was stopped."""
        timed_out = False
        try:
            ready = runner.conn.poll(seconds + min(GRACE_S, seconds))
        except OSError:
            ready = True
        if ready:
            try:
                return runner.conn.recv()
            except (EOFError, OSError):
                pass
        else:
            timed_out = True
            self._signal(runner.pid, signal.SIGABRT)  # its crash handler records where it is
            deadline = time.monotonic() + KILL_WAIT_S
            while time.monotonic() < deadline:
                try:
                    if runner.conn.poll(0.05):
                        with contextlib.suppress(EOFError, OSError):
                            runner.conn.recv()
                        break
                except OSError:
                    break
        self._signal(runner.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            runner.conn.close()
        assert self.server is not None
        return self.server.reap(runner.pid, timed_out)

    @staticmethod
    def _signal(pid: int, signo: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signo)

    def _kill(self) -> None:
        runner, self.runner = self.runner, None
        if runner is None:
            return
        self._signal(runner.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            runner.conn.close()
        if self.server is not None:
            with contextlib.suppress(OSError, HostError):
                self.server.reap(runner.pid, False)

    def close(self) -> None:
        self._kill()
        if self.server is not None:
            self.server.close()
            self.server = None


_HOSTS: list[Host] = []


@atexit.register
def _close_all() -> None:
    for host in _HOSTS:
        host.close()


class HostedVersion:
    """A version from outside the package as this process sees it: its runs happen in its fork
    server's runner (`oracle.evaluate` calls `run`)."""

    def __init__(self, spec: VersionSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.host = Host(spec)
        _HOSTS.append(self.host)

    def start(self) -> None:
        """Load the code (in the fork server): VersionLoadError, one line, if it cannot be."""
        self.host.start()

    @property
    def era(self) -> str:
        """The era of the world the version's code is written for (sim/world.py `Version.era`),
        as its fork server found it on the loaded class: a file's era is known only once its
        code is loaded (a C file's from the function it defines, a Python file's from its
        class)."""
        self.start()
        assert self.host.server is not None
        return str(self.host.server.info.get("era", "2004-01"))

    def run(self, case: Case, events: bool) -> RunRecord | Judged:
        """One run: the whole record with `events` (judged here), else judged in the runner."""
        return self.submit(case, events)()

    def submit(self, case: Case, events: bool) -> Callable[[], RunRecord | Judged]:
        """Start one run in the runner; what returns its result (`run`'s) when called."""
        collect = self.host.submit(
            [("evaluate", case, events)],
            lambda _job, failure: failed_record(case, self.name, failure),
        )
        return lambda: self._result(case, events, collect()[0])

    def _result(self, case: Case, events: bool, out: Any) -> RunRecord | Judged:
        if isinstance(out, RunRecord):  # the runner died on it
            return out if events else Judged.of(out)
        if out[0] == "record":
            record: RunRecord = out[1]
            return replace(record, case=case)
        _tag, verdict, keys, numbers, failure = out
        stub = failed_record(case, self.name, failure, tuple(MESSAGES[n] for n in numbers))
        return Judged(stub, verdict, tuple(keys))
