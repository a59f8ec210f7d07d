"""C integer semantics for the loop's arithmetic: rule R8 of kernel-model.md (the project's
kernel-semantics spec, kept outside this repository), restated in docs/model.md, "Integers (R8)".

pagefuzz models an LP64 kernel: pgoff_t and size_t are 64-bit unsigned, ssize_t and loff_t are
64-bit signed, and every conversion is two's complement. Python integers are unbounded, so each
operation whose C result depends on the type goes through one of these helpers.
"""

from typing import Final

BITS: Final = 64
_MASK: Final = (1 << BITS) - 1
_SIGN: Final = 1 << (BITS - 1)

PAGE_CACHE_SHIFT: Final = 12
PAGE_CACHE_SIZE: Final = 1 << PAGE_CACHE_SHIFT
PAGEVEC_SIZE: Final = 16

# errno values of the path (include/asm-generic/errno-base.h and linux/errno.h of 2.6.0).
EIO: Final = 5
EAGAIN: Final = 11
ENOSPC: Final = 28
EIOCBRETRY: Final = 530

ERRNO_NAMES: Final[dict[int, str]] = {
    EIO: "EIO",
    EAGAIN: "EAGAIN",
    ENOSPC: "ENOSPC",
    EIOCBRETRY: "EIOCBRETRY",
}


def unsigned(value: int) -> int:
    """Reduce to the value a 64-bit unsigned variable (pgoff_t, size_t) holds."""
    return value & _MASK


def signed(value: int) -> int:
    """Reduce to the value a 64-bit signed variable (ssize_t, loff_t) holds."""
    value &= _MASK
    return value - (1 << BITS) if value & _SIGN else value


def errno_name(result: int | None) -> str | None:
    """Name of a negative errno result (`-5` -> `"EIO"`), None for byte counts."""
    if result is None or result >= 0:
        return None
    return ERRNO_NAMES.get(-result, f"E{-result}")
