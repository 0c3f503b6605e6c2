"""A deal's orders as a CSV document (UTF-8 with BOM, so spreadsheet apps read the Chinese right).

Every text cell is neutralised against formula injection (OWASP "CSV Injection"): residents
choose their own names and labels, and a cell such as ``=HYPERLINK(…)`` must reach the
leader's spreadsheet as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from decimal import Decimal

from bot.catalog import Catalog
from bot.services.outcome import Tally

HEADER = ["群", "住户", "标签", "商品编号", "商品", "数量", "单位", "单价", "金额"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: cells starting with these may run as formulas


def safe_cell(value: object) -> object:
    """A text cell prefixed with ``'`` when it starts like a formula; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def tally_csv(tally: Tally, catalog: Catalog, chat_titles: Mapping[str, str] | None = None) -> bytes:
    """The orders of ``tally`` as CSV bytes; the group column shows ``chat_titles[chat_key]`` where known."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")

    def row(cells: list[object]) -> None:
        w.writerow([safe_cell(c) for c in cells])

    row(list(HEADER))
    items = {i.code: i for i in catalog.items}
    titles = chat_titles or {}
    total = Decimal(0)
    for r in sorted(tally.rows, key=lambda r: (r.chat_key, r.label, r.sender_name, r.item_code)):
        it = items.get(r.item_code)
        price = it.price if it else Decimal(0)
        amount = price * r.qty
        total += amount
        row([titles.get(r.chat_key) or r.chat_key, r.sender_name, r.label, r.item_code,
             it.name if it else "", r.qty, it.unit if it else "", f"{price:.2f}", f"{amount:.2f}"])
    w.writerow([])
    for code, qty in tally.totals.items():
        it = items.get(code)
        row(["合计", "", "", code, it.name if it else "", qty, it.unit if it else "",
             f"{it.price:.2f}" if it else "", f"{(it.price if it else 0) * qty:.2f}"])
    row(["总金额", "", "", "", "", "", "", "", f"{total:.2f}"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
