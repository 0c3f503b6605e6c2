"""A WeChat room message, as plain data read off wechaty, → the core's :class:`InboundMessage`.

The adapter copies what it needs from wechaty's objects into a :class:`RawMessage`; everything
here is a pure function of it, so it is tested without a puppet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from adapters.wechat.solitaire import Solitaire, parse_solitaire
from bot.model import InboundMessage

PLATFORM = "wechat"
AT_SEPARATOR = "\u2005"  # WeChat ends an @name with a four-per-em space

TEXT = "text"  # what a person types: never read as a native 群接龙, whatever XML it holds
RECALLED = "recalled"
NOTE = "note"  # a GroupNote (群接龙): the list as plain text, or (some puppets) its app XML
APP = "app"  # an app message (WeChat msg type 49) a puppet did not map further: its XML may be a 群接龙
OTHER = "other"  # images, voice, stickers, video, contact cards…: nothing to read

# wechaty-puppet's MessageType numbers, as a puppet service sends them. An app message arrives as
# GroupNote (10) when the puppet knows <type>53</type>, else as Unknown (0), Attachment (1),
# MiniProgram (9) or Url (14), with its XML as text.
_KINDS = {7: TEXT, 13: RECALLED, 10: NOTE, 0: APP, 1: APP, 9: APP, 14: APP}
SOLITAIRE_KINDS = (NOTE, APP)


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


def mark_mentions(text: str, names: list[str]) -> str:
    """``text`` with the ``@name`` of each name (in order, each after the last) followed by WeChat's
    mention separator instead of a space (or nothing), so WeChat shows them as mentions."""
    out, at = [], 0
    for name in names:
        handle = f"@{name}"
        found = text.find(handle, at)
        if found < 0:
            continue
        end = found + len(handle)
        out.append(text[at:found] + mention_prefix(name))
        at = end + 1 if text[end:end + 1] == " " else end
    return "".join(out) + text[at:]


def native_solitaire(raw: RawMessage) -> Solitaire | None:
    """The platform's own 群接龙 in an app message, or None.

    A text message is never one: anyone can type 群接龙 XML, naming other accounts as the
    authors of its lines.
    """
    return parse_solitaire(raw.text) if raw.kind in SOLITAIRE_KINDS else None


def to_inbound(raw: RawMessage, *, self_id: str, source: str) -> list[InboundMessage]:
    """The core's messages for one room message (none, one, or one per own line of a native 接龙).

    ``self_id``: the bot's account, whose own messages are dropped; ``source``: the delivery
    source recorded with each message.

    A native 群接龙 (see :func:`native_solitaire`) is re-sent whole by each resident who adds or
    edits a line. Only the sender's own lines become the sender's messages: a line the platform
    attributes to another account is that account's business, announced in that account's own
    message, and a sender's copy may neither create, change nor cancel another's order (spec
    §3.3; the XML comes from the sender's client, so its attribution is the sender's say-so).
    A 接龙 whose lines are not all attributed is read as a plain copy by the sender (§3.2).
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
    sol = native_solitaire(raw)
    if sol is not None:
        if not sol.attributed:
            return [replace(base, text=sol.title)] if sol.title.strip() else []
        out = []
        for line in sol.lines:
            if line.account != raw.talker_id:
                continue
            line_id = f"{raw.id}:{line.number}"
            out.append(replace(base, message_id=line_id, text=line.text, mentions_bot=False,
                               delivery=(source, line_id)))
        return out
    if raw.kind in (TEXT, NOTE) and raw.text.strip():
        return [base]
    return []

