"""Deal-card buttons that belong to their deal: a signed token per button.

A button's token is ``<deal id>:<action>[:<item code>]:<mac>``; the MAC is an HMAC-SHA256 over
(deal id, action, item code) with the bot's button key, cut to 12 bytes and written in base64url
(16 characters). Adapters carry the token as opaque data (Telegram: ``callback_data``, 64 bytes at
most, see :mod:`adapters.telegram.cards`); the core checks it with :func:`verify` before a press
touches any order, so a press always acts on the deal whose card was pressed, and data nobody
signed (forged, or cards from before buttons were signed) acts on nothing.

The key (:func:`key_of`) is derived from the bot's platform secrets in the configuration (the
Telegram token, the WeChat puppet token), so it stays the same across restarts and differs
between bots; a configuration without any secret gets a random key for this process (only
platforms with buttons need one, and they all have a token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from bot.config import AppConfig

ACTIONS = frozenset({"add", "sub", "mine"})
MAC_BYTES = 12
SEP = ":"


@dataclass(frozen=True, slots=True)
class Signed:
    """What a verified token says: the deal the card showed, the action and the item (None for "mine")."""

    deal_id: str
    action: str
    item_code: str | None


def key_of(config: AppConfig) -> bytes:
    """The button key of the bot ``config`` describes (32 bytes); see the module docstring."""
    material = "\x00".join(s for s in (config.telegram.token, config.wechat.token) if s)
    if not material:
        return os.urandom(32)
    return hmac.new(b"tuan/buttons/v1", material.encode(), hashlib.sha256).digest()


def _mac(key: bytes, deal_id: str, action: str, item_code: str | None, chat_key: str) -> str:
    # the chat is signed too (not carried: the platform says where a press comes from), so a
    # card's data replayed in another group is not this bot's data there
    message = "\x00".join((deal_id, action, item_code or "", chat_key)).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(key: bytes, deal_id: str, action: str, item_code: str | None = None, chat_key: str = "") -> str | None:
    """The token of a button on a card posted in ``chat_key``; None when it cannot be written
    (unknown action, ``:`` in an id)."""
    if action not in ACTIONS or (action == "mine") != (item_code is None):
        return None
    if SEP in deal_id or (item_code is not None and (SEP in item_code or not item_code)):
        return None
    parts = [deal_id, action] + ([item_code] if item_code is not None else [])
    return SEP.join([*parts, _mac(key, deal_id, action, item_code, chat_key)])


def split(token: str) -> tuple[str, str, str | None, str] | None:
    """(deal id, action, item code, mac) of a token's shape, unverified; None when malformed."""
    parts = token.split(SEP)
    if len(parts) == 3:
        deal_id, action, mac = parts
        item = None
    elif len(parts) == 4:
        deal_id, action, item, mac = parts
    else:
        return None
    if not deal_id or action not in ACTIONS or (action == "mine") != (item is None) or item == "" or not mac:
        return None
    return deal_id, action, item, mac


def verify(key: bytes, deal_id: str | None, action: str, item_code: str | None, mac: str,
           chat_key: str = "") -> Signed | None:
    """The signed content when ``mac`` is this bot's MAC over it for a card in ``chat_key``
    (constant-time check), else None."""
    if not deal_id or not mac or action not in ACTIONS:
        return None
    if not hmac.compare_digest(_mac(key, deal_id, action, item_code, chat_key).encode(), mac.encode()):
        return None
    return Signed(deal_id, action, item_code)
