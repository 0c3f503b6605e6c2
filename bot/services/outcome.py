"""What the order service tells its callers about a handled message or button press."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from bot.ports import OutboxRow

# Reason codes of problems (unclear or refused lines). User-facing wording lives in bot/messages.py.
AMBIGUOUS_ITEM = "ambiguous_item"  # detail: the word; candidates: item codes it fits
UNKNOWN_ITEM = "unknown_item"  # an item word that fits no item
NO_ITEM = "no_item"  # a quantity (or a bare label / +1) with several items on sale
BAD_QTY = "bad_qty"  # not a positive whole number (半, 1.5, 0)
LARGE_QTY = "large_qty"  # above the deal's max_line_qty (葡萄一万, 葡萄999999999): asked, never guessed
SAME_AS = "same_as"  # only points at someone else's order (同上, 跟楼上一样): what to order is asked
TOO_LONG = "too_long"  # a message too long to read as an order
AFTER_CUTOFF = "after_cutoff"
SOLD_OUT = "sold_out"
OVER_MAX = "over_max"  # would take the resident above max_qty
DEAL_CLOSED = "deal_closed"
NO_DEAL = "no_deal"  # an order in a chat with no open deal
BAD_PRICE = "bad_price"  # a leader's deal post: detail the item, why a bot.money reason code
REPEATED_ITEM = "repeated_item"  # a leader's deal post: detail the item, why the repeated code or alias
GROUP_RETIRED = "group_retired"  # a leader's deal post in the chat of a retired group (`tuan group remove`)

REPLAY_REASONS = {
    AMBIGUOUS_ITEM: "ambiguous item",
    UNKNOWN_ITEM: "unknown item",
    NO_ITEM: "no item named",
    BAD_QTY: "bad quantity",
    LARGE_QTY: "quantity too large",
    SAME_AS: "points at another order",
    TOO_LONG: "message too long",
    AFTER_CUTOFF: "after cutoff",
    SOLD_OUT: "sold out",
    OVER_MAX: "above max_qty",
    DEAL_CLOSED: "deal closed",
    NO_DEAL: "no deal",
    BAD_PRICE: "deal post: bad price",
    REPEATED_ITEM: "deal post: repeated item",
    GROUP_RETIRED: "deal post: group retired",
}


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    detail: str = ""  # the words concerned, e.g. "橙" or "葡萄200"
    item_code: str | None = None
    candidates: tuple[str, ...] = ()  # item codes an ambiguous word fits
    why: str = ""  # BAD_PRICE / REPEATED_ITEM: the reason code or the repeated word
    give_back: bool = False  # what an edit or withdrawal would give back did not fit (§3.8)
    # AMBIGUOUS_ITEM: what the line would do once its item is known (entry/set/add/sub, and by how
    # much; qty 0: nothing usable), for the question the bot asks (bot/services/questions.py).
    mode: str = field(default="", compare=False)
    qty: int = field(default=0, compare=False)
    # SOLD_OUT: how many of the item were still to be had when the line asked for more (0: none)
    left: int = field(default=0, compare=False)

    def replay_reason(self) -> str:
        base = REPLAY_REASONS.get(self.code, self.code)
        return f"{base}: {self.detail}" if self.detail else base


@dataclass(frozen=True, slots=True)
class Applied:
    """One accepted change of a resident's order: ``delta`` of ``item_code``, new ``total``."""

    item_code: str
    delta: int
    total: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of handling one inbound message or button press.

    ``kind``: "order" (entries or changes applied or attempted), "deal" (a leader's post
    defined a deal), "list" (a copy with nothing new), "undo" (edit/withdrawal handled),
    "ignored" (chatter, questions, leader talk), "duplicate" (already handled delivery),
    "command" (left for the command layer: text starting with "/").
    ``effects``: what the caller asked to say about the message, committed with it (the outbox).
    """

    chat_key: str
    message_id: str
    sender_id: str
    kind: str
    deal_id: str | None = None
    accepted: tuple[Applied, ...] = ()
    unclear: tuple[Problem, ...] = ()
    refused: tuple[Problem, ...] = ()
    totals: dict[str, int] = field(default_factory=dict)  # the sender's totals after it, item code -> qty
    effects: tuple[OutboxRow, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.accepted)


@dataclass(frozen=True, slots=True)
class TallyRow:
    chat_key: str
    sender_id: str
    sender_name: str
    label: str
    item_code: str
    qty: int


@dataclass(frozen=True, slots=True)
class Tally:
    """A deal's current orders: rows per (chat, resident, item, label) with qty > 0."""

    deal_id: str
    rows: tuple[TallyRow, ...]
    totals: dict[str, int]  # item code -> qty (every catalog item, 0 included)
    amount: Decimal  # sum of qty x price
    # 跟团号 per household (chat key, sender id, proxy): bot/services/households.py; every household
    # that ever ordered in the deal (of every chat, also when the tally is of one chat)
    numbers: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # seq of the message of each household's first order (its time: OrderService.order_times)
    first_seq: dict[tuple[str, str, str], int] = field(default_factory=dict)
