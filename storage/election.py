"""Leases for elected roles (the scheduler; later the Telegram poller, a WeChat puppet per account).

On PostgreSQL a lease is a session-level advisory lock (``pg_try_advisory_lock``) held on a
dedicated connection, opened outside the store's pool: the lock lasts while that session lives,
so a worker that dies (even by SIGKILL) or loses its connection releases it at once, and the
server ends a silent session after about :data:`SERVER_KEEPALIVE_SECONDS` (TCP keepalives set
on the session). On SQLite there is no lease: one process owns the store (:mod:`storage.guard`).

The lock key is derived from the role and the store's schema (``current_schema()``), so two bots
in two schemas of one database elect separately, and it never equals the migration lock's key.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from bot.election import Lease
from storage.migrate import _PG_LOCK_KEY

log = logging.getLogger(__name__)

# The server drops a session it cannot reach after about idle + interval × count seconds.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3
SERVER_KEEPALIVE_SECONDS = KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT
CONNECT_TIMEOUT = 5  # seconds, for the lease's own connection


def application_name(role: str) -> str:
    """How the lease's session shows in ``pg_stat_activity``: the role and this process's id."""
    return f"tuan {role} pid {os.getpid()}"


def lock_key(role: str, schema: str) -> int:
    """The advisory lock key (a signed 64-bit int) of ``role`` in the store's ``schema``."""
    digest = hashlib.sha256(f"tuan:{role}:{schema}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    return key if key != _PG_LOCK_KEY else key + 1


class AdvisoryLease:
    """A PostgreSQL session-level advisory lock on a connection of its own (not the store's pool)."""

    def __init__(self, engine: Engine, role: str) -> None:
        self.role = role
        self._engine = create_engine(
            engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": CONNECT_TIMEOUT, "application_name": application_name(role),
                          "keepalives": 1,
                          "keepalives_idle": KEEPALIVE_IDLE, "keepalives_interval": KEEPALIVE_INTERVAL,
                          "keepalives_count": KEEPALIVE_COUNT,
                          "tcp_user_timeout": SERVER_KEEPALIVE_SECONDS * 1000},
        )
        self._conn: Connection | None = None
        self.key: int | None = None
        self._guard = threading.Lock()  # attempts run in worker threads; release may come meanwhile
        self._released = False

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self.still_held()
        try:
            conn = self._engine.connect()
        except Exception as e:
            log.debug("lease %s: cannot connect: %s", self.role, e)
            return False
        try:
            for name, value in (("tcp_keepalives_idle", KEEPALIVE_IDLE),
                                ("tcp_keepalives_interval", KEEPALIVE_INTERVAL),
                                ("tcp_keepalives_count", KEEPALIVE_COUNT),
                                ("tcp_user_timeout", SERVER_KEEPALIVE_SECONDS * 1000)):
                conn.execute(text(f"SET {name} = {int(value)}"))
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            key = lock_key(self.role, str(schema))
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one())
        except Exception as e:
            log.debug("lease %s: trying the lock failed: %s", self.role, e)
            self._drop(conn)
            return False
        if not got:
            conn.close()
            return False
        with self._guard:
            if self._released:  # released while this attempt was under way: give it back at once
                self._drop(conn)
                return False
            self._conn, self.key = conn, key
        return True

    def still_held(self) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            conn.execute(text("SELECT 1")).scalar_one()
        except Exception as e:
            log.warning("lease %s lost with its connection: %s", self.role, " ".join(str(e).split())[:200])
            self._conn = None
            self._drop(conn)
            return False
        return True

    def release(self) -> None:
        with self._guard:
            self._released = True
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                conn.close()
            except Exception:
                self._drop(conn)
        self._engine.dispose()

    @staticmethod
    def _drop(conn: Connection) -> None:
        try:
            conn.invalidate()
            conn.close()
        except Exception:
            pass


def lease_for(engine: Engine, role: str) -> Lease | None:
    """The lease of ``role`` on the store behind ``engine``: an advisory lock on PostgreSQL; None
    on SQLite, which one process owns (:mod:`storage.guard`), so it plays every role."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLease(engine, role)
    return None
