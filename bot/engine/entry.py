"""Read one entry (a list line, or a short reply) into actions: §3.2, §3.4–3.7."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.engine.lazy import LazyPattern
from bot.engine.matcher import ItemMatcher
from bot.engine.numerals import HUGE
from bot.engine.tokens import ITEM, JOIN, MASK, OP, QTY, TEXT, Scanner, Token
from bot.services.outcome import AMBIGUOUS_ITEM, BAD_QTY, LARGE_QTY, NO_ITEM, SAME_AS, UNKNOWN_ITEM, Problem

ENTRY, PLUS, SET, ADD, SUB, CANCEL_ITEM, CANCEL_ALL = "entry", "plus", "set", "add", "sub", "cancel_item", "cancel_all"

_CLAUSE = re.compile(r"[^,，。；;！!？?\n]*[,，。；;！!？?\n]?")
_QUESTION_WORDS = re.compile(r"吗|呢|几|什么|多少|怎么|能不能|有没有|(.)[不没]\1|是否|咋|啥|哪")
_FILLER = LazyPattern(
    r"我的|我们|我家|我|的|全部|所有|都|了|吧|啊|哈|呀|哦|噢|嗯|订单|接龙|单子|单|东西|先|麻烦|帮我|请|一下|团长|"
    r"谢谢|抱歉|不好意思|sorry|对不起|统统|一起|还是|算了|就|这次|今天|那个|这个|的话|呢"
)
# pickup and payment chatter: "3栋402 已取" is no label-only order
_CHATTER = LazyPattern(r"已取|取了|拿了|已拿|到了|收到|谢谢|好的|已付|付了|转账|红包|已送|送到|没到|没收到")
MAX_CLAUSE_CHARS = 200  # a longer clause is someone's writing, not an order line: not read
# a reply that only points at someone else's order (§3.7): the bot asks what to order
_POINTER = LazyPattern(
    r"同上|同楼上|同前|(?:跟|和|同|照)(?:楼上|上面|上一个|前面)|一样|我也是|我也[要想]?(?:一份|一个)?(?:吧|啊|呀)?\s*$|ditto|me ?too",
    re.I,
)
# pickup chatter without a number (你的葡萄到了, 葡萄已取) is no order (§3.7)
_PICKUP = re.compile(r"到了|已到|已取|取了|已拿|拿了|收到了|送到了|已送")
_DIGIT = re.compile(r"\d")
_TRANSPARENT = " :：=~～>→-—·"  # between an item and its number: 葡萄:2, 葡萄 = 2
_LABEL_STRIP = " \t,，。;；:：!！~～-—·.、|"


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # entry | plus | set | add | sub | cancel_item | cancel_all
    item: str | None  # None: a change that names no item (改成3), for the service to place (§3.6)
    qty: int
    words: str
    stated: bool = True  # False: no number was written (血橙 means 1, or the number of the question)


@dataclass(slots=True)
class EntryParse:
    label: str = ""
    actions: list[Action] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    has_room: bool = False
    all_questions: bool = False


@dataclass(slots=True)
class _Group:
    items: list[Token]
    mode: str = ENTRY
    qty: Token | None = None
    each: bool = False
    siblings: list[_Group] = field(default_factory=list)  # earlier items 各 gives this quantity too
    second: Token | None = None  # a quantity written after the item too (两盒葡萄2): two, so unclear


def is_question(clause: str) -> bool:
    c = clause.strip()
    return c.endswith(("?", "？")) or bool(_QUESTION_WORDS.search(c))


def split_clauses(text: str) -> list[tuple[int, str]]:
    """(offset, clause) pairs; a clause keeps its terminator."""
    out = []
    for m in _CLAUSE.finditer(text):
        if m.group(0):
            out.append((m.start(), m.group(0)))
    return out


class EntryReader:
    """Reads entries against one catalog."""

    def __init__(self, matcher: ItemMatcher) -> None:
        self.m = matcher
        self.scanner = Scanner(matcher)

    def read(self, text: str, *, in_list: bool) -> EntryParse:
        out = EntryParse()
        kept: list[tuple[int, str]] = []  # the clauses read: not too long, not empty, no question
        asked = False
        for m in _CLAUSE.finditer(text):
            c = m.group(0)
            if not c or len(c) > MAX_CLAUSE_CHARS or not c.strip(" \n,，。；;！!？?"):
                continue
            if is_question(c):
                asked = True
            elif not (_PICKUP.search(c) and not _DIGIT.search(c)):
                kept.append((m.start(), c))
        if not kept:
            out.all_questions = asked
            return out
        groups: list[_Group] = []
        leftovers: list[Token] = []
        item_less_ops: list[tuple[str, Token | None, str]] = []
        first_pos: int | None = None
        for off, clause in kept:
            toks = self.scanner.scan(clause)
            for k, t in enumerate(toks):
                if t.kind == MASK and t.sign == "room":
                    out.has_room = True
                # the label ends at the first item or quantity (§3.3): a lone character counts when a
                # quantity stands against it (桔5), a weight when the deal sells by it (刘小西3斤)
                after = toks[k + 1] if k + 1 < len(toks) else None
                single_ordered = t.kind == ITEM and t.single and after is not None and after.kind == QTY \
                    and after.start == t.end
                if first_pos is None and ((t.kind == ITEM and (not t.single or single_ordered))
                                          or (t.kind == QTY and (not t.weight or t.unit in self.m.units))
                                          or (t.kind == OP and t.sign != "all")):
                    first_pos = off + t.start
            g, lo, ops = self._pair(toks, clause)
            g = self._unattached_numbers(g, lo, clause, out)
            groups.extend(g)
            leftovers.extend(lo)
            item_less_ops.extend(ops)
        label_src = text[:first_pos] if first_pos is not None else "\n".join(c for _, c in kept)
        out.label = " ".join(label_src.replace("\n", " ").split()).strip(_LABEL_STRIP)
        if groups:
            for grp in groups:
                self._group_actions(grp, out)
            return out
        only = self.m.only_code
        for kind, qty, words in item_less_ops:
            if kind == CANCEL_ALL:
                out.actions.append(Action(CANCEL_ALL, None, 0, words))
            else:  # 改成3, 再加1, 减1: with several items, the service finds the sender's one item
                self._op_on(only, kind, qty, words, out)
        if item_less_ops:
            return out
        qtys = [t for t in leftovers if not t.weight or t.unit in self.m.units]
        qtys = [t for t in qtys if t.unit or t.sign or t.raw_bad or (t.value is not None and t.value < 100)]
        if qtys:
            t = qtys[0]
            if only is None and t.sign == "-" and t.value is not None and not self._too_large(t.value):
                out.actions.append(Action(SUB, None, t.value, t.text.strip()))  # -1: a change without item
            elif only is None:
                out.problems.append(Problem(NO_ITEM, t.text.strip()))
            elif t.value is None:
                out.problems.append(Problem(BAD_QTY, t.text.strip(), only))
            elif self._too_large(t.value):
                out.problems.append(Problem(LARGE_QTY, t.text.strip(), only))
            else:
                kind = SUB if t.sign == "-" else PLUS if t.sign == "+" else ENTRY
                out.actions.append(Action(kind, only, t.value, t.text.strip()))
            return out
        pointer = next((m for _, c in kept if (m := _POINTER.search(c)) is not None), None)
        if pointer is not None:
            out.problems.append(Problem(SAME_AS, pointer.group(0)))
            return out
        if out.label and (in_list or out.has_room) and not _CHATTER.search(out.label):
            if only is None:
                out.problems.append(Problem(NO_ITEM, out.label))
            else:
                out.actions.append(Action(ENTRY, only, 1, out.label))
        return out

    def _too_large(self, value: int) -> bool:
        """A quantity the bot asks about instead of guessing (§3.5, ``max_line_qty``).

        A number too long to read whole is always asked about. Otherwise the limit is the deal's
        ``max_line_qty``, raised to its ``max_qty`` when that is higher; a number above ``max_qty``
        is understood and left to be refused (above max_qty), not asked about.
        """
        if value >= HUGE:
            return True
        cat = self.m.catalog
        if cat.max_qty is not None and value > cat.max_qty:
            return False
        return value > max(cat.max_line_qty, cat.max_qty or 0)

    def _unattached_numbers(self, groups: list[_Group], leftovers: list[Token], clause: str,
                            out: EntryParse) -> list[_Group]:
        """A number written in a clause but tied to none of its items is never dropped for a silent 1.

        When some item of the clause has no quantity of its own and a plain number stands unread
        (葡萄 不要太酸的 2), the bot asks about that item instead of ordering 1 of it (§3.2: an
        order that cannot be applied safely is unclear).
        """
        numbers = [t for t in leftovers if t.kind == QTY and not t.weight and (t.unit or t.sign or t.value is not None or t.raw_bad)]
        if not numbers:
            return groups
        kept = []
        for grp in groups:
            if grp.qty is None and grp.mode == ENTRY and not grp.each and not grp.siblings:
                out.problems.append(Problem(BAD_QTY, clause.strip()[:40], _code(grp.items[0])))
            else:
                kept.append(grp)
        return kept

    # -- pairing ---------------------------------------------------------------------------

    def _pair(self, toks: list[Token], clause: str) -> tuple[list[_Group], list[Token], list[tuple[str, Token | None, str]]]:
        groups: list[_Group] = []
        leftovers: list[Token] = []
        cur: _Group | None = None
        last = ""
        pending_op: str | None = None
        prefix: Token | None = None
        sig = [t for t in toks if not (t.kind == TEXT and not t.text.strip(_TRANSPARENT))]
        qty_first = self._quantity_first(sig)
        for idx, t in enumerate(sig):
            nxt = sig[idx + 1] if idx + 1 < len(sig) else None
            if t.kind == ITEM and t.single and not (
                (nxt is not None and nxt.kind == QTY and nxt.start == t.end) or (prefix is not None and last == "prefix")
                or (cur is not None and last == JOIN)
                or (nxt is not None and (nxt.kind == JOIN or (nxt.kind == OP and nxt.sign in ("each", "all"))))
            ):
                last = TEXT  # 阿强 is a name, not 阿克苏: a lone character needs a quantity beside it
                continue
            if t.kind == ITEM:
                if cur is not None and last == JOIN:
                    cur.items.append(t)
                else:
                    cur = _Group([t], mode=pending_op or ENTRY)
                    if prefix is not None and pending_op != CANCEL_ITEM:
                        cur.qty = prefix
                    elif prefix is not None:
                        leftovers.append(prefix)
                    prefix = None
                    pending_op = None
                    groups.append(cur)
                last = ITEM
            elif t.kind == JOIN:
                last = JOIN if cur is not None and last == ITEM else TEXT
            elif t.kind == OP:
                kind = {"cancel": CANCEL_ITEM, "set": SET, "add": ADD, "sub": SUB}.get(t.sign)
                if t.sign in ("each", "all"):
                    if cur is not None:
                        cur.each = True
                        # 葡萄 鸡蛋各两盒: every item named before 各 without its own quantity
                        cur.siblings = [g for g in groups[:-1] if g.qty is None and g.mode == ENTRY]
                        last = ITEM if last in (ITEM, JOIN) else last
                    continue
                if kind is None:  # want: 要/来/买
                    last = "want" if last != ITEM else ITEM
                    continue
                if cur is not None and last == ITEM and cur.mode == ENTRY and (cur.qty is None or kind == CANCEL_ITEM):
                    cur.mode = kind
                    if kind == CANCEL_ITEM:
                        cur.qty = None
                    last = OP
                else:
                    pending_op = kind
                    last = "pending"
            elif t.kind == QTY:
                near = ([cur.items[-1]] if cur is not None else []) + ([nxt] if nxt is not None and nxt.kind == ITEM else [])
                # 刘小西3斤: with no item word around, a number with an item's own unit is a quantity
                if t.unit and t.value is not None and any(
                        (t.value, t.unit.lower()) in self.m.name_counts.get(_code(x), ()) for x in near):
                    continue  # 矿泉水24瓶 for 矿泉水 500ml*24瓶: the name's spec again, not 24 cases
                sold_by = {self.m.item_unit.get(_code(x)) for x in near} if near else self.m.units
                if t.weight and not t.raw_bad and t.unit not in sold_by:
                    continue  # a spec (5斤), not a quantity — unless the item is sold by that unit (两斤草莓)
                if qty_first and nxt is not None and nxt.kind == ITEM:
                    if prefix is not None:
                        leftovers.append(prefix)
                    prefix = t  # 1贡3桔: every quantity belongs to the item word after it
                    last = "prefix"
                    continue
                between = sig[idx - 1] if idx > 0 else None
                after = cur is not None and cur.qty is None and cur.mode != CANCEL_ITEM and (
                    last in (ITEM, OP, "want")  # 葡萄2, 葡萄改3, 葡萄也要2
                    or (last in (TEXT, MASK) and not t.bare_cn and (t.unit or t.sign))  # 葡萄 电话… 2盒
                    # 桔子2, 葡萄的2: a word's tail written against the item, the number against it
                    or (last == TEXT and between is not None and cur.items[-1].end == between.start
                        and between.end == t.start and 0 < len(between.text) <= 2 and not between.text.isspace()
                        and between.text == between.text.strip())
                )
                if after and cur is not None:
                    cur.qty = t
                    for g in cur.siblings:
                        g.qty = t
                    last = QTY
                elif nxt is not None and nxt.kind == ITEM and (
                    t.unit or (t.sign == "x") or (last in ("want", "pending") and (t.value or 0) < 100)
                ):  # 一盒葡萄, 2盒葡萄, 要2葡萄; a bare 402 before an item is a room
                    prefix = t
                    last = "prefix"
                elif pending_op is not None and last == "pending":
                    last = QTY
                    prefix = t
                else:
                    if (cur is not None and last == ITEM and cur.qty is not None and cur.mode == ENTRY
                            and cur.qty.end <= cur.items[0].start and not t.weight
                            and (t.unit or t.sign or t.value is not None)):
                        cur.second = t  # 两盒葡萄2: a quantity before the item and one after it
                    leftovers.append(t)
                    last = QTY
            else:
                last = TEXT if t.kind == TEXT else MASK
        ops: list[tuple[str, Token | None, str]] = []
        if pending_op is not None and not groups:
            if pending_op == CANCEL_ITEM:
                rest = _FILLER.sub("", "".join(t.text for t in toks if t.kind in (TEXT, OP) and t.sign != "cancel"))
                rest = re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", "", rest)
                if not rest and prefix is None and not leftovers:
                    ops.append((CANCEL_ALL, None, clause.strip()))
            else:
                ops.append((pending_op, prefix, clause.strip()))
                prefix = None
        if prefix is not None:
            leftovers.append(prefix)
        return groups, leftovers, ops

    def _quantity_first(self, sig: list[Token]) -> bool:
        """True when the clause starts with a quantity directly followed by an item word (§3.5).

        Labels (names, rooms) before it do not count: ``王姐 2桔`` starts with ``2桔``. Then every
        quantity of the clause belongs to the item word after it (``1贡3桔``).
        """
        for k, t in enumerate(sig):
            if t.kind == OP and t.sign in ("want",):
                continue
            if t.kind not in (ITEM, QTY, OP):
                continue
            if t.kind != QTY or k + 1 >= len(sig):
                return False
            nxt = sig[k + 1]
            if nxt.kind != ITEM or nxt.start != t.end or t.text[-1:].isspace() or t.sign in ("+", "-"):
                return False
            if t.weight and t.unit != self.m.item_unit.get(_code(nxt)):
                return False  # 5斤砂糖桔: a spec, unless the item is sold by the 斤
            return bool(t.unit or t.sign == "x" or t.raw_bad or (t.value is not None and t.value < 100))
        return False

    def _group_actions(self, g: _Group, out: EntryParse) -> None:
        codes: list[str] = []
        for it in g.items:
            if not it.codes:
                if g.mode != CANCEL_ITEM:
                    out.problems.append(Problem(UNKNOWN_ITEM, it.text.strip()))
            elif len(it.codes) > 1:
                if len(it.text.strip()) > 1 or g.qty is not None:
                    pending = self._pending(g)
                    out.problems.append(Problem(AMBIGUOUS_ITEM, it.text.strip(), candidates=tuple(sorted(it.codes)),
                                                mode=pending[0], qty=pending[1]))
            else:
                codes.append(next(iter(it.codes)))
        if g.mode == CANCEL_ITEM:
            for c in codes:
                out.actions.append(Action(CANCEL_ITEM, c, 0, _words(g)))
            return
        if g.second is not None:  # two quantities for one item (§3.5 decides neither): ask
            for c in codes:
                out.problems.append(Problem(BAD_QTY, _written(g), c))
            return
        for c in codes:
            self._op_on(c, g.mode, g.qty, _words(g), out)

    def _pending(self, g: _Group) -> tuple[str, int]:
        """What a line of an ambiguous item would do once the item is known: (mode, quantity), as
        :meth:`_op_on` would read it; quantity 0 when nothing usable is written (or none for a set)."""
        if g.qty is None:
            return g.mode, 0 if g.mode == SET else 1
        value = g.qty.value
        if value is None or self._too_large(value) or g.qty.zero:
            return g.mode, 0
        if g.mode == ENTRY and g.qty.sign in ("+", "-"):
            return (PLUS if g.qty.sign == "+" else SUB), value
        return g.mode, value

    def _op_on(self, code: str | None, mode: str, qty: Token | None, words: str, out: EntryParse) -> None:
        if mode == CANCEL_ITEM:
            out.actions.append(Action(CANCEL_ITEM, code, 0, words))
            return
        if qty is None:
            if mode == SET or code is None:
                return  # 葡萄改一下: no number, nothing to set
            out.actions.append(Action(mode, code, 1, words, stated=False))
            return
        value = qty.value
        if mode == SET and qty.zero:
            out.actions.append(Action(SET, code, 0, words))
            return
        if value is None:
            out.problems.append(Problem(BAD_QTY, words, code))
            return
        if self._too_large(value):
            out.problems.append(Problem(LARGE_QTY, words, code))
            return
        if mode == ENTRY and qty.sign == "+":
            mode = PLUS
        elif mode == ENTRY and qty.sign == "-":
            mode = SUB
        out.actions.append(Action(mode, code, value, words))


def _code(tok: Token) -> str:
    return next(iter(tok.codes)) if len(tok.codes) == 1 else ""


def _written(g: _Group) -> str:
    """The group's items and quantities in the order they were written (两盒葡萄2)."""
    toks = sorted([*g.items, *(t for t in (g.qty, g.second) if t is not None)], key=lambda t: t.start)
    return " ".join("".join(t.text for t in toks).split())


def _words(g: _Group) -> str:
    s = "".join(t.text for t in g.items)
    if g.qty is not None:
        s += g.qty.text
    return " ".join(s.split())
