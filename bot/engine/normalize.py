"""Normalise chat text at the edge: NFKC, keycaps, circled numbers, dashes, invisible characters."""

from __future__ import annotations

import re
import unicodedata

from bot.engine.lazy import LazyPattern

# Circled numbers are kept as ①..⑳ (NFKC would turn them into plain digits, losing that
# "③" names item 3 in a short reply). Other circled/negative-circled styles map onto them.
_CIRCLED: dict[str, str] = {}
for _i in range(20):
    _CIRCLED[chr(0x2460 + _i)] = chr(0x2460 + _i)  # ①..⑳
for _i in range(10):
    _CIRCLED[chr(0x2776 + _i)] = chr(0x2460 + _i)  # ❶..❿
    _CIRCLED[chr(0x2780 + _i)] = chr(0x2460 + _i)  # ➀..➉
    _CIRCLED[chr(0x278A + _i)] = chr(0x2460 + _i)  # ➊..➓
for _i in range(10, 20):
    _CIRCLED[chr(0x24EB + _i - 10)] = chr(0x2460 + _i)  # ⓫..⓴

_KEYCAP = re.compile("([0-9#*])\ufe0f?\u20e3")
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\ufe00-\ufe0f\u00ad]")
_DASHES = re.compile("[\u2010-\u2015\u2212\u2500\u30fc\uff70]")
# WeChat's text codes for its emoji: [玫瑰] [强] [西瓜] [OK] — pictures, never words of an order.
_WECHAT_EMOJI = LazyPattern(r"\[[\u4e00-\u9fffA-Za-z]{1,5}\]")  # compiled when a text holds a [
_SPLIT_CIRCLED = re.compile("([" + "".join(_CIRCLED) + "])")
# A lone surrogate (broken UTF-16 from a client) is no character: it becomes U+FFFD.
_SURROGATE = re.compile("[\ud800-\udfff]")


def normalize(text: str) -> str:
    """Return ``text`` in the form the parser reads; never raises."""
    text = scrub(text)
    text = _KEYCAP.sub(r"\1", text)
    text = _INVISIBLE.sub("", text)
    if "[" in text:
        text = _WECHAT_EMOJI.sub(" ", text)
    if _SPLIT_CIRCLED.search(text):
        parts = _SPLIT_CIRCLED.split(text)
        text = "".join(_CIRCLED[p] if p in _CIRCLED else unicodedata.normalize("NFKC", p) for p in parts)
    elif not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = _DASHES.sub("-", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\t" in text:
        text = text.replace("\t", " ")
    return text


def scrub(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, so it can be encoded and read."""
    if text.isascii():  # (a constant-time flag of the string): no surrogate in it
        return text
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def circled_value(ch: str) -> int | None:
    """1..20 for ①..⑳ (after :func:`normalize`), else None."""
    o = ord(ch)
    return o - 0x2460 + 1 if 0x2460 <= o <= 0x2473 else None


def collapse_spaces(text: str) -> str:
    return " ".join(text.split())
