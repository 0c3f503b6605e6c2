"""REFERENCE COPY (tests only) of bot/engine/tokens.py as of 317b263, before the hot-path
rewrite of issue 11: the property tests compare the engine with it. Do not optimise it.

Scan one clause into typed tokens: item references, quantities, operation words, and masks.

Masks are numbers that are not quantities (§3.5): rooms and buildings, phones, times, dates,
prices and specs. Everything unclaimed is plain text (names, labels, chatter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bot.engine.lexicon import LEXICON_RE
from bot.engine.matcher import ItemMatcher, Ref
from bot.engine.names import starts_numeral_name
from bot.engine.normalize import circled_value
from bot.engine.numerals import CN_BIG, CN_BIG_CHARS, CN_CHARS, CN_DIGITS, HUGE, cn_to_int, digits_to_int

ITEM, QTY, OP, MASK, JOIN, TEXT = "item", "qty", "op", "mask", "join", "text"

MEASURE_WORDS = (
    "份 盒 箱 个 只 袋 包 瓶 提 件 串 把 条 块 枚 颗 粒 杯 罐 桶 扎 束 板 排 打 组 套 支 根 听 盘 株 棵 "
    "对 双 片 碗 头 尾 卷 筐 兜 单 斤 公斤 千克 kg 两 克 g 升 l ml 毫升 张 本 台 副 顶 盆 口 碟 屉 笼 罐装 盒装 箱装 袋装"
).split()
WEIGHTS = {"斤", "公斤", "千克", "kg", "两", "克", "g", "升", "l", "ml", "毫升"}

_UNIT_ALT = "|".join(sorted((re.escape(u) for u in MEASURE_WORDS), key=len, reverse=True))

_FRACTION = re.compile(r"(?<![\d-])\d+\s*/\s*\d+\s*(?=" + "|".join(
    sorted((re.escape(u) for u in "份 盒 箱 个 只 袋 包 瓶 提 件 斤 串 把 条 块 枚 颗".split()), key=len, reverse=True)) + ")")
# words in which 一 (or 两) is no quantity: 取消一下, 一起, 一点
_NOT_NUMBERS = re.compile(r"一下|一起|一点|一些|一共|一样|一定|一直|一般|一会|一次性|统一|唯一|第[一二三四五六七八九十]|两口子|一家|万一")
# (since frozen, as in bot/engine/tokens.py: names with a numeral are labels, 张三鸡蛋1 / 三姐 葡萄2)
# a numeral that starts a kinship name (三姐, 二哥, 四叔, 十三姨): part of a label, no quantity (§3.5)
_KIN_NAME = re.compile(r"[一二三四五六七八九十]{1,3}[姐哥叔婶姨姑舅嫂弟妹爷伯婆嬢]")


def _source(pattern: str, flags: int = 0) -> tuple[str, int]:
    return pattern, flags


# what follows a day of the month that is a pickup or delivery date, not an item code (§3.5: times
# are no quantities): 三号自提, 3号下午拿, 二号到货, 5号前
_DAY_AFTER = r"\s*(?:[之以]?[前后]|左右|自提|自取|取(?!消)|到|拿|送|提|发货|截单|上午|下午|晚上|早上|中午|傍晚|凌晨|白天)"
_MASK_SOURCES: list[tuple[str, tuple[str, int]]] = [
    # spec with a multiplication: 250ml*12盒, 500g×2袋
    ("spec", _source(r"(?<!\d)\d+(?:\.\d+)?\s*(?:ml|g|kg|l|克|毫升|斤|升)[*x×]\d+\s*[\u4e00-\u9fff]?", re.I)),
    # prices
    ("price", _source(r"[¥$]\s*\d+(?:\.\d+)?|(?<!\d)\d+(?:\.\d+)?\s*(?:元|块钱|rmb)", re.I)),
    # phones and long digit runs
    ("phone", _source(r"(?<!\d)(?:1[3-9]\d{9}|\d{3,4}-\d{7,8}|\d{7,})(?!\d)")),
    # dates and times
    ("date", _source(r"\d{1,4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?|\d{1,2}\s*月\s*\d{1,2}\s*[日号]?|\d{1,2}\s*月份?")),
    ("time", _source(r"\d{1,2}\s*(?:[:：]\s*\d{2}|点\s*(?:半|一刻|\d{1,2}\s*分?|钟)?|时\s*(?:\d{1,2}\s*分)?)")),
    ("date", _source(r"\d{1,2}\s*[日号]\s*(?=[之以]?[前后]|左右|取(?!消)|到|拿|送|提|自提|自取|发货|截单"
                        r"|上午|下午|晚上|早上|中午|傍晚|凌晨|白天)")),
    # (since frozen: the room number of 6栋101周奶奶 is no span of time, as in bot/engine/tokens.py)
    ("time", _source(r"(?<![\d栋幢座楼元区期苑弄巷门层#/-])(?<![栋幢座楼元区期苑弄巷门层]\s)\d+(?:分钟|个?小时|天|周|个月|年|岁)")),
    ("time", _source(r"(?<![零一二两三四五六七八九十])[零一二两三四五六七八九十]+\s*(?:点(?:钟|半|一刻|[零一二三四五六七八九十]+分?)?|个?小时|分钟|天|个月|月份?|号(?=" + _DAY_AFTER + r")|岁)")),
    ("time", _source(r"(?:周|星期|礼拜)[一二三四五六日天]|初[一二三四五六七八九十]")),
    # buildings and rooms: 3栋402, 5号楼2单元, 3-402, 9-1-302, 3#402, 1203室, A座1203
    ("room", _source(
        r"(?:[A-Za-z]\s*座?\s*)?(?:(?<!\d)\d+|(?<![一二三四五六七八九十])[一二三四五六七八九十]+|(?<![A-Za-z])[A-Za-z](?=\s*[栋幢座区]))\s*"
        r"(?:栋|幢|座|号楼|号院|楼|单元|区|期|苑|弄|巷|号门|门|层)"
        r"(?:\s*\d+\s*(?:栋|幢|号楼|楼|单元|层|室|户|房|号)|\d+|\s+\d{3,4}(?!\d))*"
    )),
    ("room", _source(r"(?<!\d)\d+(?:\s*[-#/]\s*\d+)+(?:\s*(?:室|房|号|户))?")),
    ("room", _source(r"(?<![\dA-Za-z])[A-WYZa-wyz]\s*-?\s*\d{2,}(?!\d)")),  # B1203; x12 is a quantity
    ("room", _source(r"(?<!\d)\d{2,}\s*(?:室|房|户)")),
]
# Any mask at all: one search instead of thirteen when a clause holds none (most short replies).
# Exact: an alternation matches at a position when any of its alternatives does.
_ANY_MASK = re.compile("|".join(f"(?i:{p})" if f & re.I else f"(?:{p})" for _, (p, f) in _MASK_SOURCES))


@cache
def _masks() -> list[tuple[str, re.Pattern[str]]]:
    """The masks, each compiled the first time a clause holds one (a short reply seldom does)."""
    return [(kind, re.compile(p, f)) for kind, (p, f) in _MASK_SOURCES]


_CODE = re.compile(
    r"(?<![\d#])#\s*(\d{1,3})(?!\d)"
    r"|(?<![\d月])(\d{1,3})\s*号(?!楼|院|门|单元|室|房|栋|线|床|店|铺|码|" + _DAY_AFTER + ")"
    r"|(?:(?<![\u4e00-\u9fff])|(?<=号))([一二三四五六七八九十]{1,3})号(?!楼|院|门|单元|室|房|栋|线|床|店|" + _DAY_AFTER + ")"
    r"|([\u2460-\u2473])"
)
_QTY_ARABIC = re.compile(
    r"(?P<sign>[x×*+\-])?\s*(?P<num>(?<!\d)\d+(?:\.\d+)?)(?P<big>[" + CN_BIG_CHARS + r"])?\s*(?P<unit>" + _UNIT_ALT + r")?",
    re.I,
)
_QTY_HALF = re.compile(r"半\s*(?P<unit>" + _UNIT_ALT + r")?")
_QTY_CN = re.compile(
    r"(?P<sign>[x×*+])?\s*(?P<num>[" + CN_CHARS + r"]+(?:[" + CN_BIG_CHARS + r"][" + CN_CHARS + r"]*)*)\s*(?P<unit>"
    + _UNIT_ALT + r")?"
)

OPS = [
    ("改成", "set"), ("改为", "set"), ("换成", "set"), ("换为", "set"), ("变成", "set"), ("调成", "set"),
    ("调整为", "set"), ("修改为", "set"), ("更改为", "set"), ("改", "set"), ("换", "set"),
    ("再加", "add"), ("再来", "add"), ("再要", "add"), ("追加", "add"), ("多加", "add"), ("多要", "add"),
    ("加", "add"),
    ("减少", "sub"), ("减去", "sub"), ("减掉", "sub"), ("少要", "sub"), ("减", "sub"), ("少", "sub"),
    ("不要了", "cancel"), ("不要", "cancel"), ("取消", "cancel"), ("退掉", "cancel"), ("退了", "cancel"),
    ("删掉", "cancel"), ("删除", "cancel"), ("去掉", "cancel"), ("撤销", "cancel"), ("作废", "cancel"),
    ("各", "each"), ("每样", "each"), ("每种", "each"), ("都", "all"),
    ("我要", "want"), ("要", "want"), ("来", "want"), ("买", "want"), ("订", "want"), ("拿", "want"),
]
_OP_RE = re.compile("|".join(re.escape(w) for w, _ in sorted(OPS, key=lambda p: len(p[0]), reverse=True)))
_OP_KIND = dict(OPS)
_JOIN_RE = re.compile(r"、|和|跟|及|与|还有|&|/")


@dataclass(slots=True)
class Token:
    kind: str
    start: int
    end: int
    text: str
    codes: frozenset[str] = frozenset()  # ITEM
    value: int | None = None  # QTY: None when not a positive whole number
    unit: str = ""  # QTY
    sign: str = ""  # QTY: x, +, - ; OP: the op kind
    bare_cn: bool = False  # QTY: a Chinese numeral without a unit (only valid right after an item/op)
    weight: bool = False  # QTY: a weight/volume (斤, kg): a spec unless it is the item's unit
    raw_bad: bool = False  # QTY: not a positive whole number (半, 1.5, 0)
    zero: bool = False  # QTY: a zero (改成0盒 cancels; 鸡蛋0 is unclear)
    single: bool = False  # ITEM: a lone character or a word of no item: counts only beside a quantity


class Scanner:
    """Scans clauses of one catalog's messages."""

    def __init__(self, matcher: ItemMatcher) -> None:
        self.m = matcher

    def scan(self, text: str) -> list[Token]:
        claimed = [False] * len(text)
        toks: list[Token] = []

        def free(s: int, e: int) -> bool:
            return not any(claimed[s:e])

        def claim(tok: Token) -> None:
            for k in range(tok.start, tok.end):
                claimed[k] = True
            toks.append(tok)

        for ref in _find_full(self.m, text):
            ref = _widen(self.m, text, ref)
            if free(ref.start, ref.end):
                claim(Token(ITEM, ref.start, ref.end, ref.word, codes=ref.codes))
        for mt in _CODE.finditer(text):
            if not free(mt.start(), mt.end()):
                continue
            g1, g2, g3, g4 = mt.groups()
            if g4:
                n: int | None = circled_value(g4)
            elif g3:
                n = cn_to_int(g3)
            else:
                n = int(g1 or g2)
            code = str(n)
            codes = frozenset({code}) if code in self.m.codes else frozenset()
            claim(Token(ITEM, mt.start(), mt.end(), mt.group(0), codes=codes))
        for mt in _FRACTION.finditer(text):  # 1/2盒: not a whole number
            if free(mt.start(), mt.end()):
                claim(Token(QTY, mt.start(), mt.end(), mt.group(0), value=None, raw_bad=True, sign=""))
        for mt in _NOT_NUMBERS.finditer(text):
            if free(mt.start(), mt.end()):
                claim(Token(TEXT, mt.start(), mt.end(), mt.group(0)))
        for mt in _KIN_NAME.finditer(text):
            if free(mt.start(), mt.end()):
                claim(Token(TEXT, mt.start(), mt.end(), mt.group(0)))
        for mask_kind, rx in _masks() if _ANY_MASK.search(text) else ():
            for mt in rx.finditer(text):
                if mt.end() > mt.start() and free(mt.start(), mt.end()):
                    claim(Token(MASK, mt.start(), mt.end(), mt.group(0), sign=mask_kind))
        for s, e in _free_spans(claimed):
            for ref in _find_parts(self.m, text, s, e):
                claim(Token(ITEM, ref.start, ref.end, ref.word, codes=ref.codes))
        for tok in [t for t in toks if t.kind == ITEM and len(t.codes) == 1]:
            spec = self.m.specs.get(next(iter(tok.codes)))  # 鸡蛋 30枚: the name's own spec, not a quantity
            sm = spec.match(text, tok.end) if spec is not None else None
            if sm is not None and sm.end() > tok.end and free(tok.end, sm.end()):
                for k in range(tok.end, sm.end()):
                    claimed[k] = True
                tok.end = sm.end()
                tok.text = text[tok.start:tok.end]
        for tok in [t for t in toks if t.kind == ITEM and _SPEC_LIKE.fullmatch(t.text.strip())]:
            toks.remove(tok)  # 苹果 10斤装 where 10斤装 names another item: one reference, of 苹果's
            hit = _SPEC_LIKE.search(text, tok.start)
            if hit is None or self._spec_beside_item(text, hit, toks, claimed) is None:
                toks.append(tok)
        for mt in _SPEC_LIKE.finditer(text):
            if free(mt.start(), mt.end()):
                self._spec_beside_item(text, mt, toks, claimed)
        for mt in _OP_RE.finditer(text):
            if free(mt.start(), mt.end()):
                claim(Token(OP, mt.start(), mt.end(), mt.group(0), sign=_OP_KIND[mt.group(0)]))
        for rx in (_QTY_ARABIC, _QTY_HALF):
            for mt in rx.finditer(text):
                if mt.end() > mt.start() and free(mt.start(), mt.end()):
                    claim(self._qty(mt, cn=False, text=text))
        for mt in _QTY_CN.finditer(text):
            if mt.end() > mt.start() and not free(mt.start(), mt.end()) and free(mt.start(), mt.end("num")):
                # (since frozen) 王五 2斤五花肉: 五 alone may still end a name
                alone = _QTY_CN.match(text, mt.start(), mt.end("num"))
                if alone is not None and self._name_tail(text, alone, claimed, toks) == "name":
                    claim(Token(TEXT, mt.start(), mt.start() + 1, text[mt.start()]))
                continue
            if mt.end() > mt.start() and free(mt.start(), mt.end()):
                tail = self._name_tail(text, mt, claimed, toks)
                if tail == "both":  # (since frozen) 张三十盒: two readings, unclear
                    tok = self._qty(mt, cn=True, text=text)
                    tok.value, tok.raw_bad = None, True
                    claim(tok)
                    continue
                if tail == "name":  # 张三鸡蛋1: the first numeral ends the name
                    claim(Token(TEXT, mt.start(), mt.start() + 1, text[mt.start()]))
                    code = _CN_CODE_AT.match(text, mt.start() + 1)  # (since frozen) 张三一号两份
                    if code is not None and free(code.start(), code.end()):
                        n = str(cn_to_int(code.group(1)))
                        codes = frozenset({n}) if n in self.m.codes else frozenset()
                        claim(Token(ITEM, code.start(), code.end(), code.group(0), codes=codes))
                        continue
                    rest = _QTY_CN.match(text, mt.start() + 1)
                    if rest is None or not free(rest.start(), rest.end()):
                        continue
                    mt = rest
                claim(self._qty(mt, cn=True, text=text))
        for mt in LEXICON_RE.finditer(text):  # a grocery word that is no item of this deal
            if free(mt.start(), mt.end()):
                claim(Token(ITEM, mt.start(), mt.end(), mt.group(0), codes=frozenset(), single=True))
        in_item = {k for t in toks if t.kind == ITEM and t.codes for k in range(t.start, t.end)}
        for ref in self.m.find_singles(text, _free_spans(claimed), in_item):
            if free(ref.start, ref.end):
                claim(Token(ITEM, ref.start, ref.end, ref.word, codes=ref.codes, single=True))
        for mt in _JOIN_RE.finditer(text):
            if free(mt.start(), mt.end()):
                claim(Token(JOIN, mt.start(), mt.end(), mt.group(0)))
        for s, e in _free_spans(claimed):
            chunk = text[s:e]
            if chunk.strip():
                toks.append(Token(TEXT, s, e, chunk))
        toks.sort(key=lambda t: t.start)
        return _merge_adjacent_items(_long_numbers_as_quantities(toks, text), text)

    def _name_tail(self, text: str, mt: re.Match[str], claimed: list[bool], toks: list[Token]) -> str:
        """"name" when the first character of a Chinese numeral ends a person's name (张三鸡蛋1),
        "both" when a positional numeral reads both ways (张三十盒), else "" (since frozen)."""
        s = mt.start()
        if s == 0 or claimed[s - 1] or not _NAME_CHAR.fullmatch(text[s - 1]):
            return ""
        if mt.group("sign") or mt.start("num") != s:
            return ""
        num, unit = mt.group("num"), mt.group("unit")
        found = "name"
        if len(num) > 1:
            if not all(c in CN_DIGITS for c in num):
                if num[0] not in CN_DIGITS or cn_to_int(num[1:]) is None:
                    return ""
                found = "both"
        elif unit and not (unit == "两" and _UNIT_AFTER.match(text, mt.end())):
            return ""
        r = s - 1
        while r > 0 and not claimed[r - 1] and _NAME_CHAR.fullmatch(text[r - 1]):
            r -= 1
        if not starts_numeral_name(text[s - 1], text[s - 2] if r < s - 1 else ""):
            return ""
        if r == s - 1 and text[r] in self.m.singles and not any(t.kind == ITEM and t.start > s for t in toks):
            return ""  # 李四 alone with 李子 on sale: 4 李子; 李四 葡萄2 (another item follows): the label
        if r > 0 and any(t.kind == ITEM and t.end <= r for t in toks):
            return ""  # after an item: no label (§3.2 the label comes first); 桔子三, 鸡蛋 留两
        return "" if any(LEXICON_RE.fullmatch(text[k:s]) for k in range(r, s)) else found

    def _spec_beside_item(self, text: str, mt: re.Match[str], toks: list[Token], claimed: list[bool]) -> Token | None:
        """A spec (5斤装, 500g) written beside an item word is part of the name, never a quantity
        (§3.5): the reference then names only the items with that spec, and none (unclear) when
        the deal does not offer it. An item sold by the spec's unit (牛肉 2kg) keeps it a quantity.
        Returns the item token taking the spec, or None."""
        unit = _SPEC_UNIT.sub("", mt.group(0)).strip().lower()
        for tok in toks:
            if tok.kind != ITEM:
                continue
            if tok.end <= mt.start() and not text[tok.end:mt.start()].strip():
                start, end = tok.start, mt.end()
            elif mt.end() <= tok.start and not text[mt.end():tok.start].strip():
                start, end = mt.start(), tok.end
            else:
                continue
            if unit and any(self.m.item_unit.get(c, "").lower() == unit for c in tok.codes):
                return None
            for k in range(mt.start(), mt.end()):
                claimed[k] = True
            tok.start, tok.end, tok.text = start, end, text[start:end]
            tok.codes = frozenset(c for c in tok.codes if self.m.spec_fits(c, mt.group(0)))
            return tok
        return None

    def _qty(self, mt: re.Match[str], cn: bool, text: str) -> Token:
        tok = self._qty_of(mt, cn)
        if tok.value is not None and text.startswith("半", tok.end) and tok.unit:  # 一盒半 = 1.5
            tok.end += 1
            tok.text += "半"
            tok.value, tok.raw_bad = None, True
        return tok

    def _qty_of(self, mt: re.Match[str], cn: bool) -> Token:
        d = mt.groupdict()
        unit = (d.get("unit") or "").lower()
        sign = (d.get("sign") or "").lower().replace("×", "x").replace("*", "x")
        raw = d.get("num")
        bad = False
        value: int | None
        if raw is None:  # 半
            value, bad = None, True
        elif cn:
            value = cn_to_int(raw)
        elif "." in raw:
            whole, _, frac = raw.partition(".")
            value = digits_to_int(whole) if not frac.strip("0") else None
            bad = value is None
        else:
            value = digits_to_int(raw)
        if value is not None and d.get("big"):
            value = min(value * CN_BIG[d["big"]], HUGE)
        zero = value == 0
        if value is not None and value <= 0:
            value, bad = None, True
        weight = unit in WEIGHTS
        return Token(QTY, mt.start(), mt.end(), mt.group(0), value=value, unit=unit, sign=sign,
                     bare_cn=cn and not unit and not sign, weight=weight, raw_bad=bad, zero=zero)


# A spec as written beside an item (5斤装, 6个装, 500g, 550ml): part of a name, not a quantity (§3.5)
_SPEC_LIKE = re.compile(
    r"(?<![\d.])\d+(?:\.\d+)?\s*(?:(?:斤|公斤|千克|kg|g|克|ml|毫升|l|升|个|枚|只|粒|颗|瓶)?\s*装"
    r"|(?:kg|g|克|ml|毫升|公斤|千克)(?![a-z]))", re.I)
_SPEC_UNIT = re.compile(r"[\d.\s]|装$")
# (since frozen) a Han character that may end a name before its numeral tail (张三鸡蛋1)
_NAME_CHAR = re.compile(
    r"(?![" + CN_CHARS + CN_BIG_CHARS + r"要来买订拿加再各共只就也都每给是或和跟及与还另多少减改换成为了的吧我你您他她咱俺请先号第约计])"
    r"[\u4e00-\u9fff]")
_SIGN_BEFORE = re.compile(r"[x×*]\s*$", re.I)
_MOBILE = re.compile(r"1[3-9]\d{9}")  # a mainland mobile number: a phone even right after an item
_UNIT_AFTER = re.compile(r"\s*(?:" + _UNIT_ALT + ")", re.I)
# (since frozen) a Chinese item code right after a name's numeral tail (张三一号两份)
_CN_CODE_AT = re.compile(r"([一二三四五六七八九十]{1,3})号(?!楼|院|门|单元|室|房|栋|线|床|店|" + _DAY_AFTER + ")")


def _long_numbers_as_quantities(toks: list[Token], text: str) -> list[Token]:
    """A long digit run right after an item (葡萄999999999) or a sign (x 3000000), or followed by a
    measure word (要1234567盒葡萄), is a quantity.

    Elsewhere such a run is a phone or order number; here it is what the resident wrote as the
    number, too large to take (§3.5: read whole, then judged by the limit).
    """
    out: list[Token] = []
    cut = -1  # the end of a measure word taken into the quantity before
    for t in toks:
        if t.start < cut:
            if t.kind != TEXT or t.end <= cut:
                continue
            t = Token(TEXT, cut, t.end, text[cut:t.end])
        if t.kind == MASK and t.sign == "phone":
            prev = out[-1] if out and out[-1].end == t.start and not _MOBILE.fullmatch(t.text) else None
            if prev is not None and prev.kind == ITEM:
                t = Token(QTY, t.start, t.end, t.text, value=HUGE)
            elif prev is not None and prev.kind == TEXT and _SIGN_BEFORE.search(prev.text):
                t = Token(QTY, t.start, t.end, t.text, value=HUGE, sign="x")
            elif (unit := _UNIT_AFTER.match(text, t.end)) is not None:
                cut = unit.end()  # 1234567盒: a count, not a phone; the measure word is part of it
                t = Token(QTY, t.start, cut, text[t.start:cut], value=HUGE, unit=unit.group(0).strip())
        out.append(t)
    return out


def _merge_adjacent_items(toks: list[Token], text: str) -> list[Token]:
    """One written name found as two references is one reference (§3.4).

    玫瑰葡萄 found as 玫瑰 + 葡萄 (parts of one item); 红富士苹果 found as 红富士 (item 1) + 苹果
    (items 1 and 2, or 2 and 3): the unique part decides; two ambiguous parts that share one
    item name it. Two names of different items (葡萄鸡蛋) stay two references.
    """
    out: list[Token] = []
    for t in toks:
        inner = False
        if (t.kind == ITEM and t.codes and len(out) >= 2 and out[-1].kind == TEXT and out[-2].kind == ITEM
                and out[-2].codes and _INNER_WORD.fullmatch(out[-1].text) and out[-1].start == out[-2].end
                and out[-1].end == t.start and _one_name(out[-2].codes, t.codes) is not None):
            out.pop()  # 赣南大脐橙: a word inside one written name joins it
            inner = True
        prev = out[-1] if out else None
        if prev is not None and prev.kind == ITEM and t.kind == ITEM and prev.codes and t.codes:
            gap = text[prev.end:t.start]
            codes = _one_name(prev.codes, t.codes) if inner or not gap.strip() else None
            if codes is not None and not (gap and (prev.single or t.single)):
                prev.end = t.end
                prev.text = text[prev.start:t.end]
                prev.codes = codes
                prev.single = prev.single and t.single
                continue
        out.append(t)
    return out


_INNER_WORD = re.compile(r"[\u4e00-\u9fff]{1,3}")


def _one_name(a: frozenset[str], b: frozenset[str]) -> frozenset[str] | None:
    """The items two adjacent references name together, or None when they name different items."""
    if a == b:
        return a
    both = a & b
    if both and (len(both) == 1 or len(a) > 1 and len(b) > 1):
        return both
    if len(a) == 1 and len(b) > 1:
        return a
    if len(b) == 1 and len(a) > 1:
        return b
    return None


def _free_spans(claimed: list[bool]) -> list[tuple[int, int]]:
    spans = []
    start = None
    for i, c in enumerate(claimed):
        if not c and start is None:
            start = i
        elif c and start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(claimed)))
    return spans


# -- the matcher's searches as of 317b263 ------------------------------------------------------


def _find_full(m: ItemMatcher, text: str) -> list[Ref]:
    if m._full_re is None:
        return []
    out = []
    for mt in m._full_re.finditer(text):
        key = "".join(mt.group(0).split()).lower()
        form = m._full_lookup.get(key)
        if form is None:
            continue
        out.append(Ref(mt.start(), mt.end(), m.full[form], mt.group(0)))
    return out


def _widen(m: ItemMatcher, text: str, ref: Ref) -> Ref:
    s0, e0 = ref.start, ref.end
    if e0 - s0 >= m.max_part or any(ch.isspace() for ch in text[s0:e0]):
        return ref
    best: Ref | None = None
    for s in range(max(0, e0 - m.max_part), s0 + 1):
        for e in range(min(len(text), s + m.max_part), e0 - 1, -1):
            if e - s <= e0 - s0 or (best is not None and e - s <= best.end - best.start):
                break
            codes = m.parts.get(text[s:e])
            if codes is not None:
                best = Ref(s, e, codes, text[s:e])
                break
    return best or ref


def _find_parts(m: ItemMatcher, text: str, start: int, end: int) -> list[Ref]:
    out: list[Ref] = []
    i = start
    while i < end - 1:
        hit = None
        for j in range(min(end, i + m.max_part), i + 1, -1):
            codes = m.parts.get(text[i:j])
            if codes is not None:
                hit = Ref(i, j, codes, text[i:j])
                break
        if hit:
            out.append(hit)
            i = hit.end
        else:
            i += 1
    return out
