"""An in-memory adapter for tests and the demo: push messages in, pop what the bot sent.

Usage (errbot's ``push_message`` / ``pop_message``)::

    chat = FakeAdapter()
    await chat.start(dispatcher)
    await chat.push("葡萄2", sender="王姐")
    assert chat.pop().emoji == "✅"
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.base import Capabilities, Sink
from adapters.console import sender_id_of
from bot.buttons import split
from bot.model import ButtonPress, Card, InboundMessage, Mention

__all__ = ["FakeAdapter", "Sent", "sender_id_of"]


@dataclass(frozen=True, slots=True)
class Sent:
    """One thing the bot did: kind is "text", "card", "edit", "react" or "file"."""

    kind: str
    chat_id: str
    text: str = ""
    message_id: str | None = None  # the bot's message (text/card/file) or the target (edit/react)
    reply_to: str | None = None
    mention: Mention | None = None
    card: Card | None = None
    emoji: str = ""
    data: bytes = b""  # a file's bytes
    mentions: tuple[Mention, ...] = ()  # a roll-call's mentions (send_mentioning)


class FakeAdapter:
    """Records everything; ``capabilities`` decide which paths of the reply policy run."""

    def __init__(self, name: str = "fake", capabilities: Capabilities | None = None, *, chat_id: str = "g1",
                 clock: Callable[[], datetime] | None = None,
                 on_sent: Callable[[Sent], None] | None = None) -> None:
        self.name = name
        self.capabilities = capabilities or Capabilities()
        self.chat_id = chat_id
        self.sent: list[Sent] = []
        self.sink: Sink | None = None
        self._clock = clock or (lambda: datetime.now(UTC))
        self._on_sent = on_sent
        self._ids = itertools.count(1)
        self.admins: dict[str, set[str]] = {}  # chat id -> sender ids the "platform" says administer it

    # --- the test side ---

    async def push(self, text: str, *, sender: str = "王姐", sender_id: str | None = None,
                   chat_id: str | None = None, is_admin: bool = False, ts: datetime | None = None,
                   message_id: str | None = None, edit_of: str | None = None,
                   recall_of: str | None = None, is_private: bool = False,
                   username: str | None = None, reply_to: str | None = None) -> InboundMessage:
        """Deliver a message to the sink and wait until it is handled (replies included)."""
        assert self.sink is not None, "start() the adapter first"
        msg = InboundMessage(
            platform=self.name, chat_id=chat_id or self.chat_id, message_id=message_id or f"m{next(self._ids)}",
            sender_id=sender_id or sender_id_of(sender), sender_name=sender, text=text, ts=ts or self._clock(),
            is_admin=is_admin, edit_of=edit_of, recall_of=recall_of, is_private=is_private,
            sender_username=username, reply_to=reply_to,
        )
        await self.sink.on_message(msg)
        return msg

    async def press(self, action: str, item_code: str | None = None, *, sender: str = "王姐",
                    card_message_id: str | None = None, chat_id: str | None = None,
                    deal_id: str | None = None, signature: str = "") -> str:
        """Press a button described by hand (no card: unsigned unless ``signature`` is given)."""
        assert self.sink is not None, "start() the adapter first"
        return await self.sink.on_press(ButtonPress(
            platform=self.name, chat_id=chat_id or self.chat_id, sender_id=sender_id_of(sender),
            sender_name=sender, ts=self._clock(), action=action, item_code=item_code,
            press_id=f"p{next(self._ids)}", card_message_id=card_message_id, deal_id=deal_id, signature=signature,
        ))

    async def press_on(self, card: Sent, action: str, item_code: str | None = None, *,
                       sender: str = "王姐") -> str:
        """Press the button (action, item) of a card the bot sent, with the data that button carries."""
        assert card.card is not None, "the card was sent without buttons"
        button = next(b for row in card.card.rows for b in row if (b.action, b.item_code) == (action, item_code))
        parts = split(button.token)
        assert parts is not None, f"unsigned button {button}"
        deal_id, action, item_code, signature = parts
        return await self.press(action, item_code, sender=sender, card_message_id=card.message_id,
                                chat_id=card.chat_id, deal_id=deal_id, signature=signature)

    def pop(self) -> Sent:
        """The oldest thing the bot did that was not popped yet."""
        return self.sent.pop(0)

    def pop_all(self) -> list[Sent]:
        out, self.sent = self.sent, []
        return out

    def texts(self) -> list[str]:
        return [s.text for s in self.sent if s.kind in ("text", "card")]

    # --- the Adapter side ---

    async def is_chat_admin(self, chat_id: str, user_id: str) -> bool:
        """:class:`bot.permissions.ChatAdmins`: from ``admins``, as a platform would answer."""
        return user_id in self.admins.get(chat_id, set())

    async def start(self, sink: Sink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.sink = None

    def _record(self, sent: Sent) -> None:
        self.sent.append(sent)
        if self._on_sent is not None:
            self._on_sent(sent)

    async def send_text(self, chat_id: str, text: str, *, reply_to: str | None = None,
                        mention: Mention | None = None, preformatted: bool = False) -> str | None:
        mid = f"b{next(self._ids)}"
        self._record(Sent("text", chat_id, text, mid, reply_to=reply_to, mention=mention))
        return mid

    async def send_mentioning(self, chat_id: str, text: str, mentions: Sequence[Mention]) -> str | None:
        """:class:`adapters.base.MentionsMany`: recorded as a text with its mentions."""
        mid = f"b{next(self._ids)}"
        self._record(Sent("text", chat_id, text, mid, mentions=tuple(mentions)))
        return mid

    async def send_card(self, chat_id: str, card: Card) -> str | None:
        mid = f"b{next(self._ids)}"
        self._record(Sent("card", chat_id, card.text, mid, card=card if self.capabilities.buttons else None))
        return mid

    async def edit_text(self, chat_id: str, message_id: str, text: str, card: Card | None = None) -> bool:
        if not self.capabilities.edits:
            return False
        self._record(Sent("edit", chat_id, text, message_id, card=card))
        return True

    async def react(self, chat_id: str, message_id: str, emoji: str) -> bool:
        if not self.capabilities.reactions:
            return False
        self._record(Sent("react", chat_id, message_id=message_id, emoji=emoji))
        return True

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> bool:
        if not self.capabilities.files:
            return False
        self._record(Sent("file", chat_id, caption, filename, data=data))
        return True
