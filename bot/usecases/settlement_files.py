"""A settlement as a table (the terminal), CSV (UTF-8 with BOM) or XLSX (sheets 团长结算 and 分群汇总).

Money cells are yuan to the fen; text cells are neutralised as in the exports (:func:`bot.export.safe_cell`).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from bot import platform_messages as pm
from bot.export import MONEY_FORMAT, safe_cell
from bot.usecases.operators import OperatorRows
from bot.usecases.settlement import Settlement, leaders_of

FORMATS = ("table", "csv", "xlsx")


def _rate(r: Decimal | None) -> str:
    return "" if r is None else f"{(r * 100).normalize():f}%"


def leader_rows(s: Settlement) -> list[list[object]]:
    """团长结算: one row per leader, then the 合计 row and the 平台留存 row (net minus due)."""
    rows: list[list[object]] = [
        [ln.leader_id, ln.name, ln.upline or "", ",".join(ln.groups), ln.sales, ln.refunds, ln.net, _rate(ln.rate),
         ln.commission, ln.upline_share, ln.due] for ln in s.lines]
    rows.append([pm.SETTLE_TOTAL, "", "", "", s.sales, s.refunds, s.net, "", s.commission, s.upline_share, s.due])
    rows.append([pm.SETTLE_KEPT, "", "", "", None, None, s.kept, "", None, None, None])
    return rows


def group_rows(s: Settlement, rows: OperatorRows) -> list[list[object]]:
    """分群汇总: one row per group of the settlement; its leaders: those leading it now and those who
    earned on it in the period (a leader retired since)."""
    def leaders(gid: str) -> str:
        return ",".join(sorted(set(leaders_of(rows, gid)) | {ln.leader_id for ln in s.lines if gid in ln.groups}))

    return [[g.group_id, g.title, leaders(g.group_id), len(g.deals), g.orders, g.sales, g.refunds, g.net]
            for g in s.groups]


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, Decimal):
        return f"{v:.2f}"
    return str(v)


def as_table(s: Settlement, rows: OperatorRows) -> str:
    """The leaders' lines and the totals, then the groups, as aligned text."""
    from bot.render import table

    period = f"{s.period.start.isoformat()} .. {s.period.end.isoformat()}"
    first = table([tuple(pm.SETTLE_COLUMNS)] + [tuple(_cell(c) for c in r) for r in leader_rows(s)])
    second = table([tuple(pm.SETTLE_GROUP_COLUMNS)] + [tuple(_cell(c) for c in r) for r in group_rows(s, rows)])
    return f"{period}\n{first}\n\n{second}"


def as_csv(s: Settlement) -> bytes:
    """团长结算 as CSV bytes (UTF-8 with BOM, CRLF)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(pm.SETTLE_COLUMNS)
    for r in leader_rows(s):
        w.writerow([safe_cell(_cell(c)) for c in r])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(s: Settlement, rows: OperatorRows) -> bytes:
    """The workbook: 团长结算 and 分群汇总, bold frozen headers, money as ``¥#,##0.00`` numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    first = True
    for name, header, body in ((pm.SHEET_SETTLE, pm.SETTLE_COLUMNS, leader_rows(s)),
                               (pm.SHEET_SETTLE_GROUPS, pm.SETTLE_GROUP_COLUMNS, group_rows(s, rows))):
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        first = False
        ws.title = name
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for r, row in enumerate(body, 2):
            for c, value in enumerate(row, 1):
                if value is None or value == "":
                    continue
                cell = ws.cell(row=r, column=c)
                cell.value = value  # type: ignore[assignment]
                if isinstance(value, str):
                    cell.data_type = "s"
                if header[c - 1] in pm.SETTLE_MONEY_COLUMNS:
                    cell.number_format = MONEY_FORMAT
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
