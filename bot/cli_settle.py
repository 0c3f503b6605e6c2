"""`tuan settle` and `tuan stats` (registered by bot/cli_operators.py)."""

from __future__ import annotations

from typing import Any


def add_settle_parsers(subparsers: Any) -> None:
    """Add ``settle`` and ``stats`` to the ``tuan`` subparsers."""
