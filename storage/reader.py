"""Queries behind the repository's read methods, each taking the caller's connection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    text,
    tuple_,
)

from bot.ports import (
    ASK_KIND,
    ChatRow,
    DealRow,
    DealSnapshot,
    EntryRow,
    ItemRow,
    LineRow,
    MessageRow,
    NoticeRow,
    OutboxRow,
    SeenMessage,
)
from storage.models import CHATS, DEALS, ENTRIES, GROUPS, ITEMS, LINES, MESSAGES, NOTICES, OUTBOX, PROCESSED
from storage.rows import (
    CHAT_FIELDS,
    DEAL_FIELDS,
    ENTRY_FIELDS,
    LINE_FIELDS,
    MESSAGE_FIELDS,
    NOTICE_FIELDS,
    OUTBOX_FIELDS,
    build,
    columns,
    item_row,
)


def load_deal(conn: Connection, deal_id: str) -> DealSnapshot | None:
    """One deal with its entries, lines and messages (text only where a question was left open, §3.6)."""
    found = _deals(conn, select(*columns(DEALS, DEAL_FIELDS)).where(DEALS.c.id == deal_id))
    if not found:
        return None
    entries = build(EntryRow, conn.execute(
        select(*columns(ENTRIES, ENTRY_FIELDS)).where(ENTRIES.c.deal_id == deal_id).order_by(ENTRIES.c.id)
    ))
    lines = build(LineRow, conn.execute(
        select(*columns(LINES, LINE_FIELDS)).where(LINES.c.deal_id == deal_id).order_by(LINES.c.id)
    ))
    text = case((MESSAGES.c.kind == ASK_KIND, MESSAGES.c.text), else_=literal_column("''"))
    textless = columns(MESSAGES, MESSAGE_FIELDS, text=text.label("text"))
    messages = build(MessageRow, conn.execute(
        select(*textless).where(MESSAGES.c.deal_id == deal_id).order_by(MESSAGES.c.seq)
    ))
    return DealSnapshot(found[0], entries, lines, messages)


def deal_changes(conn: Connection, deal_id: str, since: int) -> DealSnapshot | None:
    """The deal's row and only its entries, lines and messages written after version ``since``
    (``touched > since``, ``storage.models.TOUCHED``), in the orders of :func:`load_deal`; None when
    the deal is unknown. What a cached copy at version ``since`` needs to catch up."""
    found = _deals(conn, select(*columns(DEALS, DEAL_FIELDS)).where(DEALS.c.id == deal_id))
    if not found:
        return None
    params = {"b_deal_id": deal_id, "b_since": since}
    entries = build(EntryRow, conn.execute(_CHANGED_ENTRIES, params))
    lines = build(LineRow, conn.execute(_CHANGED_LINES, params))
    messages = build(MessageRow, conn.execute(_CHANGED_MESSAGES, params))
    return DealSnapshot(found[0], entries, lines, messages)


_ASK_TEXT = case((MESSAGES.c.kind == ASK_KIND, MESSAGES.c.text), else_=literal_column("''")).label("text")
_CHANGED_ENTRIES = (select(*columns(ENTRIES, ENTRY_FIELDS))
                    .where(ENTRIES.c.deal_id == bindparam("b_deal_id"), ENTRIES.c.touched > bindparam("b_since"))
                    .order_by(ENTRIES.c.id))
_CHANGED_LINES = (select(*columns(LINES, LINE_FIELDS))
                  .where(LINES.c.deal_id == bindparam("b_deal_id"), LINES.c.touched > bindparam("b_since"))
                  .order_by(LINES.c.id))
_CHANGED_MESSAGES = (select(*columns(MESSAGES, MESSAGE_FIELDS, text=_ASK_TEXT))
                     .where(MESSAGES.c.deal_id == bindparam("b_deal_id"), MESSAGES.c.touched > bindparam("b_since"))
                     .order_by(MESSAGES.c.seq))


def deals_changes(conn: Connection, since: dict[str, int]) -> dict[str, DealSnapshot]:
    """:func:`deal_changes` of several deals (deal id -> its cached version), in five statements
    whatever their number on PostgreSQL (each table joined with ``unnest`` of the ids and
    versions); one deal at a time elsewhere. Unknown deals are left out."""
    if len(since) < 2 or conn.dialect.name != "postgresql":
        return {did: snap for did, v in since.items() if (snap := deal_changes(conn, did, v)) is not None}
    from sqlalchemy import BigInteger
    from sqlalchemy.dialects.postgresql import ARRAY

    wanted = func.unnest(bindparam("b_ids", list(since), type_=ARRAY(String)),
                         bindparam("b_since", list(since.values()), type_=ARRAY(BigInteger))
                         ).table_valued("id", "since").render_derived(name="wanted")
    deals = _deals(conn, select(*columns(DEALS, DEAL_FIELDS)).where(DEALS.c.id.in_(list(since))))
    out = {d.id: DealSnapshot(d, [], [], []) for d in deals}

    def changed(table: Any, fields: Any, key: Any, **extra: Any) -> Any:
        return conn.execute(select(*columns(table, fields, **extra)).select_from(
            table.join(wanted, and_(table.c.deal_id == wanted.c.id, table.c.touched > wanted.c.since))).order_by(key))

    for e in build(EntryRow, changed(ENTRIES, ENTRY_FIELDS, ENTRIES.c.id)):
        if e.deal_id in out:
            out[e.deal_id].entries.append(e)
    for line in build(LineRow, changed(LINES, LINE_FIELDS, LINES.c.id)):
        if line.deal_id in out:
            out[line.deal_id].lines.append(line)
    for m in build(MessageRow, changed(MESSAGES, MESSAGE_FIELDS, MESSAGES.c.seq, text=_ASK_TEXT)):
        if m.deal_id in out:
            out[m.deal_id].messages.append(m)
    return out


def undealt_lines(conn: Connection, chat_key: str) -> list[LineRow]:
    query = (select(*columns(LINES, LINE_FIELDS)).where(LINES.c.chat_key == chat_key, LINES.c.deal_id.is_(None))
             .order_by(LINES.c.id))
    return build(LineRow, conn.execute(query))


def retired_group(conn: Connection, chat_key: str) -> str | None:
    """The id of the retired group whose chat ``chat_key`` is, or None; the row is held FOR SHARE on
    PostgreSQL (a retirement waits for this transaction; SQLite's write lock serialises them)."""
    query = select(GROUPS.c.id, GROUPS.c.retired_at).where(GROUPS.c.chat_key == chat_key)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    row = conn.execute(query).first()
    return str(row.id) if row is not None and row.retired_at is not None else None


def seen_message(conn: Connection, chat_key: str, message_id: str) -> SeenMessage | None:
    row = conn.execute(_SEEN_MESSAGE, {"b_chat_key": chat_key, "b_message_id": message_id}).first()
    return SeenMessage(*row) if row is not None else None


def has_other_messages(conn: Connection, chat_key: str, deal_id: str) -> bool:
    other = exists().where(MESSAGES.c.chat_key == chat_key,
                           or_(MESSAGES.c.deal_id.is_(None), MESSAGES.c.deal_id != deal_id))
    return bool(conn.scalar(select(other)))


_GET_CHAT = select(*columns(CHATS, CHAT_FIELDS)).where(CHATS.c.chat_key == bindparam("b_chat_key"))
_LOCK_CHAT = _GET_CHAT.with_for_update()
_LOCK_DEAL = select(DEALS.c.version).where(DEALS.c.id == bindparam("b_deal_id")).with_for_update()
_SEEN_MESSAGE = (
    select(MESSAGES.c.seq, MESSAGES.c.sender_id, MESSAGES.c.edit_of, MESSAGES.c.deal_id)
    .where(MESSAGES.c.chat_key == bindparam("b_chat_key"), MESSAGES.c.message_id == bindparam("b_message_id"))
    .order_by(MESSAGES.c.seq.desc()).limit(1)
)


def get_chat(conn: Connection, chat_key: str, *, lock: bool = False) -> ChatRow | None:
    row = conn.execute(_LOCK_CHAT if lock else _GET_CHAT, {"b_chat_key": chat_key}).first()
    return ChatRow(*row) if row is not None else None


_GET_CHATS = select(*columns(CHATS, CHAT_FIELDS)).where(CHATS.c.chat_key.in_(bindparam("b_keys", expanding=True)))


def get_chats(conn: Connection, chat_keys: Sequence[str]) -> list[ChatRow]:
    """The rows of the chats of ``chat_keys`` that exist (in no particular order)."""
    return build(ChatRow, conn.execute(_GET_CHATS, {"b_keys": list(chat_keys)}))


def chats_with_deal(conn: Connection) -> list[ChatRow]:
    query = select(*columns(CHATS, CHAT_FIELDS)).where(CHATS.c.deal_id.is_not(None)).order_by(CHATS.c.chat_key)
    return build(ChatRow, conn.execute(query))


def lock_deal(conn: Connection, deal_id: str) -> int | None:
    """The deal's version, its row locked until the transaction ends (PostgreSQL; SQLite ignores
    FOR UPDATE, its transaction already holds the write lock)."""
    return conn.scalar(_LOCK_DEAL, {"b_deal_id": deal_id})


_LOCK_DEALS = (select(DEALS.c.id, DEALS.c.version).where(DEALS.c.id.in_(bindparam("b_ids", expanding=True)))
               .order_by(DEALS.c.id).with_for_update())
_TRY_LOCK_DEALS = (select(DEALS.c.id, DEALS.c.version).where(DEALS.c.id.in_(bindparam("b_ids", expanding=True)))
                   .order_by(DEALS.c.id).with_for_update(skip_locked=True))


def lock_deals(conn: Connection, deal_ids: Sequence[str], *, skip_locked: bool = False) -> dict[str, int]:
    """Deal id -> version of the deals of ``deal_ids`` that exist, their rows locked in id order (the
    rows are locked as the sorted rows are returned: two callers never wait on each other in a cycle).

    ``skip_locked``: never wait; a row another transaction holds is left out, as if it did not exist
    (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite's one writer holds every row already)."""
    query = _TRY_LOCK_DEALS if skip_locked else _LOCK_DEALS
    return {did: int(v) for did, v in conn.execute(query, {"b_ids": list(deal_ids)})}


def get_deal(conn: Connection, deal_id: str) -> DealRow | None:
    found = _deals(conn, select(*columns(DEALS, DEAL_FIELDS)).where(DEALS.c.id == deal_id))
    return found[0] if found else None


def deal_entries(conn: Connection, deal_id: str) -> list[EntryRow]:
    query = select(*columns(ENTRIES, ENTRY_FIELDS)).where(ENTRIES.c.deal_id == deal_id).order_by(ENTRIES.c.id)
    return build(EntryRow, conn.execute(query))


def message_times(conn: Connection, seqs: Sequence[int]) -> dict[int, datetime]:
    """seq -> ts of the handled messages of ``seqs`` (in chunks, far below SQLite's parameter limit)."""
    out: dict[int, datetime] = {}
    wanted = list(seqs)
    for start in range(0, len(wanted), 500):
        query = select(MESSAGES.c.seq, MESSAGES.c.ts).where(MESSAGES.c.seq.in_(wanted[start:start + 500]))
        out.update({int(seq): ts for seq, ts in conn.execute(query)})
    return out


def notices(conn: Connection, chat_keys: Sequence[str] | None) -> list[NoticeRow]:
    query = select(*columns(NOTICES, NOTICE_FIELDS)).order_by(NOTICES.c.id)
    if chat_keys is not None:
        query = query.where(NOTICES.c.chat_key.in_(list(chat_keys)))
    return build(NoticeRow, conn.execute(query))


def pending_effects(conn: Connection, created_before: datetime) -> list[OutboxRow]:
    query = (select(*columns(OUTBOX, OUTBOX_FIELDS)).where(OUTBOX.c.created_at < created_before)
             .order_by(OUTBOX.c.seq, OUTBOX.c.n))
    return build(OutboxRow, conn.execute(query))


_CLAIM_LOCK_KEY = 0x6F757462  # "outb": with the schema's hash, the two-key advisory lock of outbox claims


def claim_effects(conn: Connection, worker: str, until: datetime, now: datetime, limit: int,
                  takeover: bool, skip: Sequence[str] = ()) -> list[OutboxRow]:
    """Claim outbox rows for ``worker`` (see :meth:`bot.ports.Repository.claim_effects`), in the
    caller's transaction: one ``UPDATE ... WHERE (seq, n) IN (SELECT ... FOR UPDATE SKIP LOCKED)
    RETURNING``; on PostgreSQL claims are serialised by a transaction-level advisory lock (SQLite:
    its write lock does that, and there is no SKIP LOCKED).

    A row is not taken while an earlier row of its chat is still held (its lease running): a chat's
    effects go out in ``seq`` order even when their leases end one by one. Rows of the chats of the
    platforms in ``skip`` (chat keys ``"<platform>:..."``) are left alone: another worker delivers them.
    """
    held = (select(OUTBOX.c.chat_key, func.min(OUTBOX.c.seq).label("seq"))
            .where(not_(_claimable(OUTBOX, worker, now, takeover))).group_by(OUTBOX.c.chat_key).subquery("held"))
    chosen = (select(OUTBOX.c.seq, OUTBOX.c.n)
              .select_from(OUTBOX.outerjoin(held, held.c.chat_key == OUTBOX.c.chat_key))
              .where(_claimable(OUTBOX, worker, now, takeover), or_(held.c.seq.is_(None), OUTBOX.c.seq < held.c.seq),
                     *(not_(OUTBOX.c.chat_key.startswith(f"{p}:", autoescape=True)) for p in skip))
              .order_by(OUTBOX.c.seq, OUTBOX.c.n).limit(limit))
    if conn.dialect.name == "postgresql":
        # claims one at a time (a few ms each): a claim started beside another would not see the rows
        # that one is taking as held, and could take a later row of the same chat
        conn.execute(text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": _CLAIM_LOCK_KEY})
        chosen = chosen.with_for_update(skip_locked=True, of=OUTBOX)
    stmt = (OUTBOX.update().where(tuple_(OUTBOX.c.seq, OUTBOX.c.n).in_(chosen))
            .values(claimed_by=worker, claimed_until=until)
            .returning(*columns(OUTBOX, OUTBOX_FIELDS)))
    return sorted(build(OutboxRow, conn.execute(stmt)), key=lambda r: (r.seq, r.n))


def _claimable(table: Any, worker: str, now: datetime, takeover: bool) -> Any:
    """Whether a row of ``table`` may be claimed: its lease ended (or nobody holds it); with
    ``takeover``, also when another worker holds it."""
    free = or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
    if takeover:
        free = or_(free, table.c.claimed_by.is_(None), table.c.claimed_by != worker)
    return free


def is_processed(conn: Connection, source: str, update_id: str) -> bool:
    mark = exists().where(PROCESSED.c.source == source, PROCESSED.c.update_id == update_id)
    return bool(conn.scalar(select(mark)))


def _deals(conn: Connection, query: Select[Any]) -> list[DealRow]:
    """Deals of ``query`` (oldest first) with their items in catalog order."""
    rows = conn.execute(query.order_by(DEALS.c.created_at, DEALS.c.id))
    deals = [DealRow(**row._mapping) for row in rows]
    if not deals:
        return deals
    by_id: dict[str, list[ItemRow]] = defaultdict(list)
    items = select(ITEMS).where(ITEMS.c.deal_id.in_([d.id for d in deals]))
    for row in conn.execute(items.order_by(ITEMS.c.deal_id, ITEMS.c.position, ITEMS.c.code)):
        by_id[row.deal_id].append(item_row(row))
    for deal in deals:
        deal.items = by_id[deal.id]
    return deals
