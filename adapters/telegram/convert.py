"""Telegram ``Update`` → :class:`InboundMessage` / :class:`ButtonPress`. Pure: no I/O, no clock.

Anything Tuan has no use for (channel posts, stickers, service messages, other bots, commands
for another bot, callbacks with foreign data) converts to ``None``; the adapter logs and skips it.
A shape Telegram never sends (PTB does not check field types) raises :class:`Unusable`.
``is_admin`` is left False here: the adapter fills it in from its leader cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import Chat, Message, MessageEntity, Update
from telegram.constants import MessageLimit

from adapters.telegram.cards import decode
from bot.model import ButtonPress, InboundMessage

PLATFORM = "telegram"
CHAT_TYPES = (Chat.GROUP, Chat.SUPERGROUP, Chat.PRIVATE)
# Telegram's limit for a text, and for a caption (Premium); in UTF-16 code units, as Telegram counts.
MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)


class Unusable(ValueError):
    """An update PTB accepted but Telegram never sends in that shape (a field of the wrong type, a
    text beyond Telegram's length limit): nothing to retry, the adapter skips it at once."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_message(msg: Message) -> None:
    """Raise :class:`Unusable` for the shapes the Bot API never sends (PTB does not check types)."""
    if not _is_int(msg.chat.id) or not _is_int(msg.message_id):
        raise Unusable(f"chat id {msg.chat.id!r} / message id {msg.message_id!r} are not integers")
    if msg.from_user is not None and not _is_int(msg.from_user.id):
        raise Unusable(f"sender id {msg.from_user.id!r} is not an integer")
    for name, value in (("text", msg.text), ("caption", msg.caption)):
        if value is None:
            continue
        if not isinstance(value, str):
            raise Unusable(f"{name} is a {type(value).__name__}, not a string")
        if len(value.encode("utf-16-le", "surrogatepass")) // 2 > MAX_TEXT:
            raise Unusable(f"{name} of {len(value)} characters, beyond Telegram's limit of {MAX_TEXT}")


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who we are (from getMe): needed for ``/cmd@name``, mentions and the delivery source."""

    id: int
    username: str

    @property
    def source(self) -> str:
        return f"{PLATFORM}:{self.id}"


def message_of(update: Update) -> Message | None:
    """The group/private message (new or edited) an update carries, if any."""
    msg = update.message or update.edited_message
    if msg is None or msg.chat.type not in CHAT_TYPES:
        return None
    return msg


def lane_of(update: Update) -> str:
    """The lane an update is handled in: its chat (so a chat's updates stay in order), else its own."""
    chat = update.effective_chat
    return f"chat:{chat.id}" if chat is not None else f"update:{update.update_id}"


def is_anonymous_admin(msg: Message) -> bool:
    """A group admin posting as the group itself (Telegram's "remain anonymous")."""
    return msg.sender_chat is not None and msg.sender_chat.id == msg.chat.id


def address_command(text: str, username: str) -> str | None:
    """``/tally@TuanBot x`` → ``/tally x``; a command for another bot → None; other text unchanged."""
    if not text.startswith("/"):
        return text
    head, sep, rest = text.partition(" ")
    command, at, target = head.partition("@")
    if not at:
        return text
    if target.lower() != username.lower():
        return None
    return command + sep + rest


def _mentions(msg: Message, me: BotIdentity) -> bool:
    if msg.reply_to_message and msg.reply_to_message.from_user:
        if msg.reply_to_message.from_user.id == me.id:
            return True
    kinds: list[str | None] = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    found = msg.parse_entities(kinds) if msg.text else msg.parse_caption_entities(kinds)
    handle = "@" + me.username.lower()
    for entity, text in found.items():
        if entity.type == MessageEntity.MENTION and text.lower() == handle:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == me.id:
            return True
    return False


def _reply_to(msg: Message) -> str | None:
    reply = msg.reply_to_message
    if reply is None or reply.forum_topic_created is not None:  # a topic's root is not a reply
        return None
    return str(reply.message_id)


def _sender(msg: Message) -> tuple[str, str] | None:
    if is_anonymous_admin(msg):
        return f"chat{msg.chat.id}", msg.chat.title or msg.chat.effective_name or ""
    if msg.sender_chat is not None or msg.from_user is None or msg.from_user.is_bot:
        return None
    return str(msg.from_user.id), msg.from_user.full_name


def to_inbound(update: Update, me: BotIdentity) -> InboundMessage | None:
    """A text (or captioned) message or edit in a group, supergroup or private chat."""
    msg = message_of(update)
    if msg is None or msg.is_automatic_forward:
        return None
    _check_message(msg)
    sender = _sender(msg)
    raw = msg.text or msg.caption
    if sender is None or not raw or not raw.strip():
        return None
    text = address_command(raw, me.username)
    if text is None:
        return None
    edited = update.edited_message is not None
    message_id = str(msg.message_id)
    return InboundMessage(
        platform=PLATFORM,
        chat_id=str(msg.chat.id),
        message_id=f"{message_id}:e{update.update_id}" if edited else message_id,
        sender_id=sender[0],
        sender_name=sender[1],
        text=text,
        ts=(msg.edit_date or msg.date) if edited else msg.date,
        chat_title=msg.chat.title,
        edit_of=message_id if edited else None,
        reply_to=_reply_to(msg),
        is_private=msg.chat.type == Chat.PRIVATE,
        mentions_bot=text != raw or _mentions(msg, me),
        delivery=(me.source, str(update.update_id)),
        sender_username=None if is_anonymous_admin(msg) or msg.from_user is None else msg.from_user.username,
    )


def to_press(update: Update, me: BotIdentity, now: datetime) -> ButtonPress | None:
    """A press on one of our card buttons (callback data of :mod:`adapters.telegram.cards`)."""
    query = update.callback_query
    if query is None or query.message is None or query.data is None:
        return None
    if not isinstance(query.data, str) or not _is_int(query.from_user.id) or not _is_int(query.message.chat.id):
        raise Unusable(f"callback query {query.id!r} with data {query.data!r} from {query.from_user.id!r}")
    decoded = decode(query.data)
    if decoded is None or query.message.chat.type not in CHAT_TYPES:
        return None
    return ButtonPress(
        platform=PLATFORM,
        chat_id=str(query.message.chat.id),
        sender_id=str(query.from_user.id),
        sender_name=query.from_user.full_name,
        ts=now,
        action=decoded.action,
        item_code=decoded.item_code,
        press_id=f"{me.id}:{update.update_id}",  # the service's exactly-once key for presses
        card_message_id=str(query.message.message_id),
        deal_id=decoded.deal_id,
        signature=decoded.signature,
    )
