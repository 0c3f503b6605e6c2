"""Whether a /refund's reason asks for a replacement (补发, amount 0) rather than money back.

A reason asks for one when it says a replacement word (:data:`REPLACE_WORDS`) affirmatively, at
least once. An occurrence is ruled out by a negating or refusing word shortly before it in the same
clause (``不补发``, ``不想补发``, ``不同意换货``, ``无需再次补发``, ``来不及补发了``, ``非补发``,
``不 补发``) or shortly after it (``补发不了``, ``补发就算了``, ``换货没必要``). Words that only
describe the goods or the delivery (``不新鲜``, ``质量不对``, ``少了不少``, ``没收到``, ``免费``) are
no negation: ``不新鲜补发`` is a replacement. A reason that negates a replacement and also says
退款/退钱 is a refund, whatever else it says (``不想补发,退钱,补发太慢``).

"Clause": the text between punctuation marks (``,，。;；!！?？、`` and line breaks); spaces do not
split a clause. "Shortly": :data:`WINDOW_BEFORE` characters before, :data:`WINDOW_AFTER` after.
"""

from __future__ import annotations

import re

REPLACE_WORDS = ("补发", "换货", "更换", "换新")
"""The words of a replacement."""

WINDOW_BEFORE = 8
"""How many characters of the clause before a replacement word are read for a negation."""
WINDOW_AFTER = 6
"""How many characters of the clause after a replacement word are read for a refusal."""

_CLAUSE_END = re.compile(r"[,，。;；!！?？、\n]")
# Words holding a negating character that describe the goods or the delivery, not the replacement:
# they are blanked out before looking for a negation.
_DESCRIPTIVE = re.compile(
    r"不新鲜|不太|不好|不对|不全|不够|不足|不少|不满意|不合格|不一样|不符|不甜|不熟|不能吃|不能用|不像|"
    r"(?:没有?|未)(?:收到|送到|送达|拿到|领到|到货|熟)|免费|非常|别的|别人|别家|无误|无损")
# A negating or refusing word: 不 (不想, 不愿, 不同意, 不需要, 来不及, 不能 …), 没/无/非/未/别/甭/勿/莫/免
# (没法, 无需, 非, 未能, 别, 免了), 拒绝, and after the word 算了/取消/作废.
_NEGATION = re.compile(r"[不没无非未别甭勿莫免]|拒绝|休想|算了|取消|作废")
_REFUND_WORDS = re.compile(r"退款|退钱|退费|退还|返款|返钱")
_SPACES = re.compile(r"\s+")


def _negated(before: str, after: str) -> bool:
    """True when the clause text ``before`` a replacement word (its last :data:`WINDOW_BEFORE`
    characters) or ``after`` it (its first :data:`WINDOW_AFTER`) holds a negation."""
    before = _DESCRIPTIVE.sub("·", _CLAUSE_END.split(before)[-1])
    after = _DESCRIPTIVE.sub("·", _CLAUSE_END.split(after)[0])
    return bool(_NEGATION.search(before[-WINDOW_BEFORE:]) or _NEGATION.search(after[:WINDOW_AFTER]))


def is_replacement(reason: str) -> bool:
    """True when ``reason`` (any text) says a word of :data:`REPLACE_WORDS` affirmatively and does
    not both negate one and ask for money back (module docstring); False for a reason without one,
    or with each one negated."""
    text = _SPACES.sub("", reason)
    affirmed = negated = False
    for word in REPLACE_WORDS:
        start = text.find(word)
        while start >= 0:
            end = start + len(word)
            if _negated(text[:start], text[end:]):
                negated = True
            else:
                affirmed = True
            start = text.find(word, end)
    if negated and _REFUND_WORDS.search(text):
        return False
    return affirmed
