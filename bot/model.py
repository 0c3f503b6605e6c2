"""The one message model every adapter produces, and what the core sends back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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

    @property
    def chat_key(self) -> str:
        return f"{self.platform}:{self.chat_id}"


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


@dataclass(frozen=True, slots=True)
class Card:
    """A deal card: text plus rows of buttons. Platforms without buttons send the text only."""

    text: str
    rows: tuple[tuple[CardButton, ...], ...] = field(default_factory=tuple)
