"""Chinese numerals (一, 两, 十二, 二十五, 一百零五, 一万, 三千) to integers (§3.5).

Numbers are read whole and capped at :data:`HUGE`: a quantity larger than any sane order is judged
by the deal's ``max_line_qty`` (unclear), never cut down to a smaller number. The cap also keeps
the cost linear: a run of 16,000 digits is not turned into a 16,000-digit integer.
"""

from __future__ import annotations

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5,
             "陆": 6, "柒": 7, "捌": 8, "玖": 9}
CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CN_BIG = {"万": 10_000, "萬": 10_000, "亿": 100_000_000}
CN_CHARS = "".join(CN_DIGITS) + "".join(CN_UNITS)
CN_BIG_CHARS = "".join(CN_BIG)

HUGE = 10**9
"""Every number at or above this reads as this: far above any ``max_line_qty``."""


def cn_to_int(s: str) -> int | None:
    """Value of a Chinese numeral (at most :data:`HUGE`), or None if ``s`` is not one.

    Digit strings are read digit by digit (一二 -> 12, rare but seen); otherwise the usual
    positional reading with sections of 万 and 亿 (一万二千 -> 12000).
    """
    if not s or any(c not in CN_DIGITS and c not in CN_UNITS and c not in CN_BIG for c in s):
        return None
    if all(c in CN_DIGITS for c in s):
        if len(s) == 1:
            return CN_DIGITS[s]
        if len(s) > 9:
            return HUGE
        return int("".join(str(CN_DIGITS[c]) for c in s))
    total = 0
    section = 0
    current = 0
    for c in s:
        if c in CN_DIGITS:
            current = CN_DIGITS[c]
        elif c in CN_UNITS:
            section += (current or 1) * CN_UNITS[c]
            current = 0
        else:
            total = (total + section + current) * CN_BIG[c]
            section = current = 0
        if total >= HUGE:
            return HUGE
    return min(total + section + current, HUGE)


def digits_to_int(s: str) -> int:
    """Value of a run of ASCII digits, at most :data:`HUGE` (never a huge integer)."""
    t = s.lstrip("0")
    if len(t) > 9:
        return HUGE
    return int(t or "0")
