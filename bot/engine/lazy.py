"""Regular expressions compiled when first used: start-up pays only for the patterns it needs."""

from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    """A regular expression compiled the first time it is used: start-up pays only for the
    patterns a run needs (bot/engine/tokens.py skips a pattern whose needed characters a clause lacks).
    After the first use its methods are the compiled pattern's own (no indirection)."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern, self.flags = pattern, flags

    def __getattr__(self, name: str) -> Any:  # reached only until the first compile
        rx = re.compile(self.pattern, self.flags)
        for method in ("finditer", "search", "match", "fullmatch", "sub"):
            setattr(self, method, getattr(rx, method))
        return getattr(rx, name)
