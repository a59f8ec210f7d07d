"""Building a `c:FILE.c` version: the system C compiler, through cffi, with a build cache.

The one module of the core that does I/O (tests/test_architecture.py names it): it reads the
user's file and the kernel header, compiles, writes the cache and loads the compiled module. What
it builds is deterministic code; running it (impls/cversion.py) touches nothing outside the world.

- **cffi API mode.** `set_source` takes the full translation unit impls/cversion.py composes
  (kernel.h, the user's file after a `#line` directive, the wrapper); cffi writes the C of the
  extension module (`emit_c_code`), and pagefuzz runs the compiler itself rather than through
  `ffibuilder.compile()` (setuptools), so that it captures the diagnostics, turns the first error
  into one line naming the user's file and line, and needs no setuptools at run time.
- **The cache.** One compiled module per content and machine: the directory name is a hash of
  the source (with the user's path left out: it only names diagnostics), the cdef, the compiler,
  its flags, the Python ABI and the cffi version. `PAGEFUZZ_C_CACHE` chooses the directory,
  else `$XDG_CACHE_HOME/pagefuzz/c`, else `~/.cache/pagefuzz/c`. A build happens in a temporary
  directory beside it and is renamed into place, so campaign workers that build the same file at
  once all end up loading one complete module.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.resources
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import cffi

#: Overrides where compiled C versions are kept.
CACHE_ENV: Final = "PAGEFUZZ_C_CACHE"
#: Where campaign workers find the directory relative version paths are resolved against
#: (fuzz/versions/spec.py sets it; the same name here, since the core cannot import the shell).
BASE_ENV: Final = "PAGEFUZZ_VERSIONS_BASE"
#: C11 with GNU extensions: `typeof` and statement expressions (the kernel's min), `_Generic`.
#: A call of an undeclared function is an error, not a symbol missing when the module loads.
CFLAGS: Final = (
    "-std=gnu11",
    "-O2",
    "-g",  # line tables: a crash is reported at the user's file and line (addr2line)
    "-fPIC",
    "-shared",
    "-fno-strict-aliasing",
    "-Werror=implicit-function-declaration",
)
#: Bumped when the layout of the cache or of the composed source changes (2: PF_ERA, the eras'
#: wrappers).
FORMAT: Final = "pagefuzz-c-2"
COMPILE_TIMEOUT: Final = 300.0

_ERROR = re.compile(r"^(?P<loc>[^\s].*?:\d+(?::\d+)?): (?:fatal )?error: (?P<msg>.*)$")
_UNDEFINED = (
    re.compile(
        r"^(?P<loc>.+?:\d+(?::\d+)?): warning: ['‘`](?P<name>\w+)['’] used but never defined"
    ),
    re.compile(
        r"^(?P<loc>.+?:\d+(?::\d+)?): warning: function '(?P<name>\w+)' has internal linkage but"
        r" is not defined"
    ),
)
_LINK_UNDEFINED = re.compile(r"undefined (?:reference to|symbol:?) [`']?(?P<name>\w+)")


class CBuildError(Exception):
    """A C version that cannot be built or loaded; str() is one line."""


@dataclass(frozen=True)
class Built:
    """A loaded compiled module: cffi's `ffi` and `lib`, and where it lives."""

    ffi: Any
    lib: Any
    path: str


_LOADED: dict[str, Built] = {}


def resolve(text: str) -> str:
    """The path of a user's file: absolute, or relative to `PAGEFUZZ_VERSIONS_BASE` (campaign
    workers) or else the working directory."""
    if os.path.isabs(text):
        return text
    return os.path.join(os.environ.get(BASE_ENV) or os.getcwd(), text)


def read_source(path: str, shown: str) -> str:
    """The user's file as text; CBuildError naming it if it cannot be read."""
    if not os.path.isfile(path):
        raise CBuildError(f"{shown}: no such file")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as exc:
        raise CBuildError(f"{shown}: cannot read: {exc.strerror or exc}") from None


def kernel_header() -> str:
    """The text of impls/kernel.h (package data)."""
    return (importlib.resources.files("pagefuzz.impls") / "kernel.h").read_text(encoding="utf-8")


def cache_dir() -> str:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pagefuzz", "c")


def compiler() -> list[str] | None:
    """The C compiler's command: `$CC` (it may carry flags), else cc, gcc or clang on PATH."""
    given = os.environ.get("CC")
    if given:
        words = shlex.split(given)
        return words if words and shutil.which(words[0]) else None
    for name in ("cc", "gcc", "clang"):
        found = shutil.which(name)
        if found:
            return [found]
    return None


def build(
    cdef: str,
    source: str,
    key: str,
    shown: str,
    required: Sequence[str],
    must_define: str | None = None,
) -> Built:
    """Compile (or find in the cache) the extension module of `source` and load it.

    `key` is the source as it would be without the user's path; `shown` names the user's file
    in messages; a function of `required` that the file does not define is an error (the
    compiler only warns: the module would fail to load), explained by `must_define` (default:
    "a C version defines" the required functions).
    """
    cc = compiler()
    if cc is None:
        raise CBuildError(f"{shown}: no C compiler found (install cc, gcc or clang, or set CC)")
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    digest = hashlib.sha256(
        "\0".join(
            [FORMAT, key, cdef, shlex.join(cc), *CFLAGS, sys.implementation.cache_tag or "",
             suffix, cffi.__version__]
        ).encode()
    ).hexdigest()[:32]  # fmt: skip
    if digest in _LOADED:
        return _LOADED[digest]
    module = f"_pagefuzz_c_{digest}"
    root = cache_dir()
    final = os.path.join(root, digest)
    binary = os.path.join(final, module + suffix)
    if os.path.isfile(binary):
        built = _load(module, binary, shown)
    else:
        try:
            os.makedirs(root, exist_ok=True)
            work = tempfile.mkdtemp(prefix=f".build-{digest}-", dir=root)
        except OSError as exc:
            raise CBuildError(f"{shown}: cannot write the C build cache {root}: {exc}") from None
        try:
            ours = os.path.join(work, module + suffix)
            _compile(cc, cdef, source, module, ours, shown, required, must_define)
            built = _load(module, ours, shown)  # what fails to load is never cached
            try:
                os.rename(work, final)  # atomic: the directory appears complete or not at all
            except OSError as exc:
                if not os.path.isfile(binary):  # not another process's complete build: ours failed
                    raise CBuildError(
                        f"{shown}: cannot write the C build cache {root}: {exc}"
                    ) from None
            # Where the module now lives (the same file: a rename keeps it), for what reads its
            # line tables (a crash's frames, pagefuzz/fuzz/forkserver.py).
            built = Built(built.ffi, built.lib, binary)
        finally:
            if os.path.isdir(work):
                shutil.rmtree(work, ignore_errors=True)
    _LOADED[digest] = built
    return built


def _compile(
    cc: list[str],
    cdef: str,
    source: str,
    module: str,
    out: str,
    shown: str,
    required: Sequence[str],
    must_define: str | None = None,
) -> None:
    ffibuilder = cffi.FFI()
    ffibuilder.cdef(cdef)
    ffibuilder.set_source(module, source, compiler_verbose=False)
    c_file = os.path.join(os.path.dirname(out), module + ".c")
    ffibuilder.emit_c_code(c_file)
    include = sysconfig.get_paths()["include"]
    command = [*cc, *CFLAGS, "-I", include, "-o", out, c_file]
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            timeout=COMPILE_TIMEOUT,
            check=False,
        )
    except OSError as exc:
        raise CBuildError(f"{shown}: cannot run the C compiler {cc[0]}: {exc}") from None
    except subprocess.TimeoutExpired:
        raise CBuildError(
            f"{shown}: the C compiler took more than {COMPILE_TIMEOUT:.0f} s"
        ) from None
    lines = proc.stderr.splitlines()
    if proc.returncode != 0:
        raise CBuildError(first_error(lines, shown, proc.returncode))
    for line in lines:
        for pattern in _UNDEFINED:
            m = pattern.match(line)
            if m and m["name"] in required:
                why = must_define or _must_define(required)
                raise CBuildError(f"{shown}: {m['name']} is not defined ({why})")


def first_error(lines: list[str], shown: str, status: int) -> str:
    """The compiler's first error as one line: `FILE:LINE:COL: error: MESSAGE`."""
    for line in lines:
        m = _ERROR.match(line)
        if m:
            return f"{shown}: {m['loc']}: error: {m['msg']}"
    for line in lines:
        m = _LINK_UNDEFINED.search(line)
        if m:
            return f"{shown}: {m['name']} is not defined (link: {line.strip()})"
    text = next((line.strip() for line in lines if line.strip()), "")
    return f"{shown}: the C compiler failed (status {status})" + (f": {text}" if text else "")


def _must_define(required: Sequence[str]) -> str:
    if len(required) == 1:
        return f"a C version defines {required[0]}"
    return "a C version defines " + ", ".join(required[:-1]) + " and " + required[-1]


def _load(module: str, binary: str, shown: str) -> Built:
    loader = importlib.machinery.ExtensionFileLoader(module, binary)
    spec = importlib.util.spec_from_file_location(module, binary, loader=loader)
    assert spec is not None
    try:
        mod = importlib.util.module_from_spec(spec)
        loader.exec_module(mod)
    except ImportError as exc:
        m = _LINK_UNDEFINED.search(str(exc))
        if m:
            raise CBuildError(f"{shown}: {m['name']} is not defined ({exc})") from None
        raise CBuildError(f"{shown}: cannot load the compiled module: {exc}") from None
    sys.modules[module] = mod
    return Built(ffi=mod.ffi, lib=mod.lib, path=binary)
