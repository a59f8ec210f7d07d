"""Every version that ships with pagefuzz, by name. Adding one is a module and a line here
(docs/versions.md). The table is read-only: a version from outside the package (`py:FILE.py`,
`c:FILE.c`, an installed plugin) is never added to it; the shell parses its name into a
`VersionSpec` that builds it (fuzz/versions/resolve.py)."""

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from pagefuzz.impls.fixed import Fixed
from pagefuzz.impls.july_reference import JulyReference
from pagefuzz.impls.p17 import P17
from pagefuzz.impls.p19 import P19
from pagefuzz.impls.post import Post
from pagefuzz.impls.pre import Pre
from pagefuzz.impls.recheck_locked import RecheckLocked
from pagefuzz.impls.reference import Reference
from pagefuzz.impls.y2005 import Y2005
from pagefuzz.impls.y2005_fixed import Y2005Fixed
from pagefuzz.sim.world import Version

#: name -> class. Order is the default order of `replay` and of reports.
REGISTRY: Final[Mapping[str, Callable[[], Version]]] = MappingProxyType(
    {
        "pre": Pre,
        "post": Post,
        "recheck-locked": RecheckLocked,
        "reference": Reference,
        "fixed": Fixed,
        "p17": P17,
        "p19": P19,
        "y2005": Y2005,
        "y2005-fixed": Y2005Fixed,
        "july-reference": JulyReference,
    }
)

#: Each built-in version's era (a version runs only in cases of its era).
ERA_OF: Final[Mapping[str, str]] = MappingProxyType(
    {
        name: cls.era
        for name, cls in (
            ("pre", Pre),
            ("post", Post),
            ("recheck-locked", RecheckLocked),
            ("reference", Reference),
            ("fixed", Fixed),
            ("p17", P17),
            ("p19", P19),
            ("y2005", Y2005),
            ("y2005-fixed", Y2005Fixed),
            ("july-reference", JulyReference),
        )
    }
)

#: Versions run by default: the seed's two sides and the fix it rejected. The reference (for
#: proving the oracle) and the candidate fix are registered but run only when named.
DEFAULT_VERSIONS: Final = ("pre", "post", "recheck-locked")

#: The versions run by default in a case of each era: the seed's era's above; in the July 2004
#: era, the two sides of patch 19 and the June 2005 repost (docs/versions.md).
ERA_DEFAULT_VERSIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"2004-01": DEFAULT_VERSIONS, "2004-07": ("p17", "p19", "y2005")}
)


#: The versions that ship with pagefuzz.
BUILT_IN: Final = tuple(REGISTRY)


def built_in(era: str) -> tuple[str, ...]:
    """The built-in versions of one era, in registry order."""
    return tuple(name for name in REGISTRY if ERA_OF[name] == era)


def version_names() -> list[str]:
    return list(REGISTRY)


def get_version(name: str) -> Version:
    """A new instance of the built-in version `name`; KeyError naming the known ones."""
    try:
        return REGISTRY[name]()
    except KeyError:
        raise KeyError(f"unknown version {name!r}; known: {', '.join(REGISTRY)}") from None
