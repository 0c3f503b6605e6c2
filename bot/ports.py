"""The store port: the narrow contract between the order service and persistence.

The store is the truth. The order service handles each message in a :class:`Transaction` that
locks the message's deal, checks the deal's version against its cached copy (a seen line must
stay a dictionary lookup), reloads the deal when another process moved it, and commits the
message as one :class:`Changeset` before anything is acknowledged. Nothing is loaded at start.

``storage.sql.SqlRepository`` implements this with SQLAlchemy (SQLite or PostgreSQL);
``storage.memory.MemoryRepository`` in the process's memory (`tuan replay` without ``--db``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

ID_BLOCK_SIZE = 1024
"""Ids per block (:meth:`Transaction.next_block`): block ``b`` holds ids ``b * ID_BLOCK_SIZE`` and on."""

ASK_KIND = "ask"
"""``MessageRow.kind`` of a message that left a question open (an item-less change, §3.6)."""


class ChatRetired(RuntimeError):
    """A round was to open (or a chat to join one) in the chat of a retired group (`tuan group
    remove`), as the store says in the opening's own transaction: nothing was written. ``group_id``:
    the retired group; the message is one line."""

    def __init__(self, chat_key: str, group_id: str) -> None:
        super().__init__(f"group {group_id} is retired: no round opens in its chat {chat_key} "
                         f"(tuan group edit {group_id} --active to serve it again)")
        self.chat_key, self.group_id = chat_key, group_id


class StoreUnavailable(ConnectionError):
    """The store cannot be used right now (down, unreachable, locked); nothing of the call was written.

    Raised by a :class:`Repository` for conditions that pass on their own, so the caller should
    keep the work and try again later (an adapter leaves the platform update unconfirmed), however
    long it takes. Other exceptions from a store mean the call itself is at fault.
    """


class StoreConflict(StoreUnavailable):
    """The transaction lost to concurrent ones (PostgreSQL chose it as a deadlock victim, or it could
    not be serialised: SQLSTATE 40P01, 40001) and was rolled back whole; running it again at once is
    safe and will most likely succeed."""


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

    Keyed by the message's ``seq`` and ``n``, its place among that message's effects. A row is
    held by one worker (``claimed_by``, e.g. "host:pid:random") until ``claimed_until``: the worker
    that committed it, or the one whose sweeper claimed it after that lease ended
    (:meth:`Repository.claim_effects`). Delivered rows are deleted by their holder
    (:meth:`Repository.effects_delivered`); rows older than ``[bot] reply_expiry_seconds`` are
    dropped instead of delivered.
    """

    seq: int
    n: int
    chat_key: str
    kind: str  # bot.model.EFFECT_KINDS: "react" | "reply" | "digest" | "card" | "mentions"
    target: str | None  # the platform message id reacted or replied to
    text: str
    mention_id: str | None
    mention_name: str | None
    created_at: datetime  # when it was committed (aware)
    claimed_by: str | None = None  # the worker holding it; None: nobody (claimable at once)
    claimed_until: datetime | None = None  # when its holder's lease ends (aware)


@dataclass(slots=True)
class Changeset:
    """Everything one handled message changes; committed in one transaction."""

    message: MessageRow | None = None
    deals: list[DealRow] = field(default_factory=list)  # new or updated (status, cutoff, items, version)
    chats: list[ChatRow] = field(default_factory=list)  # new or rebound
    entries_added: list[EntryRow] = field(default_factory=list)
    entries_updated: list[EntryRow] = field(default_factory=list)  # superseded_seq / removed changed
    lines_added: list[LineRow] = field(default_factory=list)
    lines_updated: list[LineRow] = field(default_factory=list)  # alive / replaced_by changed
    notices: list[NoticeRow] = field(default_factory=list)
    processed: list[tuple[str, str]] = field(default_factory=list)  # (source, update id): exactly-once marks
    outbox: list[OutboxRow] = field(default_factory=list)  # what to say about the message, once committed
    deal_chats: list[tuple[str, str]] = field(default_factory=list)  # (deal id, chat key): a round's chats
    versions: dict[str, int] = field(default_factory=dict)  # deal id -> its new version

    def is_empty(self) -> bool:
        return not (
            self.message or self.deals or self.chats or self.entries_added or self.entries_updated
            or self.lines_added or self.lines_updated or self.notices or self.processed or self.outbox
            or self.deal_chats or self.versions
        )


@dataclass(slots=True)
class DealSnapshot:
    """What :meth:`Transaction.load_deal` returns: one deal and what its cached copy is built from."""

    deal: DealRow
    entries: list[EntryRow]  # every row of the deal (removed and superseded too), in id order
    lines: list[LineRow]  # the deal's lines, in id order
    messages: list[MessageRow]  # the deal's messages in seq order, text "" except kind "ask"


@dataclass(slots=True)
class SeenMessage:
    """A handled message as a later edit, withdrawal or redelivery needs it."""

    seq: int
    sender_id: str
    edit_of: str | None
    deal_id: str | None


class Transaction(Protocol):
    """One unit of work on the store (:meth:`Repository.transaction`): everything is committed at
    its end, or nothing.

    A deal is locked for the rest of the transaction by :meth:`lock_deal` (a row lock on
    PostgreSQL; SQLite's write lock, taken when the transaction begins, covers it), so two
    processes never apply messages to one deal at once and each sees what the other committed.
    """

    def chat(self, chat_key: str, *, lock: bool = False) -> ChatRow | None:
        """The chat's row (``lock``: held until the end of the transaction), or None if unknown."""
        ...

    def add_chat(self, row: ChatRow) -> ChatRow:
        """Insert the chat unless it exists (another process may have just added it); the stored row."""
        ...

    def add_deal(self, row: DealRow) -> bool:
        """Insert the deal with its items unless a deal of that id exists; whether it was inserted."""
        ...

    def lock_deal(self, deal_id: str) -> int | None:
        """Lock the deal and return its version, or None when there is no such deal."""
        ...

    def chats(self, chat_keys: Sequence[str]) -> list[ChatRow]:
        """The rows of these chats that exist, not locked (one statement)."""
        ...

    def lock_deals(self, deal_ids: Sequence[str], *, skip_locked: bool = False) -> dict[str, int]:
        """Lock these deals in one statement, in id order; deal id -> version of those that exist.

        ``skip_locked``: wait for none; a deal another transaction holds is left out of the answer
        (PostgreSQL ``SKIP LOCKED``; where one writer holds the whole store, nothing is left out)."""
        ...

    def load_deal(self, deal_id: str) -> DealSnapshot | None:
        """The deal with its entries, lines and messages (call after :meth:`lock_deal`)."""
        ...

    def deal_changes(self, deal_id: str, since: int) -> DealSnapshot | None:
        """The deal's row with only the entries, lines and messages written by its versions after
        ``since`` (call after :meth:`lock_deal`); None when there is no such deal."""
        ...

    def deals_changes(self, since: dict[str, int]) -> dict[str, DealSnapshot]:
        """:meth:`deal_changes` of several deals at once (deal id -> the version since which),
        for those that exist (call after :meth:`lock_deals`)."""
        ...

    def undealt_lines(self, chat_key: str) -> list[LineRow]:
        """The chat's lines seen while it had no deal (deal_id NULL), in id order."""
        ...

    def retired_group(self, chat_key: str) -> str | None:
        """The id of the retired group (`tuan group remove`) whose chat ``chat_key`` is, or None (no
        group, or one serving). Read in this transaction, the group's row held until it ends
        (PostgreSQL: FOR SHARE), so a retirement cannot commit in between: the store, not a
        process's directory cache, decides whether a round may open there."""
        ...

    def seen_message(self, chat_key: str, message_id: str) -> SeenMessage | None:
        """The latest handled message of this platform id in the chat, or None."""
        ...

    def has_other_messages(self, chat_key: str, deal_id: str) -> bool:
        """Whether the chat has a handled message outside this deal (an earlier round, no deal)."""
        ...

    def next_block(self) -> int:
        """Take the next id block: ids ``block * ID_BLOCK_SIZE`` up to the next block are this
        transaction's. Blocks grow in the order they are taken."""
        ...

    def is_processed(self, source: str, update_id: str) -> bool: ...

    def add_audit(self, *, at: datetime, actor_id: str, actor_name: str, action: str, chat_key: str,
                  deal_id: str | None, detail: str) -> None:
        """Record a leader's or the scheduler's action in the ``audit`` table, in this transaction."""
        ...

    def write(self, changes: list[Changeset]) -> None:
        """Write changesets (in order) within this transaction."""
        ...


class Repository(Protocol):
    """Contract to implement a store for the order service.

    Every method raises :class:`StoreUnavailable` when the store cannot be reached or is busy.
    """

    def transaction(self) -> AbstractContextManager[Transaction]:
        """A unit of work: committed when the block ends, rolled back when it raises."""
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

    def message_times(self, seqs: list[int]) -> dict[int, datetime]:
        """The time (aware) of each handled message of these seqs; unknown seqs are left out."""
        ...

    def get_chat(self, chat_key: str) -> ChatRow | None: ...

    def chats_with_deal(self) -> list[ChatRow]:
        """Chats bound to a deal (open or closed), by chat key."""
        ...

    def claim_mark(self, key: str, at: datetime) -> bool:
        """Record a once-only mark (a scheduled post's job id and slot); False when it already exists.

        Atomic across processes sharing the store: of two claims of one key exactly one wins.
        """
        ...

    def notices(self, chat_keys: list[str] | None = None) -> list[NoticeRow]: ...

    def pending_effects(self, created_before: datetime) -> list[OutboxRow]:
        """Outbox rows not yet delivered that were committed before ``created_before`` (aware),
        in commit order (``seq``, then ``n``), whoever holds them."""
        ...

    def claim_effects(self, worker: str, until: datetime, *, now: datetime, limit: int,
                      takeover: bool = False, skip: Sequence[str] = ()) -> list[OutboxRow]:
        """Claim for ``worker`` until ``until`` (aware) up to ``limit`` outbox rows whose lease ended
        before ``now`` (aware) or that nobody holds, the oldest first; with ``takeover``, also every
        row another worker holds, whatever its lease (a store this process alone serves: their
        holders are gone). Rows of the chats of the platforms in ``skip`` (chat keys
        ``"<platform>:..."``, e.g. ``wechat`` on a worker that does not hold the account's
        connection) are never claimed. Returns the claimed rows (as now held) in ``(seq, n)`` order.

        Of two workers claiming at once, each row goes to exactly one (PostgreSQL: ``FOR UPDATE
        SKIP LOCKED``, the other takes the next rows instead of waiting; SQLite: its write lock).
        """
        ...

    def extend_claims(self, worker: str, keys: list[tuple[int, int]], until: datetime) -> None:
        """Move the lease of the rows of these ``(seq, n)`` keys that ``worker`` still holds to
        ``until`` (aware); rows another worker took meanwhile, or deleted ones, are left alone."""
        ...

    def effects_delivered(self, keys: list[tuple[int, int]], worker: str | None = None) -> None:
        """Delete the outbox rows of these ``(seq, n)`` keys, in one transaction; unknown keys are
        ignored (a row delivered twice is marked twice). With ``worker``, only the rows it still
        holds: a row another worker claimed after this one's lease ended is that worker's now."""
        ...

    def close(self) -> None: ...
