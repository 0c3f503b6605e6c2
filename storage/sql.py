"""``SqlRepository``: the store port (:class:`bot.ports.Repository`) on SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.ports import (
    Changeset,
    ChatRow,
    DealRow,
    DealSnapshot,
    EntryRow,
    LineRow,
    NoticeRow,
    OutboxRow,
    SeenMessage,
    StoreConflict,
    StoreUnavailable,
)
from storage import reader, writer
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import CHATS, MARKS
from storage.rows import CHAT_FIELDS, params
from storage.types import check_aware
from storage.unwritable import ELSEWHERE

CONFLICTS = ("40P01", "40001")  # deadlock_detected, serialization_failure: the transaction may simply run again


@contextlib.contextmanager
def unavailable_as_such() -> Iterator[None]:
    """Re-raise the database's "cannot serve now" errors as :class:`bot.ports.StoreUnavailable`.

    Those are the DB-API ``OperationalError``/``InterfaceError`` (server down or restarting, the
    connection lost, SQLite's "database is locked"), a connection the pool had to invalidate,
    and a pool timeout. Integrity and programming errors pass unchanged: retrying cannot help them.
    """
    try:
        yield
    except (OperationalError, InterfaceError, PoolTimeout) as exc:
        if getattr(getattr(exc, "orig", None), "sqlstate", None) in CONFLICTS:
            raise StoreConflict(f"transaction lost to concurrent ones: {exc}") from exc
        raise StoreUnavailable(f"store unavailable: {exc}") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailable(f"store connection lost: {exc}") from exc
        raise


class SqlRepository:
    """The order service's store on SQLAlchemy Core: one connection and transaction per call.

    Expects a migrated schema (use :func:`open_repository`). Safe to share between threads on a
    file or PostgreSQL database; an in-memory SQLite database has one connection, so one thread.
    Every method raises :class:`bot.ports.StoreUnavailable` when the database cannot serve.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextlib.contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        """A unit of work (:class:`bot.ports.Transaction`): committed when the block ends.

        On SQLite it begins IMMEDIATE: the write lock is taken first, so two processes never both
        read a deal and then race to write it (the later one waits up to the busy timeout).
        """
        with unavailable_as_such():
            conn = self.engine.connect()
            if conn.dialect.name == "sqlite":
                conn = conn.execution_options(tuan_immediate=True)
            try:
                with conn.begin():
                    yield SqlTransaction(conn)
            finally:
                conn.close()

    def get_chat(self, chat_key: str) -> ChatRow | None:
        with unavailable_as_such(), self.engine.connect() as conn:
            return reader.get_chat(conn, chat_key)

    def chats_with_deal(self) -> list[ChatRow]:
        with unavailable_as_such(), self.engine.connect() as conn:
            return reader.chats_with_deal(conn)

    def commit(self, changes: Changeset) -> None:
        self.commit_many([changes])

    def commit_many(self, changes: list[Changeset]) -> None:
        batch = [cs for cs in changes if not cs.is_empty()]
        if batch:
            with unavailable_as_such(), self.engine.begin() as conn:
                writer.write(conn, batch)

    def is_processed(self, source: str, update_id: str) -> bool:
        with unavailable_as_such(), self.engine.connect() as conn:
            return reader.is_processed(conn, source, update_id)

    def deal_entries(self, deal_id: str) -> list[EntryRow]:
        with unavailable_as_such(), self.engine.connect() as conn:
            return reader.deal_entries(conn, deal_id)

    def get_deal(self, deal_id: str) -> DealRow | None:
        with unavailable_as_such(), self._reading() as conn, conn.begin():
            return reader.get_deal(conn, deal_id)

    def message_times(self, seqs: list[int]) -> dict[int, datetime]:
        with unavailable_as_such(), self.engine.connect() as conn:
            return reader.message_times(conn, seqs)

    def notices(self, chat_keys: list[str] | None = None) -> list[NoticeRow]:
        with unavailable_as_such(), self.engine.connect() as conn:
            return reader.notices(conn, chat_keys)

    def pending_effects(self, created_before: datetime) -> list[OutboxRow]:
        check_aware(created_before)
        with unavailable_as_such(), self.engine.connect() as conn:
            return reader.pending_effects(conn, created_before)

    def claim_effects(self, worker: str, until: datetime, *, now: datetime, limit: int,
                      takeover: bool = False, skip: Sequence[str] = ()) -> list[OutboxRow]:
        check_aware(until)
        check_aware(now)
        with unavailable_as_such(), self.engine.begin() as conn:
            return reader.claim_effects(conn, worker, until, now, limit, takeover, skip)

    def extend_claims(self, worker: str, keys: list[tuple[int, int]], until: datetime) -> None:
        check_aware(until)
        if keys:
            with unavailable_as_such(), self.engine.begin() as conn:
                writer.extend_outbox(conn, worker, keys, until)

    def effects_delivered(self, keys: list[tuple[int, int]], worker: str | None = None) -> None:
        if keys:
            with unavailable_as_such(), self.engine.begin() as conn:
                writer.delete_outbox(conn, keys, worker)

    def claim_mark(self, key: str, at: datetime) -> bool:
        check_aware(at)
        try:
            with unavailable_as_such(), self.engine.begin() as conn:
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


class SqlTransaction:
    """:class:`bot.ports.Transaction` on one connection whose transaction the repository owns."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def chat(self, chat_key: str, *, lock: bool = False) -> ChatRow | None:
        return reader.get_chat(self.conn, chat_key, lock=lock)

    def add_chat(self, row: ChatRow) -> ChatRow:
        writer.insert_missing(self.conn, CHATS, params([row], CHAT_FIELDS))
        stored = reader.get_chat(self.conn, row.chat_key, lock=True)
        assert stored is not None
        return stored

    def add_deal(self, row: DealRow) -> bool:
        return writer.add_deal(self.conn, row)

    def lock_deal(self, deal_id: str) -> int | None:
        return reader.lock_deal(self.conn, deal_id)

    def chats(self, chat_keys: Sequence[str]) -> list[ChatRow]:
        return reader.get_chats(self.conn, chat_keys)

    def lock_deals(self, deal_ids: Sequence[str], *, skip_locked: bool = False) -> dict[str, int]:
        return reader.lock_deals(self.conn, deal_ids, skip_locked=skip_locked)

    def load_deal(self, deal_id: str) -> DealSnapshot | None:
        return reader.load_deal(self.conn, deal_id)

    def deal_changes(self, deal_id: str, since: int) -> DealSnapshot | None:
        return reader.deal_changes(self.conn, deal_id, since)

    def deals_changes(self, since: dict[str, int]) -> dict[str, DealSnapshot]:
        return reader.deals_changes(self.conn, since)

    def undealt_lines(self, chat_key: str) -> list[LineRow]:
        return reader.undealt_lines(self.conn, chat_key)

    def retired_group(self, chat_key: str) -> str | None:
        return reader.retired_group(self.conn, chat_key)

    def seen_message(self, chat_key: str, message_id: str) -> SeenMessage | None:
        return reader.seen_message(self.conn, chat_key, message_id)

    def has_other_messages(self, chat_key: str, deal_id: str) -> bool:
        return reader.has_other_messages(self.conn, chat_key, deal_id)

    def next_block(self) -> int:
        return writer.next_block(self.conn)

    def is_processed(self, source: str, update_id: str) -> bool:
        return reader.is_processed(self.conn, source, update_id)

    def add_audit(self, *, at: datetime, actor_id: str, actor_name: str, action: str, chat_key: str,
                  deal_id: str | None, detail: str) -> None:
        from storage.leaderday import add_audit

        add_audit(self.conn, at=at, actor_id=actor_id, actor_name=actor_name, action=action, chat_key=chat_key,
                  deal_id=deal_id, household=None, detail=detail)

    def write(self, changes: list[Changeset]) -> None:
        batch = [cs for cs in changes if not cs.is_empty()]
        if batch:
            writer.write(self.conn, batch)


class StoreOpenError(ValueError):
    """The store cannot be opened: a malformed URL, or a database that refuses or cannot be reached.

    The message is one line, and never holds the URL's password.
    """


def _first_line(exc: BaseException) -> str:
    """The database's own words, one line (SQLAlchemy's "Background on this error" link dropped)."""
    text = str(exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[:2])[:300] if lines else type(exc).__name__


def open_repository(url: str, **engine_options: Any) -> SqlRepository:
    """Connect to ``url``, upgrade the schema to the newest migration, and return the repository.

    ``url`` is a SQLAlchemy URL: ``sqlite:///tuan.db``, ``sqlite://`` (in memory) or
    ``postgresql+psycopg://user@host/db``. ``engine_options`` go to ``create_engine``.
    Raises :class:`StoreOpenError` (one line) for a malformed URL or a database that cannot be used.
    """
    try:
        engine = make_engine(url, **engine_options)
    except (ArgumentError, ValueError, ImportError) as e:
        raise StoreOpenError(f"not a usable database URL ({type(e).__name__}: {_first_line(e)})") from None
    except OSError as e:  # the SQLite file cannot be created or opened for writing (storage.engine.make_private)
        raise StoreOpenError(f"the SQLite file {e.filename} cannot be written ({e.strerror}): make it and its "
                             f"directory writable by the user running tuan, {ELSEWHERE}") from None
    try:
        upgrade(engine)
    except StoreUnavailable as e:  # a schema to write on a store that cannot be (storage.unwritable)
        engine.dispose()
        raise StoreOpenError(str(e).removeprefix("store unavailable: ")) from None
    except DBAPIError as e:
        engine.dispose()
        raise StoreOpenError(f"the database cannot be used: {_first_line(e)}") from None
    except BaseException:
        engine.dispose()
        raise
    return SqlRepository(engine)
