"""Exports cannot attack the leader's spreadsheet (OWASP CSV injection; no formula in an XLSX), and name
groups by title."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC
from decimal import Decimal

import pytest

from adapters.base import Capabilities
from bot import messages as m
from bot.catalog import Catalog, Item
from bot.export import orders_csv, safe_cell
from bot.leaderlists import household_views
from bot.services.outcome import Tally, TallyRow
from tests.pipeline import LEADER, make_pipeline
from tests.sheets import xlsx_rows

DANGEROUS = ["=HYPERLINK(\"http://x\",\"点我\")", "+1+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("cell", DANGEROUS)
def test_formula_starts_are_neutralised(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["王姐", "3栋402", "29.90", "", " =1", "'=1", "1-2"])
def test_other_cells_pass_unchanged(cell: str) -> None:
    assert safe_cell(cell) == cell
    assert safe_cell(3) == 3


def _views(rows: tuple[TallyRow, ...], catalog: Catalog, titles: dict[str, str]) -> list:  # type: ignore[type-arg]
    totals: dict[str, int] = {}
    for r in rows:
        totals[r.item_code] = totals.get(r.item_code, 0) + r.qty
    numbers = {(r.chat_key, r.sender_id, ""): n for n, r in enumerate(rows, 1)}
    tally = Tally("d", rows, totals, Decimal(0), numbers)
    return household_views(tally, catalog, group_titles=titles)


def test_every_text_cell_of_the_csv_is_neutralised() -> None:
    evil = "=1+1"
    catalog = Catalog(items=(Item(code="-1", name="@葡萄", unit="+盒", price=Decimal("29.9"), aliases=("@葡萄",)),))
    views = _views((TallyRow("fake:g1", "u1", evil, "-3栋", "-1", 2),), catalog, {"fake:g1": "=群"})
    rows = read(orders_csv(views, UTC))
    cells = [c for r in rows for c in r if c]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert rows[1] == ["1", "'=1+1", "'-3栋", "", "'@葡萄", "'+盒", "2", "29.90", "59.80", "", "", "", "", "",
                       "'=群"]


def test_the_group_column_shows_the_title_and_falls_back_to_the_key() -> None:
    catalog = Catalog(items=(Item(code="1", name="葡萄", price=Decimal(1)),))
    views = _views((TallyRow("fake:g1", "u", "王姐", "", "1", 1), TallyRow("fake:g2", "v", "阿强", "", "1", 1)),
                   catalog, {"fake:g1": "幸福里团购群"})
    rows = read(orders_csv(views, UTC))
    group = m.EXPORT_COLUMNS.index("群")
    assert [rows[1][group], rows[2][group]] == ["幸福里团购群", "fake:g2"]


async def test_a_residents_formula_name_reaches_the_export_as_text() -> None:
    p = await make_pipeline(Capabilities(reactions=True, files=True, direct=True))
    await p.chat.push("=HYPERLINK(\"http://evil\") 葡萄2", sender="=cmd|' /C calc'!A0")
    await p.chat.push("@SUM(1+1) 鸡蛋1", sender="@阿强")
    p.chat.pop_all()
    await p.chat.push("/export", sender=LEADER)
    doc, said = p.chat.pop_all()  # the file privately, then 已私信发给你 in the group
    assert doc.kind == "file" and said.text == m.SENT_PRIVATELY
    rows = xlsx_rows(doc.data)
    body = [r for r in rows[1:] if r[0] != m.EXPORT_TOTAL]
    assert {r[m.EXPORT_COLUMNS.index("群")] for r in body} == {"幸福里团购群"}
    assert {r[1] for r in body} == {"=cmd|' /C calc'!A0", "@阿强"}  # as text: the sheet has no formula
    with zipfile.ZipFile(io.BytesIO(doc.data)) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in x or "<f " in x for x in sheets)
    await p.close()
