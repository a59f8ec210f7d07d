"""The exit codes of every `pagefuzz` command (the README's table)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as for a Ctrl-C anywhere
