"""Whether a /refund's reason asks for a replacement (补发, amount 0) rather than money back.

A reason names two options: the replacement (:data:`REPLACE_WORDS`: 补发, 换货, 重发, 再发 …) and
the refund (退款, 退钱, 退费, 返款 …). Each mention of either is *affirmed* unless it is negated or
rejected:

- negated: a negation word governs it from right before it, with nothing but modal or linking words
  between them (:data:`_BRIDGE`: 想, 要, 用, 需要, 能, 再, 再次, 进行, 给, 同意 …): ``不补发``,
  ``不想补发``, ``无需再次补发``, ``无法再进行补发``, ``来不及补发``, ``非补发``, ``拒绝退款``,
  ``不要退款``. The negation words: 不 没 无 非 未 别 甭 勿 莫, 拒绝 取消 停止 放弃 休想.
- rejected: a rejection follows it (:data:`_REJECT`): ``补发不了``, ``补发太慢``, ``补发就算了``,
  ``换货不行``, ``补发没货了``, ``退款来不及``; or a refusal that closes the clause
  (``补发不要了``, ``换货不需要``).

So a negation word only counts when it governs the mention: a reassurance or a description in front
(``没问题补发``, ``没关系补发``, ``别担心马上补发``, ``没到的补发``, ``不新鲜补发``, ``免运费补发``)
leaves other words between, and ``不退钱补发`` negates 退钱, not 补发. Double negations and
suggestions (``不得不补发``, ``要不补发吧``) are no negation.

The decision: a replacement when some replacement mention is affirmed and no refund mention is;
otherwise (a refund affirmed, every replacement negated or rejected, or no mention at all) money
goes back. ``补发不退款`` and ``不要退款要补发`` are replacements; ``补发太慢，直接退款``,
``不想补发,退钱`` and ``补发要等一周，客户要退款`` are refunds.

Spaces are dropped first (``不 补发`` is ``不补发``). A negation or rejection never crosses a clause
mark (``,，。;；!！?？、`` or a line break): ``无法补发，换货`` affirms 换货.
"""

from __future__ import annotations

import re

REPLACE_WORDS = ("补发", "补寄", "换货", "更换", "换新", "重发", "重新发", "重寄", "再发")
"""The words of a replacement."""

_REPLACE = re.compile(r"补发|补寄|换货|更换|换新|重发|重新发|重寄|再发(?![现生布言])")
_REFUND = re.compile(r"退(?:全|部分)?[款钱费]|退还|返[款钱现]|全额退|钱退")
_MENTION = re.compile(f"{_REPLACE.pattern}|{_REFUND.pattern}")
_CLAUSE_MARK = re.compile(r"[,，。;；!！?？、\n]")
_SPACES = re.compile(r"\s+")
# A double negation or a suggestion holding 不: blanked before reading negations.
_NOT_NEGATION = re.compile(r"不得不|不能不|不会不|(?<!只)要不(?!要)")

_NEGATION = r"(?:拒绝|取消|停止|放弃|休想|[不没无非未别甭勿莫])"
_BRIDGE = (r"(?:愿意|同意|需要|必要|可以|办法|再次|进行|安排|打算|准备|考虑|接受|帮忙|予以|"
           r"[想愿需用要能可会给必有法再及是货去帮得])")
"""Modal and linking words that may stand between a negation and the word it governs."""
_NEGATED_BEFORE = re.compile(f"{_NEGATION}{_BRIDGE}*$")
# After a mention: words that may stand before a rejection (补发就算了, 补发实在太慢).
_FILLER = r"(?:的话|实在|根本|已经|肯定|估计|可能|[就也都还又了是])"
_REJECT = (r"(?:不了|不成(?!问题)|不行|来不及|等不了|等不及|太慢|太久|太晚|太迟|太麻烦|算了|取消|作废|"
           r"没有?必要|没法|没办法|没有?货|无货|免了|拉倒)")
"""Rejections that rule out the mention before them wherever they stand in its clause's tail."""
_REFUSE_AT_END = r"(?:不要|不用|不需要|不想|不必|不考虑|不接受|不同意|不可以|不能|没用|不划算|不合适)"
"""Refusals that rule out the mention before them only when they close the clause (补发不要了, but
not 补发不要钱)."""
_REJECTED_AFTER = re.compile(f"^{_FILLER}*(?:{_REJECT}|{_REFUSE_AT_END}[了啦吧啊呀的哈]*$)")


def _affirmed(lead: str, tail: str) -> bool:
    """True when a mention is neither negated by its clause text ``lead`` (before it) nor
    rejected by its clause text ``tail`` (after it)."""
    return not (_NEGATED_BEFORE.search(lead) or _REJECTED_AFTER.search(tail))


def is_replacement(reason: str) -> bool:
    """True when ``reason`` (any text) affirms a replacement word and no refund word (module
    docstring); False otherwise, also for an empty reason or one without either word."""
    text = _NOT_NEGATION.sub("·", _SPACES.sub("", reason))
    replace = refund = False
    for clause in _CLAUSE_MARK.split(text):
        for mention in _MENTION.finditer(clause):
            if _affirmed(clause[: mention.start()], clause[mention.end():]):
                if _REFUND.fullmatch(mention.group()):
                    refund = True
                else:
                    replace = True
    return replace and not refund
