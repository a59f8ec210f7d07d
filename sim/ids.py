"""Which request: the one identity of a write(2) or io_submit across records, violations,
failures and JSON. A leaf module: the record, the failures of a version and the oracle all name
requests, and none of them may import the others for it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class RequestId:
    """Which request: the actor that made it, and which of that actor's requests it is (an iocb
    makes one; a task may make several). Its one string form, in records, violations and JSON:
    the actor's name for its first request (`T`, `A`), `T#2` for the second, and so on."""

    actor: str
    nth: int = 1

    def __str__(self) -> str:
        return self.actor if self.nth == 1 else f"{self.actor}#{self.nth}"

    @classmethod
    def parse(cls, text: str) -> RequestId:
        """Its string form read back: `T` is T's first request, `T#2` its second."""
        actor, _, nth = text.partition("#")
        return cls(actor, int(nth) if nth else 1)
