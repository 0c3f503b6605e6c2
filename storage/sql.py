"""``SqlRepository``: the store port (:class:`bot.ports.Repository`) on SQLite or PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert
from sqlalchemy.exc import IntegrityError

from bot.ports import Changeset, DealRow, EntryRow, NoticeRow, Snapshot
from storage import reader, writer
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import MARKS
from storage.types import check_aware


class SqlRepository:
    """The order service's store on SQLAlchemy Core: one connection and transaction per call.

    Expects a migrated schema (use :func:`open_repository`). Safe to share between threads on a
    file or PostgreSQL database; an in-memory SQLite database has one connection, so one thread.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load_open(self) -> Snapshot:
        with self._reading() as conn, conn.begin():
            return reader.load_open(conn)

    def commit(self, changes: Changeset) -> None:
        self.commit_many([changes])

    def commit_many(self, changes: list[Changeset]) -> None:
        batch = [cs for cs in changes if not cs.is_empty()]
        if batch:
            with self.engine.begin() as conn:
                writer.write(conn, batch)

    def is_processed(self, source: str, update_id: str) -> bool:
        with self.engine.connect() as conn:
            return reader.is_processed(conn, source, update_id)

    def deal_entries(self, deal_id: str) -> list[EntryRow]:
        with self.engine.connect() as conn:
            return reader.deal_entries(conn, deal_id)

    def get_deal(self, deal_id: str) -> DealRow | None:
        with self._reading() as conn, conn.begin():
            return reader.get_deal(conn, deal_id)

    def notices(self, chat_keys: list[str] | None = None) -> list[NoticeRow]:
        with self.engine.connect() as conn:
            return reader.notices(conn, chat_keys)

    def claim_mark(self, key: str, at: datetime) -> bool:
        check_aware(at)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(MARKS).values(key=key, at=at))
        except IntegrityError:
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()

    def _reading(self) -> Connection:
        """A connection whose transaction sees one snapshot across several SELECTs."""
        conn = self.engine.connect()
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        return conn


def open_repository(url: str, **engine_options: Any) -> SqlRepository:
    """Connect to ``url``, upgrade the schema to the newest migration, and return the repository.

    ``url`` is a SQLAlchemy URL: ``sqlite:///tuan.db``, ``sqlite://`` (in memory) or
    ``postgresql+psycopg://user@host/db``. ``engine_options`` go to ``create_engine``.
    """
    engine = make_engine(url, **engine_options)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlRepository(engine)
