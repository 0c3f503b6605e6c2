"""Whether a /refund's reason asks for a replacement (补发, amount 0) rather than money back.

A reason asks for one when it says a replacement word (:data:`REPLACE_WORDS`) affirmatively, at
least once: an occurrence right after a negation (``不补发``, ``无法补发``, ``没法补发``, ``不用补发``,
``不能再补发``, ``无货可补发``) or right before one (``补发不了``, ``补发不成``, ``换货不行``) rules a
replacement out, and such a reason refunds. ``不新鲜补发`` or ``坏了,补发`` is a replacement: only
the negations listed here count, with a few words between (``再``, ``给``, ``进行``).
"""

from __future__ import annotations

import re

REPLACE_WORDS = ("补发", "换货", "更换", "换新")
"""The words of a replacement."""

_BEFORE = ("不|没|没有|无|无法|没法|没办法|不能|不能够|不可|不可以|不可能|不用|不要|不需|不需要|无需|无须|"
           "不必|未|别|甭|免|勿|不再|不会|不予|不给|不是|并非|难以|无从|拒绝|暂不|暂时不|无货可|没货可")
_BETWEEN = "再|给|予|能|会|用|必|去|进行|安排"
_NEGATED_BEFORE = re.compile(rf"(?:{_BEFORE})(?:{_BETWEEN})*$")
_NEGATED_AFTER = re.compile(r"^(?:了)?(?:不了|不成|不出|不到|不行|不能|不可能|没法|无法|取消|作废|没货|无货)")


def is_replacement(reason: str) -> bool:
    """True when ``reason`` (any text) says a word of :data:`REPLACE_WORDS` affirmatively (module
    docstring); False for a reason without one, or with each one negated."""
    for word in REPLACE_WORDS:
        start = reason.find(word)
        while start >= 0:
            end = start + len(word)
            if not _NEGATED_BEFORE.search(reason[:start]) and not _NEGATED_AFTER.search(reason[end:]):
                return True
            start = reason.find(word, end)
    return False
