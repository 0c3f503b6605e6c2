"""The adapter interface every platform implements.

Adapters only translate: platform updates become :class:`bot.model.InboundMessage` /
:class:`bot.model.ButtonPress` handed to a :class:`Sink`; the core's outgoing messages
become platform calls. Nothing under ``bot/`` imports a platform SDK.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.model import ButtonPress, Card, InboundMessage, Mention


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Optional features; the core degrades gracefully where one is missing."""

    buttons: bool = False
    reactions: bool = False
    edits: bool = False  # can edit its own sent messages
    images: bool = False
    files: bool = False
    mentions: bool = True
    # can write to a member privately: ``send_text``/``send_file`` to chat id = their sender id
    # (it may still fail, e.g. a Telegram user who never started the bot, a WeChat non-friend)
    direct: bool = False


class Sink(Protocol):
    """The core side: what an adapter calls for each inbound event."""

    async def on_message(self, msg: InboundMessage) -> None: ...

    async def on_press(self, press: ButtonPress) -> str:
        """Handle a button press; returns the short text to answer the press with."""
        ...


class Adapter(Protocol):
    """A platform connection. ``start`` returns once receiving has begun.

    An adapter whose connection is elected among the workers of a store (WeChat: one per account)
    also has ``delivers_here: bool``, False on the workers that do not hold it; the core then puts
    what it would send there in the outbox for the holder (:func:`bot.context.delivers_here`).
    """

    name: str  # platform name, the prefix of chat keys: "console", "telegram", "wechat"
    capabilities: Capabilities

    async def start(self, sink: Sink) -> None: ...

    async def stop(self) -> None: ...

    async def send_text(
        self, chat_id: str, text: str, *, reply_to: str | None = None, mention: Mention | None = None,
        preformatted: bool = False,
    ) -> str | None:
        """Send text to a chat; returns the platform message id where known.

        ``preformatted``: a table whose columns are lined up with spaces; a platform that can show
        text in a monospace font does (Telegram: a ``pre`` entity), others send it as it is.
        """
        ...

    async def send_card(self, chat_id: str, card: Card) -> str | None:
        """Send a deal card (with buttons where supported, else its text)."""
        ...

    async def edit_text(self, chat_id: str, message_id: str, text: str, card: Card | None = None) -> bool:
        """Edit a message the bot sent; False where unsupported or it failed."""
        ...

    async def react(self, chat_id: str, message_id: str, emoji: str) -> bool:
        """Put a reaction on a message; False where unsupported or not allowed."""
        ...

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> bool:
        """Send a document; False where unsupported."""
        ...


@runtime_checkable
class MentionsMany(Protocol):
    """Optional adapter capability: one message that mentions several members (a roll-call)."""

    async def send_mentioning(self, chat_id: str, text: str, mentions: Sequence[Mention]) -> str | None:
        """Send ``text``, in which each of ``mentions`` is written ``@name`` (in that order), with each
        a real mention where the platform has them; returns the message id where known."""
        ...


@runtime_checkable
class PrivateLinks(Protocol):
    """Optional adapter capability: a link that opens the member's private chat with the bot and
    sends it ``/start <start>`` (Telegram's deep link ``https://t.me/<bot>?start=my``)."""

    def private_link(self, start: str) -> str | None:
        """The link, or None while the bot's own name is not known yet. ``start``: ``[A-Za-z0-9_-]{1,64}``."""
        ...
