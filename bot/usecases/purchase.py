"""Purchase orders (统一下单): for a delivery date, what to order from each supplier, and where it goes.

The deals delivered on a date are those opened from the library with that delivery date
(``tuan deal open --delivery``; storage/products.py). For each supplier, the purchase order sums the
current orders (the tally: what residents ordered, after their own changes and cancels) of each
variant across every group and leader, with the cost price recorded when the deal was opened and
the cost amount qty × cost (exact: a cost has 2 decimals, a quantity is whole, so nothing is
rounded). A variant whose cost price is unknown has no amount and is flagged; the supplier's
total then covers only the known ones. The routing (配送分单) splits each supplier's goods by
group, leader and pickup point (a household's chosen point, else the group's first, else "-"), so
the supplier (or the driver) knows which leader's point gets what.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, select

from bot import products_messages as pm
from bot.inputs import numeric_first
from bot.ports import Repository

NO_SUPPLIER = ""


@dataclass(frozen=True, slots=True)
class PurchaseLine:
    """One variant to order from ``supplier`` ("" none recorded): ``qty`` in ``unit`` at ``cost``
    yuan each (None: unknown), ``amount`` = qty × cost (None when the cost is unknown)."""

    supplier: str
    product_id: str
    spec: str
    name: str
    unit: str
    qty: int
    cost: Decimal | None
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class RouteLine:
    """``qty`` of one variant of ``supplier`` for one pickup point of one group and its leaders."""

    supplier: str
    group: str
    leaders: str
    point: str
    product_id: str
    spec: str
    name: str
    unit: str
    qty: int


@dataclass(slots=True)
class PurchaseOrder:
    """The purchase orders of ``delivery``: lines by supplier then product code, routes by supplier,
    group and point; ``deals`` the deal ids counted."""

    delivery: date
    lines: list[PurchaseLine] = field(default_factory=list)
    routes: list[RouteLine] = field(default_factory=list)
    deals: list[str] = field(default_factory=list)

    def suppliers(self) -> list[str]:
        return list(dict.fromkeys(line.supplier for line in self.lines))

    def total(self, supplier: str | None = None) -> tuple[int, Decimal, bool]:
        """(quantity, cost amount of the lines with a known cost, whether any cost is unknown) of one
        supplier's lines, or of all."""
        lines = [x for x in self.lines if supplier is None or x.supplier == supplier]
        amount = sum((x.amount for x in lines if x.amount is not None), Decimal("0.00"))
        return sum(x.qty for x in lines), amount, any(x.amount is None for x in lines)


def purchase_order(engine: Engine, repo: Repository, delivery: date, supplier: str | None = None) -> PurchaseOrder:
    """The purchase order of ``delivery`` (of one ``supplier`` when given), read from the store.

    Raises :class:`bot.ports.StoreUnavailable` when the store cannot serve.
    """
    from bot.services.orders import OrderService
    from storage import platform, products
    from storage.group_chats import group_chats
    from storage.models import DEALS, HOUSEHOLD_MARKS, VARIANTS
    from storage.sql import unavailable_as_such

    deals = products.deals_delivered(engine, delivery)
    with unavailable_as_such(), engine.connect() as conn:
        rows = platform.load(conn)
        # a product's variants in the library's order (5斤装 before 10斤装 as the operator listed
        # them), whichever deal happens to name them first
        places = {(pid, spec): place for pid, spec, place in conn.execute(
            select(VARIANTS.c.product_id, VARIANTS.c.spec, VARIANTS.c.position))}
        marks = {(r.deal_id, r.chat_key, r.sender_id): r.pickup_point for r in conn.execute(
            select(HOUSEHOLD_MARKS.c.deal_id, HOUSEHOLD_MARKS.c.chat_key, HOUSEHOLD_MARKS.c.sender_id,
                   HOUSEHOLD_MARKS.c.pickup_point).where(HOUSEHOLD_MARKS.c.deal_id.in_(list(deals) or [""])))}
        # a round's group: the one whose chat it was when the round opened (bot/usecases/group_chats.py)
        owners = group_chats(conn, {g.chat_key: g.id for g in rows.groups.values()})
        opened = dict(conn.execute(select(DEALS.c.id, DEALS.c.created_at).where(DEALS.c.id.in_(list(deals) or [""])))
                      .all())
    leaders = {gid: ",".join(sorted(ld.name for ld in rows.leaders.values() if gid in ld.groups and ld.role == "leader"))
               for gid in rows.groups}
    service = OrderService(repo)
    seen: dict[tuple[str, str], tuple[int, str, str]] = {}  # variant → (place in the library, name, unit)
    per: Counter[tuple[str, str, str, Decimal | None]] = Counter()  # (supplier, product, spec, cost) → qty
    route: Counter[tuple[str, str, str, str, str, str]] = Counter()  # (supplier, group, leaders, point, product, spec)
    for deal_id, sources in deals.items():
        catalog = service.catalog_of(deal_id)
        if catalog is None:
            continue
        for row in service.tally(deal_id).rows:
            src, item = sources.get(row.item_code), catalog.by_code(row.item_code)
            if src is None or item is None:
                continue
            who = src.supplier or NO_SUPPLIER
            if supplier is not None and who != supplier:
                continue
            seen.setdefault((src.product_id, src.spec), (places.get((src.product_id, src.spec), 0),
                                                         item.name, src.unit))
            per[who, src.product_id, src.spec, src.cost] += row.qty
            gid = owners.group_at(row.chat_key, opened[deal_id], deal_id) if deal_id in opened else None
            group = rows.groups.get(gid) if gid is not None else None
            point = marks.get((deal_id, row.chat_key, row.sender_id)) or (
                group.pickup_points[0] if group and group.pickup_points else "-")
            route[who, f"{group.id} {group.title}" if group else row.chat_key,
                  (leaders.get(group.id) if group else None) or "-", point, src.product_id, src.spec] += row.qty
    order = PurchaseOrder(delivery, deals=sorted(deals))
    for (who, pid, spec, cost), qty in sorted(per.items(), key=lambda kv: (
            kv[0][0] == NO_SUPPLIER, kv[0][0], _code(kv[0][1]), seen[kv[0][1], kv[0][2]][0], kv[0][3] or 0)):
        _pos, name, unit = seen[pid, spec]
        if qty > 0:
            order.lines.append(PurchaseLine(who, pid, spec, name, unit, qty, cost, None if cost is None else cost * qty))
    for (who, gname, lead, point, pid, spec), qty in sorted(route.items(), key=lambda kv: (
            kv[0][0] == NO_SUPPLIER, kv[0][0], kv[0][1], kv[0][3], _code(kv[0][4]), seen[kv[0][4], kv[0][5]][0])):
        _pos, name, unit = seen[pid, spec]
        if qty > 0:
            order.routes.append(RouteLine(who, gname, lead, point, pid, spec, name, unit, qty))
    return order


def _code(code: str) -> tuple[bool, int, str]:
    return numeric_first(code)


# --- as tables, CSV and XLSX ----------------------------------------------------------------------------

def _money(value: Decimal | None) -> str:
    return "" if value is None else str(value.quantize(Decimal("0.01")))


def line_rows(order: PurchaseOrder, names: dict[str, str] | None = None) -> list[tuple[str, ...]]:
    """The 采购汇总 rows (header first): each line, then each supplier's subtotal, then the total."""
    out: list[tuple[str, ...]] = [pm.PURCHASE_COLUMNS]
    for who in order.suppliers():
        shown = (names or {}).get(who, who) or pm.NO_SUPPLIER
        for x in order.lines:
            if x.supplier == who:
                out.append((shown, x.product_id, x.name, x.spec, x.unit, str(x.qty), _money(x.cost),
                            _money(x.amount) or pm.NO_COST))
        qty, amount, unknown = order.total(who)
        out.append((shown, "", pm.SUBTOTAL + (pm.SOME_COST_UNKNOWN if unknown else ""), "", "", str(qty), "",
                    _money(amount)))
    qty, amount, unknown = order.total()
    out.append(("", "", pm.TOTAL + (pm.SOME_COST_UNKNOWN if unknown else ""), "", "", str(qty), "", _money(amount)))
    return out


def route_rows(order: PurchaseOrder, names: dict[str, str] | None = None) -> list[tuple[str, ...]]:
    """The 配送分单 rows (header first)."""
    out: list[tuple[str, ...]] = [pm.ROUTE_COLUMNS]
    for r in order.routes:
        out.append(((names or {}).get(r.supplier, r.supplier) or pm.NO_SUPPLIER, r.group, r.leaders, r.point,
                    r.product_id, r.name, r.spec, r.unit, str(r.qty)))
    return out


def as_text(order: PurchaseOrder, names: dict[str, str] | None = None) -> str:
    """Both tables as aligned text, under a heading with the date."""
    from bot.render import table

    if not order.lines:
        return pm.PURCHASE_NOTHING.format(date=order.delivery.isoformat())
    return "\n\n".join([pm.PURCHASE_HEADING.format(date=order.delivery.isoformat(), deals=len(order.deals)),
                        table(line_rows(order, names)), pm.SHEET_ROUTES, table(route_rows(order, names))])


def as_csv(order: PurchaseOrder, names: dict[str, str] | None = None) -> bytes:
    """The 采购汇总 then, after an empty row, the 配送分单, as CSV (UTF-8 with BOM, CRLF: Excel reads it)."""
    from bot.export import safe_cell

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    for rows in (line_rows(order, names), [()], route_rows(order, names)):
        for row in rows:
            w.writerow([safe_cell(c) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(order: PurchaseOrder, names: dict[str, str] | None = None) -> bytes:
    """A workbook with sheets 采购汇总 and 配送分单: bold frozen header, quantities and money as numbers
    (money formatted ``¥#,##0.00``), every text cell kept as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from bot.export import MONEY_FORMAT
    from bot.render import width

    wb = Workbook()
    sheets: list[tuple[str, Sequence[tuple[str, ...]]]] = [(pm.SHEET_PURCHASE, line_rows(order, names)),
                                                           (pm.SHEET_ROUTES, route_rows(order, names))]
    for n, (title, rows) in enumerate(sheets):
        ws = wb.active if n == 0 else wb.create_sheet()
        assert ws is not None
        ws.title = title
        header = rows[0]
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for r, row in enumerate(rows[1:], 2):
            for c, value in enumerate(row, 1):
                if value == "":
                    continue
                cell = ws.cell(row=r, column=c)
                name = header[c - 1]
                if name in pm.MONEY_HEADERS:
                    try:
                        cell.value = Decimal(value)  # type: ignore[assignment]
                        cell.number_format = MONEY_FORMAT
                        continue
                    except ArithmeticError:
                        pass
                if name in pm.QTY_HEADERS:
                    cell.value = int(value)
                    continue
                cell.value = value
                cell.data_type = "s"
        for c, title_cell in enumerate(header, 1):
            widest = max(width(str(row[c - 1])) for row in rows)
            ws.column_dimensions[get_column_letter(c)].width = min(60, max(widest, width(title_cell)) + 2)
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- sent to operators at the cutoff ---------------------------------------------------------------------

def operator_chats(engine: Engine, platform_name: str) -> list[str]:
    """The private chat keys ("<platform>:<user id>") of the operators (``leaders`` rows with role
    "operator") who have an account on ``platform_name`` (or on every platform, "*"). An account
    that is an "@username" is left out: a bot cannot open a private chat by username."""
    from storage import platform
    from storage.sql import unavailable_as_such

    with unavailable_as_such(), engine.connect() as conn:
        rows = platform.load(conn)
    out: list[str] = []
    for leader in sorted(rows.leaders.values(), key=lambda ld: ld.id):
        if leader.role != "operator":
            continue
        for where, account in sorted(leader.accounts):
            if where in (platform_name, "*") and not account.startswith("@"):
                out.append(f"{platform_name}:{account}")
    return list(dict.fromkeys(out))


def job_delivery(engine: Engine, deal_id: str | None, now_local: date) -> date:
    """The delivery date a purchase job at the cutoff reports: the group's current deal's recorded
    delivery date, else the day after ``now_local`` (the usual 今晚截单, 明天送达)."""
    from datetime import timedelta

    from storage.products import delivery_of

    recorded = delivery_of(engine, deal_id) if deal_id is not None else None
    return recorded or now_local + timedelta(days=1)
