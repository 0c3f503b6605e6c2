"""The leader's day after the cutoff, as use cases over the order service: a deal's households,
its stocking and sorting lists, the spreadsheet export, and the stocking list of a day.

Shared by the chat commands (bot/commands.py) and the CLI (bot/cli_history.py). Marks recorded
after the cutoff (payments, pickups, refunds, chosen pickup points) come in through ``marks`` and
``points``, shaped as :mod:`bot.leaderlists` says; nothing here stores them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot import leaderlists as ll
from bot import messages as m
from bot.catalog import Catalog
from bot.config import AppConfig
from bot.export import orders_csv, orders_xlsx
from bot.leaderlists import HouseholdView, MarkKey, Marks
from bot.services.orders import OrderService
from bot.services.outcome import Tally

FORMATS = ("xlsx", "csv")


@dataclass(frozen=True, slots=True)
class DealLists:
    """One deal's lists: its catalog, tally (one chat's or every chat's) and household views."""

    deal_id: str
    title: str
    catalog: Catalog
    tally: Tally
    views: list[HouseholdView]

    def stock(self) -> ll.StockList:
        return ll.stocking_list([(self.tally, self.catalog)])

    def sorting(self, group_points: Mapping[str, Sequence[str]]) -> list[ll.PointList]:
        order = [p for pts in group_points.values() for p in pts]
        return ll.sorting_list(self.views, point_order=order)


def group_points(service: OrderService, config: AppConfig) -> dict[str, tuple[str, ...]]:
    """chat key → the group's pickup points: the store's groups (the truth where the store is SQL),
    else the configuration's."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.ports import StoreUnavailable
    from bot.usecases.history import NoSqlStore, engine_of
    from storage.platform import SqlPlatformStore

    out = {g.chat_key: g.pickup_points for g in config.groups}
    try:
        rows = SqlPlatformStore(engine_of(service.repo)).load()
    except (NoSqlStore, StoreUnavailable, SQLAlchemyError):  # the configuration's points, then
        return out
    out.update({g.chat_key: g.pickup_points for g in rows.groups.values()})
    return out


def deal_lists(service: OrderService, config: AppConfig, deal_id: str, *, chat_key: str | None = None,
               titles: Mapping[str, str] | None = None, marks: Mapping[MarkKey, Marks] | None = None,
               points: Mapping[MarkKey, str] | None = None,
               pickup_points: Mapping[str, Sequence[str]] | None = None) -> DealLists:
    """A deal's households with 跟团号, lines, pickup point, first order time and marks (of
    ``chat_key`` only, when given). Raises ``KeyError`` for an unknown deal."""
    catalog = service.catalog_of(deal_id)
    deal = service.repo.get_deal(deal_id)
    tally = service.tally(deal_id, chat_key)
    if marks is None and points is None:
        marks, points = recorded_marks(service, config, deal_id)
    views = ll.household_views(
        tally, catalog, group_titles=titles, marks=marks, points=points, times=service.order_times(tally),
        group_points=pickup_points if pickup_points is not None else group_points(service, config))
    return DealLists(deal_id, deal.title if deal is not None else catalog.title, catalog, tally, views)


def recorded_marks(service: OrderService, config: AppConfig, deal_id: str
                   ) -> tuple[dict[MarkKey, Marks] | None, dict[MarkKey, str] | None]:
    """What leaders recorded for the deal's households (:func:`bot.usecases.leaderday.marks_for_deal`:
    payments, pickup verifications, refunds, pickup points and codes), as the lists' marks and points
    keyed (chat_key, sender_id, proxy); (None, None) when the store keeps no such records (not SQL) or
    cannot be read now (the lists then show no marks rather than fail)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.ports import StoreUnavailable
    from bot.usecases.leaderday import DealUnknown, marks_for_deal

    points_of = {g.chat_key: tuple(g.pickup_points) for g in config.groups}
    try:
        got = marks_for_deal(service.repo, deal_id, lambda chat_key: points_of.get(chat_key, ()))
    except (DealUnknown, StoreUnavailable, SQLAlchemyError, AttributeError):
        return None, None
    return list_marks(got)


def list_marks(got: Mapping[tuple[str, str], Any]) -> tuple[dict[MarkKey, Marks], dict[MarkKey, str]]:
    """:func:`bot.usecases.leaderday.marks_for_deal`'s marks as the lists' marks and points."""
    from collections import defaultdict
    from decimal import Decimal

    marks: dict[MarkKey, Marks] = {}
    points: dict[MarkKey, str] = {}
    for mk in got.values():
        key = mk.household  # (chat_key, sender_id, proxy): a neighbour's household too
        refunds: dict[str, Decimal] = defaultdict(Decimal)
        for r in mk.refunds:
            refunds[r.item_code or ""] += r.amount
        marks[key] = Marks(paid=mk.paid, paid_amount=mk.paid_amount, picked=mk.picked_at is not None,
                           picked_at=mk.picked_at, refunds=dict(refunds),
                           note=m.LIST_PICKUP_CODE.format(code=mk.pickup_code) if mk.pickup_code else "")
        if mk.pickup_point:
            points[key] = mk.pickup_point
    return marks, points


def export_bytes(lists: DealLists, config: AppConfig, fmt: str,
                 pickup_points: Mapping[str, Sequence[str]] | None = None) -> bytes:
    """The deal's spreadsheet: ``fmt`` "xlsx" (three sheets) or "csv" (订单明细). Raises ``ValueError``
    for another format."""
    tz = config.bot.tz
    if fmt == "csv":
        return orders_csv(lists.views, tz)
    if fmt == "xlsx":
        return orders_xlsx(lists.views, lists.stock(), lists.sorting(pickup_points or {}), tz)
    raise ValueError(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")


def sorting_sheet(lists: DealLists, config: AppConfig, pickup_points: Mapping[str, Sequence[str]], *, title: str,
                  now: datetime) -> bytes:
    """The deal's print-ready sorting sheet (PDF, :func:`bot.sheet_pdf.sorting_pdf`): a page per pickup
    point; ``now`` (aware) is printed in the footer in the bot's time zone."""
    from bot.sheet_pdf import sorting_pdf

    return sorting_pdf(lists.sorting(pickup_points), title=title, printed=now.astimezone(config.bot.tz))


def deals_opened_on(service: OrderService, config: AppConfig, day: date,
                    chat_keys: Sequence[str] | None = None) -> list[str]:
    """Ids of the deals opened on ``day`` (in the bot's time zone), oldest first; of these chats only
    when given (opened for them, bound to them, or ordered in from them)."""
    from bot.usecases.history import engine_of
    from storage import history as store

    tz = config.bot.tz
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start + timedelta(days=1)
    with store.reading(engine_of(service.repo)) as conn:
        rows = store.rounds(conn, chat_keys=chat_keys, since=start)
    return [r.id for r in sorted(rows, key=lambda r: (r.opened, r.id)) if start <= r.opened.astimezone(tz) < end]


def day_stock(service: OrderService, config: AppConfig, day: date,
              chat_keys: Sequence[str] | None = None) -> tuple[list[str], ll.StockList]:
    """The stocking list of every deal opened on ``day`` (of ``chat_keys``' groups when given; each
    deal's orders from those groups only), with the deals' ids."""
    ids = deals_opened_on(service, config, day, chat_keys)
    parts = []
    for deal_id in ids:
        catalog = service.catalog_of(deal_id)
        if chat_keys is None:
            parts.append((service.tally(deal_id), catalog))
        else:
            parts += [(service.tally(deal_id, key), catalog) for key in chat_keys]
    return ids, ll.stocking_list(parts)
