"""Phone numbers in what the bot posts to a group are masked: 138****8000, 0755-****6666.

Residents write their phone in their 接龙 label (``3栋402 王姐 13800138000``); the bot's group
posts (接龙 lists and digests, tallies, cards, pickup lists) show it masked, the way Chinese apps
and couriers print numbers. Only a leader's private copies (exports, the full pickup list) keep
the digits. One function, :func:`mask_phones`, applied by :mod:`bot.render` to group posts.
"""

from __future__ import annotations

import re

MASK = "****"

# Separators people put between a phone's digit groups: hyphens, spaces, dots (138.1234.5678),
# middle dots and dashes. Prices and dates never match: 12.5 is too short and a date starts with 2.
_SEP = r"[-\s.·–—]"
# A mainland mobile number: 11 digits 1[3-9]x, written 13812345678, 138-1234-5678, 138 1234 5678 or
# 138.1234.5678, optionally after +86 / 86; never part of a longer run of digits.
_MOBILE = re.compile(rf"(?<![\d])(?:\+?86{_SEP}?)?(1[3-9]\d){_SEP}?(\d{{4}}){_SEP}?(\d{{4}})(?![\d])")
# A landline: area code 0xx / 0xxx (optionally in brackets), then 7 or 8 digits (maybe split 3-4 / 4-4).
_LANDLINE = re.compile(rf"(?<![\d])([(（]?0\d{{2,3}}[)）]?){_SEP}?(\d{{3,4}}){_SEP}?(\d{{4}})(?![\d])")
# A landline without its area code: 7-8 digits, written together or split 3-4 / 4-4 by a hyphen
# (not by a space: "2801 2802" is two rooms).
_LOCAL = re.compile(r"(?<![\d.¥])([2-9]\d{2,3})-?(\d{4})(?![\d.])")


def mask_phones(text: str) -> str:
    """``text`` with every phone number's middle digits masked (last four kept).

    13800138000 / 138-0013-8000 / +86 138 0013 8000 → 138****8000; 0755-8888-6666 → 0755-****6666;
    8888-6666 → ****6666. Room numbers (402, 3-1-502), quantities and prices are never that long
    and stay as they are.
    """
    text = _MOBILE.sub(lambda mt: f"{mt.group(1)}{MASK}{mt.group(3)}", text)
    text = _LANDLINE.sub(lambda mt: f"{mt.group(1)}-{MASK}{mt.group(3)}", text)
    return _LOCAL.sub(lambda mt: f"{MASK}{mt.group(2)}", text)
