"""Households of a deal and their order numbers (跟团号). Pure functions over entry rows.

**A household** is one resident, ``(chat_key, sender_id)``, however many labels their lines carry:
a 接龙 line ``3栋402 王姐 葡萄2`` and a later short reply ``鸡蛋1`` (label "") are one household.

**A proxy line** is one whose label starts with a word of ordering for someone else
(:data:`PROXY_WORDS`: 帮 替 代 给, optionally followed by 邻居/楼上/楼下/隔壁/朋友/同事/家 and by
订/拍/买/下单/接龙) and then names someone: ``帮邻居6栋101刘奶奶``, ``代6-1-101 刘奶奶``. It is its
own household *under the ordering resident*: the key ``(chat_key, sender_id, proxy)`` where
``proxy`` is the named neighbour, normalised (NFKC, spaces removed, case folded), so two lines for
``帮邻居6栋101刘奶奶`` and ``帮6栋101 刘奶奶`` are one neighbour. ``帮我…`` (the resident's own
order) and a label that is only a proxy word are the resident's own household. A neighbour's line
written without such a word (a copied 接龙 with a second line of one's own) stays in the
resident's household: the bot cannot tell a neighbour from a second name for oneself.

**The order number (跟团号)** of a household is 1, 2, 3… in the order of its first order in the
deal: the first entry row with a positive quantity, by entry id (ids grow in commit order within
a deal, :class:`bot.services.orders.Unit`). Every entry counts, also those later withdrawn,
edited or cancelled, so a number once given never changes and is never given again; a household
that cancelled everything keeps its number and is simply not listed (lists may have gaps).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.ports import EntryRow

HouseKey = tuple[str, str, str]
"""A household: ``(chat_key, sender_id, proxy)``; ``proxy`` is "" for the resident's own."""

PROXY_WORDS = ("帮", "替", "代", "给")
_PROXY = re.compile(
    r"^\s*(?:帮|替|代|给)(?:忙)?\s*(?:邻居|楼上|楼下|隔壁|朋友|同事|家)?\s*(?:订|拍|买|下单|接龙|报)?\s*(?P<who>.*)$"
)


def proxy_of(label: str) -> str:
    """The neighbour a proxy label names, normalised (see the module docstring); "" for the
    resident's own label."""
    text = unicodedata.normalize("NFKC", label)
    found = _PROXY.match(text)
    if found is None:
        return ""
    who = found.group("who").strip()
    if not who or who.startswith(("我", "自己")):
        return ""
    return re.sub(r"\s+", "", who).casefold()


def proxy_label(label: str) -> str:
    """The label of a proxy line without its proxy words (``帮邻居6栋101刘奶奶`` → ``6栋101刘奶奶``);
    the label itself when it is the resident's own."""
    text = unicodedata.normalize("NFKC", label)
    found = _PROXY.match(text)
    if found is None or not proxy_of(label):
        return label
    return found.group("who").strip()


def house_key(chat_key: str, sender_id: str, label: str) -> HouseKey:
    """The household a line of this resident with this label belongs to."""
    return chat_key, sender_id, proxy_of(label)


def first_orders(entries: Iterable[EntryRow]) -> dict[HouseKey, EntryRow]:
    """Each household's first entry with a positive quantity (by id), withdrawn or superseded
    ones included, in order of those entries: the order numbers are positions in it, from 1."""
    first: dict[HouseKey, EntryRow] = {}
    for e in sorted(entries, key=lambda e: e.id):
        if e.qty > 0:
            first.setdefault(house_key(e.chat_key, e.sender_id, e.label), e)
    return first


def order_numbers(entries: Iterable[EntryRow]) -> dict[HouseKey, int]:
    """跟团号 of every household that ever ordered in the deal: 1, 2, 3… (see the module docstring)."""
    return {key: n for n, key in enumerate(first_orders(entries), 1)}
