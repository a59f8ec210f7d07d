"""The fork server of one version from outside the package: the only processes that ever run
its code (`python -m pagefuzz.fuzz.versions.forkserver FD SPEC`, started by
fuzz/versions/isolation.py).

Two processes, as AFL++'s fork server has them:

- **The server** loads the version once (imports the user's Python file, loads the compiled C,
  or imports the plugin), reports `ready` (or the one line of why it cannot) on its control
  socket, then waits. On `fork` it forks a runner and hands the caller the runner's end of a
  fresh socket pair (SCM_RIGHTS). On `reap PID` it waits for that runner and says how it ended:
  its exit status or signal, what it was running (the progress it left in memory shared with the
  server), and where in the version's code it was: the C crash handler's return addresses
  resolved to the user's file and line (addr2line), or Python's faulthandler's frames.
- **A runner** runs jobs (`evaluate` a case, the explorer's `explore`/`reach`/`drain`) and
  answers each on its socket, until its caller closes it. Anything the version's code raises is a
  finding the world records (`catch_version_errors`); a loop in Python code is stopped by the
  wall-clock alarm (SIGALRM raises `VersionTimeout` in it); one in C, or a crash, ends the
  runner, and the caller, who watches, asks the server how. Its memory is limited
  (RLIMIT_AS), it dumps no core, it ignores Ctrl-C (the caller handles that) and what the version
  prints goes to stderr, never into pagefuzz's output.
"""

from __future__ import annotations

import faulthandler
import importlib
import json
import mmap
import os
import pickle
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import traceback
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from pagefuzz.fuzz.versions.spec import VersionLoadError, VersionSpec, load_in_process
from pagefuzz.oracle.evaluate import Judged
from pagefuzz.sim.actors import Actor
from pagefuzz.sim.case import Case
from pagefuzz.sim.eventlog import MessageLog
from pagefuzz.sim.events import MESSAGES
from pagefuzz.sim.failure import VersionTimeout
from pagefuzz.sim.world import Version, World

#: Size of the memory a runner shares with its server: its progress, then the C crash record.
SHARED_BYTES: Final = 4096
#: Progress: the job's number, the step, the request running (`T#2`; the actor's name when it
#: has none) and its kind (`pack_into`).
PROGRESS: Final = struct.Struct("<qq32s16s")
CRASH_AT: Final = 256
#: struct pf_crash of impls/cversion.py's wrapper: magic, signo, addr, line, func[64], depth.
CRASH_HEAD: Final = struct.Struct("<QqQq64sq")
CRASH_MAGIC: Final = 0x70666372617368
FRAMES_MAX: Final = 64
#: A message's number in MESSAGES: a run judged in its runner sends its timeline's messages back
#: as one byte each (a campaign's coverage reads them).
MESSAGE_NUMBER: Final = {m: i for i, m in enumerate(MESSAGES)}
assert len(MESSAGES) < 256
#: Extra address space a runner may take beyond what it has when it starts (RLIMIT_AS).
MEMORY_LIMIT_MB: Final = 2048


def send_message(sock: socket.socket, message: object, fds: tuple[int, ...] = ()) -> None:
    """One pickled message on a SOCK_SEQPACKET socket (boundaries kept), with file
    descriptors."""
    socket.send_fds(sock, [pickle.dumps(message)], list(fds))


def recv_message(sock: socket.socket) -> tuple[Any, list[int]]:
    """One message and its file descriptors; (None, []) at EOF."""
    data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 4)
    if not data:
        return None, fds
    return pickle.loads(data), fds


# ---------------------------------------------------------------------------- the server


@dataclass
class _Runner:
    """What the server keeps of a runner it forked: its shared memory and faulthandler file."""

    shared: mmap.mmap
    fault_fd: int


class Server:
    def __init__(self, ctl: socket.socket, spec: VersionSpec) -> None:
        self.ctl = ctl
        self.spec = spec
        self.cls = load_in_process(spec)
        self.runners: dict[int, _Runner] = {}

    def ready(self) -> dict[str, Any]:
        # The era goes back with `ready`: only the loaded code says which world it is written
        # for (a C file's is decided by the function it defines, impls/cversion.py), and the
        # shell picks each case's versions by era (pagefuzz/_versions.py).
        return {
            "name": self.cls.name,
            "source_file": self.cls.source_file,
            "pid": os.getpid(),
            "era": self.cls.era,
        }

    def serve(self) -> None:
        while True:
            try:
                message, fds = recv_message(self.ctl)
            except OSError:
                return
            for fd in fds:
                os.close(fd)
            if message is None:
                return
            if message[0] == "fork":
                self.fork(float(message[1]))
            elif message[0] == "reap":
                send_message(self.ctl, ("reaped", self.reap(int(message[1]), bool(message[2]))))

    def fork(self, seconds: float) -> None:
        ours, theirs = socket.socketpair()
        shared = mmap.mmap(-1, SHARED_BYTES)
        fault_fd = os.memfd_create("pagefuzz-faulthandler")
        pid = os.fork()
        if pid == 0:  # the runner
            try:
                self.ctl.close()
                ours.close()
                die_with_parent()
                code = run_runner(theirs, shared, fault_fd, self.cls, seconds)
            except BaseException:
                traceback.print_exc()
                code = 70
            os._exit(code)
        theirs.close()
        send_message(self.ctl, ("forked", pid), (ours.fileno(),))  # the caller's end
        ours.close()
        self.runners[pid] = _Runner(shared, fault_fd)

    def reap(self, pid: int, timed_out: bool) -> dict[str, Any]:
        """How runner `pid` ended (it is dead, or killed by the caller: waited for here)."""
        _, status = os.waitpid(pid, 0)
        runner = self.runners.pop(pid, None)
        out: dict[str, Any] = {"timed_out": timed_out}
        if os.WIFSIGNALED(status):
            out["signal"] = os.WTERMSIG(status)
        else:
            out["exit"] = os.WEXITSTATUS(status)
        if runner is None:
            return out
        job, step, actor, kind = PROGRESS.unpack_from(runner.shared, 0)
        out.update(job=job, step=step, actor=_text(actor), kind=_text(kind) or "-")
        out["where"] = self._where(runner)
        crash = _crash_record(runner.shared)
        if crash is not None and crash["signo"]:
            out["addr"] = crash["addr"]
        runner.shared.close()
        os.close(runner.fault_fd)
        return out

    def _where(self, runner: _Runner) -> str:
        """The innermost frame in the version's own file: from the C crash record, else from
        faulthandler's Python frames; "" if neither shows one."""
        crash = _crash_record(runner.shared)
        if crash is not None:
            built = getattr(self.cls, "built", None)
            shown = str(getattr(self.cls, "shown", ""))
            where = c_frame(crash, None if built is None else built.path, shown)
            if where:
                return where
            line, func = crash["line"], crash["func"]
            if line:
                return f"{shown}:{line} in {func} (its last kernel call)" if func else ""
        try:
            text = os.pread(runner.fault_fd, 1 << 16, 0).decode("utf-8", "replace")
        except OSError:
            text = ""
        return python_frame(text, self.cls.source_file)


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("utf-8", "replace")


def _crash_record(shared: mmap.mmap) -> dict[str, Any] | None:
    magic, signo, addr, line, func, depth = CRASH_HEAD.unpack_from(shared, CRASH_AT)
    if magic != CRASH_MAGIC:
        return None
    start = CRASH_AT + CRASH_HEAD.size
    depth = max(0, min(depth, FRAMES_MAX))
    frames = struct.unpack_from(f"<{depth}Q", shared, start) if depth else ()
    return {"signo": signo, "addr": addr, "line": line, "func": _text(func), "frames": frames}


def c_frame(crash: dict[str, Any], library: str | None, shown: str) -> str:
    """The innermost frame of the crash record in the user's C file, as `fix.c:LINE in
    function`: the return addresses that fall in the compiled module, resolved by addr2line
    (binutils, which every C compiler comes with); "" if none resolves to the user's file."""
    if library is None or not shown:
        return ""
    mapped = _load_range(library)
    addr2line = shutil.which("addr2line")
    if mapped is None or addr2line is None:
        return ""
    base, end = mapped
    offsets = []
    previous_inside = True
    for pc in crash["frames"]:
        inside = base <= pc < end
        if inside:
            # A return address points after its call: look at the call itself. The frame right
            # after the signal trampoline is the faulting instruction, exactly.
            offsets.append(pc - base - (1 if previous_inside else 0))
        previous_inside = inside
    if not offsets:
        return ""
    try:
        result = subprocess.run(
            [addr2line, "-f", "-i", "-e", library, *(f"{o:#x}" for o in offsets)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    lines = result.stdout.splitlines()
    for function, location in zip(lines[0::2], lines[1::2], strict=False):
        path, _, line = location.partition(":")
        line = line.split(" ")[0]
        if path.replace("\\", "/").rsplit("/", 1)[-1] == shown and line.isdigit() and line != "0":
            return f"{shown}:{line} in {function}"
    return ""


def _load_range(library: str) -> tuple[int, int] | None:
    """Where the compiled module is mapped in this process (and so in every runner forked
    from it): the start of its mapping at file offset 0, and the end of its last mapping. Found
    by inode: a fresh build is loaded before it is renamed into the cache."""
    try:
        inode = os.stat(library).st_ino
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    start = end = None
    for line in maps.splitlines():
        parts = line.split()
        if len(parts) < 6 or not parts[4].isdigit() or int(parts[4]) != inode:
            continue
        low, high = (int(x, 16) for x in parts[0].split("-"))
        if int(parts[2], 16) == 0:
            start = low if start is None else min(start, low)
        end = high if end is None else max(end, high)
    return None if start is None or end is None else (start, end)


_FAULT_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<function>\S+)')


def python_frame(text: str, source: str | None) -> str:
    """The innermost frame in the version's file of a faulthandler dump (most recent first)."""
    if not source:
        return ""
    for found in _FAULT_FRAME.finditer(text):
        if found["file"] == source:
            base = source.rsplit("/", 1)[-1]
            return f"{base}:{found['line']} in {found['function']}"
    return ""


# ---------------------------------------------------------------------------- a runner


class _Budget:
    """The wall-clock budget of one job: SIGALRM raises VersionTimeout where the code stands."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        signal.signal(signal.SIGALRM, self._expired)

    def _expired(self, signum: int, frame: object) -> None:
        raise VersionTimeout("wall clock", f"ran past the wall-clock budget of {self.seconds:g} s")

    def arm(self) -> None:
        if self.seconds > 0:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    @staticmethod
    def disarm() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _limit_memory() -> None:
    """No core dumps; at most MEMORY_LIMIT_MB more address space than the runner has now."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + MEMORY_LIMIT_MB * 1024 * 1024
    if hard == resource.RLIM_INFINITY or limit < hard:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


class RunnerState:
    """What one runner keeps between jobs: the version, and what callers' jobs keep."""

    def __init__(self, cls: type[Version], shared: mmap.mmap) -> None:
        self.cls = cls
        self.version = cls()
        self.shared = shared
        self.job = 0
        #: What a caller's jobs keep between them (the explorer keeps its Runner here).
        self.kept: dict[str, Any] = {}

    def watch(self, world: World) -> None:
        """Leave what is running in shared memory at every dispatch: the server reads it if the
        runner dies."""
        shared, job, pack = self.shared, self.job, PROGRESS.pack_into
        named: dict[int, tuple[bytes, bytes]] = {}  # by request (a task makes several)

        def observer(actor: Actor) -> None:
            request = getattr(actor, "request", None)
            text = named.get(id(request))
            if text is None:
                if request is None:
                    text = (actor.name.encode()[:32], b"-")
                else:  # `T#2`: the request's own name, and its kind
                    text = (str(request.id).encode()[:32], request.kind.encode())
                named[id(request)] = text
            pack(shared, 0, job, world.step_index, *text)

        world.observer = observer

    def handle(self, job: tuple[Any, ...]) -> Any:
        """One job: `("evaluate", case, full)`, `("noop",)`, or `("MODULE:FUNCTION", *args)`:
        the function called with this state and the arguments. The callers' own jobs (the
        explorer's replays, PCT's schedules) are theirs to define, in their own modules: this
        module knows nothing of them."""
        kind = job[0]
        if kind == "noop":
            return None
        if kind == "evaluate":
            return self.evaluate(job[1], bool(job[2]))
        module, _, function = str(kind).partition(":")
        if not function:
            raise ValueError(f"unknown job {kind!r}")
        return getattr(importlib.import_module(module), function)(self, *job[1:])

    def evaluate(self, case: Case, full: bool) -> Any:
        """Run the case; `full`: the whole record (the caller judges it), else judged here:
        verdict, finding keys and the timeline's messages (a campaign's execution)."""
        world = World(case, self.version, None if full else MessageLog(), catch_version_errors=True)
        self.watch(world)
        record = world.run()
        if full:
            # The caller has the case: it is not sent back.
            return ("record", replace(record, case=None))  # type: ignore[arg-type]
        judged = Judged.of(record)
        messages = bytes(MESSAGE_NUMBER[m] for m in record.messages)  # 1 byte per message
        return ("judged", judged.verdict, judged.keys, messages, record.failure)


def run_runner(
    sock: socket.socket, shared: mmap.mmap, fault_fd: int, cls: type[Version], seconds: float
) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    os.dup2(2, 1)  # what the version prints goes to stderr, never into pagefuzz's output
    _limit_memory()
    built = getattr(cls, "built", None)
    keep: Any = None
    if built is not None:  # C: the crash handler records the stack into shared memory
        keep = built.ffi.from_buffer(shared)
        built.lib.pf_install_crash_handler(keep + CRASH_AT, SHARED_BYTES - CRASH_AT)
    else:
        faulthandler.enable(file=fault_fd, all_threads=False)
    budget = _Budget(seconds)
    state = RunnerState(cls, shared)
    conn = Connection(sock.detach())
    while True:
        try:
            jobs = conn.recv()
        except (EOFError, OSError):
            return 0
        for number, job in jobs:
            state.job = number
            PROGRESS.pack_into(shared, 0, number, -1, b"", b"-")
            budget.arm()
            try:
                reply: tuple[Any, ...] = ("ok", state.handle(job))
            except VersionTimeout as exc:  # the alarm went off outside the version's code
                _job, step, actor, kind = PROGRESS.unpack_from(shared, 0)
                reply = ("timeout", exc.detail, step, _text(actor), _text(kind) or "-")
            except Exception:
                reply = ("error", traceback.format_exc(limit=-8))
            finally:
                budget.disarm()
            conn.send(reply)


def die_with_parent() -> None:
    """PR_SET_PDEATHSIG: this process is killed when the one that started it dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    die_with_parent()
    os.dup2(2, 1)  # what the version prints at import goes to stderr
    ctl = socket.socket(fileno=int(args[0]))
    spec = VersionSpec.from_json(json.loads(args[1]))
    os.environ.setdefault("PAGEFUZZ_IN_FORKSERVER", "1")
    try:
        server = Server(ctl, spec)
    except VersionLoadError as exc:
        send_message(ctl, ("error", str(exc)))
        return 0
    except BaseException as exc:
        send_message(ctl, ("error", f"{spec.given}: cannot be loaded: {type(exc).__name__}: {exc}"))
        return 0
    send_message(ctl, ("ready", server.ready()))
    server.serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
