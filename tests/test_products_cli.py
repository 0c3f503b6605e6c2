"""`tuan supplier`, `tuan product import|variant|variants`, `tuan deal open` with variants and
`tuan purchase` over a store (SQLite and PostgreSQL); purchase figures hand-computed."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.model import InboundMessage
from bot.services.orders import OrderService
from storage.sql import open_repository

CONFIG = """
[store]
url = "{url}"
[console]
chat = "console"
[[groups]]
id = "home"
platform = "console"
chat = "home"
title = "幸福里"
leaders = ["王团长"]
pickup_points = ["幸福里东门"]
[[groups]]
id = "park"
platform = "console"
chat = "park"
title = "阳光花园"
leaders = ["李团长"]
pickup_points = ["阳光花园北门", "阳光花园南门"]
"""

SUPPLIER_CSV = """编码,名称,规格,单位,售价,成本价,供应商,别名,备注
G1,葡萄,5斤装,箱,50,38,鲜果园,巨峰,新货
G1,葡萄,10斤装,箱,95,72.5,鲜果园,,
O1,赣南脐橙,,箱,30,21.8,橙园,橙子、脐橙,
E1,土鸡蛋,30枚,盒,32,,,鸡蛋,
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def config_path(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    path = tmp_path / "tuan.toml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return str(path)


def tuan(capsys: Any, config: str, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--config", config])
    out, err = capsys.readouterr()
    return code, out, err


def url_of(config: str) -> str:
    text = Path(config).read_text(encoding="utf-8")
    return text.split('url = "', 1)[1].split('"', 1)[0]


def stocked(capsys: Any, config: str, tmp_path: Path) -> None:
    for sid, name in (("鲜果园", "鲜果园水果批发"), ("橙园", "赣州橙园")):
        assert tuan(capsys, config, "supplier", "add", sid, "--name", name)[0] == 0
    path = tmp_path / "list.csv"
    path.write_text(SUPPLIER_CSV, encoding="utf-8")
    code, out, err = tuan(capsys, config, "product", "import", str(path), "--supplier", "鲜果园")
    assert code == 0, err


def test_import_adds_products_and_variants_and_again_changes_nothing(capsys: Any, config_path: str,
                                                                     tmp_path: Path) -> None:
    stocked(capsys, config_path, tmp_path)
    code, out, _ = tuan(capsys, config_path, "product", "variants", "--json")
    got = {(v["code"], v["spec"]): (v["price"], v["cost"], v["supplier"], v["unit"]) for v in json.loads(out)}
    assert got == {
        ("G1", "5斤装"): ("50.00", "38.00", "鲜果园", "箱"), ("G1", "10斤装"): ("95.00", "72.50", "鲜果园", "箱"),
        ("O1", ""): ("30.00", "21.80", "橙园", "箱"), ("E1", "30枚"): ("32.00", None, "鲜果园", "盒"),
    }
    _, out, _ = tuan(capsys, config_path, "product", "list", "--json")
    products = {p["code"]: p for p in json.loads(out)}
    assert products["O1"]["aliases"] == ["橙子", "脐橙"] and products["G1"]["name"] == "葡萄"
    path = tmp_path / "list.csv"
    code, out, _ = tuan(capsys, config_path, "product", "import", str(path), "--supplier", "鲜果园")
    assert code == 0 and "nothing changed (4 rows)" in out
    path.write_text(SUPPLIER_CSV.replace("G1,葡萄,10斤装,箱,95,72.5", "G1,葡萄,10斤装,箱,92,70"), encoding="utf-8")
    code, out, _ = tuan(capsys, config_path, "product", "import", str(path), "--supplier", "鲜果园")
    assert code == 0 and out.splitlines()[-1] == "variant G1/10斤装: changed (92.00元/箱, cost 70.00, supplier 鲜果园)"
    assert "ignored columns: 备注" in out


def test_a_bad_row_imports_nothing_and_every_bad_row_is_named(capsys: Any, config_path: str, tmp_path: Path) -> None:
    assert tuan(capsys, config_path, "supplier", "add", "鲜果园")[0] == 0
    path = tmp_path / "bad.csv"
    path.write_text("code,name,spec,price,cost,supplier\n"
                    "G1,葡萄,5斤装,50,38,鲜果园\n"
                    ",无码,,10,,\n"
                    "G1,葡萄,5斤装,51,,鲜果园\n"
                    "O1,橙,,29.999,abc,\n"
                    "P1,梨,,12,,谁家\n"
                    "G1,提子,10斤装,90,,鲜果园\n", encoding="utf-8")
    code, out, err = tuan(capsys, config_path, "product", "import", str(path))
    assert code == 2
    assert err.splitlines() == [
        f"tuan: {path}: 6 bad row(s); nothing imported",
        "  row 3, code: empty",
        "  row 4, spec: 5斤装 of product G1 is also on row 2",
        "  row 5, price: '29.999' has more than 2 decimal places (money is counted in fen)",
        "  row 5, cost: 'abc' is not a decimal number",
        "  row 6, supplier: no supplier '谁家' (tuan supplier add 谁家 --name ...)",
        "  row 7, name: '提子', but row 2 names product G1 '葡萄'",
    ]
    _, out, _ = tuan(capsys, config_path, "product", "variants", "--json")
    assert json.loads(out) == []


def test_an_imported_code_that_cannot_be_picked_is_a_bad_row(capsys: Any, config_path: str, tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("code,name,price\nSKU/01,斜杠,5\nA:1,冒号,5\nOK1,好,5\n", encoding="utf-8")
    code, _out, err = tuan(capsys, config_path, "product", "import", str(path))
    assert code == 2
    assert [line.split(":")[0] for line in err.splitlines()[1:]] == ["  row 2, code", "  row 3, code"]


def test_an_xlsx_with_english_headers_imports(capsys: Any, config_path: str, tmp_path: Path) -> None:
    from openpyxl import Workbook

    assert tuan(capsys, config_path, "supplier", "add", "S1")[0] == 0
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Name", "Code", "Spec", "Price (元)", "Cost", "Unit"])
    ws.append(["葡萄", "G1", "5斤装", 50, 38.5, "箱"])
    ws.append(["葡萄", "G1", "10斤装", 95.9, 72, "箱"])
    path = tmp_path / "list.xlsx"
    wb.save(path)
    code, out, err = tuan(capsys, config_path, "product", "import", str(path), "--supplier", "S1")
    assert code == 0, err
    _, out, _ = tuan(capsys, config_path, "product", "variants", "G1", "--json")
    assert [(v["spec"], v["price"], v["cost"]) for v in json.loads(out)] == [
        ("5斤装", "50.00", "38.50"), ("10斤装", "95.90", "72.00")]


def order(repo: Any, chat: str, sender: str, text: str, n: list[int]) -> None:
    n[0] += 1
    OrderService(repo).handle(InboundMessage("console", chat, f"m{n[0]}", sender, sender, text,
                                             datetime.now(UTC)))


def test_purchase_orders_total_each_variant_per_supplier_with_costs_and_routes(
        capsys: Any, config_path: str, tmp_path: Path) -> None:
    stocked(capsys, config_path, tmp_path)
    code, out, err = tuan(capsys, config_path, "deal", "open", "--group", "home", "--products", "G1,O1,E1",
                          "--delivery", "2099-12-01")
    assert code == 0, err
    assert "delivery 2099-12-01" in out
    code, _, err = tuan(capsys, config_path, "deal", "open", "--group", "park", "--products", "G1/10斤装:20,O1",
                        "--delivery", "2099-12-01")
    assert code == 0, err
    repo = open_repository(url_of(config_path))
    n = [0]
    # home: items 1 葡萄 5斤装, 2 葡萄 10斤装, 3 脐橙, 4 鸡蛋; park: 1 葡萄 10斤装, 2 脐橙
    order(repo, "home", "u1", "葡萄 5斤装 2 橙子1", n)
    order(repo, "home", "u2", "10斤装葡萄1", n)
    order(repo, "home", "u2", "鸡蛋3", n)
    order(repo, "home", "u3", "葡萄2", n)  # asked: which grape
    order(repo, "home", "u3", "5斤装", n)  # → 2 of 5斤装
    order(repo, "park", "p1", "葡萄3", n)  # one grape in park: 3 of 10斤装
    order(repo, "park", "p2", "脐橙2", n)
    order(repo, "park", "p2", "脐橙改成4", n)
    from sqlalchemy import insert

    from storage.models import HOUSEHOLD_MARKS
    park_deal = OrderService(repo).deal_of("console:park")
    assert park_deal is not None
    with repo.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(insert(HOUSEHOLD_MARKS).values(deal_id=park_deal.id, chat_key="console:park", sender_id="p2",
                                                    pickup_point="阳光花园南门"))
    repo.close()

    code, out, err = tuan(capsys, config_path, "purchase", "--date", "2099-12-01", "--format", "csv")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    blank = rows.index([])
    lines, routes = rows[:blank], rows[blank + 1:]
    # 鲜果园: 5斤装 2+2 = 4 × 38 = 152; 10斤装 1+3 = 4 × 72.5 = 290; 鸡蛋 3, no cost → 442.00 known
    # 橙园: 脐橙 1 + 4 = 5 × 21.8 = 109.00; total 4+4+3+5 = 16, 551.00
    assert lines == [
        ["供应商", "编码", "商品", "规格", "单位", "数量", "成本价", "成本金额"],
        ["赣州橙园", "O1", "赣南脐橙", "", "箱", "5", "21.80", "109.00"],
        ["赣州橙园", "", "小计", "", "", "5", "", "109.00"],
        ["鲜果园水果批发", "E1", "土鸡蛋 30枚", "30枚", "盒", "3", "", "缺成本价"],
        ["鲜果园水果批发", "G1", "葡萄 5斤装", "5斤装", "箱", "4", "38.00", "152.00"],
        ["鲜果园水果批发", "G1", "葡萄 10斤装", "10斤装", "箱", "4", "72.50", "290.00"],
        ["鲜果园水果批发", "", "小计(部分缺成本价)", "", "", "11", "", "442.00"],
        ["", "", "合计(部分缺成本价)", "", "", "16", "", "551.00"],
    ]
    assert routes == [
        ["供应商", "团", "团长", "自提点", "编码", "商品", "规格", "单位", "数量"],
        ["赣州橙园", "home 幸福里", "王团长", "幸福里东门", "O1", "赣南脐橙", "", "箱", "1"],
        ["赣州橙园", "park 阳光花园", "李团长", "阳光花园南门", "O1", "赣南脐橙", "", "箱", "4"],
        ["鲜果园水果批发", "home 幸福里", "王团长", "幸福里东门", "E1", "土鸡蛋 30枚", "30枚", "盒", "3"],
        ["鲜果园水果批发", "home 幸福里", "王团长", "幸福里东门", "G1", "葡萄 5斤装", "5斤装", "箱", "4"],
        ["鲜果园水果批发", "home 幸福里", "王团长", "幸福里东门", "G1", "葡萄 10斤装", "10斤装", "箱", "1"],
        ["鲜果园水果批发", "park 阳光花园", "李团长", "阳光花园北门", "G1", "葡萄 10斤装", "10斤装", "箱", "3"],
    ]

    xlsx = tmp_path / "po.xlsx"
    code, out, err = tuan(capsys, config_path, "purchase", "--date", "2099-12-01", "--supplier", "橙园",
                          "--format", "xlsx", "-o", str(xlsx))
    assert code == 0, err
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["采购汇总", "配送分单"]
    got = [list(r) for r in wb["采购汇总"].iter_rows(values_only=True)]
    assert got[1] == ["赣州橙园", "O1", "赣南脐橙", None, "箱", 5, 21.8, 109]  # money cells are numbers
    assert got[-1][5] == 5 and got[-1][7] == 109
    assert [r[3] for r in wb["配送分单"].iter_rows(min_row=2, values_only=True)] == ["幸福里东门", "阳光花园南门"]

    code, out, _ = tuan(capsys, config_path, "purchase", "--date", "2099-12-02")
    assert code == 0 and "送货日 2099-12-02 没有要采购的商品" in out


def test_dry_run_writes_nothing_and_deal_open_names_a_bad_pick(capsys: Any, config_path: str,
                                                              tmp_path: Path) -> None:
    for sid in ("鲜果园", "橙园"):
        assert tuan(capsys, config_path, "supplier", "add", sid)[0] == 0
    path = tmp_path / "list.csv"
    path.write_text(SUPPLIER_CSV, encoding="utf-8")
    code, out, _ = tuan(capsys, config_path, "product", "import", str(path), "--supplier", "鲜果园", "--dry-run")
    assert code == 0 and out.startswith("dry run: nothing written") and "variant G1/5斤装: added" in out
    _, out, _ = tuan(capsys, config_path, "product", "variants", "--json")
    assert json.loads(out) == []
    assert tuan(capsys, config_path, "product", "import", str(path), "--supplier", "鲜果园")[0] == 0
    code, _, err = tuan(capsys, config_path, "deal", "open", "--group", "home", "--products", "G1:5")
    assert code == 2 and "product G1 has 2 variants (G1/5斤装, G1/10斤装)" in err
    code, _, err = tuan(capsys, config_path, "purchase", "--date", "2099-12-01", "--supplier", "无此")
    assert code == 2 and "no supplier '无此'" in err
    _, out, _ = tuan(capsys, config_path, "supplier", "list", "--json")
    assert {s["id"]: s["variants"] for s in json.loads(out)} == {"橙园": 1, "鲜果园": 3}


def test_a_copied_round_keeps_its_variants_for_the_purchase_order(capsys: Any, config_path: str,
                                                                  tmp_path: Path) -> None:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    stocked(capsys, config_path, tmp_path)
    assert tuan(capsys, config_path, "deal", "open", "--group", "home", "--products", "G1/10斤装,O1")[0] == 0
    repo = open_repository(url_of(config_path))
    first = OrderService(repo).deal_of("console:home")
    assert first is not None
    OrderService(repo).close_deal(first.id)

    def tomorrow_now() -> str:
        return (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date().isoformat()

    before = tomorrow_now()  # the copy may run on either side of midnight in Shanghai: either day is right
    code, out, err = tuan(capsys, config_path, "deal", "copy", first.id)
    assert code == 0, err
    tomorrow = out.rstrip().rpartition(" ")[2]
    assert out.rstrip().endswith(f"delivery {tomorrow}") and tomorrow in (before, tomorrow_now())
    order(repo, "home", "u1", "葡萄2 橙子1", [0])  # one grape in the deal: 2 of 10斤装
    repo.close()
    code, out, _ = tuan(capsys, config_path, "purchase", "--date", tomorrow, "--format", "csv")
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    assert ["鲜果园水果批发", "G1", "葡萄 10斤装", "10斤装", "箱", "2", "72.50", "145.00"] in rows
    assert ["赣州橙园", "O1", "赣南脐橙", "", "箱", "1", "21.80", "21.80"] in rows
    copied = [d for a, d in audit_rows(config_path) if a == "deal.copy"]
    assert len(copied) == 1 and f"a copy of {first.id}, delivery {tomorrow}" in copied[0]


def test_a_product_of_tuan_toml_gets_no_variant_from_the_cli(capsys: Any, config_path: str) -> None:
    with open(config_path, "a", encoding="utf-8") as f:
        f.write('[[deals]]\nid = "fruit"\ntitle = "水果团"\ngroups = ["home"]\n'
                '[[deals.items]]\ncode = "1"\nname = "阳光玫瑰葡萄"\nunit = "盒"\nprice = "29.9"\n')
    code, _, err = tuan(capsys, config_path, "product", "variant", "1", "2斤装", "--price", "50")
    assert code == 2 and "product 1 comes from" in err and "(deal fruit)" in err


def audit_rows(config: str) -> list[tuple[str, str]]:
    """(action, detail) of every audit row but tuan.toml's imports, oldest first."""
    from storage.leaderday import audit

    repo = open_repository(url_of(config))
    try:
        with repo.engine.connect() as conn:  # type: ignore[attr-defined]
            return [(r["action"], r["detail"]) for r in audit(conn) if r["action"] != "config.import"]
    finally:
        repo.close()


def test_a_variant_carries_a_commission_from_the_cli_and_the_import(capsys: Any, config_path: str,
                                                                    tmp_path: Path) -> None:
    stocked(capsys, config_path, tmp_path)
    code, out, err = tuan(capsys, config_path, "product", "variant", "G1", "5斤装", "--price", "50", "--cost", "38",
                          "--unit", "箱", "--supplier", "鲜果园", "--commission", "1.50")
    assert code == 0, err
    assert out.strip() == "variant G1/5斤装: commission '-' → '1.50'"
    path = tmp_path / "list.csv"
    # a file without the 提成 column keeps the stored amount
    code, out, _ = tuan(capsys, config_path, "product", "import", str(path), "--supplier", "鲜果园")
    assert code == 0 and "nothing changed (4 rows)" in out
    with_column = tmp_path / "with.csv"
    with_column.write_text("编码,名称,规格,单位,售价,成本价,提成(元)\nG1,葡萄,5斤装,箱,50,38,\nG1,葡萄,10斤装,箱,95,72.5,3\n",
                           encoding="utf-8")
    code, out, err = tuan(capsys, config_path, "product", "import", str(with_column), "--supplier", "鲜果园")
    assert code == 0, err
    assert out.splitlines() == ["variant G1/5斤装: changed (50.00元/箱, cost 38.00, supplier 鲜果园)",
                                "variant G1/10斤装: changed (95.00元/箱, cost 72.50, supplier 鲜果园, commission 3.00)"]
    _, out, _ = tuan(capsys, config_path, "product", "variants", "G1", "--json")
    assert [(v["spec"], v["commission"]) for v in json.loads(out)] == [("5斤装", None), ("10斤装", "3.00")]
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,spec,price,commission\nG1,葡萄,5斤装,50,1.234\nG1,葡萄,10斤装,95,-1\n", encoding="utf-8")
    code, _, err = tuan(capsys, config_path, "product", "import", str(bad), "--supplier", "鲜果园")
    assert code == 2 and "row 2, commission: '1.234'" in err and "row 3, commission: '-1'" in err
    # the deal records each item's amount when it opens, as it does the cost
    assert tuan(capsys, config_path, "deal", "open", "--group", "home", "--products", "G1",
                "--delivery", "2099-12-01")[0] == 0
    from storage.products import deals_delivered

    repo = open_repository(url_of(config_path))
    (sources,) = deals_delivered(repo.engine, datetime(2099, 12, 1).date()).values()  # type: ignore[attr-defined]
    repo.close()
    assert {s.spec: s.commission for s in sources.values()} == {"5斤装": None, "10斤装": Decimal("3.00")}


def test_a_commission_above_the_price_is_refused_by_the_cli_and_the_import(capsys: Any, config_path: str,
                                                                          tmp_path: Path) -> None:
    stocked(capsys, config_path, tmp_path)
    code, out, err = tuan(capsys, config_path, "product", "variant", "G1", "5斤装", "--price", "50", "--commission", "50.01")
    assert (code, out, err.strip()) == (2, "", "tuan: variant G1/5斤装: commission 50.01 per unit is above the price 50.00")
    # the price itself is allowed (the platform keeps nothing of it, but that is the operator's call)
    assert tuan(capsys, config_path, "product", "variant", "G1", "5斤装", "--price", "50", "--commission", "50")[0] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,spec,price,commission\nG1,葡萄,5斤装,50,1\nG1,葡萄,10斤装,95,120\n", encoding="utf-8")
    code, _, err = tuan(capsys, config_path, "product", "import", str(bad), "--supplier", "鲜果园")
    assert code == 2 and "row 3, commission: commission 120.00 per unit is above the price 95.00" in err, err
    # a file without the column keeps the stored 50.00 of 5斤装: a price below it is refused as well
    cheaper = tmp_path / "cheaper.csv"
    cheaper.write_text("code,name,spec,price\nG1,葡萄,5斤装,45\n", encoding="utf-8")
    code, _, err = tuan(capsys, config_path, "product", "import", str(cheaper), "--supplier", "鲜果园")
    assert code == 2 and "row 2, price: commission 50.00 per unit is above the price 45.00" in err, err
    _, out, _ = tuan(capsys, config_path, "product", "variants", "G1", "--json")
    assert [(v["spec"], v["price"], v["commission"]) for v in json.loads(out)] == [
        ("5斤装", "50.00", "50.00"), ("10斤装", "95.00", None)]


def test_every_library_change_leaves_its_audit_row(capsys: Any, config_path: str, tmp_path: Path) -> None:
    stocked(capsys, config_path, tmp_path)
    assert tuan(capsys, config_path, "supplier", "add", "橙园", "--name", "赣州橙园", "--contact", "139")[0] == 0
    assert tuan(capsys, config_path, "supplier", "add", "橙园", "--name", "赣州橙园", "--contact", "139")[0] == 0
    assert tuan(capsys, config_path, "product", "variant", "E1", "60枚", "--price", "58", "--commission", "2")[0] == 0
    assert tuan(capsys, config_path, "deal", "open", "--group", "park", "--products", "E1/60枚",
                "--delivery", "2099-12-03")[0] == 0
    rows = audit_rows(config_path)
    assert [a for a, _ in rows] == ["supplier.set"] * 2 + ["product.import"] * 7 + ["supplier.set", "variant.set",
                                                                                         "deal.open"]
    assert rows[0] == ("supplier.set", "supplier 鲜果园: added (鲜果园水果批发)")
    assert ("product.import", "variant G1/10斤装: added (95.00元/箱, cost 72.50, supplier 鲜果园)") in rows
    assert rows[9] == ("supplier.set", "supplier 橙园: changed (赣州橙园)")  # the second, unchanged add: no row
    assert rows[10] == ("variant.set", "variant E1/60枚: added (58.00元/-, cost -, supplier -, commission 2.00)")
    assert rows[11][0] == "deal.open" and rows[11][1].endswith("for group park, delivery 2099-12-03: E1/60枚")
