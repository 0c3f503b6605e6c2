"""A store this process may read but not write, said in one line naming the database and the fix.

SQLite says "attempt to write a readonly database" (a file or directory the bot's user may not
write, a ``mode=ro`` URI), "unable to open database file" or "database or disk is full";
PostgreSQL refuses a write in a read-only transaction (a hot standby, ``default_transaction_read_only``,
SQLSTATE 25006) or to a user without the privilege (42501). :func:`watch` makes every such error
of an engine a :class:`bot.ports.StoreUnavailable` whose message says which database and what to do,
instead of the driver's words, the SQL and SQLAlchemy's link over three lines.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import URL, Engine, event

from bot.ports import StoreUnavailable
from bot.store_url import shown

SQLITE_FIXES = {
    "SQLITE_READONLY": "make it and its directory writable by the user running tuan",
    "SQLITE_CANTOPEN": "make sure its directory exists and is writable by the user running tuan",
    "SQLITE_PERM": "make it and its directory writable by the user running tuan",
    "SQLITE_FULL": "free some disk space",
}
PG_FIXES = {
    "25006": "connect to the primary server, not a read-only replica or transaction (default_transaction_read_only)",
    "42501": "grant this database user the right to write the store's tables (or use the user that created them)",
}
ELSEWHERE = "or point [store] url at a database tuan may write"


def where(url: URL) -> str:
    """The database of ``url`` in words: the SQLite file's path, or the PostgreSQL URL without its passwords
    (:func:`bot.store_url.shown`)."""
    if url.get_backend_name() == "sqlite":
        return f"the SQLite file {(url.database or ':memory:').removeprefix('file:')}"
    return f"the PostgreSQL database {shown(url)}"


def fix_for(error: BaseException | None) -> str | None:
    """What to do about ``error`` (a DB-API exception) when it says the store cannot be written; else None."""
    name = getattr(error, "sqlite_errorname", None)
    if isinstance(name, str):
        return next((fix for code, fix in SQLITE_FIXES.items() if name.startswith(code)), None)
    return PG_FIXES.get(str(getattr(error, "sqlstate", None)))


def unwritable(url: URL, error: BaseException | None) -> StoreUnavailable | None:
    """The one-line :class:`StoreUnavailable` for ``error`` of the database at ``url``, or None when
    ``error`` is not about writing it."""
    fix = fix_for(error)
    if fix is None:
        return None
    words = " ".join(str(error).split())[:200]
    return StoreUnavailable(f"store unavailable: {where(url)} cannot be written ({words}): {fix}, {ELSEWHERE}")


def watch(engine: Engine) -> None:
    """Raise :func:`unwritable`'s error in place of SQLAlchemy's for every such failure on ``engine``."""

    @event.listens_for(engine, "handle_error")
    def _named(ctx: Any) -> None:
        named = unwritable(engine.url, ctx.original_exception)
        if named is not None:
            raise named from ctx.original_exception
