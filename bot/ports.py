"""The store port: the narrow contract between the order service and persistence.

The order service keeps the live state of open deals in memory (so a line already
seen in a chat costs a dictionary lookup) and writes every handled message as one
:class:`Changeset`, in one transaction, before anything is acknowledged. On start
(or after a failed commit) it rebuilds that state with :meth:`Repository.load_open`.

``storage.sql.SqlRepository`` implements this with SQLAlchemy; tests may use
``bot.memory_repo.MemoryRepository``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

ASK_KIND = "ask"
"""``MessageRow.kind`` of a message that left a question open (an item-less change, §3.6)."""


class StoreUnavailable(ConnectionError):
    """The store cannot be used right now (down, unreachable, locked); nothing of the call was written.

    Raised by a :class:`Repository` for conditions that pass on their own, so the caller should
    keep the work and try again later (an adapter leaves the platform update unconfirmed), however
    long it takes. Other exceptions from a store mean the call itself is at fault.
    """


@dataclass(slots=True)
class ItemRow:
    code: str
    name: str
    unit: str
    price: Decimal
    aliases: tuple[str, ...]
    stock: int | None
    position: int


@dataclass(slots=True)
class DealRow:
    """A deal: one catalog, shared by the chats bound to it (shared stock)."""

    id: str
    title: str
    status: str  # "open" | "closed"
    cutoff: datetime | None
    max_qty: int | None
    created_at: datetime
    items: list[ItemRow] = field(default_factory=list)
    source: str = ""  # "config" | "post:<chat_key>:<message_id>" | "catalog"
    max_line_qty: int | None = None  # the most one line may order before it is unclear (None: the default, 99)
    version: int = 0  # moved by every committed change of the deal or its orders (cache validity)
    closed_at: datetime | None = None  # when it was closed (aware), None while open or when unknown


@dataclass(slots=True)
class ChatRow:
    chat_key: str  # "<platform>:<chat id>"
    platform: str
    external_id: str
    title: str
    deal_id: str | None  # the chat's current deal


@dataclass(slots=True)
class MessageRow:
    """Every handled message, in arrival order (``seq`` is assigned by the service, unique, increasing)."""

    seq: int
    chat_key: str
    message_id: str
    sender_id: str
    sender_name: str
    text: str
    ts: datetime
    is_admin: bool
    edit_of: str | None
    recall_of: str | None
    kind: str  # what the service made of it: "order" | "change" | "list" | "deal" | "ignored" | "undo" ...
    deal_id: str | None = None  # the chat's deal when the message was handled


@dataclass(slots=True)
class EntryRow:
    """One (item, quantity) a message gave a resident, within a deal.

    ``qty`` is signed: entries and additions are positive, a decrease (减1) is negative.
    An entry stops counting when ``superseded_seq`` is set (a later set/cancel/replace
    took its place; undoing that message clears it again) or ``removed`` is true (the
    creating message was withdrawn or edited).
    """

    id: int
    deal_id: str
    chat_key: str
    sender_id: str
    sender_name: str
    label: str
    item_code: str
    qty: int
    kind: str  # "entry" | "set" | "add" | "sub"
    message_id: str
    seq: int  # seq of the creating message
    line_id: int | None = None
    superseded_seq: int | None = None
    removed: bool = False


@dataclass(slots=True)
class LineRow:
    """A 接龙 list line seen in a chat (the index that copies are merged against)."""

    id: int
    chat_key: str
    text_key: str
    number: str | None
    label: str
    owner_id: str  # sender who first wrote it
    message_id: str
    seq: int
    alive: bool = True
    replaced_by: int | None = None  # id of the owner's newer version of this line
    deal_id: str | None = None  # the deal it was posted in: a new round starts with no seen lines


@dataclass(slots=True)
class NoticeRow:
    """An order line the bot did not apply: ``kind`` is "unclear" or "refused"."""

    chat_key: str
    message_id: str
    seq: int
    kind: str
    reason: str


@dataclass(slots=True)
class OutboxRow:
    """An effect (:class:`bot.model.Effect`) committed with the message it answers, not yet delivered.

    Keyed by the message's ``seq`` and ``n``, its place among that message's effects. Delivered
    rows are deleted (:meth:`Repository.effects_delivered`); what remains after a crash is
    delivered at the next start-up, unless older than ``[bot] reply_expiry_seconds``.
    """

    seq: int
    n: int
    chat_key: str
    kind: str  # bot.model.EFFECT_KINDS: "react" | "reply" | "digest"
    target: str | None  # the platform message id reacted or replied to
    text: str
    mention_id: str | None
    mention_name: str | None
    created_at: datetime  # when it was committed (aware)


@dataclass(slots=True)
class Changeset:
    """Everything one handled message changes; committed in one transaction."""

    message: MessageRow | None = None
    deals: list[DealRow] = field(default_factory=list)  # new or updated (status, cutoff)
    chats: list[ChatRow] = field(default_factory=list)  # new or rebound
    entries_added: list[EntryRow] = field(default_factory=list)
    entries_updated: list[EntryRow] = field(default_factory=list)  # superseded_seq / removed changed
    lines_added: list[LineRow] = field(default_factory=list)
    lines_updated: list[LineRow] = field(default_factory=list)  # alive / replaced_by changed
    notices: list[NoticeRow] = field(default_factory=list)
    processed: list[tuple[str, str]] = field(default_factory=list)  # (source, update id): exactly-once marks
    outbox: list[OutboxRow] = field(default_factory=list)  # what to say about the message, once committed

    def is_empty(self) -> bool:
        return not (
            self.message or self.deals or self.chats or self.entries_added or self.entries_updated
            or self.lines_added or self.lines_updated or self.notices or self.processed or self.outbox
        )


@dataclass(slots=True)
class Snapshot:
    """What :meth:`Repository.load_open` returns: the live state to rebuild memory from."""

    deals: list[DealRow]
    chats: list[ChatRow]
    entries: list[EntryRow]  # of the open deals, every row (removed and superseded too)
    lines: list[LineRow]  # of the open deals
    messages: list[MessageRow]  # of those chats, without text (text = "")
    next_seq: int
    next_entry_id: int
    next_line_id: int


class Repository(Protocol):
    """Contract to implement a store for the order service.

    Every method raises :class:`StoreUnavailable` when the store cannot be reached or is busy.
    """

    def load_open(self) -> Snapshot:
        """Everything needed to rebuild the live state of open deals.

        Messages come with ``text`` empty, except those of kind ``"ask"`` (a question left open).
        """
        ...

    def commit(self, changes: Changeset) -> None:
        """Write the changeset atomically, or raise and write nothing."""
        ...

    def commit_many(self, changes: list[Changeset]) -> None:
        """Write several changesets in one transaction (a burst, a replay)."""
        ...

    def is_processed(self, source: str, update_id: str) -> bool:
        """Whether an exactly-once mark was committed (e.g. a Telegram update id)."""
        ...

    def deal_entries(self, deal_id: str) -> list[EntryRow]:
        """All entry rows of a deal (open or closed), for tallies and exports."""
        ...

    def get_deal(self, deal_id: str) -> DealRow | None: ...

    def claim_mark(self, key: str, at: datetime) -> bool:
        """Record a once-only mark (a scheduled post's job id and slot); False when it already exists.

        Atomic across processes sharing the store: of two claims of one key exactly one wins.
        """
        ...

    def notices(self, chat_keys: list[str] | None = None) -> list[NoticeRow]: ...

    def pending_effects(self, created_before: datetime) -> list[OutboxRow]:
        """Outbox rows not yet delivered that were committed before ``created_before`` (aware),
        in commit order (``seq``, then ``n``)."""
        ...

    def effects_delivered(self, keys: list[tuple[int, int]]) -> None:
        """Delete the outbox rows of these ``(seq, n)`` keys, in one transaction; unknown keys are
        ignored (a row delivered twice is marked twice)."""
        ...

    def close(self) -> None: ...
