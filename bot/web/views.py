"""What the dashboard's pages show, computed by the chat's and the CLI's use cases (sync: the
routes run these in a worker thread, the order service's calls under its lock).

Every function takes the chat keys the viewer may see and reads one deal, or the current deals of
those groups, through indexed queries (primary keys, ``entries.deal_id``, ``deal_chats``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot import leaderlists as ll
from bot import messages as m
from bot.catalog import Catalog
from bot.config import AppConfig
from bot.ports import Repository
from bot.render import households
from bot.services.orders import OrderService, build_tally
from bot.services.outcome import Tally
from bot.usecases.history import group_title
from bot.usecases.leaderday import LeaderDay
from bot.usecases.lists import DealLists, deal_lists, export_bytes, group_points, list_marks
from storage import web as store
from storage.history import reading


@dataclass
class WebContext:
    """What the web app works on: the configuration, the store, the order service and the lock that
    serialises the service's calls (the bot's own when `tuan run` serves the web too)."""

    config: AppConfig
    repo: Repository
    service: OrderService
    # (deal id, chat key) -> (the deal's version, its summary): "today" recounts only deals that moved
    summaries: dict[tuple[str, str | None], tuple[int, dict[str, Any]]] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        return self.repo.engine  # type: ignore[attr-defined,no-any-return]

    def leader_day(self) -> LeaderDay:
        points = {g.chat_key: tuple(g.pickup_points) for g in self.config.groups}
        return LeaderDay(self.repo, lambda key: points.get(key, ()))


def money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def groups_seen(ctx: WebContext, chat_keys: frozenset[str] | None) -> list[dict[str, Any]]:
    """The store's groups the viewer sees (id, chat_key, title, timezone, pickup_points)."""
    with ctx.engine.connect() as conn:
        rows = store.groups(conn)
    return [g for g in rows if chat_keys is None or g["chat_key"] in chat_keys]


def summary(ctx: WebContext, deal_id: str, chat_key: str | None, catalog: Catalog | None = None,
            tally: Tally | None = None) -> dict[str, Any]:
    """A deal's live counts (of one chat, when given): households, amount, per item qty (and what is
    left of a limited one, over every group), as JSON-ready values. One read of the deal's entries
    (``tally``: the chat's tally when the caller has it)."""
    catalog = catalog or ctx.service.catalog_of(deal_id)
    if tally is None or (chat_key is not None and any(i.stock is not None for i in catalog.items)):
        entries = ctx.repo.deal_entries(deal_id)
        whole = build_tally(deal_id, catalog, entries)
        tally = tally or (whole if chat_key is None else build_tally(deal_id, catalog, entries, chat_key))
    else:
        whole = tally
    items = [{"code": i.code, "name": i.name, "unit": i.unit, "qty": tally.totals.get(i.code, 0),
              "left": None if i.stock is None else max(0, i.stock - whole.totals.get(i.code, 0))}
             for i in catalog.items]
    return {"deal_id": deal_id, "households": len(households(tally, catalog)), "amount": money(tally.amount),
            "items": items}


TODAY_PAGE = 24
"""Groups per page of "today" (an operator of hundreds of groups pages through them)."""


def today_groups(ctx: WebContext, chat_keys: frozenset[str] | None, page: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The visible groups of page ``page`` (0-based) of "today", and how many pages there are."""
    groups = groups_seen(ctx, chat_keys)
    pages = max(1, -(-len(groups) // TODAY_PAGE))
    return groups[page * TODAY_PAGE:(page + 1) * TODAY_PAGE], pages


def today(ctx: WebContext, chat_keys: frozenset[str] | None, page: int = 0) -> list[dict[str, Any]]:
    """Each visible group (of page ``page``) with its current deal (None when it has none) and its counts."""
    groups, _pages = today_groups(ctx, chat_keys, page)
    with reading(ctx.engine) as conn:
        deals = store.current_deals(conn, [g["chat_key"] for g in groups])
    out = []
    for g in groups:
        d = deals.get(g["chat_key"])
        card: dict[str, Any] = {"group": g["id"], "chat_key": g["chat_key"], "title": g["title"], "deal": None}
        if d is not None:
            key = (d["id"], g["chat_key"])
            cached = ctx.summaries.get(key)
            if cached is None or cached[0] != d["version"]:
                if len(ctx.summaries) > 10_000:
                    ctx.summaries.clear()
                cached = ctx.summaries[key] = (d["version"], summary(ctx, d["id"], g["chat_key"]))
            card["deal"] = {"id": d["id"], "title": d["title"], "status": d["status"], "version": d["version"],
                            "cutoff": d["cutoff"].isoformat() if d["cutoff"] else None, **cached[1]}
        out.append(card)
    return out


def today_versions(ctx: WebContext, chat_keys: frozenset[str] | None,
                   page: int = 0) -> tuple[tuple[str, str, int], ...]:
    """(chat key, deal id, version) of each visible group's current deal (of page ``page``): what the
    live page polls."""
    groups, _pages = today_groups(ctx, chat_keys, page)
    with ctx.engine.connect() as conn:
        deals = store.current_deals(conn, [g["chat_key"] for g in groups])
    return tuple(sorted((k, d["id"], d["version"]) for k, d in deals.items()))


def deal_version(ctx: WebContext, deal_id: str) -> int | None:
    with ctx.engine.connect() as conn:
        return store.versions(conn, [deal_id]).get(deal_id)


def deal_keys(ctx: WebContext, deal_id: str) -> set[str] | None:
    """The chats of a deal; None when the store has no such deal."""
    with ctx.engine.connect() as conn:
        if not store.versions(conn, [deal_id]):
            return None
        return store.deal_chat_keys(conn, deal_id)


def titles(ctx: WebContext, keys: list[str]) -> dict[str, str]:
    with ctx.engine.connect() as conn:
        stored = {g["chat_key"]: g["title"] for g in store.groups(conn)}
    return {k: group_title(ctx.config, k, stored.get(k, "")) for k in keys}


def lists_of(ctx: WebContext, deal_id: str, chat_key: str | None, keys: list[str],
             points: dict[str, tuple[str, ...]] | None = None, got: Any = None) -> DealLists:
    """The deal's lists (of ``chat_key``, when given) as /export makes them; ``got``: the leader's
    marks when the caller read them already (:meth:`LeaderDay.marks_for_deal`)."""
    marks, spots = list_marks(got) if got is not None else (None, None)
    return deal_lists(ctx.service, ctx.config, deal_id, chat_key=chat_key, titles=titles(ctx, keys), marks=marks,
                      points=spots, pickup_points=points if points is not None else group_points(ctx.service, ctx.config))


def household_rows(ctx: WebContext, deal_id: str, chat_key: str | None, keys: list[str],
                   marks: Any = None, catalog: Catalog | None = None) -> list[dict[str, Any]]:
    """The deal's households in 跟团号 order (of ``chat_key`` only, when given; of ``keys`` in any
    case) with their marks: pickup code and point, paid, picked, refunds (the leader's-day use cases)."""
    day = ctx.leader_day()
    marks = marks if marks is not None else day.marks_for_deal(deal_id)
    catalog = catalog or ctx.service.catalog_of(deal_id)
    homes = [h for h in day.households(deal_id) if (chat_key is None or h.chat_key == chat_key)
             and h.chat_key in keys]
    names = {i.code: i for i in catalog.items}
    rows = []
    for n, h in enumerate(homes, 1):
        mk = marks[h.key]
        rows.append({"no": n, "chat_key": h.chat_key, "sender_id": h.sender_id, "household": "|".join(h.key),
                     "label": h.label, "name": h.name,
                     "goods": " ".join(f"{m.item_short(names[c])}{q}{names[c].unit}" for c, q in h.items.items()
                                       if c in names),
                     "amount": money(h.amount), "owed": money(mk.owed), "refund": money(mk.refund_amount),
                     "paid": mk.paid, "paid_amount": None if mk.paid_amount is None else money(mk.paid_amount),
                     "picked": mk.picked, "picked_at": mk.picked_at, "picked_by": mk.picked_by_name,
                     "picked_by_id": mk.picked_by,
                     "code": mk.pickup_code, "point": mk.pickup_point,
                     "refunds": [dataclasses.asdict(r) for r in mk.refunds]})
    return rows


def deal_page(ctx: WebContext, deal_id: str, chat_key: str | None, keys: list[str]) -> dict[str, Any]:
    """The deal page: the deal, its counts, households with their marks (跟团号 order), the stocking
    list, the sorting list, refunds; of ``chat_key`` only when given."""
    deal = ctx.repo.get_deal(deal_id)
    assert deal is not None
    marks = ctx.leader_day().marks_for_deal(deal_id)
    points = group_points(ctx.service, ctx.config)
    lists = lists_of(ctx, deal_id, chat_key, keys, points, marks)
    catalog = lists.catalog
    return {"deal": deal, "catalog": catalog, "households": household_rows(ctx, deal_id, chat_key, keys, marks, catalog),
            "stock": lists.stock(), "sorting": lists.sorting(points),
            "summary": summary(ctx, deal_id, chat_key, catalog, lists.tally)}


def export(ctx: WebContext, deal_id: str, chat_key: str | None, keys: list[str], fmt: str) -> bytes:
    """The deal's spreadsheet as /export and `tuan export` make it (``fmt`` "xlsx" or "csv")."""
    lists = lists_of(ctx, deal_id, chat_key, keys)
    return export_bytes(lists, ctx.config, fmt, group_points(ctx.service, ctx.config))


def sorting_pdf(ctx: WebContext, deal_id: str, chat_key: str | None, keys: list[str]) -> bytes:
    """The deal's sorting sheet as a PDF (a page per pickup point, :mod:`bot.sheet_pdf`), of
    ``chat_key`` when given, else of ``keys``; titled with the deal's title."""
    from bot.usecases.lists import sorting_sheet

    points = group_points(ctx.service, ctx.config)
    lists = lists_of(ctx, deal_id, chat_key, keys, points)
    deal = ctx.repo.get_deal(deal_id)
    title = (deal.title if deal is not None else "") or deal_id
    return sorting_sheet(lists, ctx.config, points, title=title, now=datetime.now(UTC))


def local_now(tz: str) -> datetime:
    return datetime.now(UTC).astimezone(ZoneInfo(tz))


__all__ = ["WebContext", "deal_page", "export", "ll", "today", "today_versions"]
