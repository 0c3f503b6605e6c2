"""Engines for the two supported databases: SQLite (file or in-memory) and PostgreSQL via psycopg 3."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.pool import StaticPool

from storage.unwritable import watch


def _json_dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; extra keyword arguments go to :func:`sqlalchemy.create_engine`.

    A store it may not write fails as one line naming it and the fix (:func:`storage.unwritable.watch`).
    ``postgresql://`` means psycopg 3 (``postgresql+psycopg://``). SQLite gets WAL (file databases),
    ``synchronous=NORMAL``, enforced foreign keys and real transactions around DDL; ``sqlite://``
    (in-memory) keeps its single connection alive with a ``StaticPool``.
    """
    u = make_url(url)
    backend = u.get_backend_name()
    kwargs.setdefault("json_serializer", _json_dumps)
    if backend == "postgresql":
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        kwargs.setdefault("pool_pre_ping", True)  # after a server restart, pooled connections are dead
        engine = create_engine(u, **kwargs)
        watch(engine)
        return engine
    if backend != "sqlite":
        raise ValueError(f"unsupported database {u.drivername!r}: use sqlite or postgresql+psycopg")
    memory = is_memory_sqlite(u)
    path = None if memory or u.database is None or u.database.startswith("file:") else u.database
    if path is not None:
        make_private(path)
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    if memory:
        kwargs.setdefault("poolclass", StaticPool)
    engine = create_engine(u, **kwargs)
    _configure_sqlite(engine, wal=not memory, path=path)
    watch(engine)
    return engine


PRIVATE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")


def make_private(path: str) -> None:
    """Create the SQLite file readable and writable by its owner only (0600), or narrow it to that.

    SQLite gives the ``-wal``/``-shm`` files the database file's permissions, so they follow;
    those that already exist are narrowed too. The store holds residents' names, rooms and phones.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & ~PRIVATE_MODE:
            os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)
    for suffix in SIDE_FILES:
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(os.stat(path + suffix).st_mode) & ~PRIVATE_MODE:
                os.chmod(path + suffix, PRIVATE_MODE)


def _configure_sqlite(engine: Engine, *, wal: bool, path: str | None = None) -> None:
    """Pragmas on every new connection, and explicit BEGIN so DDL is transactional too.

    pysqlite's own transaction handling does not wrap DDL; this is the recipe from the
    SQLAlchemy SQLite dialect docs ("Serializable isolation / Savepoints / Transactional DDL").
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if path is not None:
            make_private(path)  # -wal/-shm now exist

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # a unit of work (storage.sql.SqlRepository.transaction) takes the write lock at once
        immediate = connection.get_execution_options().get("tuan_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
