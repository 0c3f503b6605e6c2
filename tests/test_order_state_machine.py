"""Totals and stock under any sequence of messages: a stateful property test (§3.3, §3.6, §3.8).

Residents of two groups of one deal (the stock shared) order, change (改成/加/减), cancel,
press the card's +1/-1 buttons, copy the bot's or each other's 接龙 list with a line appended
or their own line changed, edit and withdraw their messages, on items limited by stock and by
``max_qty``. After every step the service must agree with :class:`Model`, a plain reference
that applies the spec's rules per message, and no total may be negative, above ``max_qty`` or
above the stock. At some steps the service restarts from its store and must come back with the
same state (memory store here; SQLite and PostgreSQL in the smaller runs at the end).
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from bot.catalog import Catalog, Item
from bot.model import ButtonPress, InboundMessage
from bot.ports import Repository
from bot.render import jielong_list
from bot.services.orders import OrderService
from bot.services.state import DealCache, DealState
from tests.stores import deal_state, fresh_cache, memory_store

ALIAS = {"1": "葡萄", "2": "橙子", "3": "鸡蛋"}
STOCK = {"2": 5, "3": 7}
MAX_QTY = 6
NAMES = {"u1": "王姐", "u2": "阿强", "u3": "小陈"}
BOT = "tuan-bot"
CHATS = ("g1", "g2")  # two groups of the one deal: the stock is shared
T0 = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
CATALOG = Catalog(items=(
    Item("1", "阳光玫瑰葡萄 2斤装", "盒", aliases=("葡萄",)),
    Item("2", "赣南脐橙 5斤", "箱", aliases=("橙子",), stock=STOCK["2"]),
    Item("3", "土鸡蛋 30枚", "盒", aliases=("鸡蛋",), stock=STOCK["3"]),
), max_qty=MAX_QTY)

senders = st.sampled_from(sorted(NAMES))
chats = st.sampled_from(CHATS)
items = st.sampled_from(sorted(ALIAS))
orders = st.tuples(st.just("entry"), items, st.integers(1, 4))
changes = st.one_of(
    st.tuples(st.sampled_from(["add", "sub"]), items, st.integers(1, 4)),
    st.tuples(st.just("set"), items, st.integers(0, 5)),
    st.tuples(st.just("cancel"), items, st.just(0)),
    st.tuples(st.just("cancel_all"), st.just("1"), st.just(0)),
)
shorts = st.one_of(orders, changes)
goods = st.lists(st.tuples(items, st.integers(1, 4)), min_size=1, max_size=2, unique_by=lambda g: g[0])


def short_text(kind: str, item: str, q: int) -> str:
    """The words a resident writes for a change of ``kind`` (§3.2, §3.6)."""
    name = ALIAS[item]
    return {"entry": f"{name}{q}", "add": f"{name}再加{q}", "sub": f"{name}减{q}", "set": f"{name}改成{q}",
            "cancel": f"{name}不要了", "cancel_all": "取消"}[kind]


# -- the reference ------------------------------------------------------------------------------


@dataclass(eq=False)
class Part:
    """A piece of a resident's quantity of an item, made by one message."""

    sender: str
    item: str
    qty: int  # negative for a decrease
    kind: str  # entry | add | set | sub
    seq: int
    line: Line | None = None
    set_aside_by: int | None = None  # seq of a later message that replaced it (set, cancel, new line, floor)
    gone: bool = False  # its message was withdrawn or edited

    @property
    def counts(self) -> bool:
        return not self.gone and self.set_aside_by is None


@dataclass(eq=False)
class Line:
    """A numbered list line someone posted (§3.3)."""

    chat: str
    number: str
    label: str
    owner: str
    alive: bool = True
    replaced: bool = False  # the owner posted a newer version, or it is someone's change of another's line

    @property
    def current(self) -> bool:
        return self.alive and not self.replaced


@dataclass
class Msg:
    mid: str
    chat: str
    sender: str  # who: "chat/sender", a resident's orders are per chat
    seq: int
    is_list: bool
    parts: list[Part] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    replaced_lines: list[Line] = field(default_factory=list)
    refused: bool = False
    over: bool = False  # withdrawn, or edited (a newer version stands)


class Model:
    """The spec's rules applied directly to the messages of the chats of one deal (shared stock)."""

    def __init__(self) -> None:
        self.parts: list[Part] = []
        self.lines: list[Line] = []
        # every line posted, whole and without its list number (§3.3 seen) -> the message that posted it first
        self.texts: dict[tuple[str, str], str] = {}
        self.bodies: dict[tuple[str, str], str] = {}
        self.msgs: dict[str, Msg] = {}
        self.seq = 0

    def new_msg(self, mid: str, chat: str, sender: str, *, is_list: bool = False) -> Msg:
        self.seq += 1
        m = Msg(mid, chat, who(chat, sender), self.seq, is_list)
        self.msgs[mid] = m
        return m

    def mine(self, s: str, i: str) -> list[Part]:
        return [p for p in self.parts if p.sender == s and p.item == i and p.counts]

    def total(self, s: str, i: str) -> int:
        return sum(p.qty for p in self.mine(s, i))

    def deal_total(self, i: str) -> int:
        return sum(p.qty for p in self.parts if p.item == i and p.counts)

    def last_change(self, s: str, i: str) -> int:
        """The seq of the sender's last message (not withdrawn) that made or set aside a part of ``i``."""
        seqs = [0]
        for p in self.parts:
            if p.sender == s and p.item == i:
                seqs += [0 if p.gone else p.seq, p.set_aside_by or 0]
        return max(seqs)

    def step(self, m: Msg, i: str, *, drop: list[Part] = (), remove: list[Part] = (),  # type: ignore[assignment]
             restore: list[Part] = (), add: int = 0, sub: int = 0, kind: str = "entry",  # type: ignore[assignment]
             line: Line | None = None) -> None:
        """One change of the sender's ``i``: never below 0; an increase must fit max_qty and stock (§3.8)."""
        s = m.sender
        before = self.total(s, i)
        leaving = [p for p in [*drop, *remove]]
        base = before - sum(p.qty for p in leaving if p.counts)
        back = [p for p in restore if not p.counts and not p.gone and p not in leaving]
        base += sum(p.qty for p in back)
        below = base < 0
        if below:
            event("a change taken below 0 stops at 0")
        base = max(base, 0)
        change = add if add else -min(sub, base)
        after = base + change
        if after > before:
            if after > MAX_QTY or (i in STOCK and self.deal_total(i) + after - before > STOCK[i]):
                m.refused = True
                if remove or restore:
                    event("what an edit or withdrawal gives back is refused")
                return
        for p in drop:
            if p.counts:
                p.set_aside_by = m.seq
        for p in remove:
            p.gone = True
        for p in back:
            p.set_aside_by = None
        if below:
            for p in self.mine(s, i):
                p.set_aside_by = m.seq
        if change:
            p = Part(s, i, change, kind, m.seq, line)
            self.parts.append(p)
            m.parts.append(p)

    def short(self, m: Msg, kind: str, i: str, q: int) -> None:
        s = m.sender
        if kind == "cancel_all":
            for code in ALIAS:
                self.step(m, code, drop=self.mine(s, code))
        elif kind == "cancel" or (kind == "set" and q == 0):
            self.step(m, i, drop=self.mine(s, i))
        elif kind == "set":
            self.step(m, i, drop=self.mine(s, i), add=q, kind="set")
        elif kind == "sub":
            self.step(m, i, sub=q, kind="sub")
        else:
            self.step(m, i, add=q, kind=kind)

    def undo(self, m: Msg, target: Msg) -> None:
        """Undo ``target`` (§3.6): its parts go, what it set aside comes back, unless changed since."""
        target.over = True
        s = m.sender
        for i in ALIAS:
            later = self.last_change(s, i) > target.seq
            remove = [p for p in target.parts if p.item == i and not p.gone and (p.kind == "entry" or not later)]
            restore = [] if later else [p for p in self.parts if p.sender == s and p.item == i
                                        and p.set_aside_by == target.seq and not p.gone]
            if remove or restore:
                self.step(m, i, remove=remove, restore=restore)
        for ln in target.lines:
            ln.alive = False
        for ln in target.replaced_lines:
            ln.replaced = False

    def current_line(self, chat: str, number: str, label: str) -> Line | None:
        found = [ln for ln in self.lines if ln.chat == chat and ln.number == number and ln.label == label
                 and ln.current]
        return found[-1] if found else None

    def post_lines(self, m: Msg, lines: list[tuple[str, str, list[tuple[str, int]]]], *, bot: bool = False,
                   edit_of: str | None = None) -> None:
        """A list: (number, label, goods) per line; only lines not seen before count (§3.3).

        An edit (``edit_of``) reads the lines its original posted first anew, and takes them over.
        """
        m.list_lines = lines  # type: ignore[attr-defined]
        new, local = [], set()
        for number, label, goods in lines:  # what is seen is decided before any line of it is taken
            body = f"{label} " + " ".join(f"{ALIAS[i]}{q}" for i, q in goods)
            text = f"{number}. {body}"
            seen = [index.get((m.chat, key), edit_of) != edit_of for index, key in ((self.texts, text),
                                                                                   (self.bodies, body))]
            if text in local or any(seen):
                continue
            local.add(text)
            new.append((number, label, goods, text, body))
        for number, label, goods, text, body in new:
            for index, key in ((self.texts, text), (self.bodies, body)):
                if index.setdefault((m.chat, key), m.mid) == edit_of:
                    index[(m.chat, key)] = m.mid
            if bot:
                ln = Line(m.chat, number, label, m.sender)
                self.lines.append(ln)
                m.lines.append(ln)
                continue
            prev = self.current_line(m.chat, number, label)
            if prev is not None and prev.owner != m.sender:  # another's line, changed: nothing
                self.lines.append(Line(m.chat, number, label, prev.owner, alive=False, replaced=True))
                continue
            ln = Line(m.chat, number, label, m.sender)
            self.lines.append(ln)
            m.lines.append(ln)
            old: list[Part] = []
            if prev is not None:  # the author's own line, changed: replaces what is left of it
                event("own line replaced")
                prev.replaced = True
                m.replaced_lines.append(prev)
                old = [p for p in self.parts if p.counts and p.sender == m.sender and p.line is not None
                       and p.line.number == number and p.line.label == label]
            for i, q in goods:
                self.step(m, i, drop=[p for p in old if p.item == i], add=q, line=ln)
                old = [p for p in old if p.item != i]
            for i in sorted({p.item for p in old}):
                self.step(m, i, drop=[p for p in old if p.item == i])


def who(chat: str, sender: str) -> str:
    """A resident in one chat: orders, totals and max_qty are per chat."""
    return f"{chat}/{sender}"


def key(chat: str) -> str:
    return f"t:{chat}"


def parse_list(text: str) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """The numbered lines of a list this test wrote or the bot posted: (number, label, goods)."""
    codes = {a: c for c, a in ALIAS.items()}
    out = []
    for raw in text.splitlines():
        number, dot, rest = raw.partition(". ")
        if not dot or not number.isdigit():
            continue
        label, *words = rest.split(" ")
        goods = [(codes[w[:2]], int(w[2:])) for w in words]
        out.append((number, label, goods))
    return out


def list_text(lines: list[tuple[str, str, list[tuple[str, int]]]]) -> str:
    body = [f"{n}. {label} " + " ".join(f"{ALIAS[i]}{q}" for i, q in goods) for n, label, goods in lines]
    return "\n".join(["#接龙 今日团购", *body])


def _current_lines(cache: DealCache, chat_key: str) -> dict[tuple[str, str], int]:
    chat = cache.chats.get(chat_key)
    return {key: ln.id for key, ln in chat.by_num_label.items()} if chat is not None else {}


def summary(cache: DealCache) -> dict[str, object]:
    """Everything a cached copy of a deal holds, in comparable form (a ``superseded_by_seq`` entry
    counts while it is the entry's supersession: older ones are ignored by every reader)."""
    deal = cache.deal
    out: dict[str, object] = {
        "version": cache.version, "row": deal.row, "catalog": deal.catalog, "entries": dict(deal.entries),
        "by_key": {k: sorted(v) for k, v in deal.by_key.items() if v},
        "totals": {k: v for k, v in deal.totals.items() if v},
    }
    for ck, ch in sorted(cache.chats.items()):
        sup = {seq: sorted(i for i in ids if deal.entries[i].superseded_seq == seq)
               for seq, ids in ch.superseded_by_seq.items()}
        chat = {
            "messages": {m: (i.seq, i.sender_id, i.edit_of) for m, i in ch.messages.items()},
            "latest": dict(ch.latest), "questions": dict(ch.questions), "lines": dict(ch.lines),
            "by_text": {k: ln.id for k, ln in ch.by_text.items()}, "by_body": {k: ln.id for k, ln in ch.by_body.items()},
            "by_num_label": {k: ln.id for k, ln in ch.by_num_label.items()},
            "entries_by_msg": {k: sorted(v) for k, v in ch.entries_by_msg.items() if v},
            "superseded_by_seq": {k: v for k, v in sup.items() if v},
            "lines_by_msg": {k: sorted(v) for k, v in ch.lines_by_msg.items() if v},
        }
        if any(chat.values()):
            out[ck] = chat
    return out


# -- the machine ----------------------------------------------------------------------------------


class OrderMachine(RuleBasedStateMachine):
    """Drives an OrderService and the reference with the same messages, in two chats of one deal."""

    def __init__(self) -> None:
        super().__init__()
        self.repo = self.open_repo()
        self.svc = OrderService(self.repo, catalog=CATALOG)
        self.ref = Model()
        self.n = 0
        self.latest_list = {c: list_text([]) for c in CHATS}
        self.observer: DealCache | None = None  # another process's copy of the deal, caught up now and then

    def open_repo(self) -> Repository:
        return memory_store()

    def reopen_repo(self) -> Repository:
        return self.repo

    # -- sending ----------------------------------------------------------------------------

    def _send(self, chat: str, sender: str, text: str, *, edit_of: str | None = None,
              recall_of: str | None = None):  # type: ignore[no-untyped-def]
        self.n += 1
        mid = f"m{self.n}"
        msg = InboundMessage("t", chat, mid, sender, NAMES[sender], text, T0 + timedelta(minutes=11 * self.n),
                             edit_of=edit_of, recall_of=recall_of)
        return mid, self.svc.handle(msg)

    def _check_refused(self, m: Msg, out) -> None:  # type: ignore[no-untyped-def]
        assert bool(out.refused) == m.refused, (m.mid, out.refused, m.refused)
        assert not out.unclear, (m.mid, out.unclear)

    def _targets(self, chat: str, s: str) -> list[Msg]:
        """The sender's messages in the chat that are still there (not withdrawn, not edited since)."""
        return [m for m in self.ref.msgs.values() if m.sender == who(chat, s) and not m.over]

    # -- rules ------------------------------------------------------------------------------

    @rule(chat=chats, s=senders, change=orders)
    def order(self, chat: str, s: str, change: tuple[str, str, int]) -> None:
        self._short(chat, s, change)

    @rule(chat=chats, s=senders, change=changes)
    def change(self, chat: str, s: str, change: tuple[str, str, int]) -> None:
        self._short(chat, s, change)

    def _short(self, chat: str, s: str, change: tuple[str, str, int]) -> None:
        kind, item, q = change
        mid, out = self._send(chat, s, short_text(kind, item, q))
        m = self.ref.new_msg(mid, chat, s)
        m.short_change = change  # type: ignore[attr-defined]
        self.ref.short(m, kind, item, q)
        self._check_refused(m, out)

    @rule(chat=chats, s=senders, item=items, action=st.sampled_from(["add", "sub"]))
    def press(self, chat: str, s: str, item: str, action: str) -> None:
        self.n += 1
        out = self.svc.press(ButtonPress("t", chat, s, NAMES[s], T0 + timedelta(minutes=11 * self.n), action, item,
                                         press_id=f"p{self.n}"))
        m = self.ref.new_msg(f"press:p{self.n}", chat, s)
        m.over = True  # a press is never edited or withdrawn
        self.ref.short(m, "add" if action == "add" else "sub", item, 1)
        assert bool(out.refused) == m.refused

    def bot_posts_list(self, chat: str) -> None:
        tally = self.svc.tally(self.svc.deal_of(key(chat)).id, key(chat))  # type: ignore[union-attr]
        text = jielong_list(tally, CATALOG, title="今日团购")
        self.n += 1
        self.svc.note_post(key(chat), f"bot{self.n}", text, T0 + timedelta(minutes=11 * self.n), BOT, "Tuan")
        m = self.ref.new_msg(f"bot{self.n}", chat, BOT, is_list=True)
        m.over = True
        self.ref.post_lines(m, parse_list(text), bot=True)
        self.latest_list[chat] = text

    @rule(chat=chats, s=senders, goods=goods, bot_first=st.booleans())
    def copy_with_a_new_line(self, chat: str, s: str, goods: list[tuple[str, int]], bot_first: bool) -> None:
        """A copy of the chat's latest list (the bot's, when it posts one first) with a line of the sender's."""
        if bot_first:
            self.bot_posts_list(chat)
        lines = parse_list(self.latest_list[chat])
        number = str(max((int(n) for n, _, _ in lines), default=0) + 1)
        self._copy(chat, s, [*lines, (number, NAMES[s], goods)])

    @rule(chat=chats, s=senders, data=st.data())
    def copy_with_own_line_changed(self, chat: str, s: str, data: st.DataObject) -> None:
        lines = parse_list(self.latest_list[chat])
        mine = [k for k, (_, label, _) in enumerate(lines) if label == NAMES[s]]
        if not mine:
            return
        k = data.draw(st.sampled_from(mine))
        lines[k] = (lines[k][0], lines[k][1], data.draw(goods))
        self._copy(chat, s, lines)

    def _copy(self, chat: str, s: str, lines: list[tuple[str, str, list[tuple[str, int]]]]) -> None:
        text = list_text(lines)
        mid, out = self._send(chat, s, text)
        m = self.ref.new_msg(mid, chat, s, is_list=True)
        self.ref.post_lines(m, lines)
        self._check_refused(m, out)
        self.latest_list[chat] = text

    @rule(chat=chats, s=senders, data=st.data(), change=shorts)
    def edit(self, chat: str, s: str, data: st.DataObject, change: tuple[str, str, int]) -> None:
        targets = [m for m in self._targets(chat, s) if not m.is_list]
        if not targets:
            return
        target = data.draw(st.sampled_from(targets))
        kind, item, q = change
        mid, out = self._send(chat, s, short_text(kind, item, q), edit_of=target.mid)
        m = self.ref.new_msg(mid, chat, s)
        self.ref.undo(m, target)
        self.ref.short(m, kind, item, q)
        self._check_refused(m, out)

    @rule(chat=chats, s=senders, data=st.data())
    def edit_copy(self, chat: str, s: str, data: st.DataObject) -> None:
        """The sender edits a copy of theirs, one of their lines in it changed."""
        targets = [m for m in self._targets(chat, s) if m.is_list]
        if not targets:
            return
        target = data.draw(st.sampled_from(targets))
        lines = list(target.list_lines)  # type: ignore[attr-defined]
        mine = [k for k, (_, label, _) in enumerate(lines) if label == NAMES[s]]
        if not mine:
            return
        k = data.draw(st.sampled_from(mine))
        lines[k] = (lines[k][0], lines[k][1], data.draw(goods))
        mid, out = self._send(chat, s, list_text(lines), edit_of=target.mid)
        event("a copy edited")
        m = self.ref.new_msg(mid, chat, s, is_list=True)
        self.ref.undo(m, target)
        self.ref.post_lines(m, lines, edit_of=target.mid)
        self._check_refused(m, out)

    @rule(chat=chats, s=senders, data=st.data(), a_change=st.booleans())
    def withdraw(self, chat: str, s: str, data: st.DataObject, a_change: bool) -> None:
        """Withdraw one of the sender's messages; ``a_change``: one of the changes (改成, 减, cancels)."""
        targets = self._targets(chat, s)
        if a_change:
            targets = [m for m in targets
                       if getattr(m, "short_change", ("entry",))[0] in ("set", "sub", "cancel", "cancel_all")]
        if not targets:
            return
        target = data.draw(st.sampled_from(targets))
        mid, out = self._send(chat, s, "", recall_of=target.mid)
        m = self.ref.new_msg(mid, chat, s)
        m.over = True
        self.ref.undo(m, target)
        self._check_refused(m, out)

    @rule(again=st.booleans())
    def another_process_catches_up(self, again: bool) -> None:
        """A copy of the deal made at an earlier step, caught up with only what was written since,
        is what a process building it from the whole store now gets."""
        did = self.svc.deal_of(key(CHATS[0])).id  # type: ignore[union-attr]
        if self.observer is None:
            self.observer = fresh_cache(self.repo, did)
            return
        with self.repo.transaction() as tx:
            changes = tx.deal_changes(did, self.observer.version)
        assert changes is not None and self.observer.catch_up(changes)
        assert summary(self.observer) == summary(fresh_cache(self.repo, did))
        if again:
            self.observer = None

    @rule()
    def restart(self) -> None:
        live = self.svc
        did = live.deal_of(key(CHATS[0])).id  # type: ignore[union-attr]
        before = live.tally(did)
        old_cache = live.cached(did) or fresh_cache(self.repo, did)  # none before the first message
        self.repo = self.reopen_repo()
        self.svc = OrderService(self.repo, catalog=CATALOG)
        after = self.svc.tally(did)
        assert sorted(after.rows, key=repr) == sorted(before.rows, key=repr)
        assert after.totals == before.totals
        assert self.svc.cached(did) is None  # a new process loads nothing at start
        new_cache = fresh_cache(self.repo, did)  # what the new process loads with the next message
        assert new_cache.version == old_cache.version
        old, new = old_cache.deal, new_cache.deal
        for c in CHATS:
            for s in NAMES:
                for i in ALIAS:
                    assert new.sender_total(key(c), s, i) == old.sender_total(key(c), s, i)
                    assert new.last_touch(key(c), s, i) == old.last_touch(key(c), s, i)
            assert _current_lines(new_cache, key(c)) == _current_lines(old_cache, key(c))

    # -- what must hold after every step ------------------------------------------------------

    def _deal(self) -> DealState:
        return deal_state(self.svc, self.svc.deal_of(key(CHATS[0])).id)  # type: ignore[union-attr]

    @invariant()
    def totals_hold(self) -> None:
        deal = self._deal()
        for i in ALIAS:
            for c in CHATS:
                for s in NAMES:
                    have = deal.sender_total(key(c), s, i)
                    assert 0 <= have <= MAX_QTY, (c, s, i, have)
                    assert have == self.ref.total(who(c, s), i), (c, s, i, have, self.ref.total(who(c, s), i))
            assert deal.totals.get(i, 0) == self.ref.deal_total(i)
            assert deal.totals.get(i, 0) <= STOCK.get(i, 10**9), (i, deal.totals)
        tally = self.svc.tally(deal.row.id)
        assert all(r.qty > 0 for r in tally.rows)
        assert tally.totals == {i: self.ref.deal_total(i) for i in ALIAS}


OrderMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
TestOrderMachine = OrderMachine.TestCase


class SqliteOrderMachine(OrderMachine):
    """The same, the store a SQLite file: a restart reads everything back from it."""

    def open_repo(self) -> Repository:
        from storage.sql import open_repository

        self.tmp = tempfile.TemporaryDirectory()
        self.url = f"sqlite:///{Path(self.tmp.name) / 'tuan.db'}"
        return open_repository(self.url)

    def reopen_repo(self) -> Repository:
        from storage.sql import open_repository

        self.repo.close()  # type: ignore[attr-defined]
        return open_repository(self.url)

    def teardown(self) -> None:
        self.repo.close()  # type: ignore[attr-defined]
        self.tmp.cleanup()


SqliteOrderMachine.TestCase.settings = settings(max_examples=15, stateful_step_count=30, deadline=None,
                                                suppress_health_check=[HealthCheck.too_slow])
TestSqliteOrderMachine = SqliteOrderMachine.TestCase


class PostgresOrderMachine(SqliteOrderMachine):
    """The same on PostgreSQL, each run in a fresh schema."""

    pg_server = ""

    def open_repo(self) -> Repository:
        from sqlalchemy import create_engine, make_url, text
        from sqlalchemy.pool import NullPool

        from storage.sql import open_repository

        self.schema = f"t_{uuid.uuid4().hex}"
        self.admin = create_engine(self.pg_server, poolclass=NullPool)
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        self.url = make_url(self.pg_server).update_query_dict({"options": f"-csearch_path={self.schema}"}) \
            .render_as_string(hide_password=False)
        return open_repository(self.url)

    def teardown(self) -> None:
        from sqlalchemy import text

        self.repo.close()  # type: ignore[attr-defined]
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.admin.dispose()


PostgresOrderMachine.TestCase.settings = settings(max_examples=8, stateful_step_count=30, deadline=None,
                                                  suppress_health_check=[HealthCheck.too_slow])


def test_postgres_order_machine(pg_server: str) -> None:
    """The machine on PostgreSQL (skipped like the other PostgreSQL tests when none answers)."""
    PostgresOrderMachine.pg_server = pg_server
    PostgresOrderMachine.TestCase().runTest()
