"""``MemoryRepository``: the store port (:class:`bot.ports.Repository`) in this process's memory.

What `tuan replay` uses without ``--db`` (a replay's store is thrown away when it ends, so a
database file would only cost time: the SQLAlchemy import alone took longer than reading the
transcript). It is a complete store, not a test fake: for everything the order service asks it
behaves as :class:`storage.sql.SqlRepository` does, and ``tests/test_store_contract.py`` and
``tests/test_replay_memory.py`` hold it to that:

- rows are copied in and out (a caller changing a row it wrote or read changes nothing stored);
  instants come back in UTC, prices with two places (``Numeric(12, 2)``), aliases as a tuple;
- the orders of :mod:`storage.reader`: entries and lines by id, messages by seq, notices in
  commit order, outbox rows by ``(seq, n)``, a deal's items by position then code;
- the ``touched`` stamps of :mod:`storage.writer` (``deal_changes``), id blocks from 1 on
  (``next_block``), and the refusals of the schema: duplicate keys, a row of an unknown deal
  (the foreign keys), an update of an unknown entry or line (``KeyError``, as the writer), a
  NULL in a NOT NULL column, a naive datetime, a price ``Numeric(12, 2)`` cannot hold, and text
  a database cannot store (a lone surrogate, which neither SQLite nor PostgreSQL can encode, or
  NUL, which PostgreSQL refuses). Each refused call raises ``ValueError`` (or ``KeyError``) and
  writes nothing;
- all or nothing: a transaction (:meth:`MemoryRepository.transaction`) keeps an undo log and
  rolls back everything it wrote, id blocks included (as SQLite does), when its block raises.

Transactions are serialised by one lock, as SQLite's write lock does: another thread waits.
Reads through the repository (not the transaction) from the thread that holds an open
transaction see that transaction's writes; SQL would show them the last commit. The order
service never reads what it has written in the same transaction that way.

Limits: one process (two processes cannot share it; issue 10's multi-process replay needs
``--db``); integers are not range-checked as a 32/64-bit column would be (the service's ids,
seqs and quantities are far below those limits).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from datetime import datetime
from functools import partial
from itertools import repeat
from operator import attrgetter, is_
from typing import Any, TypeVar

from bot.ports import (
    ASK_KIND,
    Changeset,
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
from storage.values import as_money, as_utc, check_aware

R = TypeVar("R")
Undo = Callable[[], object]


def _getter(names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    """``attrgetter`` that always returns a tuple (of zero, one or more attributes)."""
    if not names:
        return lambda row: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda row: (one(row),)
    return attrgetter(*names)


class _Columns:
    """How one row dataclass is checked and copied: its fields, which may not be None (the
    schema's NOT NULL, read from the ``X | None`` annotations), which hold text and instants."""

    def __init__(self, cls: type, table: str, *, skip: tuple[str, ...] = ()) -> None:
        self.cls = cls
        self.table = table
        flds = [f for f in fields(cls) if f.name not in skip]
        self.names = tuple(f.name for f in flds)
        self.get = attrgetter(*self.names)
        kinds = {f.name: str(f.type) for f in flds}
        required = [n for n, k in kinds.items() if "None" not in k]
        texts = [n for n, k in kinds.items() if k.startswith("str")]
        self.required = _getter(required)
        # the short texts are checked joined, in one pass; a long one (a message's text) on its own
        self.short_texts = _getter([n for n in texts if n in required and n != "text"])
        optional = [n for n in texts if n not in required]
        long = [n for n in texts if n in required and n == "text"]
        tuples = [n for n, k in kinds.items() if k.startswith("tuple[str")]
        self.optional_texts, self.long_text, self.text_tuples = _getter(optional), _getter(long), _getter(tuples)
        self.has_optional, self.has_long, self.has_tuples = bool(optional), bool(long), bool(tuples)
        self.times = tuple(i for i, n in enumerate(self.names) if kinds[n].startswith("datetime"))
        self.checked = _CheckedText()

    def values(self, row: object) -> Sequence[Any]:
        """The row's values in field order, checked and normalised as a store writes them.

        Raises ``ValueError`` for a None in a NOT NULL column, text that cannot be stored, or a
        naive datetime."""
        vals: Sequence[Any] = self.get(row)
        if any(map(is_, self.required(row), repeat(None))):  # (identity only: ``None in`` compares)
            self._refuse(row)
        short = "".join(self.short_texts(row))
        if self.has_optional:
            short += "".join([t for t in self.optional_texts(row) if t is not None])
        if not _storable(short):
            self._refuse(row)
        if self.has_long and not all(map(self.checked.storable, self.long_text(row))):
            self._refuse(row)
        if self.has_tuples:
            for tup in self.text_tuples(row):
                if not all(map(_storable, tup)):
                    self._refuse(row)
        if self.times:
            vals = list(vals)
            for i in self.times:
                if vals[i] is not None:
                    vals[i] = as_utc(vals[i])
        return vals

    def _refuse(self, row: object) -> None:
        """Raise the ``ValueError`` that names the first column of ``row`` a store refuses."""
        required = set(_getter_names(self.required))
        for name in self.names:
            v = getattr(row, name)
            if v is None and name in required:
                raise ValueError(f"{self.table}.{name}: NOT NULL column given None")
            for s in v if isinstance(v, tuple) else (v,):
                if isinstance(s, str):
                    _check_text(s, self.table, name)
        raise AssertionError(f"{self.table}: a row refused for no reason found")


def _getter_names(get: Callable[[Any], tuple[Any, ...]]) -> tuple[str, ...]:
    """The attribute names a :func:`_getter` reads (read back by giving it a recording object)."""
    class Names:
        def __getattr__(self, name: str) -> str:
            return name
    return tuple(get(Names()))


def _storable(s: str) -> bool:
    """Whether a database can store ``s`` (as :func:`bot.model.storable` says): no NUL (PostgreSQL
    refuses it) and no lone surrogate (not encodable as UTF-8, so neither SQLite nor PostgreSQL)."""
    if s.isascii():
        return "\x00" not in s
    try:
        return b"\x00" not in s.encode("utf-8")  # (memchr on the bytes: faster than on a wide str)
    except UnicodeEncodeError:
        return False


class _CheckedText:
    """:func:`_storable` for a column's long texts, remembering the last text found storable.

    In a 接龙 each message repeats the one before it and adds a line (a 1,000-resident copy chain
    is 25 MB of text in all), so when a text starts with the remembered one only the rest is
    checked: storability is a property of each code point (no NUL, no surrogate), so ``a + b`` is
    storable exactly when ``a`` and ``b`` are (``tests/test_memory_store.py`` holds the two checks
    equal). The ``startswith`` is a memory compare, far cheaper than encoding the text. One text is
    remembered (the last storable one, of any chat): a copy chain's messages come one after another.
    Safe across threads: ``last`` is only ever replaced by another text found storable."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = ""

    def storable(self, s: str) -> bool:
        """Whether a database can store ``s`` (the answer of :func:`_storable`)."""
        last = self.last
        if last and s.startswith(last):
            if not _storable(s[len(last):]):
                return False
        elif not _storable(s):
            return False
        self.last = s
        return True


def _check_text(s: str, table: str, column: str) -> None:
    """``ValueError`` naming the column when a database cannot store ``s`` (:func:`_storable`)."""
    if "\x00" in s:
        raise ValueError(f"{table}.{column}: text holds NUL, which a database cannot store")
    if not _storable(s):
        raise ValueError(f"{table}.{column}: text holds a lone surrogate, which a database cannot store")


_DEAL = _Columns(DealRow, "deals", skip=("items",))
_ITEM = _Columns(ItemRow, "deal_items")
_CHAT = _Columns(ChatRow, "chats")
_MESSAGE = _Columns(MessageRow, "messages")
_ENTRY = _Columns(EntryRow, "entries")
_LINE = _Columns(LineRow, "lines")
_NOTICE = _Columns(NoticeRow, "notices")
_OUTBOX = _Columns(OutboxRow, "outbox")
_PRICE = _ITEM.names.index("price")
_ALIASES = _ITEM.names.index("aliases")
_MESSAGE_COPY = attrgetter(*(f.name for f in fields(MessageRow)))
_ENTRY_COPY = attrgetter(*_ENTRY.names)
_LINE_COPY = attrgetter(*_LINE.names)
_OUTBOX_COPY = attrgetter(*_OUTBOX.names)
_CHAT_COPY = attrgetter(*_CHAT.names)
_KIND = _MESSAGE.names.index("kind")
_TEXT = _MESSAGE.names.index("text")


def _copy(cls: Callable[..., R], get: Callable[[Any], tuple[Any, ...]], row: Any) -> R:
    return cls(*get(row))


def _copies(cls: Callable[..., R], get: Callable[[Any], tuple[Any, ...]], rows: Sequence[Any]) -> list[R]:
    return [cls(*get(r)) for r in rows]


def _textless(m: MessageRow) -> MessageRow:
    """A message as a deal's snapshot holds it: its text only where a question was left open (§3.6)."""
    vals = list(_MESSAGE_COPY(m))
    if vals[_KIND] != ASK_KIND:
        vals[_TEXT] = ""
    return MessageRow(*vals)


class _Store:
    """The tables, with the indexes the port's reads need; every change goes through the open
    transaction's undo log (:attr:`undo`)."""

    def __init__(self) -> None:
        self.undo: list[Undo] | None = None  # the open transaction's undo log, None outside one
        self.deals: dict[str, DealRow] = {}
        self.chats: dict[str, ChatRow] = {}
        self.deal_chats: dict[tuple[str, str], None] = {}
        self.messages: dict[int, MessageRow] = {}
        self.entries: dict[int, EntryRow] = {}
        self.lines: dict[int, LineRow] = {}
        # the stamp (``touched``) of each message, entry and line: the deal version that last wrote it
        self.message_touched: dict[int, int | None] = {}
        self.entry_touched: dict[int, int | None] = {}
        self.line_touched: dict[int, int | None] = {}
        self.deal_messages: dict[str, list[int]] = {}
        self.deal_entries: dict[str, list[int]] = {}
        self.deal_lines: dict[str, list[int]] = {}
        self.undealt_lines: dict[str, list[int]] = {}  # chat key -> its lines with no deal
        self.latest: dict[tuple[str, str], int] = {}  # (chat key, platform id) -> its latest seq
        self.chat_rounds: dict[str, dict[str | None, int]] = {}  # chat key -> deal id -> messages
        self.notices: list[NoticeRow] = []
        self.processed: dict[tuple[str, str], None] = {}
        self.marks: dict[str, datetime] = {}
        self.outbox: dict[tuple[int, int], OutboxRow] = {}
        self.audit: list[dict[str, Any]] = []
        self.next_block = 1  # a fresh SQL store's first block (storage/migrations 0006)

    # -- primitive changes, each undone by the transaction's rollback ------------------------------

    def _log(self, undo: Undo) -> None:
        if self.undo is None:
            raise RuntimeError("a memory store is written only inside a transaction")
        self.undo.append(undo)

    def put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        """``table[key] = value``, undone by restoring what was there (or removing the key)."""
        if key in table:
            self._log(partial(table.__setitem__, key, table[key]))
        else:
            self._log(partial(table.__delitem__, key))
        table[key] = value

    def drop(self, table: dict[Any, Any], key: Any) -> None:
        self._log(partial(table.__setitem__, key, table.pop(key)))

    def insert(self, table: dict[Any, Any], key: Any, value: Any, what: str) -> None:
        """Insert a row under a new primary key; ``ValueError`` when the key exists."""
        if key in table:
            raise ValueError(f"{what}: duplicate key {key!r}")
        table[key] = value
        self._log(partial(table.__delitem__, key))

    # -- rows --------------------------------------------------------------------------------------

    def deal_row(self, row: DealRow) -> DealRow:
        """A checked copy of a deal row and its items (items: unique codes, prices as stored)."""
        items: list[ItemRow] = []
        codes: set[str] = set()
        for it in row.items:
            vals = list(_ITEM.values(it))
            vals[_PRICE] = as_money(vals[_PRICE])
            vals[_ALIASES] = tuple(vals[_ALIASES])
            if vals[0] in codes:
                raise ValueError(f"deal_items: duplicate key ({row.id!r}, {vals[0]!r})")
            codes.add(vals[0])
            items.append(ItemRow(*vals))
        return _deal(_DEAL.values(row), sorted(items, key=lambda i: (i.position, i.code)))

    def check_deal(self, deal_id: str | None, what: str) -> None:
        """The foreign key to ``deals``: ``ValueError`` for an id no deal has."""
        if deal_id is not None and deal_id not in self.deals:
            raise ValueError(f"{what}: foreign key: no deal {deal_id!r}")

    def write(self, batch: Sequence[Changeset]) -> None:
        """Apply the changesets in order, as :func:`storage.writer.write` does (same statements,
        same order, so the same refusals). The caller's transaction undoes a refused batch."""
        deals: dict[str, DealRow] = {}
        for cs in batch:
            for d in cs.deals:
                deals[d.id] = d
        for d in deals.values():
            self.put(self.deals, d.id, self.deal_row(d))
        chats: dict[str, ChatRow] = {}
        for cs in batch:
            for c in cs.chats:
                chats[c.chat_key] = c
        for c in chats.values():
            copy = ChatRow(*_CHAT.values(c))
            self.check_deal(copy.deal_id, "chats.deal_id")
            self.put(self.chats, copy.chat_key, copy)
        versions = {d: v for cs in batch for d, v in cs.versions.items()}
        for cs in batch:
            if cs.message is not None:
                self.add_message(cs.message, versions)
        for cs in batch:
            for ln in cs.lines_added:
                self.add_line(ln, versions)
        for cs in batch:
            for e in cs.entries_added:
                self.add_entry(e, versions)
        self.update_lines([r for cs in batch for r in cs.lines_updated], versions)
        self.update_entries([r for cs in batch for r in cs.entries_updated], versions)
        for cs in batch:
            for n in cs.notices:
                self.notices.append(NoticeRow(*_NOTICE.values(n)))
                self._log(self.notices.pop)
        for cs in batch:
            for p in cs.processed:
                for part in p:
                    _check_text(part, "processed", "source, update_id")
                self.insert(self.processed, p, None, "processed")
        for cs in batch:
            for o in cs.outbox:
                effect = OutboxRow(*_OUTBOX.values(o))
                self.insert(self.outbox, (effect.seq, effect.n), effect, "outbox")
        for cs in batch:
            for pair in cs.deal_chats:
                if pair not in self.deal_chats:
                    self.check_deal(pair[0], "deal_chats.deal_id")
                    self.put(self.deal_chats, pair, None)
        for did, v in versions.items():
            stored = self.deals.get(did)
            if stored is not None and stored.version != v:
                self.put(self.deals, did, _with_version(stored, v))

    # Each added row is one entry of the undo log, which takes it out of every index again (undos
    # run in reverse order, so an index list's last element is the row's).

    def add_message(self, m: MessageRow, versions: dict[str, int]) -> None:
        copy = MessageRow(*_MESSAGE.values(m))
        seq, did = copy.seq, copy.deal_id
        if seq in self.messages:
            raise ValueError(f"messages: duplicate key {seq!r}")
        self.messages[seq] = copy
        self.message_touched[seq] = versions.get(did) if did is not None else None
        if did is not None:
            self.deal_messages.setdefault(did, []).append(seq)
        key = (copy.chat_key, copy.message_id)
        before = self.latest.get(key)
        if before is None or seq > before:
            self.latest[key] = seq
        rounds = self.chat_rounds.setdefault(copy.chat_key, {})
        rounds[did] = rounds.get(did, 0) + 1
        self._log(partial(self._unadd_message, copy, before))

    def _unadd_message(self, m: MessageRow, before: int | None) -> None:
        del self.messages[m.seq], self.message_touched[m.seq]
        if m.deal_id is not None:
            self.deal_messages[m.deal_id].pop()
        key = (m.chat_key, m.message_id)
        if before is None:
            del self.latest[key]
        else:
            self.latest[key] = before
        rounds = self.chat_rounds[m.chat_key]
        rounds[m.deal_id] -= 1
        if not rounds[m.deal_id]:
            del rounds[m.deal_id]

    def add_line(self, ln: LineRow, versions: dict[str, int]) -> None:
        copy = LineRow(*_LINE.values(ln))
        lid, did = copy.id, copy.deal_id
        if lid in self.lines:
            raise ValueError(f"lines: duplicate key {lid!r}")
        self.lines[lid] = copy
        self.line_touched[lid] = versions.get(did) if did is not None else None
        index = self.deal_lines.setdefault(did, []) if did is not None else self.undealt_lines.setdefault(
            copy.chat_key, [])
        index.append(lid)
        self._log(partial(self._unadd_line, lid, index))

    def _unadd_line(self, line_id: int, index: list[int]) -> None:
        del self.lines[line_id], self.line_touched[line_id]
        index.pop()

    def add_entry(self, e: EntryRow, versions: dict[str, int]) -> None:
        copy = EntryRow(*_ENTRY.values(e))
        eid, did = copy.id, copy.deal_id
        self.check_deal(did, "entries.deal_id")
        if eid in self.entries:
            raise ValueError(f"entries: duplicate key {eid!r}")
        self.entries[eid] = copy
        self.entry_touched[eid] = versions.get(did)
        index = self.deal_entries.setdefault(did, [])
        index.append(eid)
        self._log(partial(self._unadd_entry, eid, index))

    def _unadd_entry(self, entry_id: int, index: list[int]) -> None:
        del self.entries[entry_id], self.entry_touched[entry_id]
        index.pop()

    def update_lines(self, rows: list[LineRow], versions: dict[str, int]) -> None:
        """Set ``alive``, ``replaced_by`` (and the stamp) of known lines; the rest of a row is not
        looked at (:data:`storage.writer._UPDATE_LINES`). ``KeyError`` for unknown ids."""
        _known(self.lines, [r.id for r in rows], "lines")
        for r in rows:
            vals = list(_LINE_COPY(self.lines[r.id]))
            vals[_LINE_ALIVE], vals[_LINE_REPLACED] = r.alive, r.replaced_by
            if r.alive is None:
                raise ValueError("lines.alive: NOT NULL column given None")
            self.put(self.lines, r.id, LineRow(*vals))
            self.put(self.line_touched, r.id, versions.get(r.deal_id or ""))

    def update_entries(self, rows: list[EntryRow], versions: dict[str, int]) -> None:
        """Set ``superseded_seq``, ``removed`` (and the stamp) of known entries; ``KeyError`` for
        unknown ids (:data:`storage.writer._UPDATE_ENTRIES`)."""
        _known(self.entries, [r.id for r in rows], "entries")
        for r in rows:
            vals = list(_ENTRY_COPY(self.entries[r.id]))
            vals[_ENTRY_SUPERSEDED], vals[_ENTRY_REMOVED] = r.superseded_seq, r.removed
            if r.removed is None:
                raise ValueError("entries.removed: NOT NULL column given None")
            self.put(self.entries, r.id, EntryRow(*vals))
            self.put(self.entry_touched, r.id, versions.get(r.deal_id))

    # -- reads -------------------------------------------------------------------------------------

    def deal(self, deal_id: str) -> DealRow | None:
        d = self.deals.get(deal_id)
        if d is None:
            return None
        return _deal(_DEAL.get(d), [ItemRow(*_ITEM.get(i)) for i in d.items])

    def snapshot(self, deal_id: str, since: int | None) -> DealSnapshot | None:
        """The deal with its entries, lines and messages (``since``: only those stamped after it)."""
        row = self.deal(deal_id)
        if row is None:
            return None
        def fresh(touched: dict[int, int | None], keys: list[int]) -> list[int]:
            ordered = sorted(keys)
            if since is None:
                return ordered
            return [k for k in ordered if (t := touched[k]) is not None and t > since]

        entries = _copies(EntryRow, _ENTRY_COPY,
                          [self.entries[i] for i in fresh(self.entry_touched, self.deal_entries.get(deal_id, []))])
        lines = _copies(LineRow, _LINE_COPY,
                        [self.lines[i] for i in fresh(self.line_touched, self.deal_lines.get(deal_id, []))])
        messages = [_textless(self.messages[s])
                    for s in fresh(self.message_touched, self.deal_messages.get(deal_id, []))]
        return DealSnapshot(row, entries, lines, messages)


_LINE_ALIVE = _LINE.names.index("alive")
_LINE_REPLACED = _LINE.names.index("replaced_by")
_ENTRY_SUPERSEDED = _ENTRY.names.index("superseded_seq")
_ENTRY_REMOVED = _ENTRY.names.index("removed")


def _deal(values: Sequence[Any], items: list[ItemRow]) -> DealRow:
    """A deal row of its values in :data:`_DEAL` order (every field but ``items``) and its items."""
    return DealRow(**dict(zip(_DEAL.names, values, strict=True)), items=items)


def _with_version(d: DealRow, version: int) -> DealRow:
    copy = _deal(_DEAL.get(d), d.items)  # the stored item rows are never changed in place
    copy.version = version
    return copy


def _known(table: dict[int, Any], ids: list[int], name: str) -> None:
    """``KeyError`` naming the ids of ``ids`` that ``table`` lacks (the writer's message)."""
    missing = {i for i in ids if i not in table}
    if missing:
        raise KeyError(f"update of unknown {name} ids: {sorted(missing)[:20]}")


class MemoryRepository:
    """The order service's store in this process's memory (see the module's description).

    Safe to share between threads (one transaction at a time); every method may raise
    ``ValueError``/``KeyError`` for what the schema refuses, never :class:`bot.ports.StoreUnavailable`
    (memory is always there). Nothing survives the process.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._store = _Store()
        self._owner: int | None = None  # the thread that holds the open transaction

    @contextlib.contextmanager
    def transaction(self) -> Iterator[MemoryTransaction]:
        """A unit of work (:class:`bot.ports.Transaction`): kept when the block ends, every change
        of it undone when the block raises. Another thread's transaction waits for this one.
        ``RuntimeError`` when this thread has a transaction open already (SQL would wait for itself)."""
        with self._lock:
            st = self._store
            if st.undo is not None:
                raise RuntimeError("a transaction is already open in this thread")
            st.undo = []
            try:
                yield MemoryTransaction(st)
            except BaseException:
                undo, st.undo = st.undo, None
                for step in reversed(undo):
                    step()
                raise
            finally:
                st.undo = None

    def commit(self, changes: Changeset) -> None:
        self.commit_many([changes])

    def commit_many(self, changes: list[Changeset]) -> None:
        batch = [cs for cs in changes if not cs.is_empty()]
        if batch:
            with self.transaction() as tx:
                tx.write(batch)

    def is_processed(self, source: str, update_id: str) -> bool:
        with self._lock:
            return (source, update_id) in self._store.processed

    def deal_entries(self, deal_id: str) -> list[EntryRow]:
        with self._lock:
            st = self._store
            return _copies(EntryRow, _ENTRY_COPY, [st.entries[i] for i in sorted(st.deal_entries.get(deal_id, []))])

    def get_deal(self, deal_id: str) -> DealRow | None:
        with self._lock:
            return self._store.deal(deal_id)

    def message_times(self, seqs: list[int]) -> dict[int, datetime]:
        with self._lock:
            messages = self._store.messages
            return {s: messages[s].ts for s in seqs if s in messages}

    def get_chat(self, chat_key: str) -> ChatRow | None:
        with self._lock:
            row = self._store.chats.get(chat_key)
            return None if row is None else _copy(ChatRow, _CHAT_COPY, row)

    def chats_with_deal(self) -> list[ChatRow]:
        with self._lock:
            chats = self._store.chats
            return [_copy(ChatRow, _CHAT_COPY, chats[k]) for k in sorted(chats) if chats[k].deal_id is not None]

    def claim_mark(self, key: str, at: datetime) -> bool:
        at = as_utc(at)
        with self.transaction():
            st = self._store
            if key in st.marks:
                return False
            _check_text(key, "marks", "key")
            st.put(st.marks, key, at)
            return True

    def notices(self, chat_keys: list[str] | None = None) -> list[NoticeRow]:
        with self._lock:
            rows = self._store.notices
            if chat_keys is not None:
                wanted = set(chat_keys)
                rows = [n for n in rows if n.chat_key in wanted]
            return [NoticeRow(*_NOTICE.get(n)) for n in rows]

    def pending_effects(self, created_before: datetime) -> list[OutboxRow]:
        check_aware(created_before)
        with self._lock:
            outbox = self._store.outbox
            return [_copy(OutboxRow, _OUTBOX_COPY, outbox[k]) for k in sorted(outbox)
                    if outbox[k].created_at < created_before]

    def claim_effects(self, worker: str, until: datetime, *, now: datetime, limit: int,
                      takeover: bool = False, skip: Sequence[str] = ()) -> list[OutboxRow]:
        """As :func:`storage.reader.claim_effects`: the claimable rows, oldest first, but none of a
        chat at or after the first row of that chat that stays held (a chat's effects in order),
        and none of a chat of the platforms in ``skip`` (chat keys ``"<platform>:..."``)."""
        prefixes = tuple(f"{p}:" for p in skip)
        until, now = as_utc(until), check_aware(now)

        def claimable(r: OutboxRow) -> bool:
            free = r.claimed_until is None or r.claimed_until < now
            return free or (takeover and (r.claimed_by is None or r.claimed_by != worker))

        with self.transaction():
            st = self._store
            rows = [st.outbox[k] for k in sorted(st.outbox)]
            held: dict[str, int] = {}
            for r in rows:
                if not claimable(r) and r.chat_key not in held:
                    held[r.chat_key] = r.seq  # rows are in seq order: the first is the least
            chosen = [r for r in rows if claimable(r) and (r.chat_key not in held or r.seq < held[r.chat_key])
                      and not (prefixes and r.chat_key.startswith(prefixes))]
            out = []
            for r in chosen[:max(limit, 0)]:
                copy = _copy(OutboxRow, _OUTBOX_COPY, r)
                copy.claimed_by, copy.claimed_until = worker, until
                st.put(st.outbox, (r.seq, r.n), copy)
                out.append(_copy(OutboxRow, _OUTBOX_COPY, copy))
            return out

    def extend_claims(self, worker: str, keys: list[tuple[int, int]], until: datetime) -> None:
        until = as_utc(until)
        if keys:
            with self.transaction():
                st = self._store
                for k in keys:
                    r = st.outbox.get(k)
                    if r is not None and r.claimed_by == worker:
                        copy = _copy(OutboxRow, _OUTBOX_COPY, r)
                        copy.claimed_until = until
                        st.put(st.outbox, k, copy)

    def effects_delivered(self, keys: list[tuple[int, int]], worker: str | None = None) -> None:
        if keys:
            with self.transaction():
                st = self._store
                for k in keys:
                    r = st.outbox.get(k)
                    if r is not None and (worker is None or r.claimed_by == worker):
                        st.drop(st.outbox, k)

    def audit(self, deal_id: str | None = None) -> list[dict[str, Any]]:
        """The audit rows (of one deal, or all), oldest first, as :func:`storage.leaderday.audit`
        gives them (``id`` from 1, ``at`` in UTC, no household)."""
        with self._lock:
            return [dict(r) for r in self._store.audit if deal_id is None or r["deal_id"] == deal_id]

    def message_texts(self) -> dict[int, str]:
        """Every stored message's text by seq (the port reads texts back only for questions;
        this is what a look inside the SQL store's ``messages`` table shows)."""
        with self._lock:
            return {s: m.text for s, m in sorted(self._store.messages.items())}

    def close(self) -> None:
        """Nothing to release: the rows live as long as this object."""


class MemoryTransaction:
    """:class:`bot.ports.Transaction` on a :class:`MemoryRepository` whose lock it holds."""

    def __init__(self, store: _Store) -> None:
        self._st = store

    def chat(self, chat_key: str, *, lock: bool = False) -> ChatRow | None:
        row = self._st.chats.get(chat_key)
        return None if row is None else _copy(ChatRow, _CHAT_COPY, row)

    def add_chat(self, row: ChatRow) -> ChatRow:
        st = self._st
        if row.chat_key not in st.chats:
            copy = ChatRow(*_CHAT.values(row))
            st.check_deal(copy.deal_id, "chats.deal_id")
            st.put(st.chats, copy.chat_key, copy)
        return _copy(ChatRow, _CHAT_COPY, st.chats[row.chat_key])

    def add_deal(self, row: DealRow) -> bool:
        st = self._st
        if row.id in st.deals:
            return False
        st.put(st.deals, row.id, st.deal_row(row))
        return True

    def lock_deal(self, deal_id: str) -> int | None:
        d = self._st.deals.get(deal_id)
        return None if d is None else d.version

    def chats(self, chat_keys: Sequence[str]) -> list[ChatRow]:
        chats = self._st.chats
        return [_copy(ChatRow, _CHAT_COPY, chats[k]) for k in dict.fromkeys(chat_keys) if k in chats]

    def lock_deals(self, deal_ids: Sequence[str], *, skip_locked: bool = False) -> dict[str, int]:
        deals = self._st.deals  # one transaction at a time holds the whole store: nothing is skipped
        return {d: deals[d].version for d in sorted(set(deal_ids)) if d in deals}

    def load_deal(self, deal_id: str) -> DealSnapshot | None:
        return self._st.snapshot(deal_id, None)

    def deal_changes(self, deal_id: str, since: int) -> DealSnapshot | None:
        return self._st.snapshot(deal_id, since)

    def deals_changes(self, since: dict[str, int]) -> dict[str, DealSnapshot]:
        return {did: snap for did, v in since.items() if (snap := self._st.snapshot(did, v)) is not None}

    def undealt_lines(self, chat_key: str) -> list[LineRow]:
        st = self._st
        return _copies(LineRow, _LINE_COPY, [st.lines[i] for i in sorted(st.undealt_lines.get(chat_key, []))])

    def retired_group(self, chat_key: str) -> str | None:
        return None  # the memory store keeps no groups (they live in the SQL store only)

    def seen_message(self, chat_key: str, message_id: str) -> SeenMessage | None:
        st = self._st
        seq = st.latest.get((chat_key, message_id))
        if seq is None:
            return None
        m = st.messages[seq]
        return SeenMessage(m.seq, m.sender_id, m.edit_of, m.deal_id)

    def has_other_messages(self, chat_key: str, deal_id: str) -> bool:
        rounds = self._st.chat_rounds.get(chat_key, {})
        return any(d != deal_id for d in rounds)

    def next_block(self) -> int:
        st = self._st
        block = st.next_block
        st.next_block = block + 1
        st._log(lambda: setattr(st, "next_block", block))
        return block

    def is_processed(self, source: str, update_id: str) -> bool:
        return (source, update_id) in self._st.processed

    def add_audit(self, *, at: datetime, actor_id: str, actor_name: str, action: str, chat_key: str,
                  deal_id: str | None, detail: str) -> None:
        st = self._st
        row: dict[str, Any] = {
            "id": len(st.audit) + 1, "at": as_utc(at), "actor_id": actor_id, "actor_name": actor_name,
            "action": action, "chat_key": chat_key, "deal_id": deal_id, "household_chat": None,
            "household_sender": None, "detail": detail,
        }
        for k, v in row.items():
            if isinstance(v, str):
                _check_text(v, "audit", k)
            elif v is None and k not in ("deal_id", "household_chat", "household_sender"):
                raise ValueError(f"audit.{k}: NOT NULL column given None")
        st.audit.append(row)
        st._log(st.audit.pop)

    def write(self, changes: list[Changeset]) -> None:
        """Write the changesets (in order); a refused one raises, and the transaction's rollback
        takes back what the batch had written before it."""
        batch = [cs for cs in changes if not cs.is_empty()]
        if not batch:
            return
        st = self._st
        assert st.undo is not None
        mark = len(st.undo)
        try:
            st.write(batch)
        except BaseException:  # the statement fails whole, as a database's does
            while len(st.undo) > mark:
                st.undo.pop()()
            raise
