"""Every version pagefuzz knows, by name. Adding one is a module and a line here
(docs/versions.md); versions from outside the package (`py:FILE.py`, `c:FILE.c`, installed
plugins) are loaded by the shell (pagefuzz/fuzz/versions.py) and added with `register`."""

from collections.abc import Callable
from typing import Any, Final

from pagefuzz.impls.fixed import Fixed
from pagefuzz.impls.post import Post
from pagefuzz.impls.pre import Pre
from pagefuzz.impls.recheck_locked import RecheckLocked
from pagefuzz.impls.reference import Reference

#: name -> factory. Order is the default order of `replay` and of reports. A version from outside
#: the package is registered by the shell with a factory of its `HostedVersion` (the version as
#: seen from this process: its runs happen in its fork server, pagefuzz/fuzz/isolation.py).
REGISTRY: Final[dict[str, Callable[[], Any]]] = {
    "pre": Pre,
    "post": Post,
    "recheck-locked": RecheckLocked,
    "reference": Reference,
    "fixed": Fixed,
}

#: Versions run by default: the seed's two sides and the fix it rejected. The reference (for
#: proving the oracle) and the candidate fix are registered but run only when named.
DEFAULT_VERSIONS: Final = ("pre", "post", "recheck-locked")


#: The versions that ship with pagefuzz (REGISTRY may gain others at run time).
BUILT_IN: Final = tuple(REGISTRY)


def register(name: str, factory: Callable[[], Any]) -> None:
    """Add a version under `name` (the argument as the user gave it, e.g. `py:fix.py`)."""
    REGISTRY[name] = factory


def version_names() -> list[str]:
    return list(REGISTRY)


def get_version(name: str) -> Any:
    try:
        return REGISTRY[name]()
    except KeyError:
        raise KeyError(f"unknown version {name!r}; known: {', '.join(REGISTRY)}") from None
