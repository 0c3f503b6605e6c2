"""The dashboard's report pages over HTTP: purchase orders (operators), the settlement (a leader sees
only their own line), statistics with the chart, a deal's sorting sheet as PDF, the product import."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from bot.usecases.operators import edit_leader
from bot.usecases.products import ItemSource, LibraryChanges, SupplierRow
from storage.operators import SqlOperatorStore
from storage.products import SqlLibraryStore, record_sources
from tests.test_web_http import client, csrf
from tests.web_support import GA, GB, World, world

DELIVERY = date(2026, 12, 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def w(request, tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """The web tests' world (tests/web_support.py) on SQLite and on PostgreSQL, with commission rates
    (A's leader 10%, B's 5%), two suppliers, and both deals delivered on :data:`DELIVERY`."""
    w = world(tmp_path, url=request.getfixturevalue("pg_url") if request.param == "postgresql" else None)
    ops = SqlOperatorStore(w.repo.engine)
    ops.update(lambda rows: edit_leader(rows, "fake:la", rate=Decimal("0.1")), actor=("test", "test"))
    ops.update(lambda rows: edit_leader(rows, "fake:lb", rate=Decimal("0.05")), actor=("test", "test"))
    now = datetime.now(UTC)
    SqlLibraryStore(w.repo.engine).update(lambda rows: LibraryChanges(
        suppliers=[SupplierRow("S1", "鲜果园", updated_at=now), SupplierRow("S2", "蛋品行", updated_at=now)]))
    record_sources(w.repo.engine, w.deals[GA], DELIVERY, [ItemSource("1", "grape", "", "盒", Decimal("20.5"), "S1"),
                                                          ItemSource("2", "egg", "", "盒", None, "S2")])
    record_sources(w.repo.engine, w.deals[GB], DELIVERY, [ItemSource("1", "grape", "", "盒", Decimal("20.5"), "S1"),
                                                          ItemSource("2", "egg", "", "盒", None, "S2")])
    yield w
    w.repo.close()


def today(w: World) -> str:
    """The day the world's deals were opened (not "today": midnight in Shanghai may pass in between)."""
    deal = w.service.deal_of(GA)
    assert deal is not None
    return deal.created_at.astimezone(w.config.bot.tz).date().isoformat()


def test_purchase_orders_per_supplier_with_routing_for_operators_only(w: World) -> None:
    op = client(w, "op")
    page = op.get(f"/purchase?date={DELIVERY}")
    assert page.status_code == 200
    # S1: 3 boxes of grapes (A's 王姐 2, B's 赵姨 1) at 20.50; S2: 1 egg, cost unknown
    assert "鲜果园</td><td>3</td><td>¥61.50" in page.text
    assert "蛋品行</td><td>1</td><td>¥0.00 <span" in page.text and "部分成本未知" in page.text
    assert "东门" in page.text and "a 幸福里A群" in page.text and "b 公园里B群" in page.text
    wb = load_workbook(io.BytesIO(op.get(f"/purchase.xlsx?date={DELIVERY}&supplier=S1").content))
    assert wb.sheetnames == ["采购汇总", "配送分单"]
    rows = list(wb["采购汇总"].iter_rows(values_only=True))
    assert rows[1][0] == "鲜果园" and rows[1][5] == 3 and rows[1][7] == Decimal("61.5")
    assert all("蛋品行" not in str(r) for r in rows)
    text = op.get(f"/purchase.csv?date={DELIVERY}").content.decode("utf-8-sig")
    assert "鲜果园,grape,阳光玫瑰葡萄,,盒,3,20.50,61.50" in text
    assert op.get(f"/purchase?date={DELIVERY + timedelta(days=1)}").text.count('id="purchase-empty"') == 1
    assert op.get("/purchase?date=2026-02-30").status_code == 400
    assert op.get(f"/purchase?date={DELIVERY}&supplier=nobody").status_code == 400
    for who in ("leadera", "leaderb"):
        leader = client(w, who)
        assert 'href="/purchase"' not in leader.get("/").text
        for path in ("/purchase", "/purchase.xlsx", "/purchase.csv"):
            assert leader.get(f"{path}?date={DELIVERY}").status_code == 403


def test_settlement_operator_sees_every_leader_a_leader_only_their_line(w: World) -> None:
    day = today(w)
    op = client(w, "op").get(f"/settle?from={day}&to={day}")
    assert op.status_code == 200
    assert "fake:la" in op.text and "fake:lb" in op.text and "¥9.18" in op.text and "¥1.50" in op.text
    leader = client(w, "leadera")
    page = leader.get(f"/settle?from={day}&to={day}").text
    assert "fake:la" in page and "¥9.18" in page  # 10% of 91.80
    assert "fake:lb" not in page and "公园里B群" not in page and "¥1.50" not in page
    text = leader.get(f"/settle.csv?from={day}&to={day}").content.decode("utf-8-sig")
    assert "fake:la" in text and "fake:lb" not in text
    wb = load_workbook(io.BytesIO(leader.get(f"/settle.xlsx?from={day}&to={day}").content))
    rows = list(wb["团长结算"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:-2]] == ["fake:la"] and rows[1][4] == pytest.approx(91.8) and rows[1][8] == pytest.approx(9.18)
    assert [r[1] for r in wb["分群汇总"].iter_rows(min_row=2, values_only=True)] == ["幸福里A群"]
    b = client(w, "leaderb").get(f"/settle.csv?from={day}&to={day}").content.decode("utf-8-sig")
    assert "fake:lb" in b and "fake:la" not in b
    # a day without deals: zeros; bad periods are refused
    assert "¥0.00" in leader.get("/settle?from=2020-01-01&to=2020-01-31").text
    assert leader.get(f"/settle?from={day}&to=2020-01-01").status_code == 400
    assert leader.get("/settle?from=2020-01-01&to=2022-01-01").status_code == 400
    assert leader.get("/settle?from=9999-12-01&to=9999-12-31").status_code == 400  # not a date overflow
    assert leader.get("/settle?from=yesterday").status_code == 400


def test_statistics_and_the_chart_a_leader_sees_only_their_groups(w: World) -> None:
    day = today(w)
    op = client(w, "op")
    page = op.get(f"/stats?from={day}&to={day}").text
    assert "幸福里A群" in page and "公园里B群" in page and f'src="/stats.png?from={day}&amp;to={day}"' in page
    png = op.get(f"/stats.png?from={day}&to={day}")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG") and len(png.content) > 2000
    leader = client(w, "leadera")
    page = leader.get(f"/stats?from={day}&to={day}").text
    assert "幸福里A群</td><td>2</td><td>2</td><td>¥91.80</td><td>0</td>" in page and "公园里B群" not in page
    assert leader.get(f"/stats.png?from={day}&to={day}").content.startswith(b"\x89PNG")


def test_the_sorting_sheet_pdf_is_on_the_deal_page_and_checked_like_the_exports(w: World) -> None:
    deal = w.deals[GA]
    leader = client(w, "leadera")
    assert f'href="/deals/{deal}/export.pdf"' in leader.get(f"/deals/{deal}").text
    pdf = leader.get(f"/deals/{deal}/export.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and b"/Type /Page" in pdf.content
    assert client(w, "leaderb").get(f"/deals/{deal}/export.pdf").status_code == 403
    assert client(w, "leaderb").get(f"/deals/{w.deals[GB]}/export.pdf").status_code == 200
    assert leader.get(f"/deals/{deal}/export.doc").status_code == 404


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_product_import_shows_each_bad_row_or_the_result_and_variants_are_listed(w: World) -> None:
    op = client(w, "op")
    token = csrf(op, "/products")
    bad = _xlsx([["编码", "名称", "规格", "售价", "成本价"], ["G1", "阳光玫瑰", "5斤装", "abc", "38"],
                 ["G2", "", "", "12", ""]])
    r = op.post("/import/products", data={"csrf": token}, files={"file": ("list.xlsx", bad, "application/octet-stream")})
    assert r.status_code == 400 and 'id="import-errors"' in r.text
    assert "第 2 行，售价：&#39;abc&#39;" in r.text and "第 3 行，名称：empty" in r.text
    assert "G1" not in SqlLibraryStore(w.repo.engine).load().products
    good = _xlsx([["编码", "名称", "规格", "单位", "售价", "成本价", "供应商"],
                  ["G1", "阳光玫瑰", "5斤装", "箱", "50", "38", "S1"], ["G1", "阳光玫瑰", "10斤装", "箱", "95", "72.5", "S1"]])
    r = op.post("/import/products", data={"csrf": token}, files={"file": ("list.xlsx", good, "application/octet-stream")})
    assert r.status_code == 200 and 'id="import-result"' in r.text, r.text[-2000:]
    library = SqlLibraryStore(w.repo.engine).load()
    assert [(v.spec, v.cost) for v in library.variants_of("G1")] == [("5斤装", Decimal("38")), ("10斤装", Decimal("72.5"))]
    page = op.get("/products").text
    assert "G1/5斤装" in page and "G1/10斤装" in page and "成本 72.5" in page
    csv_bytes = "编码,名称,售价\r\nG3,砂糖橘,19.9\r\n".encode()
    r = op.post("/import/products", data={"csrf": token}, files={"file": ("list.csv", csv_bytes, "text/csv")})
    assert r.status_code == 200 and "G3" in SqlLibraryStore(w.repo.engine).load().products
    assert op.post("/import/products", data={"csrf": token}).status_code == 400  # no file
    # no CSRF token: refused, nothing written; a leader: refused
    r = op.post("/import/products", data={}, files={"file": ("x.csv", "编码,名称,售价\r\nG4,x,1\r\n".encode(), "text/csv")})
    assert r.status_code == 403 and "G4" not in SqlLibraryStore(w.repo.engine).load().products
    leader = client(w, "leadera")
    r = leader.post("/import/products", data={"csrf": csrf(leader, "/products")},
                    files={"file": ("x.csv", "编码,名称,售价\r\nG4,x,1\r\n".encode(), "text/csv")})
    assert r.status_code == 403 and "G4" not in SqlLibraryStore(w.repo.engine).load().products
    assert 'id="product-import"' not in leader.get("/products").text
    assert "G1/5斤装" in leader.get("/products").text  # leaders see the variants too
