"""A leader's deal post defines the catalog (§3.1): items, prices, units, the cutoff and a title."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal

from bot.catalog import Catalog, Item
from bot.engine.listing import is_numbered, iter_raw_units, make_unit
from bot.engine.normalize import normalize
from bot.engine.numerals import cn_to_int
from bot.engine.platform import residents_words

# A price, and the unit after "/" (29.9元/盒, ¥25.8); a tier after it (22元/2包42元) has a digit
# after "/" and leaves the price at the first.
# A minus written against the number (黄金 -5元, ¥-5) is kept, so the price check refuses it; a dash
# between name and price (草莓-25元) is no sign. 1,299 is one number; 1e9 is no price a leader writes.
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# 29块9 / 29元9角 / 29块5毛 / 9块9包邮: 角 (tenths) after 元 or 块, and 分 after them; a digit followed by a
# measure word (29元5斤) is no 角.
_MEASURE = r"(?:斤|公斤|千克|kg|克|g|两|个|盒|箱|袋|包(?!邮)|瓶|件|只|份|枚|颗|条|块|提|串|罐|桶|ml|l|升)"
_JIAO = (r"(?:(?P<jiao>\d)(?!\d)(?!\s*" + _MEASURE + r")\s*(?:角|毛)?"
         r"(?:(?P<fen>\d)(?!\d)(?!\s*" + _MEASURE + r")\s*分?)?)?")
_PRICE = re.compile(
    r"(?:[¥$]\s*(?P<p1>-?" + _NUMBER + r")|(?P<p2>(?:(?<=\s)-|(?<=^)-)?(?<![\d.,eE])" + _NUMBER + r")\s*(?:元|块)"
    + _JIAO + r")"
    r"(?:\s*/\s*(?P<unit>[^\s\d,，。;；/()（）]{1,3}))?",
)
# a line that names a price (元, 块, ¥) without a readable number: an item whose price is unusable
_PRICE_WORD = re.compile(r"[¥$]|元|块")
# 19.9/箱 at the end of a line (no 元 or ¥): still a price with its unit
_BARE_PRICE = re.compile(r"(?<![\d.])(?P<p2>\d+(?:\.\d{1,2})?)\s*/\s*(?P<unit>[\u4e00-\u9fff]{1,2})\s*$")
_NAME_TAIL = re.compile(r"[\s]*(?:单价|价格|售价|团购价|只要|仅)$")

# A line that states the cutoff, and a clock time in it (§3.1).
_CUTOFF_WORD = re.compile(r"截单|截止|截团|结单|停单|结束接龙|停止接龙|接龙截止")
_CN_NUM = "零一二两三四五六七八九十"
_CLOCK = re.compile(
    r"(?:(?P<mon>\d{1,2})\s*月\s*(?P<mday>\d{1,2})\s*[日号]\s*)?"
    r"(?P<day>今天|今日|今晚|明天|明日|明晚|明早|后天|(?:周|星期|礼拜)[一二三四五六日天])?\s*"
    r"(?P<period>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|夜间|晚)?\s*"
    r"(?P<h>(?<![\d:：])\d{1,2}|[" + _CN_NUM + r"]{1,3})\s*"
    r"(?:[:：]\s*(?P<m>\d{2})(?!\d)|点\s*(?:(?P<half>半)|(?P<m2>\d{1,2})\s*分?|(?P<mcn>[" + _CN_NUM + r"]{1,3})\s*分)?|时)"
)
_PM = {"下午", "傍晚", "晚上", "夜里", "夜间", "晚"}
_NIGHT = {"晚上", "夜里", "夜间", "晚", "凌晨"}
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_NEXT_DAY = {"明天": 1, "明日": 1, "明晚": 1, "明早": 1, "后天": 2}

# Title: the deal's hashtags and pictures are no part of its name.
_TAG = re.compile(r"#\s*(?:接龙|团购|拼团)#?")


REPEATED = "repeated_items"  # Catalog.extra key: priced lines whose number an earlier line had


def parse_deal_post(text: str, posted_at: datetime | None = None) -> Catalog | None:
    """The catalog a leader's post defines: numbered item lines, each with a name and a price.

    ``posted_at``: the post's time (aware); a line that states the cutoff (今晚8点截单) sets the
    catalog's cutoff at that time on that day, in that time zone. None when the post lists no
    priced item. Never raises: prices are read as written; whether they are usable (and whether
    numbers repeat, see ``extra[REPEATED]``) is for :func:`bot.catalog_check.catalog_problems` to say.
    """
    norm = residents_words(normalize(text))
    items: list[Item] = []
    repeated: list[Item] = []
    seen: set[str] = set()
    header: list[str] = []
    for line in norm.split("\n"):
        if is_numbered(line):
            break
        header.append(line)
    for lines in iter_raw_units(norm):
        unit = make_unit(lines)
        item = _item_line(unit.number, unit.body.split("\n"))
        if item is None:
            continue
        if unit.number in seen:
            repeated.append(item)  # checked with the prices by bot/catalog_check.py
            continue
        seen.add(unit.number)
        items.append(item)
    if not items:
        return None
    cutoff = find_cutoff(norm, posted_at) if posted_at is not None else None
    return Catalog(items=tuple(items), title=clean_title(header, items), cutoff=cutoff,
                   extra={REPEATED: tuple(repeated)} if repeated else {})


def _item_line(code: str, body: list[str]) -> Item | None:
    """The item a numbered line of the post offers (its price on it or on the line after it), or None."""
    name_line, m = body[0], _PRICE.search(body[0]) or _BARE_PRICE.search(body[0])
    if m is not None:
        name = name_line[: m.start()]
    elif len(body) > 1 and (m := _PRICE.search(body[1]) or _BARE_PRICE.search(body[1])) is not None:
        name = name_line  # (2)砂锅鱼头 / 一包23元: the price on the line right after it
    elif _PRICE_WORD.search(name_line, 1) is not None:
        # 黄金 NaN元, 黄金 1e9元: a price the leader meant but no price we can read; the catalog
        # check refuses the post naming this line (never a silently missing item)
        whole = name_line.strip(" :：-—,，.。|")  # the whole line, as the leader will be shown it
        return Item(code=code, name=whole, unit="", price=Decimal("NaN")) if whole else None
    else:
        return None
    name = _NAME_TAIL.sub("", name.strip(" :：-—,，.。|")).strip()
    if not name:
        return None
    price = Decimal((m.groupdict().get("p1") or m.group("p2")).replace(",", "").replace(" ", ""))
    jiao, fen = m.groupdict().get("jiao"), m.groupdict().get("fen")
    if jiao is not None and "." not in str(price):
        price += Decimal(jiao) / 10 + Decimal(fen or 0) / 100  # 29块9 is 29.9
    return Item(code=code, name=name, unit=(m.group("unit") or "").strip(), price=price)


def clean_title(header: list[str], items: list[Item]) -> str:
    """The deal's title from the post's header lines: no #接龙 tags, emoji or repeats (at most 60 chars)."""
    for line in header:
        words: list[str] = []
        for w in _TAG.sub(" ", line).split():
            w = "".join(ch for ch in w if not unicodedata.category(ch).startswith(("S", "C")))
            w = w.strip("#*~～-—_=|·.。,，!！")
            if w and w not in words:
                words.append(w)
        title = " ".join(words)
        if title:
            return title[:60]
    return "、".join(it.name for it in items[:3])[:60]


def find_cutoff(text: str, posted_at: datetime) -> datetime | None:
    """The cutoff a line of the post states (今晚8点截单, 21:00截单, 明天中午12点截单), or None.

    The time is on the post's day (the next day for 明天, the coming one for 周四), in the post's
    time zone. A time of day without 上午/下午 that has already passed when the post was sent is
    read as the afternoon one (a post at 19:00 saying 8点截单 means 20:00); 今晚12点 and 晚上零点
    are the midnight that ends the evening; a time with no day that is still past is tomorrow's.
    """
    for line in text.split("\n"):
        word = _CUTOFF_WORD.search(line)
        if word is None:
            continue
        best: tuple[int, datetime] | None = None
        for m in _CLOCK.finditer(line):
            at = _clock_time(m, posted_at)
            if at is None:
                continue
            dist = min(abs(m.end() - word.start()), abs(m.start() - word.end()))
            if best is None or dist < best[0]:
                best = (dist, at)
        if best is not None:
            return best[1]
    return None


def _clock_time(m: re.Match[str], posted_at: datetime) -> datetime | None:
    h = int(m.group("h")) if m.group("h").isdigit() else cn_to_int(m.group("h"))
    raw_min = m.group("m") or m.group("m2")
    minute = int(raw_min) if raw_min else 30 if m.group("half") else cn_to_int(m.group("mcn") or "") or 0
    if h is None or h > 24 or minute > 59:
        return None
    period, day = m.group("period"), m.group("day") or ""
    explicit = bool(period) or day in ("今晚", "明晚", "明早")
    night = period in _NIGHT or day in ("今晚", "明晚")
    if night and h in (0, 12):
        h = 24  # 今晚12点 / 晚上零点: the midnight that ends the evening, not noon
    elif h < 12 and (period in _PM or day in ("今晚", "明晚")):
        h += 12
    elif period == "中午" and h < 6:
        h += 12
    base = posted_at
    if m.group("mon"):
        try:
            base = posted_at.replace(month=int(m.group("mon")), day=int(m.group("mday")))
        except ValueError:
            return None
    if day[:-1] in ("周", "星期", "礼拜"):  # 周四晚8点: the coming Thursday (today when it is Thursday)
        base = base + timedelta(days=(_WEEKDAY[day[-1]] - posted_at.weekday()) % 7)
    base = base + timedelta(days=_NEXT_DAY.get(day, 0))
    at = base.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=h, minutes=minute)
    if not explicit and not m.group("mon") and day in ("", "今天", "今日") and at <= posted_at and h < 12:
        at += timedelta(hours=12)
    if not day and not m.group("mon") and at <= posted_at:
        at += timedelta(days=1)  # 中午12点截单 posted in the evening: tomorrow's noon, not one already past
    return at
