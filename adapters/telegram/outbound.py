"""What the core sends, as Bot API calls: texts, deal cards, in-place edits, reactions, files.

Every call is retried until delivered or expired, in order per chat (:class:`Outbox`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardMarkup,
    InputFile,
    MessageEntity,
    ReactionTypeEmoji,
    ReplyParameters,
    User,
)
from telegram.constants import MessageLimit, ReactionEmoji
from telegram.error import BadRequest, Forbidden

from adapters.telegram.background import Background
from adapters.telegram.calls import call
from adapters.telegram.cards import keyboard
from adapters.telegram.lanes import Lanes
from bot.model import Card, Mention

log = logging.getLogger(__name__)

T = TypeVar("T")

REACTIONS = frozenset(e.value for e in ReactionEmoji)
NO_REACTIONS_TTL = 600.0  # after a chat refused a reaction, don't ask again for this long
EDIT_MEMORY = 1024
MESSAGE_GONE = ("message_id_invalid", "message to react not found", "message not found")


def base_id(message_id: str) -> int | None:
    """Telegram's id of a message: ours for edits are ``<id>:e<update id>``. None if not Telegram's."""
    head = message_id.split(":", 1)[0]
    return int(head) if head.isdigit() else None


def chunks(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split a long text at line ends into pieces Telegram accepts."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            head, line = line[:limit], line[limit:]
            pieces += [current, head] if current else [head]
            current = ""
        if len(current) + len(line) > limit:
            pieces.append(current)
            current = ""
        current += line
    pieces.append(current)
    return [p for p in pieces if p] or [text]


def mention_entities(text: str, mentions: Sequence[Mention]) -> tuple[list[MessageEntity], list[Mention]]:
    """TEXT_MENTION entities over each mention's ``@name`` in ``text``, found in order, each after the
    last (members without a numeric id are written only); and the mentions not found in ``text``."""
    out: list[MessageEntity] = []
    at = 0
    for n, mention in enumerate(mentions):
        handle = f"@{mention.name}"
        found = text.find(handle, at)
        if found < 0:
            return out, list(mentions[n:])
        if mention.user_id.isdigit():
            user = User(id=int(mention.user_id), first_name=mention.name, is_bot=False)
            out.append(MessageEntity(MessageEntity.TEXT_MENTION, _utf16_len(text[:found]), _utf16_len(handle),
                                     user=user))
        at = found + len(handle)
    return out, []


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


QUEUED_LIMIT = 10_000  # outgoing calls waiting in all chats' lanes at once; more makes senders wait
ANSWER_EXPIRY = 15.0  # seconds: a callback query answered later than this is "too old" anyway
DRAIN_SECONDS = 10.0  # at shutdown, how long replies still being retried may take


class Outbox:
    """Every outgoing Bot API call, delivered in order per chat, retried until it arrives or expires.

    Each call joins its chat's lane (:class:`Lanes`): a chat's replies, reactions and edits reach
    Telegram in the order the core made them, and one chat waiting out a 429 does not delay the
    others. A call is retried (:func:`calls.call`) until delivered or ``expiry`` seconds after it
    was made, counting its time in the queue; then it is dropped and logged at WARNING.

    Sends and edits are awaited (the core needs the message id); reactions in a chat known to
    allow them are queued and return at once.
    """

    def __init__(self, bot: Bot, ack_emoji: str = "👌", backoff: float = 0.5, concurrency: int = 8,
                 expiry: float = 600.0) -> None:
        self._bot = bot
        self._ack_emoji = ack_emoji
        self._backoff = backoff
        self._expiry = expiry
        self._shown: OrderedDict[tuple[str, int], tuple[str, str | None, InlineKeyboardMarkup | None]] = (
            OrderedDict()
        )
        self._no_reactions: dict[str, float] = {}  # chat -> until when not to try
        self._reactions_ok: set[str] = set()
        self._acks = asyncio.Semaphore(concurrency)  # reactions and callback answers on the wire at once
        self.lanes = Lanes(QUEUED_LIMIT, "telegram-out")
        self.background = Background(concurrency)

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """At shutdown: wait for what is queued or being retried (up to ``timeout``), then drop the rest."""
        await self.lanes.drain(timeout)
        await self.background.drain(timeout)

    async def _in_lane(self, chat_id: str, work: Callable[[float], Awaitable[T]], what: str,
                       lane: str | None = None) -> asyncio.Future[T]:
        """Queue ``work`` in the chat's lane (or in ``lane``), with the send expiry counted from now."""
        deadline = time.monotonic() + self._expiry  # the expiry counts the wait behind earlier calls
        return await self.lanes.submit(lane or chat_id, partial(work, deadline), what)

    async def answer(self, query: CallbackQuery, text: str) -> None:
        """Answer a button press in the background (stops the spinner, shows ``text`` if any)."""
        deadline = time.monotonic() + min(ANSWER_EXPIRY, self._expiry)
        self.background.spawn(call(
            "answerCallbackQuery", lambda: query.answer(text or None), idempotent=True, deadline=deadline,
            backoff=self._backoff, lost=f"answer {text[:40]!r}", slot=self._acks,
        ))

    def _remember(self, chat_id: str, message_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
        key = (chat_id, message_id)
        self._shown[key] = (text, markup.to_json() if markup else None, markup)
        self._shown.move_to_end(key)
        while len(self._shown) > EDIT_MEMORY:
            self._shown.popitem(last=False)

    async def send_text(
        self, chat_id: str, text: str, *, reply_to: str | None = None, mention: Mention | None = None,
        markup: InlineKeyboardMarkup | None = None, preformatted: bool = False, mentions: Sequence[Mention] = (),
    ) -> str | None:
        """Send ``text`` (split at line ends when long); the first piece's message id, None if lost.

        ``preformatted``: each piece is shown in a monospace font (a ``pre`` entity over the text
        after the mention), so a table's columns line up. Entities, not HTML: residents' words in
        the table need no escaping and cannot inject markup.
        """
        entities: list[MessageEntity] = []
        head = 0
        if mention is not None:
            handle = f"@{mention.name}"
            if mention.user_id.isdigit():
                user = User(id=int(mention.user_id), first_name=mention.name, is_bot=False)
                entities.append(MessageEntity(MessageEntity.TEXT_MENTION, 0, _utf16_len(handle), user=user))
            text = f"{handle} {text}"
            head = _utf16_len(handle) + 1
        reply_id = base_id(reply_to) if reply_to else None
        reply = ReplyParameters(reply_id, allow_sending_without_reply=True) if reply_id else None
        pieces = chunks(text)
        piece_entities: list[list[MessageEntity] | None] = []
        for n, piece in enumerate(pieces):
            own = list(entities) if n == 0 else []
            start = head if n == 0 else 0
            end = _utf16_len(piece.rstrip())  # Telegram trims trailing blanks: no entity past the text
            if preformatted and end > start:
                own.append(MessageEntity(MessageEntity.PRE, start, end - start))
            piece_entities.append(own or None)
        waiting = list(mentions)
        for n, piece in enumerate(pieces):  # a roll-call: each "@name" in the text mentions its member
            found, waiting = mention_entities(piece, waiting)
            if found:
                piece_entities[n] = [*(piece_entities[n] or []), *found]

        async def send(deadline: float) -> str | None:
            first: str | None = None
            for n, piece in enumerate(pieces):
                last = n == len(pieces) - 1
                sent = await call(
                    f"sendMessage to {chat_id}",
                    partial(
                        self._bot.send_message, int(chat_id), piece, entities=piece_entities[n],
                        reply_parameters=reply if n == 0 else None, reply_markup=markup if last else None,
                    ),
                    idempotent=False, deadline=deadline, backoff=self._backoff, lost=_gist(piece),
                )
                if sent is None:
                    return first
                if last:
                    self._remember(chat_id, sent.message_id, piece, markup)
                first = first or str(sent.message_id)
            return first

        return await (await self._in_lane(chat_id, send, f"sendMessage to {chat_id}"))

    async def send_card(self, chat_id: str, card: Card) -> str | None:
        return await self.send_text(chat_id, card.text, markup=keyboard(card))

    async def edit_text(self, chat_id: str, message_id: str, text: str, card: Card | None = None) -> bool:
        """Cheap when nothing changed (no call); "message is not modified" counts as done.

        Without ``card`` the buttons last sent with that message are kept, where known.
        """
        mid = base_id(message_id)
        if mid is None:
            return False
        shown = self._shown.get((chat_id, mid))
        markup = keyboard(card) if card is not None else (shown[2] if shown else None)
        if shown and shown[0] == text and shown[1] == (markup.to_json() if markup else None):
            return True

        async def edit() -> bool:
            try:
                await self._bot.edit_message_text(text, int(chat_id), mid, reply_markup=markup)
            except BadRequest as exc:
                if "message is not modified" not in exc.message.lower():
                    raise
            return True

        async def deliver(deadline: float) -> bool:
            return bool(await call(f"editMessageText {chat_id}/{mid}", edit, idempotent=True, deadline=deadline,
                                   backoff=self._backoff, lost=f"edit to {_gist(text)}"))

        done = await (await self._in_lane(chat_id, deliver, f"editMessageText {chat_id}/{mid}"))
        if done:
            self._remember(chat_id, mid, text, markup)
        return done

    async def react(self, chat_id: str, message_id: str, emoji: str) -> bool:
        """False when the chat does not allow reactions, so the core falls back to a digest.

        The first reaction in a chat is awaited, to learn whether the chat allows them; later
        ones are queued (each message's reactions in a lane of their own, beside the chat's lane)
        and return True at once. A chat that refuses one is
        remembered for a while.
        """
        mid = base_id(message_id)
        if mid is None or self._no_reactions.get(chat_id, 0.0) > time.monotonic():
            return False
        reaction = ReactionTypeEmoji(emoji if emoji in REACTIONS else self._ack_emoji)
        # A reaction's order against other messages does not matter to anyone, so each message's
        # reactions have a lane of their own: a burst of ✅ in one busy chat goes out side by side
        # instead of one call at a time (texts, edits and files keep the chat's order).
        pending = await self._in_lane(chat_id, partial(self._react, chat_id, mid, reaction),
                                      f"setMessageReaction {chat_id}/{mid}", lane=f"{chat_id}/react/{mid}")
        if chat_id in self._reactions_ok:
            return True
        ok = bool(await pending)
        if ok:
            self._reactions_ok.add(chat_id)
        return ok

    async def _react(self, chat_id: str, message_id: int, reaction: ReactionTypeEmoji, deadline: float) -> bool:
        async def set_reaction() -> bool:
            try:
                return await self._bot.set_message_reaction(int(chat_id), message_id, reaction)
            except (BadRequest, Forbidden) as exc:
                if any(gone in exc.message.lower() for gone in MESSAGE_GONE):
                    return False  # that message was deleted; the chat is fine
                log.info("no reactions in chat %s: %s", chat_id, exc.message)
                self._no_reactions[chat_id] = time.monotonic() + NO_REACTIONS_TTL
                self._reactions_ok.discard(chat_id)
                return False

        ok = await call(f"setMessageReaction {chat_id}/{message_id}", set_reaction, idempotent=True,
                        deadline=deadline, backoff=self._backoff, lost=f"the {reaction.emoji} on message {message_id}",
                        slot=self._acks)
        return bool(ok)

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> bool:
        async def send(deadline: float) -> bool:
            sent = await call(
                f"sendDocument to {chat_id}",
                lambda: self._bot.send_document(
                    int(chat_id), InputFile(data, filename=filename), caption=caption or None
                ),
                idempotent=False, deadline=deadline, backoff=self._backoff, lost=f"the file {filename}",
            )
            return sent is not None

        return await (await self._in_lane(chat_id, send, f"sendDocument to {chat_id}"))


def _gist(text: str) -> str:
    """The start of a text, for a log line about what was lost."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 60 else flat[:60] + "…")
