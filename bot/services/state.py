"""Cached state of a deal and its chats: seen lines (a dictionary lookup), entries, totals, open questions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from bot.catalog import MAX_LINE_QTY, Catalog, Item
from bot.engine.listing import body_key
from bot.engine.reader import ReadList
from bot.ports import ASK_KIND, ChatRow, DealRow, DealSnapshot, EntryRow, LineRow
from bot.services.questions import Question, question_from_text


def catalog_of_row(row: DealRow) -> Catalog:
    items = tuple(
        Item(code=i.code, name=i.name, unit=i.unit, price=i.price, aliases=tuple(i.aliases), stock=i.stock)
        for i in sorted(row.items, key=lambda i: i.position)
    )
    return Catalog(items=items, cutoff=row.cutoff, max_qty=row.max_qty, title=row.title,
                   max_line_qty=row.max_line_qty if row.max_line_qty is not None else MAX_LINE_QTY)


@dataclass(slots=True)
class MessageInfo:
    seq: int
    sender_id: str
    edit_of: str | None = None  # the version this one replaced: the original, or its latest edit then


@dataclass
class DealState:
    row: DealRow
    catalog: Catalog
    entries: dict[int, EntryRow] = field(default_factory=dict)
    by_key: dict[tuple[str, str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # (chat, sender, item) -> the sum of its active rows' qty, kept with the rows (a lookup per question)
    held: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def add_entry(self, e: EntryRow) -> None:
        self.entries[e.id] = e
        key = (e.chat_key, e.sender_id, e.item_code)
        self.by_key[key].append(e.id)
        if active(e):
            self.totals[e.item_code] += e.qty
            self.held[key] = self.held.get(key, 0) + e.qty

    def set_active(self, e: EntryRow, *, superseded_seq: int | None, removed: bool) -> None:
        was = active(e)
        e.superseded_seq = superseded_seq
        e.removed = removed
        now = active(e)
        if was != now:
            delta = e.qty if now else -e.qty
            self.totals[e.item_code] += delta
            key = (e.chat_key, e.sender_id, e.item_code)
            self.held[key] = self.held.get(key, 0) + delta

    def sender_total(self, chat_key: str, sender_id: str, item: str) -> int:
        """The sum of the sender's active rows of ``item`` in the chat (0: none)."""
        return self.held.get((chat_key, sender_id, item), 0)

    def last_touch(self, chat_key: str, sender_id: str, item: str) -> int:
        """Seq of the sender's last message that made or superseded a row of ``item`` (0: none).

        Derived from the rows alone, so the live state and one reloaded from the store agree. A
        withdrawn or edited message no longer counts (its rows are removed; a supersession it made
        is undone with it), but a later message that superseded its rows does; a withdrawal's
        floor at 0 (a supersession, :meth:`Work.change`) is a touch too.
        """
        rows = (self.entries[i] for i in self.by_key.get((chat_key, sender_id, item), ()))
        return max((max(0 if e.removed else e.seq, e.superseded_seq or 0) for e in rows), default=0)

    def active_of(self, chat_key: str, sender_id: str, item: str) -> list[EntryRow]:
        return [self.entries[i] for i in self.by_key.get((chat_key, sender_id, item), ()) if active(self.entries[i])]


def active(e: EntryRow) -> bool:
    return not e.removed and e.superseded_seq is None


READ_LISTS = 3
"""Copies of a list remembered per chat (several residents may copy the same version at once)."""


@dataclass
class ChatState:
    row: ChatRow
    lines: dict[int, LineRow] = field(default_factory=dict)
    by_text: dict[str, LineRow] = field(default_factory=dict)
    by_body: dict[str, LineRow] = field(default_factory=dict)
    by_num_label: dict[tuple[str, str], LineRow] = field(default_factory=dict)
    messages: dict[str, MessageInfo] = field(default_factory=dict)
    entries_by_msg: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    superseded_by_seq: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    lines_by_msg: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # sender -> the item-less change the bot asked about (§3.6), until the sender's next message
    questions: dict[str, Question] = field(default_factory=dict)
    # original's platform id -> (its latest version's id, that version's time): a later edit replaces
    # that, and the original itself, arriving late, changes nothing
    latest: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    # whether the chat has messages outside this deal (None: not asked yet); while it is in this
    # deal no other deal's message can appear, so a redelivery check asks the store only if so
    history: bool | None = None
    # the last copies of the list read whole here, newest first: a copy that extends one of them
    # is split only after it (bot.engine.reader.read_message's ``done``); valid because the lines
    # indexed above are never dropped
    read_lists: list[ReadList] = field(default_factory=list)

    def note_read(self, read: ReadList | None) -> None:
        """Remember a copy every unit of which is now a seen line (at most :data:`READ_LISTS`)."""
        if read is not None:
            self.read_lists.insert(0, read)
            del self.read_lists[READ_LISTS:]

    def index_line(self, ln: LineRow, *, over: str | None = None) -> None:
        """Index a line; ``over``: a message this one edits, whose lines it takes over in the index."""
        self.lines[ln.id] = ln
        self.lines_by_msg[ln.message_id].append(ln.id)
        if ln.deal_id != self.row.deal_id:
            return
        body = body_key(ln.text_key)
        for index, key in ((self.by_text, ln.text_key), (self.by_body, body)):
            if not key.strip():
                continue
            old = index.setdefault(key, ln)
            if old is not ln and over is not None and old.message_id == over:
                index[key] = ln
        if _current(ln):
            self.by_num_label[(ln.number, ln.label)] = ln  # type: ignore[index]

    def reindex_num_label(self, number: str, label: str) -> None:
        """Point (number, label) at its latest current line again (one was withdrawn or replaced).

        The same rule as :meth:`index_line` over the lines in id order, so a reloaded state agrees.
        """
        found = [ln for ln in self.lines.values()
                 if ln.number == number and ln.label == label and ln.deal_id == self.row.deal_id and _current(ln)]
        if found:
            self.by_num_label[(number, label)] = max(found, key=lambda ln: ln.id)
        else:
            self.by_num_label.pop((number, label), None)

    def versions(self, number: str, label: str, owner: str) -> set[int]:
        """Ids of every line of ``owner`` with this number and label in the chat's deal (§3.3: one line)."""
        return {ln.id for ln in self.lines.values()
                if ln.number == number and ln.label == label and ln.owner_id == owner and ln.deal_id == self.row.deal_id}


def _current(ln: LineRow) -> bool:
    """A line that stands for its number and label: alive, not replaced, someone's (§3.3)."""
    return ln.number is not None and bool(ln.label) and ln.alive and ln.replaced_by is None and ln.owner_id != ""


class NotPostedBy:
    """A seen-lines index less the lines one message posted: an edit reads its original's lines anew."""

    __slots__ = ("index", "message_id")

    def __init__(self, index: dict[str, LineRow], message_id: str) -> None:
        self.index, self.message_id = index, message_id

    def __contains__(self, key: object) -> bool:
        ln = self.index.get(key)  # type: ignore[call-overload]
        return ln is not None and ln.message_id != self.message_id


class DealCache:
    """A cached copy of one deal and its chats' seen lines and messages, valid at ``version``.

    Only a cache: the store is the truth. :class:`bot.services.orders.OrderService` uses it while
    the deal's version in the store is ``version`` (checked under the deal's lock on every
    message), rebuilds it when another process moved the deal, and drops it when idle.
    """

    def __init__(self, deal: DealState, version: int) -> None:
        self.deal = deal
        self.version = version
        self.loaded = version  # the store's version when this copy was built (later ones are this process's)
        self.chats: dict[str, ChatState] = {}
        self.used = 0.0  # time.monotonic() of the last use

    def chat(self, chat_key: str) -> ChatState:
        """The chat's state within this deal (empty until the chat's first message in it)."""
        ch = self.chats.get(chat_key)
        if ch is None:
            platform, _, ext = chat_key.partition(":")
            ch = ChatState(ChatRow(chat_key, platform, ext, "", self.deal.row.id))
            self.chats[chat_key] = ch
        return ch

    @classmethod
    def from_snapshot(cls, snap: DealSnapshot) -> DealCache:
        """Build the cache from what the store holds of the deal (the same rules as applying live)."""
        row = snap.deal
        cache = cls(DealState(row, catalog_of_row(row)), row.version)
        cache._apply(snap)
        return cache

    def catch_up(self, changes: DealSnapshot) -> bool:
        """Bring a stale copy to the store's version: apply ``changes``, the deal's row and the
        messages, entries and lines written since this copy's version
        (:meth:`bot.ports.Transaction.deal_changes`). The result is what :meth:`from_snapshot`
        builds from the whole deal (tested by tests/test_order_state_machine.py).

        Returns False, changing nothing, when the deal's catalog changed (a revised deal): the
        caller rebuilds the copy whole. On an exception the copy is half changed: drop it.
        """
        row = changes.deal
        if catalog_of_row(row) != self.deal.catalog:
            return False
        self.deal.row = row
        self._apply(changes)
        self.version = self.loaded = row.version
        return True

    def _apply(self, snap: DealSnapshot) -> None:
        """Apply messages, then entries, then lines, each in store order, over what is cached: new
        rows are added; rows already here (written again since) take their new state."""
        deal = self.deal
        for m in snap.messages:  # in seq order
            ch = self.chat(m.chat_key)
            replaced = m.edit_of
            if m.edit_of is not None and m.kind != "stale":
                replaced = ch.latest.get(m.edit_of, (m.edit_of, m.ts))[0]
                ch.latest[m.edit_of] = (m.message_id, m.ts)
            ch.messages[m.message_id] = MessageInfo(m.seq, m.sender_id, replaced)
            # a question is open while its message is the sender's last in the chat
            q = question_from_text(m.text, deal.catalog, m.message_id, m.ts) if m.kind == ASK_KIND else None
            if q is not None:
                ch.questions[m.sender_id] = q
            else:
                ch.questions.pop(m.sender_id, None)
        for e in snap.entries:  # in id order
            ch = self.chat(e.chat_key)
            had = deal.entries.get(e.id)
            if had is None:
                deal.add_entry(e)
                ch.entries_by_msg[e.message_id].append(e.id)
                if e.superseded_seq is not None:
                    ch.superseded_by_seq[e.superseded_seq].append(e.id)
                continue
            if e.superseded_seq is not None and e.superseded_seq != had.superseded_seq:
                ch.superseded_by_seq[e.superseded_seq].append(e.id)
            deal.set_active(had, superseded_seq=e.superseded_seq, removed=e.removed)
        moved: set[tuple[str, str, str]] = set()
        for ln in snap.lines:  # in id order
            ch = self.chat(ln.chat_key)
            old = ch.lines.get(ln.id)
            if old is None:
                info = ch.messages.get(ln.message_id)
                ch.index_line(ln, over=info.edit_of if info is not None else None)
                continue
            old.alive, old.replaced_by = ln.alive, ln.replaced_by
            if old.number is not None and old.label:
                moved.add((ln.chat_key, old.number, old.label))
        for ck, number, label in moved:  # a line that stopped or started standing for its number
            self.chat(ck).reindex_num_label(number, label)


def undealt_chat(chat_key: str, lines: list[LineRow]) -> ChatState:
    """A chat without a deal: only the lines it saw meanwhile (a repeated copy is not news)."""
    platform, _, ext = chat_key.partition(":")
    ch = ChatState(ChatRow(chat_key, platform, ext, "", None))
    for ln in lines:
        ch.index_line(ln)
    return ch
