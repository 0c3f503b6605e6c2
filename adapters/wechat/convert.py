"""A WeChat room message, as plain data read off wechaty, → the core's :class:`InboundMessage`.

The adapter copies what it needs from wechaty's objects into a :class:`RawMessage`; everything
here is a pure function of it, so it is tested without a puppet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from adapters.wechat.solitaire import parse_solitaire
from bot.model import InboundMessage

PLATFORM = "wechat"
AT_SEPARATOR = "\u2005"  # WeChat ends an @name with a four-per-em space

TEXT = "text"
RECALLED = "recalled"
NOTE = "note"  # a GroupNote (群接龙) whose text is plain: the list without its XML
OTHER = "other"  # images, voice, stickers, links, unknown: nothing to read unless it is 群接龙 XML

# wechaty-puppet's MessageType numbers, as a puppet service sends them
_KINDS = {7: TEXT, 13: RECALLED, 10: NOTE}


def kind_of(message_type: int) -> str:
    return _KINDS.get(message_type, OTHER)

_MS_THRESHOLD = 2_145_888_000  # above this a timestamp is in milliseconds (2038 in seconds)
_REVOKED_ID = (re.compile(r"<newmsgid>\s*(\w+)\s*</"), re.compile(r"<msgid>\s*(\w+)\s*</"))


@dataclass(frozen=True, slots=True)
class RawMessage:
    id: str
    kind: str  # TEXT | RECALLED | NOTE | OTHER
    text: str
    talker_id: str
    talker_name: str  # the name shown in the room: the member's room alias, else their WeChat name
    room_id: str  # "" for a private message
    room_topic: str
    timestamp: float  # seconds or milliseconds, as the puppet sends it
    mention_ids: tuple[str, ...] = ()
    talker_is_room_admin: bool = False  # the room's owner or one of its admins


def message_time(timestamp: float) -> datetime:
    """The puppet's timestamp (seconds or milliseconds) as an aware UTC datetime."""
    seconds = timestamp / 1000 if timestamp > _MS_THRESHOLD else timestamp
    return datetime.fromtimestamp(seconds, tz=UTC)


def recalled_id(text: str) -> str:
    """The id of the withdrawn message: wechaty puts it in the text, some puppets inside revoke XML."""
    for pattern in _REVOKED_ID:  # the server id (newmsgid) is the one message ids are made of
        m = pattern.search(text)
        if m:
            return m.group(1)
    return text.strip()


def mention_prefix(name: str) -> str:
    """How a mention reads at the start of a WeChat message: ``"@王姐\\u2005"``."""
    return f"@{name}{AT_SEPARATOR}"


def solitaire_accounts(raw: RawMessage) -> set[str]:
    """Accounts whose names :func:`to_inbound` needs (authors of a native 接龙's lines)."""
    sol = parse_solitaire(raw.text) if raw.kind != RECALLED else None
    if sol is None or not sol.attributed:
        return set()
    return {line.account for line in sol.lines} - {raw.talker_id}


def to_inbound(raw: RawMessage, *, self_id: str, source: str,
               names: Mapping[str, str] | None = None) -> list[InboundMessage]:
    """The core's messages for one room message (none, one, or one per 接龙 line).

    ``self_id``: the bot's account, whose own messages are dropped; ``source``: the delivery
    source recorded with each message; ``names``: display names of other accounts, for the
    lines of a native 接龙 (an account without a name keeps its id as the name).
    """
    if not raw.room_id or raw.talker_id == self_id:
        return []
    base = InboundMessage(
        platform=PLATFORM, chat_id=raw.room_id, message_id=raw.id, sender_id=raw.talker_id,
        sender_name=raw.talker_name or raw.talker_id, text=raw.text, ts=message_time(raw.timestamp),
        is_admin=raw.talker_is_room_admin, chat_title=raw.room_topic or None,
        mentions_bot=self_id in raw.mention_ids, delivery=(source, raw.id),
    )
    if raw.kind == RECALLED:
        return [replace(base, text="", recall_of=recalled_id(raw.text), mentions_bot=False)]
    sol = parse_solitaire(raw.text)
    if sol is not None:
        if not sol.attributed:
            return [replace(base, text=sol.title)] if sol.title.strip() else []
        names = names or {}
        out = []
        for line in sol.lines:
            line_id = f"{raw.id}:{line.number}"
            name = raw.talker_name if line.account == raw.talker_id else names.get(line.account, "")
            out.append(replace(
                base, message_id=line_id, sender_id=line.account, sender_name=name or line.account,
                text=line.text, is_admin=raw.talker_is_room_admin and line.account == raw.talker_id,
                mentions_bot=False, delivery=(source, line_id),
            ))
        return out
    if raw.kind in (TEXT, NOTE) and raw.text.strip():
        return [base]
    return []

