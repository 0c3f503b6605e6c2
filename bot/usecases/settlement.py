"""Settlement (结算) of a period: per leader sales, refunds, net, commission, upline share and amount
due; the operator's totals.

The period is whole days in the bot's time zone, ``start`` to ``end`` inclusive; a deal belongs to
the day it was opened. A group's figures are the sums of the leader's export of each of its deals
(:func:`bot.usecases.lists.deal_lists` of that group's chat, the 订单明细's 合计 row: 金额 and
退款金额), so the settlement matches the exports to the fen. Commission: :mod:`bot.usecases.commission`
(rates, the per-item hook, two tiers, one rounding at the end), each deal shared by its group's
leaders of when it opened, under their terms in force then (:mod:`bot.usecases.terms_history`). A deal belongs to the groups whose chats
its chats were when it opened (:mod:`bot.usecases.group_chats`: a group's former chat key too).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.config import AppConfig
from bot.inputs import FIRST_YEAR, LAST_YEAR  # the years a period may touch
from bot.services.orders import OrderService
from bot.usecases.commission import ZERO, ItemSale, PerItem, exact_commission, fen, upline_share
from bot.usecases.operators import OperatorRows
from bot.usecases.platform_data import LEADER
from bot.usecases.terms_history import TermsHistory

REFUND_KINDS = ("refund", "short")
"""After-sale kinds whose quantity is no longer sold (a replacement is)."""


@dataclass(frozen=True, slots=True)
class Period:
    """Days ``start`` to ``end`` inclusive, in the bot's time zone (see :func:`period_problem`)."""

    start: date
    end: date

    def bounds(self, config: AppConfig) -> tuple[datetime, datetime]:
        """[since, until) as aware datetimes."""
        tz = config.bot.tz
        since = datetime(self.start.year, self.start.month, self.start.day, tzinfo=tz)
        end = self.end + timedelta(days=1)
        return since, datetime(end.year, end.month, end.day, tzinfo=tz)

    @classmethod
    def month_of(cls, day: date) -> Period:
        """The calendar month of ``day``."""
        first = day.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return cls(first, nxt - timedelta(days=1))


def period_problem(start: date, end: date) -> str | None:
    """Why days ``start``..``end`` are no usable period (one line, English), or None: ``end`` before
    ``start``, or a day outside :data:`FIRST_YEAR`..:data:`LAST_YEAR` (``9999-12-31`` would overflow
    the day after the period)."""
    if end < start:
        return f"--to {end} is before --from {start}"
    for opt, day in (("--from", start), ("--to", end)):
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            return f"{opt} {day}: a period lies within the years {FIRST_YEAR} to {LAST_YEAR}"
    return None


@dataclass(frozen=True, slots=True)
class DealFigures:
    """One deal's part of a group's figures: when it opened (aware), ``sales`` and ``refunds`` yuan."""

    deal_id: str
    opened: datetime
    sales: Decimal
    refunds: Decimal


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """One group's deals of the period: ``sales`` and ``refunds`` yuan (the exports' 合计),
    ``households`` with an order per deal summed (orders), per-item sales, and each deal's figures
    (``per_deal``: a deal is shared by the group's leaders of the time it opened, a retired leader
    earning on the deals opened before they retired, under the terms of that time; empty: the
    group's leaders now share all of it under their current terms)."""

    group_id: str
    title: str
    chat_key: str
    deals: tuple[str, ...]
    orders: int
    sales: Decimal
    refunds: Decimal
    items: tuple[ItemSale, ...]
    per_deal: tuple[DealFigures, ...] = ()

    @property
    def net(self) -> Decimal:
        return self.sales - self.refunds


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """One leader's settlement (yuan, each rounded once to the fen): ``upline_share`` is what they
    earn of their direct downlines' commissions; ``due`` = ``commission`` + ``upline_share``."""

    leader_id: str
    name: str
    upline: str | None
    rate: Decimal | None
    share_rate: Decimal | None
    groups: tuple[str, ...]
    sales: Decimal
    refunds: Decimal
    net: Decimal
    commission: Decimal
    upline_share: Decimal
    due: Decimal


@dataclass(frozen=True, slots=True)
class Settlement:
    """A period's settlement: the leaders' lines, the groups' figures and the operator's totals
    (``kept``: net sales minus what is due to leaders)."""

    period: Period
    lines: tuple[SettlementLine, ...]
    groups: tuple[GroupFigures, ...]
    sales: Decimal
    refunds: Decimal
    commission: Decimal
    upline_share: Decimal

    @property
    def net(self) -> Decimal:
        return self.sales - self.refunds

    @property
    def due(self) -> Decimal:
        return self.commission + self.upline_share

    @property
    def kept(self) -> Decimal:
        return self.net - self.due


@dataclass(slots=True)
class _Group:
    deals: list[str] = field(default_factory=list)
    orders: int = 0
    sales: Decimal = ZERO
    refunds: Decimal = ZERO
    items: list[ItemSale] = field(default_factory=list)
    per_deal: list[DealFigures] = field(default_factory=list)


def group_figures(service: OrderService, config: AppConfig, rows: OperatorRows, period: Period, *,
                  refunded_qty: bool = False) -> list[GroupFigures]:
    """Every store group's figures for ``period`` (groups without a deal: zeros; a retired group
    without a deal of the period is left out), by group id.
    ``refunded_qty``: also count each item's refunded quantity (what the per-item hook needs; one
    more read of each deal's after-sale records)."""
    from bot.usecases.history import engine_of
    from bot.usecases.leaderday import marks_for_deal
    from bot.usecases.lists import deal_lists, group_points, recorded_marks
    from storage import history
    from storage.group_chats import group_chats
    from storage.settlement import chats_of_deals, deals_opened

    since, until = period.bounds(config)
    with history.reading(engine_of(service.repo)) as conn:
        deals = deals_opened(conn, until, since)
        chats = chats_of_deals(conn, [d for d, _at in deals])
        owners = group_chats(conn, {g.chat_key: g.id for g in rows.platform.groups.values()})
    points = group_points(service, config)
    acc = {gid: _Group() for gid in rows.platform.groups}
    for deal_id, opened in deals:
        # the groups whose chats the deal's were when it opened (a group's former chat key too)
        mine = {gid: keys for gid, keys in owners.groups_of(chats.get(deal_id, ()), opened, deal_id).items() if gid in acc}
        if not mine:
            continue
        # the marks the export reads (bot/usecases/lists.py), read once for the deal's chats
        marks, chosen = recorded_marks(service, config, deal_id)
        # keyed by household (chat_key, sender_id, proxy), as the views are: a neighbour's household
        # a resident ordered for nets its refunds and short deliveries like the resident's own
        recorded = ({mk.household: mk for mk in marks_for_deal(service.repo, deal_id,
                                                               lambda k: points.get(k, ())).values()}
                    if refunded_qty else {})
        # one reading of the whole deal: a household's lines, amount and refunds are what the
        # export of its own group shows (only the 跟团号 differ, which are not summed)
        every = deal_lists(service, config, deal_id, marks=marks or {}, points=chosen or {}, pickup_points=points)
        for gid, keys in sorted(mine.items()):
            a = acc[gid]
            views = [v for v in every.views if v.chat_key in keys]
            if views:
                a.deals.append(deal_id)
            a.orders += len(views)
            sales, refunds = sum((v.amount for v in views), ZERO), sum((v.marks.refund for v in views), ZERO)
            a.sales += sales
            a.refunds += refunds
            if views:
                a.per_deal.append(DealFigures(deal_id, opened, sales, refunds))
            per: dict[str, list[Any]] = {}
            for v in views:
                done = recorded.get(v.key)  # the household's own records, a neighbour's (proxy) too
                for line in v.lines:
                    it = per.setdefault(line.item_code, [0, ZERO, 0, ZERO])
                    it[0] += line.qty
                    it[1] += line.amount
                    it[3] += v.marks.refunds.get(line.item_code, ZERO)
                    if done is not None:
                        it[2] += sum(r.qty for r in done.refunds
                                     if r.kind in REFUND_KINDS and r.item_code == line.item_code)
            a.items += [ItemSale(deal_id, code, q, s, rq, r) for code, (q, s, rq, r) in per.items()]
    return [GroupFigures(gid, rows.platform.groups[gid].title, rows.platform.groups[gid].chat_key, tuple(a.deals),
                         a.orders, a.sales, a.refunds, tuple(a.items), tuple(a.per_deal))
            for gid, a in sorted(acc.items()) if a.deals or rows.platform.groups[gid].retired_at is None]


def leaders_of(rows: OperatorRows, group_id: str, at: datetime | None = None,
               history: TermsHistory | None = None) -> list[str]:
    """The ids of the group's leaders (role leader; operators earn no commission), sorted. None
    ``at``: those leading it now. With ``at`` (aware: when a deal opened): those who led it then,
    as ``history`` records (:mod:`bot.usecases.terms_history`: linked to the group, role leader
    and not retired at ``at``; None: today's links and roles), a leader retired now only when the
    retirement began after ``at``."""
    history = history or TermsHistory()
    out = []
    for lid in history.members_at(rows, group_id, at):
        ld = rows.platform.leaders.get(lid)
        if ld is None:  # removed from the store
            continue
        then = history.standing_at(rows, lid, at)
        if then.role == LEADER and not any(r is not None and (at is None or r <= at)
                                           for r in (then.retired_at, ld.retired_at)):
            out.append(lid)
    return sorted(out)


def _parts(g: GroupFigures) -> list[tuple[str, datetime | None, Decimal, Decimal, list[ItemSale]]]:
    """(deal id, opened at, sales, refunds, item sales) of each deal of ``g``; without ``per_deal``
    one part of the whole group (key ``group:<id>``, opened None: the leaders and terms of now)."""
    if not g.per_deal:
        return [(f"group:{g.group_id}", None, g.sales, g.refunds, list(g.items))]
    return [(d.deal_id, d.opened, d.sales, d.refunds, [it for it in g.items if it.deal_id == d.deal_id])
            for d in g.per_deal]


def settle(groups: Iterable[GroupFigures], rows: OperatorRows, period: Period, *, leader: str | None = None,
           per_item: PerItem | None = None, history: TermsHistory | None = None,
           end: datetime | None = None) -> Settlement:
    """The settlement of ``groups``' figures under the leaders' terms (:mod:`bot.usecases.commission`):
    a line per leader (role leader; a retired one, or one who is an operator now, only when they
    earned in it), or only ``leader``'s
    (then the totals are that line's groups and figures). Each deal is shared by the group's leaders
    when it opened (:func:`leaders_of`: by ``history``) and settled under the terms in force then
    (``history``; None: every leader's current links, role and terms,
    :mod:`bot.usecases.terms_history`): its commission at the leader's
    rate of then, and the upline of then earning their share of then. A line shows the terms in force
    at ``end`` (aware: the period's end; None: the current terms). Raises ``KeyError`` for an unknown
    ``leader``."""
    groups = list(groups)
    if leader is not None and leader not in rows.platform.leaders:
        raise KeyError(leader)
    history = history or TermsHistory()
    sales: dict[str, Decimal] = defaultdict(Decimal)
    refunds: dict[str, Decimal] = defaultdict(Decimal)
    led: dict[str, list[str]] = defaultdict(list)
    # per leader and deal: the unrounded commission, and the upline it earns a share for
    earned: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    upline_of: dict[tuple[str, str], str | None] = {}
    opened: dict[str, datetime | None] = {}
    for g in groups:
        for key, at, g_sales, g_refunds, g_items in _parts(g):
            ids = leaders_of(rows, g.group_id, at, history)
            if not ids:  # a deal no leader led earns no one anything
                continue
            k = Decimal(len(ids))
            mine = _split(g_items, len(ids))
            opened[key] = at
            for lid in ids:
                sales[lid] += g_sales / k
                refunds[lid] += g_refunds / k
                if g.group_id not in led[lid]:
                    led[lid].append(g.group_id)
                t = history.at(rows, lid, at)
                earned[lid][key] += exact_commission((g_sales - g_refunds) / k, t.rate, mine, per_item)
                upline_of[(lid, key)] = t.upline
    leaders = sorted({lid for lid, ld in rows.platform.leaders.items() if ld.role == LEADER} | set(earned)
                     | {up for up in upline_of.values() if up in rows.platform.leaders})
    # per upline: the (downline, deal) commissions it earns a share of, in the order they were earned
    below: dict[str | None, list[tuple[str, str]]] = defaultdict(list)
    for d, deals in earned.items():
        for deal in deals:
            below[upline_of[(d, deal)]].append((d, deal))
    lines = []
    for lid in leaders:
        if leader is not None and lid != leader:
            continue
        t = rows.terms_of(lid) if end is None else history.at(rows, lid, end)
        ld = rows.platform.leaders[lid]
        share_exact = sum((upline_share([earned[d][deal]], history.at(rows, lid, opened[deal]).upline_share)
                           for d, deal in below.get(lid, ())), ZERO)
        commission, share = fen(sum(earned[lid].values(), ZERO)), fen(share_exact)
        if (ld.retired_at is not None or ld.role != LEADER) and lid != leader and lid not in led and not share:
            continue  # retired or an operator now, and nothing of the period is theirs
        lines.append(SettlementLine(lid, ld.name, t.upline, t.rate, t.upline_share, tuple(led[lid]), fen(sales[lid]),
                                    fen(refunds[lid]), fen(sales[lid]) - fen(refunds[lid]), commission, share,
                                    commission + share))
    scope = groups if leader is None else [g for g in groups if g.group_id in led[leader]]
    return Settlement(period, tuple(lines), tuple(scope), sum((g.sales for g in scope), ZERO),
                      sum((g.refunds for g in scope), ZERO), sum((ln.commission for ln in lines), ZERO),
                      sum((ln.upline_share for ln in lines), ZERO))


def _split(items: Iterable[ItemSale], k: int) -> list[ItemSale]:
    """A group's item sales as one of its ``k`` leaders' equal part."""
    if k == 1:
        return list(items)
    return [replace(it, part=Decimal(1) / k) for it in items]


def variant_commissions(service: OrderService, config: AppConfig, period: Period) -> PerItem | None:
    """The per-item hook fed by the product library: each item of a deal opened from the library
    pays the commission its variant carried when the deal opened (``tuan product variant
    --commission``, the import's 提成 column; storage/products.py), else None (the leader's rate).
    None when no deal of ``period`` has such an item (then nothing more is read)."""
    from bot.usecases.history import engine_of
    from storage.products import item_commissions

    amounts = item_commissions(engine_of(service.repo), *period.bounds(config))
    if not amounts:
        return None
    return lambda deal_id, item_code: amounts.get((deal_id, item_code))


def settlement(service: OrderService, config: AppConfig, rows: OperatorRows, period: Period, *,
               leader: str | None = None, per_item: PerItem | None = None) -> Settlement:
    """The settlement of ``period`` read from the store (:func:`group_figures`, :func:`settle`).
    ``per_item`` None: the variants' per-unit commissions (:func:`variant_commissions`)."""
    if per_item is None:
        per_item = variant_commissions(service, config, period)
    from bot.usecases.history import engine_of
    from storage import history as store
    from storage.operators import terms_history

    figures = group_figures(service, config, rows, period, refunded_qty=per_item is not None)
    with store.reading(engine_of(service.repo)) as conn:
        terms = terms_history(conn)
    end = period.bounds(config)[1] - timedelta(microseconds=1)
    return settle(figures, rows, period, leader=leader, per_item=per_item, history=terms, end=end)
