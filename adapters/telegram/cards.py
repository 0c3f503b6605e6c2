"""Deal cards: :class:`Card` → ``InlineKeyboardMarkup``, and callback data back to an action.

Callback data is ``t:<action>`` or ``t:<action>:<item code>`` (Telegram allows 64 bytes).
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.model import Card, CardButton

log = logging.getLogger(__name__)

PREFIX = "t"
ACTIONS = frozenset({"add", "sub", "mine"})
MAX_DATA_BYTES = 64


def encode(button: CardButton) -> str | None:
    """Callback data for a button; None when it cannot be encoded (unknown action, code too long)."""
    if button.action not in ACTIONS:
        return None
    data = f"{PREFIX}:{button.action}" + (f":{button.item_code}" if button.item_code else "")
    return data if len(data.encode()) <= MAX_DATA_BYTES else None


def decode(data: str) -> tuple[str, str | None] | None:
    """``(action, item code)`` from callback data; None for data that is not ours or malformed."""
    prefix, _, rest = data.partition(":")
    action, _, code = rest.partition(":")
    if prefix != PREFIX or action not in ACTIONS:
        return None
    if action == "mine":
        return (action, None) if not code else None
    return (action, code) if code else None


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
