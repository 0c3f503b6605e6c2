"""Write changesets with bulk statements, inside the caller's transaction: on PostgreSQL one
``INSERT ... SELECT FROM unnest(arrays)`` per table (a whole group commit's rows in one statement,
:func:`_insert`), elsewhere one executemany per table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, select

from bot.ports import Changeset, DealRow
from storage.models import (
    CHATS,
    DEAL_CHATS,
    DEALS,
    ENTRIES,
    ID_BLOCK_SEQUENCE,
    ID_BLOCK_SIZE,
    ID_BLOCKS,
    ITEMS,
    LINES,
    MESSAGES,
    NOTICES,
    OUTBOX,
    PROCESSED,
)
from storage.rows import (
    CHAT_FIELDS,
    DEAL_FIELDS,
    ENTRY_FIELDS,
    LINE_FIELDS,
    MESSAGE_FIELDS,
    NOTICE_FIELDS,
    OUTBOX_FIELDS,
    item_params,
    params,
)

_INSERT_MESSAGES = insert(MESSAGES)
_INSERT_ENTRIES = insert(ENTRIES)
_INSERT_LINES = insert(LINES)
_INSERT_NOTICES = insert(NOTICES)
_INSERT_PROCESSED = insert(PROCESSED)
_INSERT_ITEMS = insert(ITEMS)
_INSERT_OUTBOX = insert(OUTBOX)
_SET_VERSION = DEALS.update().where(DEALS.c.id == bindparam("b_id")).values(version=bindparam("b_version"))
_DELETE_OUTBOX = delete(OUTBOX).where(OUTBOX.c.seq == bindparam("b_seq"), OUTBOX.c.n == bindparam("b_n"))
_DELETE_HELD_OUTBOX = _DELETE_OUTBOX.where(OUTBOX.c.claimed_by == bindparam("b_worker"))
_EXTEND_OUTBOX = (
    OUTBOX.update()
    .where(OUTBOX.c.seq == bindparam("b_seq"), OUTBOX.c.n == bindparam("b_n"),
           OUTBOX.c.claimed_by == bindparam("b_worker"))
    .values(claimed_until=bindparam("b_until"))
)
_UPDATE_ENTRIES = (
    ENTRIES.update()
    .where(ENTRIES.c.id == bindparam("b_id"))
    .values(superseded_seq=bindparam("b_superseded_seq"), removed=bindparam("b_removed"),
            touched=bindparam("b_touched"))
)
_UPDATE_LINES = (
    LINES.update()
    .where(LINES.c.id == bindparam("b_id"))
    .values(alive=bindparam("b_alive"), replaced_by=bindparam("b_replaced_by"), touched=bindparam("b_touched"))
)


def write(conn: Connection, batch: Sequence[Changeset]) -> None:
    """Apply every changeset of ``batch``, in order, through ``conn`` (the caller owns the transaction).

    A deal or chat row is its full new state: the last one of a batch wins, and a deal's items
    are replaced by the row's ``items``. Updates of unknown entries or lines raise ``KeyError``.
    Every message, entry and line written (inserted or updated) is stamped ``touched`` with its
    deal's version from the batch's ``versions``.
    """
    deals = {d.id: d for cs in batch for d in cs.deals}
    if deals:
        _upsert(conn, DEALS, params(deals.values(), DEAL_FIELDS), "id")
        conn.execute(delete(ITEMS).where(ITEMS.c.deal_id.in_(list(deals))))
        items = [p for d in deals.values() for p in item_params(d)]
        if items:
            conn.execute(_INSERT_ITEMS, items)
    chats = {c.chat_key: c for cs in batch for c in cs.chats}
    if chats:
        _upsert(conn, CHATS, params(chats.values(), CHAT_FIELDS), "chat_key")
    versions = {d: v for cs in batch for d, v in cs.versions.items()}
    _insert(conn, _INSERT_MESSAGES, _touched(params([cs.message for cs in batch if cs.message], MESSAGE_FIELDS),
                                             versions))
    _insert(conn, _INSERT_LINES, _touched(params([r for cs in batch for r in cs.lines_added], LINE_FIELDS), versions))
    _insert(conn, _INSERT_ENTRIES, _touched(params([r for cs in batch for r in cs.entries_added], ENTRY_FIELDS),
                                            versions))
    _update(conn, _UPDATE_LINES, LINES, [
        {"b_id": r.id, "b_alive": r.alive, "b_replaced_by": r.replaced_by, "b_touched": versions.get(r.deal_id or "")}
        for cs in batch for r in cs.lines_updated
    ])
    _update(conn, _UPDATE_ENTRIES, ENTRIES, [
        {"b_id": r.id, "b_superseded_seq": r.superseded_seq, "b_removed": r.removed,
         "b_touched": versions.get(r.deal_id)}
        for cs in batch for r in cs.entries_updated
    ])
    _insert(conn, _INSERT_NOTICES, params([r for cs in batch for r in cs.notices], NOTICE_FIELDS))
    _insert(conn, _INSERT_PROCESSED, [
        {"source": source, "update_id": update_id} for cs in batch for source, update_id in cs.processed
    ])
    _insert(conn, _INSERT_OUTBOX, params([r for cs in batch for r in cs.outbox], OUTBOX_FIELDS))
    pairs = list(dict.fromkeys(p for cs in batch for p in cs.deal_chats))
    if pairs:
        _insert_missing(conn, DEAL_CHATS, [{"deal_id": d, "chat_key": c} for d, c in pairs])
    if len(versions) > 1 and conn.dialect.name == "postgresql":  # one statement, as _insert
        vtype = DEALS.c.version.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"UPDATE deals SET version = v.version FROM unnest(CAST(%(ids)s AS VARCHAR[]), "
                             f"CAST(%(versions)s AS {vtype}[])) AS v(id, version) WHERE deals.id = v.id",
                             {"ids": list(versions), "versions": list(versions.values())})
    elif versions:
        conn.execute(_SET_VERSION, [{"b_id": d, "b_version": v} for d, v in versions.items()])


def _touched(rows: list[dict[str, Any]], versions: dict[str, int]) -> list[dict[str, Any]]:
    """Stamp each row with its deal's new version (``storage.models.TOUCHED``; None: no deal, or a
    deal whose version this batch does not move)."""
    for r in rows:
        r["touched"] = versions.get(r["deal_id"]) if r["deal_id"] is not None else None
    return rows


def next_block(conn: Connection) -> int:
    """Take the next id block (see ``storage.models.ID_BLOCKS``), in the caller's transaction."""
    if conn.dialect.name == "postgresql":
        return int(conn.scalar(ID_BLOCK_SEQUENCE.next_value()))
    block = conn.scalar(select(ID_BLOCKS.c.next_block).where(ID_BLOCKS.c.name == "ids"))
    if block is None:  # a store built before the row existed: start above every id in it
        block = first_free_block(conn)
        conn.execute(insert(ID_BLOCKS).values(name="ids", next_block=block + 1))
    else:
        conn.execute(ID_BLOCKS.update().where(ID_BLOCKS.c.name == "ids").values(next_block=block + 1))
    return int(block)


def first_free_block(conn: Connection) -> int:
    top = max(conn.scalar(select(func.max(t.c[col]))) or 0
              for t, col in ((MESSAGES, "seq"), (ENTRIES, "id"), (LINES, "id")))
    return int(top) // ID_BLOCK_SIZE + 1


def add_deal(conn: Connection, row: DealRow) -> bool:
    """Insert a deal and its items unless the id exists (two processes may add one shared deal)."""
    stmt = _dialect_insert(conn, DEALS).on_conflict_do_nothing().returning(DEALS.c.id)
    if conn.execute(stmt, params([row], DEAL_FIELDS)[0]).first() is None:
        return False
    items = item_params(row)
    if items:
        conn.execute(_INSERT_ITEMS, items)
    return True


def insert_missing(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING (rows another process may have written first)."""
    _insert_missing(conn, table, rows)


def delete_outbox(conn: Connection, keys: Sequence[tuple[int, int]], worker: str | None = None) -> None:
    """Delete the outbox rows of these ``(seq, n)`` keys (unknown keys are no error); with
    ``worker``, only those it holds."""
    if not keys:
        return
    if worker is None:
        conn.execute(_DELETE_OUTBOX, [{"b_seq": seq, "b_n": n} for seq, n in keys])
    else:
        conn.execute(_DELETE_HELD_OUTBOX, [{"b_seq": seq, "b_n": n, "b_worker": worker} for seq, n in keys])


def extend_outbox(conn: Connection, worker: str, keys: Sequence[tuple[int, int]], until: datetime) -> None:
    """Move the lease of the rows of these keys that ``worker`` holds to ``until``."""
    if keys:
        conn.execute(_EXTEND_OUTBOX, [{"b_seq": seq, "b_n": n, "b_worker": worker, "b_until": until}
                                      for seq, n in keys])


def _insert(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of one set of column names) with ``stmt`` (an ``insert(table)``).

    On PostgreSQL, several rows go in one statement whose parameters are one array per column
    (:func:`_unnest_insert`): a batch of a hundred messages costs a handful of statements, not
    one execution per row (psycopg's executemany runs the statement once per row)."""
    if not rows:
        return
    if len(rows) > 1 and conn.dialect.name == "postgresql" and all(r.keys() == rows[0].keys() for r in rows):
        _unnest_insert(conn, stmt.table, rows)
        return
    conn.execute(stmt, rows)


_UNNEST: dict[tuple[str, tuple[str, ...]], tuple[str, list[Any]]] = {}


def _unnest_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``INSERT INTO table (cols) SELECT * FROM unnest(CAST(%(c0)s AS type[]), ...)`` with one array
    per column, each value passed through its column type's bind processor (as SQLAlchemy would)."""
    names = tuple(rows[0])
    key = (table.name, names)
    cached = _UNNEST.get(key)
    if cached is None:
        dialect = conn.dialect
        quote = dialect.identifier_preparer.quote
        cols = [table.c[n] for n in names]
        casts = ", ".join(f"CAST(%(c{i})s AS {c.type.compile(dialect=dialect)}[])" for i, c in enumerate(cols))
        sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
               f"SELECT * FROM unnest({casts})")
        cached = _UNNEST[key] = (sql, [c.type.bind_processor(dialect) for c in cols])
    sql, processors = cached
    arrays: dict[str, list[Any]] = {}
    for i, (name, proc) in enumerate(zip(names, processors, strict=True)):
        values = [r[name] for r in rows]
        arrays[f"c{i}"] = [proc(v) for v in values] if proc is not None else values
    conn.exec_driver_sql(sql, arrays)


def _update(conn: Connection, stmt: Any, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    result = conn.execute(stmt, rows)
    if result.rowcount != len(rows):
        wanted = {r["b_id"] for r in rows}
        found = set(conn.scalars(select(table.c.id).where(table.c.id.in_(wanted))))
        raise KeyError(f"update of unknown {table.name} ids: {sorted(wanted - found)[:20]}")


def _dialect_insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":  # imported here: a SQLite run never loads the PostgreSQL dialect
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _insert_missing(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(_dialect_insert(conn, table).on_conflict_do_nothing(), rows)


def _upsert(conn: Connection, table: Table, rows: list[dict[str, Any]], key: str) -> None:
    """INSERT ... ON CONFLICT (key) DO UPDATE, the same on SQLite and PostgreSQL."""
    stmt = _dialect_insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[key],
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name != key},
    )
    conn.execute(stmt, rows)
