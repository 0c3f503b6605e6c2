"""The report pages (sections of their own, :class:`bot.web.core.Section`): purchase orders
(operators only), the settlement of a period (an operator sees every leader; a leader only their own
line and groups) and statistics per day and group with a PNG chart (a leader: only their groups).

Each page calls the use case the CLI calls (`tuan purchase`, `tuan settle`, `tuan stats --png`):
:mod:`bot.usecases.purchase`, :mod:`bot.usecases.settlement` with
:mod:`bot.usecases.settlement_files`, :mod:`bot.usecases.stats`, in a worker thread with an order
service of their own on the same store (:func:`reader`), as the CLI in another process would: a
month's settlement does not hold the lock the bot's order handling takes.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.web import auth, params
from bot.web import texts as t
from bot.web.core import Section, _web, add_section, operator_only, signed_in
from bot.web.views import WebContext

if TYPE_CHECKING:
    from bot.services.orders import OrderService
    from bot.usecases.operators import OperatorRows
    from bot.usecases.settlement import Period

MAX_DAYS = 366
"""The longest period a settlement or statistics page reads (days)."""
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def _download(data: bytes, fmt: str, name: str) -> Response:
    return Response(data, media_type=CSV if fmt == "csv" else XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def period_of(request: Request) -> Period:
    """``?from=&to=`` (ISO dates; default: the current month up to today, in the bot's time zone).
    400: not a date, ``to`` before ``from``, outside the years 2000–2100, or longer than :data:`MAX_DAYS`."""
    from bot.usecases.settlement import FIRST_YEAR, LAST_YEAR, Period, period_problem

    today = datetime.now(_web(request).ctx.config.bot.tz).date()
    q = request.query_params
    start = params.day(q["from"], "开始日期") if q.get("from") else today.replace(day=1)
    end = params.day(q["to"], "结束日期") if q.get("to") else today
    if end < start:
        raise HTTPException(400, t.BAD_PERIOD)
    if period_problem(start, end) is not None:
        raise HTTPException(400, t.YEARS_PERIOD.format(first=FIRST_YEAR, last=LAST_YEAR))
    if (end - start).days >= MAX_DAYS:
        raise HTTPException(400, t.LONG_PERIOD.format(days=MAX_DAYS))
    return Period(start, end)


def leader_of(ctx: WebContext, viewer: auth.Viewer) -> str | None:
    """The LEADERS id of a leader's account (None for an operator, or an account without one)."""
    from storage import web as store

    with ctx.engine.connect() as conn:
        user = store.user_by_id(conn, viewer.user_id)
    return user.leader_id if user is not None else None


def reader(ctx: WebContext) -> OrderService:
    """An order service of the report's own on ``ctx``'s store (reads only; its caches are its own)."""
    from bot.services.orders import OrderService

    return OrderService(ctx.repo)


def _operator_rows(ctx: WebContext) -> OperatorRows:
    from storage.operators import SqlOperatorStore

    return SqlOperatorStore(ctx.engine).load()


# --- purchase orders (operators) ---------------------------------------------------------------------------

async def purchase(request: Request) -> Response:
    """GET /purchase?date=&supplier=: the purchase order of a delivery date (default tomorrow), per
    supplier with cost amounts, and its routing per group, leader and pickup point;
    /purchase.xlsx and /purchase.csv download it as `tuan purchase` writes it."""
    from bot.usecases import purchase as po
    from storage.products import SqlLibraryStore

    await operator_only(request)
    web = _web(request)
    raw = request.query_params.get("date", "")
    day = params.day(raw, "送货日期") if raw else datetime.now(web.ctx.config.bot.tz).date() + timedelta(days=1)
    supplier = request.query_params.get("supplier") or None
    library = await asyncio.to_thread(SqlLibraryStore(web.ctx.engine).load)
    if supplier is not None and supplier not in library.suppliers:
        raise HTTPException(400, t.NO_SUPPLIER.format(id=supplier[:40]))
    names = {s.id: s.name for s in library.suppliers.values()}
    order = await asyncio.to_thread(po.purchase_order, web.ctx.engine, web.ctx.repo, day, supplier)
    fmt = request.url.path.rpartition(".")[2] if "." in request.url.path else ""
    if fmt in ("xlsx", "csv"):
        data = po.as_xlsx(order, names) if fmt == "xlsx" else po.as_csv(order, names)
        return _download(data, fmt, f"tuan-purchase-{day.isoformat()}" + (f"-{supplier}" if supplier else ""))
    totals = [(names.get(s, s) or t.NO_SUPPLIER_NAME, s, *order.total(s)) for s in order.suppliers()]
    return web.page(request, "purchase.html", day=day, supplier=supplier or "", suppliers=library.suppliers,
                    order=order, lines=po.line_rows(order, names), routes=po.route_rows(order, names),
                    totals=totals, total=order.total())


# --- settlement ----------------------------------------------------------------------------------------------

def _settlement(ctx: WebContext, period: Period, leader: str | None) -> tuple[Any, OperatorRows]:
    from bot.usecases.settlement import settlement

    rows = _operator_rows(ctx)
    return settlement(reader(ctx), ctx.config, rows, period, leader=leader), rows


async def settle(request: Request) -> Response:
    """GET /settle?from=&to=: the settlement of the period (`tuan settle`): an operator sees every
    leader's line and the totals; a leader only their own line and their groups (a leader account
    without a LEADERS row of role leader sees none). /settle.xlsx and /settle.csv download what the
    page shows."""
    from bot.usecases import settlement_files as files

    viewer = await signed_in(request)
    web = _web(request)
    period = period_of(request)
    leader = None
    if not viewer.operator:
        leader = await asyncio.to_thread(leader_of, web.ctx, viewer)
        rows = await asyncio.to_thread(_operator_rows, web.ctx)
        ld = rows.platform.leaders.get(leader or "")
        if ld is None or ld.role != "leader":
            raise HTTPException(403, t.NO_LEADER_LINE)
    s, rows = await asyncio.to_thread(_settlement, web.ctx, period, leader)
    fmt = request.url.path.rpartition(".")[2] if "." in request.url.path else ""
    name = f"tuan-settle-{period.start.isoformat()}-{period.end.isoformat()}"
    if fmt == "xlsx":
        return _download(files.as_xlsx(s, rows), fmt, name)
    if fmt == "csv":
        return _download(files.as_csv(s), fmt, name)
    from bot import platform_messages as pm

    return web.page(request, "settle.html", s=s, period=period, query=_period_query(period),
                    leader_cols=pm.SETTLE_COLUMNS, leaders=[_cells(r) for r in files.leader_rows(s)],
                    group_cols=pm.SETTLE_GROUP_COLUMNS, groups=[_cells(r) for r in files.group_rows(s, rows)])


def _cells(row: list[object]) -> list[str]:
    """A settlement row as the page shows it: money as ¥0.00, nothing as ""."""
    return ["" if c is None else f"¥{c:.2f}" if isinstance(c, Decimal) else str(c) for c in row]


def _period_query(period: Period) -> str:
    return f"?from={period.start.isoformat()}&to={period.end.isoformat()}"


# --- statistics ------------------------------------------------------------------------------------------

def _stats(ctx: WebContext, period: Period, group_ids: frozenset[str] | None) -> tuple[list[Any], dict[str, str]]:
    from bot.usecases.stats import day_stats

    rows = _operator_rows(ctx)
    stats = [s for s in day_stats(reader(ctx), ctx.config, rows, period)
             if group_ids is None or s.group_id in group_ids]
    return stats, {g.id: g.title for g in rows.platform.groups.values()}


_CHART_LOCK = threading.Lock()  # pyplot's figure manager is global: one chart drawn at a time


def chart_png(stats: list[Any], period: Period, titles: dict[str, str]) -> bytes:
    """The PNG `tuan stats --png` writes (:func:`bot.usecases.stats.write_chart`), as bytes (about
    a second for a month on a busy core: matplotlib)."""
    import tempfile
    from pathlib import Path

    from bot.usecases.stats import write_chart

    with _CHART_LOCK, tempfile.TemporaryDirectory(prefix="tuan-chart-") as tmp:
        path = Path(tmp) / "chart.png"
        write_chart(stats, period, path, titles=titles)
        return path.read_bytes()


async def stats(request: Request) -> Response:
    """GET /stats?from=&to=: per day and group, orders, households, amount and repeat buyers
    (`tuan stats`), a leader's groups only; /stats.png: the chart of sales per day and group."""
    viewer = await signed_in(request)
    web = _web(request)
    period = period_of(request)
    figures, titles = await asyncio.to_thread(_stats, web.ctx, period, viewer.group_ids)
    if request.url.path.endswith(".png"):
        png = await asyncio.to_thread(chart_png, figures, period, titles)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})
    totals = {"orders": sum(s.orders for s in figures), "amount": sum((s.amount for s in figures), Decimal(0)),
              "repeat": sum(s.repeat for s in figures)}
    return web.page(request, "stats.html", stats=figures, titles=titles, period=period, totals=totals,
                    query=_period_query(period))


add_section(Section(t.NAV["purchase"], "/purchase", (
    Route("/purchase", purchase), Route("/purchase.xlsx", purchase), Route("/purchase.csv", purchase)),
    operator_only=True))
add_section(Section(t.NAV["settle"], "/settle", (
    Route("/settle", settle), Route("/settle.xlsx", settle), Route("/settle.csv", settle))))
add_section(Section(t.NAV["stats"], "/stats", (Route("/stats", stats), Route("/stats.png", stats))))
