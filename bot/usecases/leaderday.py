"""The leader's day after the cutoff: pickup codes and verification (核销), payments, after-sale (售后),
short deliveries, residents' pickup points, and the audit of every leader action.

A household is the lists' (:mod:`bot.services.households`): one resident of a chat, whatever labels
their lines carry, or a neighbour a resident ordered for (``帮邻居6栋101刘奶奶``), its marks stored
under ``sender/neighbour`` (:func:`~bot.usecases.leaderday_model.mark_id`); a leader's proxy order
(/add) is a household of its own, sender ``proxy:<label>``. Households come in 跟团号 order. Each use case runs in one store transaction that locks the deal
(:meth:`bot.ports.Transaction.lock_deal`), so it never races the order service nor another process;
every change a leader makes is written to the ``audit`` table in that same transaction.

Money is yuan as :class:`~decimal.Decimal`, quantities ints, times aware datetimes (UTC in the store).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from bot.money import amount_problem
from bot.ports import EntryRow
from bot.services.households import house_key
from bot.services.state import active, catalog_of_row
from bot.usecases.leaderday_model import (
    ZERO,
    Actor,
    DealUnknown,
    Household,
    Marks,
    Refund,
    Result,
    ShortLine,
    ShortResult,
    find_item,
    fold,
    households_of,
    mark_id,
    match,
)
from bot.usecases.replacement import is_replacement
from storage import leaderday as store
from storage import reader

UNVERIFY_WINDOW = timedelta(minutes=10)
"""A verification may be undone this long after it was made."""
CODE_DIGITS = 4
PROXY_PREFIX = "proxy:"
PICKUP_DAYS = timedelta(days=7)
"""A closed round is still worked (picked up, paid, refunded) this long after it closed."""
PICKUP_ROUNDS = 2
"""At most this many closed rounds besides the current one are worked at once (the latest closed)."""


class LeaderDay:
    """The leader's-day use cases on a SQL store (``repo``: :class:`storage.sql.SqlRepository`).

    ``config_points``: a group's pickup points from the configuration (chat key → names), used when
    the store's ``groups`` table does not know the group.
    """

    def __init__(self, repo: Any, config_points: Callable[[str], tuple[str, ...]] = lambda _k: ()) -> None:
        self.repo = repo
        self.config_points = config_points

    # -- the transaction and what it reads -----------------------------------------------------

    @contextmanager
    def _locked(self, deal_id: str) -> Iterator[_Day]:
        with self.repo.transaction() as tx:
            if tx.lock_deal(deal_id) is None:
                raise DealUnknown(deal_id)
            yield _Day(self, tx.conn, deal_id)

    def points(self, conn: Connection, chat_key: str) -> tuple[str, ...]:
        stored = store.pickup_points(conn, chat_key)
        return stored if stored else self.config_points(chat_key)

    # -- reading ---------------------------------------------------------------------------------

    def marks_for_deal(self, deal_id: str) -> dict[tuple[str, str], Marks]:
        """Per household (:attr:`Household.key`: chat_key, mark id) of the deal with a current order,
        what the leader marked.

        Pickup codes missing so far are given (and stored) first. Raises :class:`DealUnknown`.
        """
        with self._locked(deal_id) as day:
            return day.all_marks()

    def households(self, deal_id: str, chat_key: str | None = None) -> list[Household]:
        """The deal's households (of one chat, when given) in 跟团号 order. Raises :class:`DealUnknown`."""
        with self._locked(deal_id) as day:
            return [h for h in day.households if chat_key is None or h.chat_key == chat_key]

    def audit(self, deal_id: str | None = None) -> list[dict[str, Any]]:
        """The audit rows (of one deal, or every one), oldest first: at, actor_id, actor_name, action,
        chat_key, deal_id, household_chat, household_sender, detail."""
        with self.repo.transaction() as tx:
            return store.audit(tx.conn, deal_id)

    def sender_of(self, chat_key: str, message_id: str) -> str | None:
        """Who sent the handled message ``message_id`` of the chat (a reply's target), or None."""
        with self.repo.transaction() as tx:
            seen = reader.seen_message(tx.conn, chat_key, message_id)
            return seen.sender_id if seen is not None else None

    def mine(self, deal_id: str, chat_key: str, sender_id: str) -> tuple[Household, Marks] | None:
        """A resident's own household and marks in the deal (their pickup code is given if missing)."""
        with self._locked(deal_id) as day:
            h = day.by_key.get((chat_key, sender_id))
            return (h, day.all_marks()[h.key]) if h is not None else None

    def theirs(self, deal_id: str, chat_key: str, sender_id: str) -> list[tuple[Household, Marks]]:
        """The households a resident ordered in the chat: their own first (if any), then each neighbour
        they ordered for (``帮邻居…``), in 跟团号 order, with marks (pickup codes given if missing).
        Only the resident themselves is ever shown these codes (a private chat)."""
        with self._locked(deal_id) as day:
            marks = day.all_marks()
            mine = [h for h in day.households if h.chat_key == chat_key and h.sender_id == sender_id]
            return [(h, marks[h.key]) for h in sorted(mine, key=lambda h: (bool(h.proxy), h.number))]

    def worked_rounds(self, chat_key: str, current_id: str, now: datetime) -> list[str]:
        """The rounds a group's leader still works (docs/running.md, "Overlapping rounds"): the
        current one (``current_id``) first, then the group's other rounds closed within
        :data:`PICKUP_DAYS` before ``now`` that still have a household of the group not picked up or
        not paid, latest closed first, at most :data:`PICKUP_ROUNDS` of them."""
        from storage.history import closed_rounds

        with self.repo.transaction() as tx:
            ids = [d for d in closed_rounds(tx.conn, chat_key, now - PICKUP_DAYS, PICKUP_ROUNDS + 1) if d != current_id]
        out = [current_id]
        for deal_id in ids[:PICKUP_ROUNDS]:
            try:
                with self._locked(deal_id) as day:
                    marks = day.all_marks()
                    if any(not marks[h.key].picked or (marks[h.key].paid_amount or ZERO) < marks[h.key].owed
                           for h in day.households if h.chat_key == chat_key):
                        out.append(deal_id)
            except DealUnknown:
                continue
        return out

    def find(self, deal_id: str, chat_key: str, **how: str) -> Result:
        """The one household of the chat in the deal named as :meth:`_Day.find` takes it (``query``,
        ``code``, ``sender_id``, ``message_id``, ``word``), with its marks; nothing is changed but
        pickup codes given."""
        with self._locked(deal_id) as day:
            found = day.find(chat_key, **how)
            if found.status == "ok" and found.household is not None:
                return Result("ok", found.household, marks=day.all_marks()[found.household.key])
            return found

    # -- pickup verification ---------------------------------------------------------------------------

    def verify(self, deal_id: str, actor: Actor, now: datetime, *, query: str = "", code: str = "",
               sender_id: str = "", message_id: str = "", key: str = "", word: str = "") -> Result:
        """Mark a household picked up: by pickup ``code``, by ``query`` (a name, label or 跟团号
        such as ``#12`` of the actor's group, :func:`number_of`), by ``sender_id`` (a reply to their message ``message_id``: the household
        of that message's lines, else the resident's own) or by ``key`` (exactly the household whose
        :func:`mark_id` it is: the web's buttons). A household verified before is refused
        ("already", with its marks: when and by whom)."""
        with self._locked(deal_id) as day:
            found = day.find(actor.chat_key, query=query, code=code, sender_id=sender_id, message_id=message_id,
                             key=key, word=word)
            if found.status != "ok" or found.household is None:
                return found
            h = found.household
            mk = day.all_marks()[h.key]
            if mk.picked:
                return Result("already", h, marks=mk)
            store.put_mark(day.conn, deal_id, *h.key, picked_at=now, picked_by=actor.user_id,
                           picked_by_name=actor.name)
            day.audit(actor, now, "verify", h, f"code={mk.pickup_code}")
            return Result("ok", h, marks=day.all_marks(fresh=True)[h.key])

    def unverify(self, deal_id: str, actor: Actor, now: datetime, *, query: str = "", code: str = "",
                 key: str = "", word: str = "") -> Result:
        """Undo a verification made at most :data:`UNVERIFY_WINDOW` ago: of the household named
        (``query``/``code``/``key``/``word``, as :meth:`_Day.find`), else the actor's latest one in
        their group ("late" after the window). The household gets a new pickup code
        (``marks.pickup_code``): the old one was said or typed where others could read it, and is dead."""
        with self._locked(deal_id) as day:
            marks = day.all_marks()
            if query or code or key or word:
                found = day.find(actor.chat_key, query=query, code=code, key=key, word=word)
                if found.status != "ok" or found.household is None:
                    return found
                h = found.household
            else:
                mine = [(mk.picked_at, day.by_key[k]) for k, mk in marks.items()
                        if mk.picked_at is not None and mk.picked_by == actor.user_id and k[0] == actor.chat_key]
                if not mine:
                    return Result("not_picked")
                h = max(mine, key=lambda t: t[0])[1]
            mk = marks[h.key]
            if mk.picked_at is None:
                return Result("not_picked", h, marks=mk)
            if now - mk.picked_at > UNVERIFY_WINDOW:
                return Result("late", h, marks=mk)
            fresh = _new_code({r["pickup_code"] for r in store.marks(day.conn, deal_id).values() if r["pickup_code"]})
            store.put_mark(day.conn, deal_id, *h.key, picked_at=None, picked_by=None,
                           picked_by_name=None, pickup_code=fresh)
            day.audit(actor, now, "unverify", h, f"was {mk.picked_at.isoformat()} by {mk.picked_by_name}; "
                                                 f"code {mk.pickup_code} replaced")
            return Result("ok", h, marks=day.all_marks(fresh=True)[h.key])

    # -- payments --------------------------------------------------------------------------------------

    def mark_paid(self, deal_id: str, actor: Actor, now: datetime, query: str, amount: Decimal | None = None,
                  *, sender_id: str = "", key: str = "") -> Result:
        """Record what a household paid in all: ``amount``, else what it owes (its order less refunds).
        A later mark replaces the earlier one (it is not added to it). The household: ``query`` (a
        name or label), ``sender_id`` (the resident's own), or ``key`` (exactly the household whose
        :func:`mark_id` it is: the web's buttons). An ``amount`` the store
        cannot hold or no sum of money (:func:`bot.money.amount_problem`, 0 allowed) is refused:
        "bad_amount", ``detail["why"]`` the reason code."""
        if amount is not None and (why := amount_problem(amount, zero_ok=True)) is not None:
            return Result("bad_amount", detail={"why": why})
        with self._locked(deal_id) as day:
            found = day.find(actor.chat_key, query=query, sender_id=sender_id, key=key)
            if found.status != "ok" or found.household is None:
                return found
            h = found.household
            owed = day.all_marks()[h.key].owed
            paid = owed if amount is None else amount
            store.put_mark(day.conn, deal_id, *h.key, paid_amount=paid, paid_at=now,
                           paid_by=actor.name)
            day.audit(actor, now, "paid", h, f"amount={paid}")
            return Result("ok", h, marks=day.all_marks(fresh=True)[h.key], amount=paid)

    def unpaid(self, deal_id: str, chat_key: str) -> list[tuple[Household, Marks, Decimal]]:
        """The chat's households that owe more than they were marked paid: (household, marks, still owed)."""
        with self._locked(deal_id) as day:
            marks = day.all_marks()
            out = []
            for h in day.households:
                mk = marks[h.key]
                due = mk.owed - (mk.paid_amount or ZERO)
                if h.chat_key == chat_key and due > 0:
                    out.append((h, mk, due))
            return out

    # -- after-sale -----------------------------------------------------------------------------------

    def refund(self, deal_id: str, actor: Actor, now: datetime, query: str, item_word: str, qty: int, reason: str,
               amount: Decimal | None = None, *, sender_id: str = "", key: str = "") -> Result:
        """Record a refund of ``qty`` of an item to a household (named as by :meth:`mark_paid`; amount
        ``qty`` × price unless given), or a replacement (amount 0) when the reason asks for one
        (:func:`bot.usecases.replacement.is_replacement`: 补发 affirmed and no refund word,
        not 无法补发 nor 补发太慢，退款). The quantity
        may not pass what the household ordered less what was refunded or short of that item
        ("too_many", ``detail["left"]``); nor the amount the value of that item still kept (ordered
        × price less the amounts refunded or short: "too_much", ``detail["left"]`` yuan); a
        quantity × price above it is lowered to it. An amount that is no sum of money
        (:func:`bot.money.amount_problem`) is refused: "bad_amount", ``detail["why"]``."""
        if amount is not None and (why := amount_problem(amount)) is not None:
            return Result("bad_amount", detail={"why": why})
        with self._locked(deal_id) as day:
            item = find_item(day.catalog, item_word)
            if item is None:
                return Result("bad_item")
            found = day.find(actor.chat_key, query=query, sender_id=sender_id, key=key)
            if found.status != "ok" or found.household is None:
                return found
            h = found.household
            ordered = h.items.get(item.code, 0)
            done, back = day.refunded(h, item.code, day.refunds)
            if qty <= 0:
                return Result("bad_qty", h, item=item)
            if qty > ordered - done:
                return Result("too_many", h, item=item, detail={"left": max(0, ordered - done)})
            kind = "replace" if is_replacement(reason) else "refund"
            left = max(ZERO, item.price * ordered - back)
            if kind == "refund" and amount is not None and amount > left:
                return Result("too_much", h, item=item, detail={"left": left})
            value = ZERO if kind == "replace" else (min(item.price * qty, left) if amount is None else amount)
            store.add_refund(day.conn, deal_id=deal_id, chat_key=h.chat_key, sender_id=h.key[1],
                             item_code=item.code, qty=qty, amount=value, kind=kind, reason=reason, at=now,
                             by_id=actor.user_id, by_name=actor.name)
            day.audit(actor, now, kind, h, f"item={item.code} qty={qty} amount={value} reason={reason}")
            return Result("ok", h, marks=day.all_marks(fresh=True)[h.key], amount=value, item=item,
                          detail={"kind": kind})

    def short(self, deal_id: str, actor: Actor, now: datetime, item_word: str, delivered: int) -> ShortResult | Result:
        """The supplier delivered ``delivered`` of an item: its units are filled first come first
        served, each unit by the time of the entry that ordered it (a household's late top-up waits
        behind another's earlier order: :func:`unit_queue`), and the rest of each order is refunded
        (kind "short", qty × price). Units already refunded (/refund) are no longer wanted: a
        household is filled up to its order less them (its latest units given up first), and a
        short refund is capped by the value it still keeps, so its refunds never pass its order.
        Recording it again replaces the former short delivery of that item.

        Refused with Result "open" while the round takes orders (open, its own cutoff, if any, not
        passed at ``now``; a round past its cutoff that nobody /close'd takes none): what arrived is known after the
        cutoff, and a refund recorded before it would go stale as orders change (a later 再加4 of
        the item charged in full). Result "bad_item" / "bad_qty" for an item the round does not
        sell or a negative quantity."""
        with self._locked(deal_id) as day:
            if day.takes_orders(now):
                return Result("open")
            item = find_item(day.catalog, item_word)
            if item is None:
                return Result("bad_item")
            if delivered < 0:
                return Result("bad_qty", item=item)
            store.drop_refunds(day.conn, deal_id, item.code, "short")
            before = day.refunds
            takers = [h for h in day.households if h.items.get(item.code, 0) > 0]
            want = {h.key: max(0, h.items[item.code] - day.refunded(h, item.code, before)[0]) for h in takers}
            queue = unit_queue(day.entries, item.code, takers, want)
            got = dict.fromkeys(want, 0)
            for _at, key in queue[:delivered]:
                got[key] += 1
            first = {key: at for at, key in reversed(queue)}  # each household's earliest unit
            end = max((e.id for e in day.entries), default=0) + 1
            takers.sort(key=lambda h: (first.get(h.key, (end, h.number)), h.number))
            lines, ordered = [], 0
            for h in takers:
                bought = h.items[item.code]
                ordered += bought
                back = day.refunded(h, item.code, before)[1]
                missing = want[h.key] - got[h.key]
                if missing > 0:
                    amount = min(item.price * missing, max(ZERO, item.price * bought - back))
                    lines.append(ShortLine(h, bought, bought - missing, missing, amount))
                    store.add_refund(day.conn, deal_id=deal_id, chat_key=h.chat_key, sender_id=h.key[1],
                                     item_code=item.code, qty=missing, amount=amount, kind="short",
                                     reason="缺货", at=now, by_id=actor.user_id, by_name=actor.name)
            day.audit(actor, now, "short", None,
                      f"item={item.code} delivered={delivered} ordered={ordered} households_short={len(lines)}")
            return ShortResult(item, ordered, delivered, tuple(lines))

    # -- pickup points ------------------------------------------------------------------------------------

    def choose_point(self, deal_id: str, chat_key: str, sender_id: str, word: str) -> tuple[str, tuple[str, ...]]:
        """A resident picks their pickup point: the point ``word`` names (exact, else the only one
        holding it) is stored and returned; "" when none matches (with the group's points)."""
        with self._locked(deal_id) as day:
            points = self.points(day.conn, chat_key)
            w = fold(word)
            chosen = [p for p in points if fold(p) == w] or [p for p in points if w and w in fold(p)]
            if len(chosen) != 1:
                return "", points
            store.put_mark(day.conn, deal_id, chat_key, sender_id, pickup_point=chosen[0])
            return chosen[0], points

    def at_point(self, deal_id: str, chat_key: str, point: str = "") -> tuple[list[Household], tuple[str, ...]]:
        """The chat's households with goods at ``point`` (every one when ""), and the group's points."""
        with self._locked(deal_id) as day:
            marks = day.all_marks()
            points = self.points(day.conn, chat_key)
            hs = [h for h in day.households if h.chat_key == chat_key
                  and (not point or marks[h.key].pickup_point == point)]
            return hs, points

    def unpicked(self, deal_id: str, chat_key: str) -> list[tuple[Household, Marks]]:
        """The chat's households not yet picked up, in 跟团号 order."""
        with self._locked(deal_id) as day:
            marks = day.all_marks()
            return [(h, marks[h.key]) for h in day.households if h.chat_key == chat_key and not marks[h.key].picked]

    def record(self, deal_id: str | None, actor: Actor, now: datetime, action: str, detail: str,
               household: tuple[str, str] | None = None) -> None:
        """Write one audit row on its own (an action whose change another use case committed, e.g. /add)."""
        with self.repo.transaction() as tx:
            store.add_audit(tx.conn, at=now, actor_id=actor.user_id, actor_name=actor.name, action=action,
                            chat_key=actor.chat_key, deal_id=deal_id, household=household, detail=detail)


def marks_for_deal(repo: Any, deal_id: str,
                   config_points: Callable[[str], tuple[str, ...]] = lambda _k: ()) -> dict[tuple[str, str], Marks]:
    """:meth:`LeaderDay.marks_for_deal` on ``repo`` (a :class:`storage.sql.SqlRepository`): per
    household (chat_key, sender_id) with a current order, its :class:`Marks`. Gives missing pickup
    codes first (a write). Raises :class:`DealUnknown`."""
    return LeaderDay(repo, config_points).marks_for_deal(deal_id)


def unit_queue(entries: list[EntryRow], item_code: str, takers: list[Household],
               want: dict[tuple[str, str], int]) -> list[tuple[tuple[int, int], tuple[str, str]]]:
    """Every wanted unit of an item, first come first served: (when, household key) per unit, sorted.

    ``when`` is (id of the entry that ordered the unit, the household's 跟团号). A household's
    units are replayed from its entries of the item in order (withdrawn ones skipped): an increase
    adds units at its entry's time, a decrease gives up the latest ones, and a change that
    replaces earlier entries (改成3, an edited 接龙 line) keeps their times for as many units as it
    keeps (a raise from 1 to 3 keeps the first unit's place, the two more come at its time). Units
    of entries no longer counting (cancelled) are dropped, and those a household no longer wants
    (``want[key]`` below its order: refunded) are its latest. Units its entries do not account for
    (none should be) come last."""
    by_key = {h.key: h for h in takers}
    units: dict[tuple[str, str], list[tuple[int, EntryRow]]] = {key: [] for key in by_key}
    for e in sorted(entries, key=lambda e: e.id):
        if e.removed or e.item_code != item_code:
            continue
        home = house_key(e.chat_key, e.sender_id, e.label)
        stack = units.get((home[0], mark_id(home[1], home[2])))
        if stack is None:
            continue
        kept, carried = [], []
        for at, src in stack:  # units of entries superseded by now go; this message's replacement keeps their times
            if src.superseded_seq is None or src.superseded_seq > e.seq:
                kept.append((at, src))
            elif src.superseded_seq == e.seq:
                carried.append(at)
        stack[:] = kept
        carried.sort()
        if e.qty > 0:
            stack += [(at, e) for at in (carried[:e.qty] + [e.id] * max(0, e.qty - len(carried)))]
            stack.sort(key=lambda u: u[0])
        else:
            del stack[max(0, len(stack) + e.qty):]
    last = max((e.id for e in entries), default=0) + 1
    queue = []
    for key, h in by_key.items():
        bought = h.items.get(item_code, 0)
        times = [at for at, src in units[key] if active(src)][:bought]
        times += [last] * (bought - len(times))
        queue += [((at, h.number), key) for at in times[:want.get(key, 0)]]
    return sorted(queue)


class _Day:
    """One locked transaction's view of a deal: its catalog, entries, households, marks, refunds."""

    def __init__(self, owner: LeaderDay, conn: Connection, deal_id: str) -> None:
        self.owner, self.conn, self.deal_id = owner, conn, deal_id
        row = reader.get_deal(conn, deal_id)
        if row is None:
            raise DealUnknown(deal_id)
        self.catalog = catalog_of_row(row)
        self.open = row.status == "open"  # not closed (/close, tuan): see takes_orders for its cutoff
        self.cutoff = row.cutoff  # aware UTC, or None
        self.entries = reader.deal_entries(conn, deal_id)
        self.households = households_of(self.catalog, self.entries, deal_id)
        self.by_key = {h.key: h for h in self.households}
        self._marks: dict[tuple[str, str], Marks] | None = None

    def takes_orders(self, now: datetime) -> bool:
        """Whether the round takes orders at ``now`` (aware): open, and its cutoff (if any) still ahead."""
        return self.open and (self.cutoff is None or now < self.cutoff)

    @property
    def refunds(self) -> list[Refund]:
        return [Refund(r["chat_key"], r["sender_id"], r["item_code"], r["qty"], r["amount"], r["kind"], r["reason"],
                       r["at"], r["by_id"], r["by_name"]) for r in store.refunds(self.conn, self.deal_id)]

    @staticmethod
    def refunded(h: Household, item_code: str, refunds: list[Refund]) -> tuple[int, Decimal]:
        """What household ``h`` got back of an item in ``refunds``: (quantity, yuan) of its refunds and
        short deliveries (replacements, amount 0, are goods not returned: not counted)."""
        mine = [r for r in refunds if (r.chat_key, r.sender_id) == h.key and r.item_code == item_code
                and r.kind != "replace"]
        return sum(r.qty for r in mine), sum((r.amount for r in mine), ZERO)

    def all_marks(self, *, fresh: bool = False) -> dict[tuple[str, str], Marks]:
        """Every household's marks; pickup codes missing so far are given first (and stored)."""
        if self._marks is not None and not fresh:
            return self._marks
        rows = store.marks(self.conn, self.deal_id)
        used = {r["pickup_code"] for r in rows.values() if r["pickup_code"]}
        for h in self.households:
            row = rows.get(h.key)
            if row is None or not row["pickup_code"]:
                code = _new_code(used)
                used.add(code)
                store.put_mark(self.conn, self.deal_id, *h.key, pickup_code=code)
                rows.setdefault(h.key, dict.fromkeys(store.MARK_FIELDS))["pickup_code"] = code
        refunds: dict[tuple[str, str], list[Refund]] = defaultdict(list)
        for r in self.refunds:
            refunds[(r.chat_key, r.sender_id)].append(r)
        points: dict[str, tuple[str, ...]] = {}
        out = {}
        for h in self.households:
            row = rows[h.key]
            if h.chat_key not in points:
                points[h.chat_key] = self.owner.points(self.conn, h.chat_key)
            default = points[h.chat_key][0] if points[h.chat_key] else ""
            if h.proxy:  # a neighbour's goods go where the resident who ordered them picks up
                default = (rows.get((h.chat_key, h.sender_id)) or {}).get("pickup_point") or default
            back = sum((r.amount for r in refunds[h.key]), ZERO)
            owed = h.amount - back
            paid_amount = row["paid_amount"]
            out[h.key] = Marks(
                chat_key=h.chat_key, sender_id=h.key[1], pickup_code=row["pickup_code"],
                pickup_point=row["pickup_point"] or default,
                paid=paid_amount is not None and paid_amount >= owed, paid_amount=paid_amount,
                paid_at=row["paid_at"], paid_by=row["paid_by"], picked_at=row["picked_at"],
                picked_by=row["picked_by"], picked_by_name=row["picked_by_name"], refund_amount=back, owed=owed,
                refunds=tuple(refunds[h.key]), household=h.house)
        self._marks = out
        return out

    def find(self, chat_key: str, *, query: str = "", code: str = "", sender_id: str = "",
             message_id: str = "", key: str = "", word: str = "") -> Result:
        """The one household of ``chat_key`` named by code, by ``key`` (its :func:`mark_id`, exactly:
        ``sender/neighbour`` for a neighbour's household), query (its 跟团号 ``#12``/``12号`` first,
        :func:`number_of`, else a name or label, :func:`match`), sender id (with the message
        replied to: the household of its lines, else the resident's own), or ``word``: a pickup
        code when it is one of this deal's (:func:`is_code_shaped`; a code wins over a room that is
        the same digits), else a query."""
        if word:
            if is_code_shaped(word) and self.find(chat_key, code=word).status == "ok":
                return self.find(chat_key, code=word)
            return self.find(chat_key, query=word)
        mine = [h for h in self.households if h.chat_key == chat_key]
        if code:
            marks = self.all_marks()
            hits = [h for h in mine if marks[h.key].pickup_code == code.strip()]
        elif key:
            hits = [h for h in mine if h.key[1] == key]
        elif sender_id:
            theirs = [h for h in mine if h.sender_id == sender_id]
            said = {house_key(e.chat_key, e.sender_id, e.label) for e in self.entries
                    if message_id and e.message_id == message_id and e.chat_key == chat_key}
            hits = [h for h in theirs if h.house in said] or [h for h in theirs if not h.proxy] or theirs
        else:
            number = number_of(query)
            hits = [h for h in mine if h.number == number] if number is not None else []
            hits = hits or match(mine, query)
        if not hits:
            return Result("none")
        if len(hits) > 1:
            return Result("ambiguous", candidates=tuple(hits))
        return Result("ok", hits[0])

    def audit(self, actor: Actor, now: datetime, action: str, h: Household | None, detail: str) -> None:
        store.add_audit(self.conn, at=now, actor_id=actor.user_id, actor_name=actor.name, action=action,
                        chat_key=actor.chat_key, deal_id=self.deal_id, household=h.key if h else None, detail=detail)


_NUMBER = re.compile(r"^(?:#|跟团号\s*#?)\s*(\d{1,5})$|^(\d{1,5})\s*号$")


def number_of(query: str) -> int | None:
    """The 跟团号 a leader's query names: ``#12``, ``＃12``, ``12号``, ``跟团号12``; None for anything
    else (a bare number is not one: it could be a room or a pickup code). A household whose number
    it is wins over a label that merely holds the same text (:meth:`_Day.find`)."""
    hit = _NUMBER.match(unicodedata.normalize("NFKC", query).strip())
    if hit is None:
        return None
    return int(hit.group(1) or hit.group(2))


def is_code_shaped(word: str) -> bool:
    """Whether a leader's word could be a pickup code: :data:`CODE_DIGITS` digits (after NFKC)."""
    w = unicodedata.normalize("NFKC", word).strip()
    return len(w) == CODE_DIGITS and w.isascii() and w.isdigit()


def _new_code(used: set[str]) -> str:
    """A random pickup code of :data:`CODE_DIGITS` digits (no leading 0) not in ``used``."""
    low = 10 ** (CODE_DIGITS - 1)
    if len(used) >= 9 * low:
        raise RuntimeError("no pickup code left in this deal")
    while True:
        code = str(low + secrets.randbelow(9 * low))
        if code not in used:
            return code


__all__ = ["Actor", "DealUnknown", "Household", "LeaderDay", "Marks", "Refund", "Result", "ShortLine", "ShortResult",
           "find_item", "households_of", "is_code_shaped", "mark_id", "marks_for_deal", "match", "number_of"]
