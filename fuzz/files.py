"""The files fuzzing reads and writes: crash-safe writes (a finding is either whole on disk or not
there at all), JSON, and the case files of a corpus."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pagefuzz.sim import Case, InvalidCase, parse_case


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new file beside `path`, open for writing. Created with mode 0o666 so that the kernel
    applies the umask (and a directory's default ACL) as for any open(): mkstemp's fixed 0o600
    would make every finding and report private, and reading the umask needs os.umask(), which
    sets it too (a race with other threads)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{path.parent}: no free temporary name for {path.name}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same directory, fsync, rename over `path`, fsync the
    directory. A reader sees the old file or the new one, never a half-written one. A new file
    gets 0o666 minus the umask; a replaced one keeps its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            with contextlib.suppress(FileNotFoundError):  # a new file: the umask's mode stays
                os.fchmod(handle.fileno(), stat.S_IMODE(os.stat(path).st_mode))
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json_atomic(path: Path, obj: Any) -> None:
    write_atomic(path, (json.dumps(obj, indent=1) + "\n").encode())


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def shipped_corpus() -> Path:
    """The corpus pagefuzz ships (package data: pagefuzz/corpus, the repository's corpus/ in a
    checkout): the default of every `--corpus`, found from any working directory."""
    return Path(__file__).resolve().parent.parent / "corpus"


def corpus_cases(root: Path) -> Iterator[tuple[Path, Case]]:
    """Every case file below `root`, sorted by path, each named after its file by default. A
    file that does not read as a case is skipped: a corrupt corpus entry is for `pagefuzz
    triage` and `replay` to report, not for a campaign or a benchmark to stop on."""
    for path in sorted(root.rglob("*.json")):
        try:
            yield path, parse_case(read_json(path), path.stem)
        except (OSError, ValueError, InvalidCase):
            continue
