"""The one message model every adapter produces, and what the core sends back."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Any

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as every store can keep it: lone surrogates and NUL become U+FFFD.

    A lone surrogate (an unpaired ``\\ud800`` JSON escape, text cut inside a UTF-16 pair) cannot
    be encoded as UTF-8, and PostgreSQL refuses NUL in text: either would fail the commit of the
    message again on every delivery. A pair of surrogates becomes the one character it stands for.
    """
    if "\x00" not in text and (text.isascii() or _SURROGATE.search(text) is None):
        return text  # (only a surrogate makes a str unencodable as UTF-8)
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text.replace("\x00", REPLACEMENT)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
"""Field names per dataclass type (a fixed fact of the class): ``fields()`` is slow per message."""


def _make_storable(obj: object) -> None:
    """Replace every str field of a frozen dataclass instance by :func:`storable` of it."""
    names = _FIELD_NAMES.get(type(obj))
    if names is None:
        names = _FIELD_NAMES[type(obj)] = tuple(f.name for f in fields(obj))  # type: ignore[arg-type]
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str):
            clean = storable(value)
            if clean is not value:
                object.__setattr__(obj, name, clean)
        elif isinstance(value, tuple) and any(isinstance(v, str) for v in value):
            object.__setattr__(obj, name, tuple(storable(v) if isinstance(v, str) else v for v in value))


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A group (or private) chat message, as every adapter delivers it to the core.

    ``chat_id`` and ``message_id`` are the platform's own ids as strings; the core
    keys chats by ``(platform, chat_id)`` (see :attr:`chat_key`).
    ``edit_of`` names the message this one replaces (the sender edited it);
    ``recall_of`` the message the sender withdrew (撤回), with ``text`` usually empty.
    ``is_admin``: the adapter verified the sender administers *this* chat (never set in a
    private chat); leadership of other groups is decided by :mod:`bot.permissions`.
    """

    platform: str
    chat_id: str
    message_id: str
    sender_id: str
    sender_name: str
    text: str
    ts: datetime
    is_admin: bool = False
    chat_title: str | None = None
    edit_of: str | None = None
    recall_of: str | None = None
    reply_to: str | None = None
    is_private: bool = False
    mentions_bot: bool = False
    # (source, id) of the platform delivery, e.g. ("telegram:<bot id>", "<update_id>"): the store
    # records it in the same transaction as the message's entries, so a redelivery changes nothing.
    delivery: tuple[str, str] | None = None
    # The sender's platform handle where it has one (Telegram @username, without the @): lets a
    # leader configured as "@name" be recognised. Usernames can change hands; ids are safer.
    sender_username: str | None = None

    def __post_init__(self) -> None:
        _make_storable(self)  # every adapter's text passes here: unencodable characters end here

    @classmethod
    def of_storable(cls, **values: Any) -> InboundMessage:
        """``InboundMessage(**values)`` without ``__post_init__``'s search for unstorable characters.

        Only for a caller that knows every str of ``values`` is storable as it is (no lone
        surrogate, no NUL): ``tuan replay`` for a line of strict UTF-8 JSON without a ``\\u``
        escape (only an escape makes either in decoded JSON; bot/replay.py). Searching the text
        of a long 接龙 copy costs about as much as reading it. Raises TypeError as the
        constructor does for a missing or unknown field.
        """
        if not values.keys() <= _INBOUND_NAMES:
            raise TypeError(f"InboundMessage has no field {sorted(values.keys() - _INBOUND_NAMES)[0]!r}")
        msg = object.__new__(cls)
        get = values.get
        for put, name, default in _INBOUND_SETTERS:  # (the slots' own setters: a third of the cost)
            value = get(name, default)
            if value is MISSING:
                raise TypeError(f"InboundMessage needs field {name!r}")
            put(msg, value)
        return msg

    @property
    def chat_key(self) -> str:
        return f"{self.platform}:{self.chat_id}"


_INBOUND_FIELDS: dict[str, Any] = {f.name: f.default for f in fields(InboundMessage)}
_INBOUND_NAMES = frozenset(_INBOUND_FIELDS)
_INBOUND_SETTERS: tuple[tuple[Callable[[object, Any], None], str, Any], ...] = tuple(
    (getattr(InboundMessage, name).__set__, name, default) for name, default in _INBOUND_FIELDS.items())
"""Each field's slot setter (``__set__`` of the slot descriptor, what ``object.__setattr__`` ends
in for a frozen dataclass), its name and default (``MISSING``: required)."""
"""InboundMessage's fields and their defaults (MISSING: required); every field has a plain default."""


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """A resident pressed an inline button on a deal card (platforms with buttons only)."""

    platform: str
    chat_id: str
    sender_id: str
    sender_name: str
    ts: datetime
    action: str  # "add" | "sub" | "mine"
    item_code: str | None = None
    press_id: str = ""
    card_message_id: str | None = None
    # The deal the pressed card showed and the bot's signature over (deal, action, item), as the
    # button carried them (bot/buttons.py); the core acts on a press only when they verify.
    deal_id: str | None = None
    signature: str = ""

    def __post_init__(self) -> None:
        _make_storable(self)

    @property
    def chat_key(self) -> str:
        return f"{self.platform}:{self.chat_id}"


@dataclass(frozen=True, slots=True)
class Mention:
    """Someone to @-mention in an outgoing message."""

    user_id: str
    name: str


@dataclass(frozen=True, slots=True)
class CardButton:
    label: str
    action: str  # "add" | "sub" | "mine"
    item_code: str | None = None
    token: str = ""  # the signed token of bot/buttons.py: deal, action, item and MAC; "" unsigned


@dataclass(frozen=True, slots=True)
class Card:
    """A deal card: text plus rows of buttons. Platforms without buttons send the text only.

    ``deal_id``: the deal the card shows (its buttons act on that deal only).
    """

    text: str
    rows: tuple[tuple[CardButton, ...], ...] = field(default_factory=tuple)
    deal_id: str | None = None


REACT = "react"  # put ``text`` (an emoji) on message ``target``; where the platform cannot, a list digest
REPLY = "reply"  # say ``text``, as a reply to ``target`` (if any), mentioning ``mention`` (if any)
DIGEST = "digest"  # post the chat's current 接龙 list (throttled per chat): the acknowledgement without reactions
CARD = "card"  # post the chat's deal card, while its current deal is still deal ``text`` (a round published on the web)
# say ``text``, in which each member of ``mention`` is written ``@name`` (its user_id and name hold one
# member per line, in order): a roll-call relayed to the worker that can reach the chat (bot.context.Core)
MENTIONS = "mentions"
EFFECT_KINDS = (REACT, REPLY, DIGEST, CARD, MENTIONS)


@dataclass(frozen=True, slots=True)
class Effect:
    """What the bot says in a chat because of a handled message (a ✅, a question, a refusal).

    Effects are committed with the message they answer (the outbox, :class:`bot.ports.OutboxRow`)
    and delivered after the commit, so a crash in between loses none (see bot/dispatch.py).
    """

    chat_key: str
    kind: str  # one of EFFECT_KINDS
    target: str | None = None  # the platform message id reacted or replied to
    text: str = ""
    mention: Mention | None = None
