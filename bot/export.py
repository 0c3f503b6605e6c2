"""A deal's orders as the leader's spreadsheet: XLSX (sheets 订单明细, 备货单, 分拣单) or CSV (the
订单明细 sheet; UTF-8 with BOM, so spreadsheet apps read the Chinese right).

Residents choose their own names and labels, and a cell such as ``=HYPERLINK(…)`` must reach the
leader's spreadsheet as text, never as a formula: every CSV text cell is neutralised (OWASP "CSV
Injection"), and every XLSX text cell is written as a string (never a formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from decimal import Decimal

from openpyxl.utils import get_column_letter

from bot import messages as m
from bot.leaderlists import HouseholdView, Marks, PointList, StockList, local_time
from bot.render import width

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: cells starting with these may run as formulas


def safe_cell(value: object) -> object:
    """A text cell prefixed with ``'`` when it starts like a formula; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# --- the leader's spreadsheet (bot/leaderlists.py) ------------------------------------------------

MONEY_FORMAT = '"¥"#,##0.00'
TIME_FORMAT = "yyyy-mm-dd hh:mm"
MONEY_COLUMNS = {"单价", "金额", "退款金额"}


def order_rows(views: Sequence[HouseholdView], tz: tzinfo) -> list[list[object]]:
    """The 订单明细 rows (without the header): one per household and item, by 跟团号, then a 合计
    row. Cells are typed: ints, yuan Decimals (None where empty), naive local datetimes, text."""
    rows: list[list[object]] = []
    qty = 0
    amount = refunds = Decimal(0)
    for h in views:
        paid = paid_text(h.marks)
        picked = _picked(h.marks, tz)
        loose = h.marks.refunds.get("", Decimal(0))
        for n, line in enumerate(h.lines):
            refund = h.marks.refunds.get(line.item_code, Decimal(0)) + (loose if n == 0 else Decimal(0))
            when = h.ordered_at.astimezone(tz).replace(tzinfo=None) if h.ordered_at else None
            rows.append([h.number, h.who, h.label, h.pickup_point, line.name, line.spec, line.qty, line.price,
                         line.amount, paid, picked, refund or None, h.note() if n == 0 else "", when, h.group])
            qty += line.qty
            amount += line.amount
            refunds += refund
    rows.append([m.EXPORT_TOTAL, "", "", "", "", "", qty, None, amount, "", "", refunds or None, "", None, ""])
    return rows


def paid_text(marks: Marks) -> str:
    """The 付款 cell: ``已付``, ``已付 ¥91.80`` with the amount recorded, ``部分付 ¥20.00`` for a
    payment short of what is owed, "" when nothing was recorded."""
    if not marks.paid:
        return m.MARK_PART_PAID.format(amount=f"{marks.paid_amount:.2f}") if marks.paid_amount else ""
    return m.MARK_PAID + (f" ¥{marks.paid_amount:.2f}" if marks.paid_amount is not None else "")


def _picked(marks: Marks, tz: tzinfo) -> str:
    if not marks.picked:
        return ""
    return m.MARK_PICKED + (f" {local_time(marks.picked_at, tz)}" if marks.picked_at else "")


def stock_rows(stock: StockList) -> list[list[object]]:
    """The 备货单 rows (without the header), then a 合计 row."""
    rows: list[list[object]] = [[line.name, line.spec, line.qty, line.price, line.amount] for line in stock.lines]
    rows.append([m.EXPORT_TOTAL, "", stock.qty, None, stock.amount])
    return rows


def sort_rows(points: Sequence[PointList]) -> list[list[object]]:
    """The 分拣单 rows (without the header): per pickup point, households in walking order."""
    rows: list[list[object]] = []
    for p in points:
        for h in p.households:
            rows.append([p.point, h.number, h.label, h.who, h.goods(), h.amount, paid_text(h.marks),
                         m.MARK_PICKED if h.marks.picked else "", h.marks.refund or None, h.note(), h.group])
    return rows


def _text(value: object, tz: tzinfo) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def orders_csv(views: Sequence[HouseholdView], tz: tzinfo) -> bytes:
    """The 订单明细 as CSV bytes (UTF-8 with BOM, CRLF), the XLSX's columns; money with 2 decimals,
    times ``YYYY-MM-DD HH:MM`` in ``tz``; every text cell neutralised (:func:`safe_cell`)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([safe_cell(c) for c in m.EXPORT_COLUMNS])
    for row in order_rows(views, tz):
        w.writerow([safe_cell(_text(c, tz)) if isinstance(c, str) else _text(c, tz) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def stock_csv(stock: StockList) -> bytes:
    """The 备货单 as CSV bytes (UTF-8 with BOM, CRLF), the XLSX sheet's columns and 合计 row."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([safe_cell(c) for c in m.STOCK_COLUMNS])
    for row in stock_rows(stock):
        w.writerow([safe_cell(c) if isinstance(c, str) else _text(c, UTC) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def orders_xlsx(views: Sequence[HouseholdView], stock: StockList, points: Sequence[PointList], tz: tzinfo) -> bytes:
    """The workbook: sheets 订单明细, 备货单 and 分拣单, each with a frozen bold header, column
    widths fitted to the text, money as numbers formatted ``¥#,##0.00``, times as local datetimes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    sheets = [(m.SHEET_ORDERS, m.EXPORT_COLUMNS, order_rows(views, tz)),
              (m.SHEET_STOCK, m.STOCK_COLUMNS, stock_rows(stock)),
              (m.SHEET_SORT, m.SORT_COLUMNS, sort_rows(points))]
    first = True
    for name, header, rows in sheets:
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        first = False
        ws.title = name
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for r, row in enumerate(rows, 2):
            for c, value in enumerate(row, 1):
                if value is None or value == "":
                    continue  # an empty cell is no cell: a quarter of the rows' cells, mostly marks
                cell = ws.cell(row=r, column=c)
                cell.value = value  # type: ignore[assignment]
                if isinstance(value, str):
                    cell.data_type = "s"  # a resident's "=…" stays text, never a formula
                elif isinstance(value, datetime):
                    cell.number_format = TIME_FORMAT
                if header[c - 1] in MONEY_COLUMNS or header[c - 1] == "金额":
                    cell.number_format = MONEY_FORMAT
        for c, title in enumerate(header, 1):
            widest = max([width(title)] + [width(_text(row[c - 1], tz)) for row in rows])
            ws.column_dimensions[get_column_letter(c)].width = min(60, widest + 2)
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
