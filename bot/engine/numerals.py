"""Chinese numerals (一, 两, 十二, 二十五, 一百零五) to integers."""

from __future__ import annotations

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5,
             "陆": 6, "柒": 7, "捌": 8, "玖": 9}
CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CN_CHARS = "".join(CN_DIGITS) + "".join(CN_UNITS)


def cn_to_int(s: str) -> int | None:
    """Value of a Chinese numeral, or None if ``s`` is not one."""
    if not s or any(c not in CN_DIGITS and c not in CN_UNITS for c in s):
        return None
    if all(c in CN_DIGITS for c in s):
        if len(s) == 1:
            return CN_DIGITS[s]
        # digit by digit, e.g. 一二 -> 12 (rare, but seen)
        return int("".join(str(CN_DIGITS[c]) for c in s))
    total = 0
    current = 0
    for c in s:
        if c in CN_DIGITS:
            current = CN_DIGITS[c]
        else:
            unit = CN_UNITS[c]
            total += (current or 1) * unit
            current = 0
    return total + current
