"""Scan one clause into typed tokens: item references, quantities, operation words, and masks.

Masks are numbers that are not quantities (§3.5): rooms and buildings, phones, times, dates,
prices and specs. Everything unclaimed is plain text (names, labels, chatter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.engine.lazy import LazyPattern
from bot.engine.lexicon import GROCERY_WORDS, LEXICON_RE
from bot.engine.matcher import ItemMatcher
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

_FRACTION = LazyPattern(r"(?<![\d-])\d+\s*/\s*\d+\s*(?=" + "|".join(
    sorted((re.escape(u) for u in "份 盒 箱 个 只 袋 包 瓶 提 件 斤 串 把 条 块 枚 颗".split()), key=len, reverse=True)) + ")")
# words in which 一 (or 两) is no quantity: 取消一下, 一起, 一点
_NOT_NUMBERS = re.compile(r"一下|一起|一点|一些|一共|一样|一定|一直|一般|一会|一次性|统一|唯一|第[一二三四五六七八九十]|两口子|一家|万一")
# a numeral that starts a kinship name (三姐, 二哥, 四叔, 十三姨): part of a label, no quantity (§3.5)
_KIN_NAME = re.compile(r"[一二三四五六七八九十]{1,3}[姐哥叔婶姨姑舅嫂弟妹爷伯婆嬢]")
_KIN_NEEDS = frozenset("姐哥叔婶姨姑舅嫂弟妹爷伯婆嬢")


def _source(pattern: str, flags: int = 0, needs: str | None = None) -> tuple[str, int, frozenset[str] | None]:
    """A mask pattern, its flags, and characters one of which every match of it holds (None: not
    known). Each ``needs`` is read off the pattern (a character of an element every match passes
    through), with every character that matches it under the flags (re.I: k also matches the
    Kelvin sign); tests/test_hotpath_equivalence.py checks them over all of Unicode."""
    return pattern, flags, None if needs is None else frozenset(needs)


_LETTERS_BUT_X = "ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz"
# what follows a day of the month that is a pickup or delivery date, not an item code (§3.5: times
# are no quantities): 三号自提, 3号下午拿, 二号到货, 5号前
_DAY_AFTER = r"\s*(?:[之以]?[前后]|左右|自提|自取|取(?!消)|到|拿|送|提|发货|截单|上午|下午|晚上|早上|中午|傍晚|凌晨|白天)"
_MASK_SOURCES: list[tuple[str, tuple[str, int, frozenset[str] | None]]] = [
    # spec with a multiplication: 250ml*12盒, 500g×2袋
    # ((?-i:...): no CJK character has a case, and under re.I compiling the class alone took 1.6 ms)
    ("spec", _source(r"(?<!\d)\d+(?:\.\d+)?\s*(?:ml|g|kg|l|克|毫升|斤|升)[*x×]\d+\s*(?-i:[\u4e00-\u9fff])?", re.I,
                     "*xX×")),
    # prices
    ("price", _source(r"[¥$]\s*\d+(?:\.\d+)?|(?<!\d)\d+(?:\.\d+)?\s*(?:元|块钱|rmb)", re.I, "¥$元块rR")),
    # phones and long digit runs
    ("phone", _source(r"(?<!\d)(?:1[3-9]\d{9}|\d{3,4}-\d{7,8}|\d{7,})(?!\d)")),
    # dates and times
    ("date", _source(r"\d{1,4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?|\d{1,2}\s*月\s*\d{1,2}\s*[日号]?|\d{1,2}\s*月份?",
                     needs="月")),
    ("time", _source(r"\d{1,2}\s*(?:[:：]\s*\d{2}|点\s*(?:半|一刻|\d{1,2}\s*分?|钟)?|时\s*(?:\d{1,2}\s*分)?)", needs=":：点时")),
    ("date", _source(r"\d{1,2}\s*[日号]\s*(?=[之以]?[前后]|左右|取(?!消)|到|拿|送|提|自提|自取|发货|截单"
                        r"|上午|下午|晚上|早上|中午|傍晚|凌晨|白天)", needs="日号")),
    # a span of time (3天, 2周); not the room number of 6栋101周奶奶 (a name may start with 周, 天, 年)
    ("time", _source(r"(?<![\d栋幢座楼元区期苑弄巷门层#/-])(?<![栋幢座楼元区期苑弄巷门层]\s)\d+(?:分钟|个?小时|天|周|个月|年|岁)",
                     needs="分小天周月年岁")),
    ("time", _source(r"(?<![零一二两三四五六七八九十])[零一二两三四五六七八九十]+\s*(?:点(?:钟|半|一刻|[零一二三四五六七八九十]+分?)?|个?小时|分钟|天|个月|月份?|号(?=" + _DAY_AFTER + r")|岁)",
                     needs="点小分天月号岁")),
    ("time", _source(r"(?:周|星期|礼拜)[一二三四五六日天]|初[一二三四五六七八九十]", needs="周星礼初")),
    # buildings and rooms: 3栋402, 5号楼2单元, 3-402, 9-1-302, 3#402, 1203室, A座1203
    ("room", _source(
        r"(?:[A-Za-z]\s*座?\s*)?(?:(?<!\d)\d+|(?<![一二三四五六七八九十])[一二三四五六七八九十]+|(?<![A-Za-z])[A-Za-z](?=\s*[栋幢座区]))\s*"
        r"(?:栋|幢|座|号楼|号院|楼|单元|区|期|苑|弄|巷|号门|门|层)"
        r"(?:\s*\d+\s*(?:栋|幢|号楼|楼|单元|层|室|户|房|号)|\d+|\s+\d{3,4}(?!\d))*",
        needs="栋幢座号楼单区期苑弄巷门层")),
    ("room", _source(r"(?<!\d)\d+(?:\s*[-#/]\s*\d+)+(?:\s*(?:室|房|号|户))?", needs="-#/")),
    ("room", _source(r"(?<![\dA-Za-z])[A-WYZa-wyz]\s*-?\s*\d{2,}(?!\d)", needs=_LETTERS_BUT_X)),  # B1203; x12 is a quantity
    ("room", _source(r"(?<!\d)\d{2,}\s*(?:室|房|户)", needs="室房户")),
]
_MASKS = [(kind, LazyPattern(p, f), needs) for kind, (p, f, needs) in _MASK_SOURCES]
"""The masks in the order they claim, each compiled the first time a clause holds its needs."""


def _masks() -> list[tuple[str, LazyPattern, frozenset[str] | None]]:
    """(kind, pattern, needed characters or None) of every mask, in the order they claim."""
    return _MASKS


_CODE = LazyPattern(
    r"(?<![\d#])#\s*(\d{1,3})(?!\d)"
    r"|(?<![\d月])(\d{1,3})\s*号(?!楼|院|门|单元|室|房|栋|线|床|店|铺|码|" + _DAY_AFTER + ")"
    r"|(?:(?<![\u4e00-\u9fff])|(?<=号))([一二三四五六七八九十]{1,3})号(?!楼|院|门|单元|室|房|栋|线|床|店|" + _DAY_AFTER + ")"
    r"|([\u2460-\u2473])"
)
_QTY_ARABIC = re.compile(
    r"(?P<sign>[x×*+\-])?\s*(?P<num>(?<!\d)\d+(?:\.\d+)?)(?P<big>[" + CN_BIG_CHARS + r"])?\s*(?P<unit>" + _UNIT_ALT + r")?",
    re.I,
)
_QTY_HALF = LazyPattern(r"半\s*(?P<unit>" + _UNIT_ALT + r")?")
_QTY_CN = LazyPattern(
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
_JOIN_RE = LazyPattern(r"、|和|跟|及|与|还有|&|/")

# Characters one of which every match of a pattern holds: a clause with none skips that pass.
_CODE_NEEDS = frozenset("#号" + "".join(chr(c) for c in range(0x2460, 0x2474)))
_CN_NEEDS = frozenset(CN_CHARS)
_JOIN_NEEDS = frozenset("、和跟及与还&/")
_SPEC_NEEDS = frozenset("装kK\u212agG克mM毫公千")  # _SPEC_LIKE: 装, or a unit's first letter (re.I)
_UNCLAIMED = re.compile(rb"\x00+")


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
        """The clause's tokens in order of position; every character is in at most one token.

        Passes claim characters in a fixed order (item names, codes, fractions, non-numbers,
        kinship names (三姐), masks, parts of names, specs, operations, quantities (a Chinese
        numeral that ends a name, 张三, is left to the name: :meth:`_name_tail`), grocery words,
        single characters, joiners); what is left is TEXT. A pass whose pattern needs a character
        the clause does not hold is skipped (``_NEEDS``): it would find nothing.
        """
        claimed = bytearray(len(text))  # 1: the character belongs to a token
        toks: list[Token] = []
        chars = set(text)
        m = self.m

        for ref in m.find_full(text):
            ref = m.widen(text, ref)
            if claimed.find(1, ref.start, ref.end) < 0:
                _claim(claimed, toks, Token(ITEM, ref.start, ref.end, ref.word, codes=ref.codes))
        if not _CODE_NEEDS.isdisjoint(chars):
            for mt in _CODE.finditer(text):
                s, e = mt.span()
                if claimed.find(1, s, e) >= 0:
                    continue
                g1, g2, g3, g4 = mt.groups()
                if g4:
                    n: int | None = circled_value(g4)
                elif g3:
                    n = cn_to_int(g3)
                else:
                    n = int(g1 or g2)
                code = str(n)
                codes = frozenset({code}) if code in m.codes else frozenset()
                _claim(claimed, toks, Token(ITEM, s, e, mt.group(0), codes=codes))
        if "/" in chars:
            for mt in _FRACTION.finditer(text):  # 1/2盒: not a whole number
                s, e = mt.span()
                if claimed.find(1, s, e) < 0:
                    _claim(claimed, toks, Token(QTY, s, e, mt.group(0), value=None, raw_bad=True, sign=""))
        for mt in _NOT_NUMBERS.finditer(text):
            s, e = mt.span()
            if claimed.find(1, s, e) < 0:
                _claim(claimed, toks, Token(TEXT, s, e, mt.group(0)))
        if not _KIN_NEEDS.isdisjoint(chars):
            for mt in _KIN_NAME.finditer(text):
                s, e = mt.span()
                if claimed.find(1, s, e) < 0:
                    _claim(claimed, toks, Token(TEXT, s, e, mt.group(0)))
        for mask_kind, rx, needs in _MASKS:
            if needs is not None and needs.isdisjoint(chars):
                continue
            for mt in rx.finditer(text):
                s, e = mt.span()
                if e > s and claimed.find(1, s, e) < 0:
                    _claim(claimed, toks, Token(MASK, s, e, mt.group(0), sign=mask_kind))
        for run in _UNCLAIMED.finditer(claimed):
            for ref in m.find_parts(text, run.start(), run.end()):
                _claim(claimed, toks, Token(ITEM, ref.start, ref.end, ref.word, codes=ref.codes))
        for tok in [t for t in toks if t.kind == ITEM and len(t.codes) == 1]:
            spec = m.specs.get(next(iter(tok.codes)))  # 鸡蛋 30枚: the name's own spec, not a quantity
            sm = spec.match(text, tok.end) if spec is not None else None
            if sm is not None and sm.end() > tok.end and claimed.find(1, tok.end, sm.end()) < 0:
                claimed[tok.end:sm.end()] = b"\x01" * (sm.end() - tok.end)
                tok.end = sm.end()
                tok.text = text[tok.start:tok.end]
        if not _SPEC_NEEDS.isdisjoint(chars):
            for tok in [t for t in toks if t.kind == ITEM and _SPEC_LIKE.fullmatch(t.text.strip())]:
                toks.remove(tok)  # 苹果 10斤装 where 10斤装 names another item: one reference, of 苹果's
                hit = _SPEC_LIKE.search(text, tok.start)
                if hit is None or self._spec_beside_item(text, hit, toks, claimed) is None:
                    toks.append(tok)
            for mt in _SPEC_LIKE.finditer(text):
                if claimed.find(1, mt.start(), mt.end()) < 0:
                    self._spec_beside_item(text, mt, toks, claimed)
        for mt in _OP_RE.finditer(text):
            s, e = mt.span()
            if claimed.find(1, s, e) < 0:
                _claim(claimed, toks, Token(OP, s, e, mt.group(0), sign=_OP_KIND[mt.group(0)]))
        for mt in _QTY_ARABIC.finditer(text):
            s, e = mt.span()
            if e > s and claimed.find(1, s, e) < 0:
                _claim(claimed, toks, self._qty(mt, cn=False, text=text))
        if "半" in chars:
            for mt in _QTY_HALF.finditer(text):
                s, e = mt.span()
                if e > s and claimed.find(1, s, e) < 0:
                    _claim(claimed, toks, self._qty(mt, cn=False, text=text))
        if not _CN_NEEDS.isdisjoint(chars):
            for mt in _QTY_CN.finditer(text):
                s, e = mt.span()
                if e > s and claimed.find(1, s, e) >= 0 and claimed.find(1, s, mt.end("num")) < 0:
                    # 王五 2斤五花肉: the space after 五 went to 2斤; 五 alone may still end a name
                    alone = _QTY_CN.match(text, s, mt.end("num"))
                    if alone is not None and s and not claimed[s - 1] and _NAME_CHAR.match(text, s - 1) \
                            and self._name_tail(text, alone, claimed, toks) == _NAME:
                        _claim(claimed, toks, Token(TEXT, s, s + 1, text[s]))
                    continue
                if e > s and claimed.find(1, s, e) < 0:
                    tail = (self._name_tail(text, mt, claimed, toks)
                            if s and not claimed[s - 1] and _NAME_CHAR.match(text, s - 1) else _NO_NAME)
                    if tail == _BOTH:  # 张三十盒: 张三 + 十盒, or 张 + 三十盒; never silently one of them
                        tok = self._qty(mt, cn=True, text=text)
                        tok.value, tok.raw_bad = None, True
                        _claim(claimed, toks, tok)
                        continue
                    if tail == _NAME:
                        # 张三鸡蛋1, 小六两盒: the first numeral ends the name; the rest may be a code or quantity
                        _claim(claimed, toks, Token(TEXT, s, s + 1, text[s]))
                        code = _CN_CODE_AT.match(text, s + 1)  # 张三一号两份
                        if code is not None and claimed.find(1, code.start(), code.end()) < 0:
                            num_code = str(cn_to_int(code.group(1)))
                            codes = frozenset({num_code}) if num_code in m.codes else frozenset()
                            _claim(claimed, toks, Token(ITEM, code.start(), code.end(), code.group(0), codes=codes))
                            continue
                        rest = _QTY_CN.match(text, s + 1)
                        if rest is None or claimed.find(1, rest.start(), rest.end()) >= 0:
                            continue
                        mt = rest
                    _claim(claimed, toks, self._qty(mt, cn=True, text=text))
        for mt in LEXICON_RE.finditer(text):  # a grocery word that is no item of this deal
            s, e = mt.span()
            if claimed.find(1, s, e) < 0:
                _claim(claimed, toks, Token(ITEM, s, e, mt.group(0), codes=frozenset(), single=True))
        if not m.singles.keys().isdisjoint(chars):
            in_item = {k for t in toks if t.kind == ITEM and t.codes for k in range(t.start, t.end)}
            for ref in m.find_singles(text, _free_spans(claimed), in_item):
                if claimed.find(1, ref.start, ref.end) < 0:
                    _claim(claimed, toks, Token(ITEM, ref.start, ref.end, ref.word, codes=ref.codes, single=True))
        if not _JOIN_NEEDS.isdisjoint(chars):
            for mt in _JOIN_RE.finditer(text):
                s, e = mt.span()
                if claimed.find(1, s, e) < 0:
                    _claim(claimed, toks, Token(JOIN, s, e, mt.group(0)))
        for run in _UNCLAIMED.finditer(claimed):
            s, e = run.span()
            chunk = text[s:e]
            if chunk.strip():
                toks.append(Token(TEXT, s, e, chunk))
        toks.sort(key=_start)
        return _merge_adjacent_items(_long_numbers_as_quantities(toks, text), text)

    def _name_tail(self, text: str, mt: re.Match[str], claimed: bytearray, toks: list[Token]) -> str:
        """Whether the first character of a Chinese numeral ``mt`` ends a person's name (§3.2, §3.5:
        numbers of a label are no quantities): :data:`_NAME` for 张三鸡蛋1, 3栋402李四葡萄2, 王五 葡萄,
        王二麻子, 小六两盒; :data:`_BOTH` for a positional numeral that reads both ways (张三十盒: 张三
        and 十盒, or 张 and 三十盒); else :data:`_NO_NAME`.

        Called only when the numeral is glued to an unclaimed Han character that is no numeral and no
        ordering or filler word (:data:`_NAME_CHAR`). A name is a surname or 老/小/阿 and the numeral
        (:func:`starts_numeral_name`: not 我家三, 老王一). The numeral must be bare (葡萄 李四盒 stays
        4 盒), or a digit string read digit by digit (六两盒 is no 62 盒), or 六 两盒 (两 then a
        numeral, not the weight). Not a name: a word after an item (桔子三, 葡萄的二, 鸡蛋 留两: the
        label comes before the items, §3.2), a grocery word (苹果三), a lone character of an item
        name (橙三).
        """
        s = mt.start()
        if mt.group("sign") or mt.start("num") != s:
            return _NO_NAME
        num, unit = mt.group("num"), mt.group("unit")
        found = _NAME
        if len(num) > 1:
            if any(c not in CN_DIGITS for c in num):
                if num[0] not in CN_DIGITS or cn_to_int(num[1:]) is None:
                    return _NO_NAME
                found = _BOTH  # 张三十盒: a positional numeral that also reads without its first digit
        elif unit and not (unit == "两" and _UNIT_AFTER.match(text, mt.end())):
            return _NO_NAME
        r = s - 1  # the start of the run of unclaimed Han characters before the numeral
        while r > 0 and not claimed[r - 1] and _NAME_CHAR.match(text, r - 1):
            r -= 1
        if not starts_numeral_name(text[s - 1], text[s - 2] if r < s - 1 else ""):
            return _NO_NAME  # 我家三, 老王一贡三桔: no name ends here
        if r == s - 1 and text[r] in self.m.singles and not any(t.kind == ITEM and t.start > s for t in toks):
            return _NO_NAME  # 李四 alone with 李子 on sale: 4 李子; 李四 葡萄2 (another item follows): the label
        if r > 0 and any(t.kind == ITEM and t.end <= r for t in toks):
            return _NO_NAME  # after an item: no label (§3.2 the label comes first); 桔子三, 鸡蛋 留两
        if any(LEXICON_RE.fullmatch(text, k, s) for k in range(max(r, s - _LEXICON_MAX), s)):
            return _NO_NAME
        return found

    def _spec_beside_item(self, text: str, mt: re.Match[str], toks: list[Token], claimed: bytearray) -> Token | None:
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
            claimed[mt.start():mt.end()] = b"\x01" * (mt.end() - mt.start())
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
_SPEC_LIKE = LazyPattern(
    r"(?<![\d.])\d+(?:\.\d+)?\s*(?:(?:斤|公斤|千克|kg|g|克|ml|毫升|l|升|个|枚|只|粒|颗|瓶)?\s*装"
    r"|(?:kg|g|克|ml|毫升|公斤|千克)(?![a-z]))", re.I)
_SPEC_UNIT = re.compile(r"[\d.\s]|装$")
# a Han character that may end a name before its numeral tail: no numeral, and no word that stands
# before a quantity (要三盒, 共三, 就两个, 给我两盒, 的二)
_NAME_CHAR = LazyPattern(
    r"(?![" + CN_CHARS + CN_BIG_CHARS + r"要来买订拿加再各共只就也都每给是或和跟及与还另多少减改换成为了的吧我你您他她咱俺请先号第约计])"
    r"[\u4e00-\u9fff]")
_LEXICON_MAX = max(len(w) for w in GROCERY_WORDS)
_NO_NAME, _NAME, _BOTH = "", "name", "both"  # Scanner._name_tail
# a Chinese item code right after a name's numeral tail (张三一号两份): the code of §3.4
_CN_CODE_AT = LazyPattern(r"([一二三四五六七八九十]{1,3})号(?!楼|院|门|单元|室|房|栋|线|床|店|" + _DAY_AFTER + ")")
_SIGN_BEFORE = LazyPattern(r"[x×*]\s*$", re.I)
_MOBILE = LazyPattern(r"1[3-9]\d{9}")  # a mainland mobile number: a phone even right after an item
_UNIT_AFTER = LazyPattern(r"\s*(?:" + _UNIT_ALT + ")", re.I)


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


_INNER_WORD = LazyPattern(r"[\u4e00-\u9fff]{1,3}")


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


def _claim(claimed: bytearray, toks: list[Token], tok: Token) -> None:
    """Add ``tok`` and mark its characters as taken."""
    claimed[tok.start:tok.end] = b"\x01" * (tok.end - tok.start)
    toks.append(tok)


def _start(t: Token) -> int:
    return t.start


def _free_spans(claimed: bytearray) -> list[tuple[int, int]]:
    """The (start, end) runs of characters no token has taken, in order."""
    return [mt.span() for mt in _UNCLAIMED.finditer(claimed)]
