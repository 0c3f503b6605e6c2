"""A deal's orders as a CSV document (UTF-8 with BOM, so spreadsheet apps read the Chinese right)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from bot.catalog import Catalog
from bot.services.outcome import Tally

HEADER = ["群", "住户", "标签", "商品编号", "商品", "数量", "单位", "单价", "金额"]


def tally_csv(tally: Tally, catalog: Catalog, chat_titles: dict[str, str] | None = None) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    items = {i.code: i for i in catalog.items}
    total = Decimal(0)
    for r in sorted(tally.rows, key=lambda r: (r.chat_key, r.label, r.sender_name, r.item_code)):
        it = items.get(r.item_code)
        price = it.price if it else Decimal(0)
        amount = price * r.qty
        total += amount
        w.writerow([(chat_titles or {}).get(r.chat_key, r.chat_key), r.sender_name, r.label, r.item_code,
                    it.name if it else "", r.qty, it.unit if it else "", f"{price:.2f}", f"{amount:.2f}"])
    w.writerow([])
    for code, qty in tally.totals.items():
        it = items.get(code)
        w.writerow(["合计", "", "", code, it.name if it else "", qty, it.unit if it else "",
                    f"{it.price:.2f}" if it else "", f"{(it.price if it else 0) * qty:.2f}"])
    w.writerow(["总金额", "", "", "", "", "", "", "", f"{total:.2f}"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")

