"""Persistence for Tuan: the implementations of :class:`bot.ports.Repository`.

``storage.sql`` (SQLAlchemy: SQLite or PostgreSQL) and ``storage.memory`` (in this process, for
`tuan replay` without ``--db``). ``SqlRepository`` and ``open_repository`` are exported lazily:
importing ``storage`` or ``storage.memory`` does not import SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.sql import SqlRepository, open_repository

__all__ = ["SqlRepository", "open_repository"]


def __getattr__(name: str) -> Any:
    """``storage.SqlRepository`` and ``storage.open_repository``, imported from ``storage.sql`` on first use."""
    if name in __all__:
        from storage import sql

        return getattr(sql, name)
    raise AttributeError(f"module 'storage' has no attribute {name!r}")
