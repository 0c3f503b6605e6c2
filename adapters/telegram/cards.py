"""Deal cards: :class:`Card` → ``InlineKeyboardMarkup``, and callback data back to a press.

Callback data is ``t:`` and the button's signed token (:mod:`bot.buttons`):
``t:<deal id>:<action>[:<item code>]:<mac>``, 64 bytes at most (Telegram's limit). The adapter
only reads it; the core verifies the MAC. Cards from before buttons were signed carry
``t:<action>[:<item code>]``: read with no deal and no signature, so the core acts on nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.buttons import split
from bot.model import Card, CardButton

log = logging.getLogger(__name__)

PREFIX = "t"
ACTIONS = frozenset({"add", "sub", "mine"})
MAX_DATA_BYTES = 64


def encode(button: CardButton) -> str | None:
    """Callback data for a button; None when it cannot be sent (unsigned, unknown action, too long)."""
    if button.action not in ACTIONS or not button.token:
        return None
    data = f"{PREFIX}:{button.token}"
    return data if len(data.encode()) <= MAX_DATA_BYTES else None


@dataclass(frozen=True, slots=True)
class Pressed:
    """What callback data says, unverified: the core checks ``signature`` over the rest."""

    action: str
    item_code: str | None
    deal_id: str | None = None
    signature: str = ""


def decode(data: str) -> Pressed | None:
    """The press callback data describes; None for data that is not ours or malformed."""
    prefix, _, rest = data.partition(":")
    if prefix != PREFIX:
        return None
    head = rest.partition(":")[0]
    if head in ACTIONS:  # a card from before buttons were signed
        old_action, _, old_code = rest.partition(":")
        if (old_action == "mine") != (not old_code) or ":" in old_code:
            return None
        return Pressed(old_action, old_code or None)
    parts = split(rest)
    if parts is None:
        return None
    deal_id, action, code, mac = parts
    return Pressed(action, code, deal_id, mac)


def keyboard(card: Card) -> InlineKeyboardMarkup | None:
    """The card's button rows; None when it has none."""
    rows: list[list[InlineKeyboardButton]] = []
    for row in card.rows:
        buttons = []
        for button in row:
            data = encode(button)
            if data is None:
                log.warning("card button %r cannot be encoded as callback data; left out", button)
                continue
            buttons.append(InlineKeyboardButton(button.label, callback_data=data))
        if buttons:
            rows.append(buttons)
    return InlineKeyboardMarkup(rows) if rows else None
