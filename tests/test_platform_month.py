"""A realistic month of a platform, end to end (SQLite and PostgreSQL): suppliers, a product list
imported, variants, leaders with an upline, groups, a purchase schedule, rounds opened from the
library with variants and delivery dates, residents' orders through the order service, a refund
and a short delivery, then the purchase orders of two delivery dates and November's settlement,
every figure computed by hand below and the XLSX files reopened cell by cell.

Library (鲜果园 and 橙园):
  G1 葡萄 5斤装   50/箱, cost 38,   鲜果园
  G1 葡萄 10斤装  95/箱, cost 72.5, 鲜果园, commission 3.00/箱 (the import's 提成 column)
  O1 赣南脐橙     30/箱, cost 21.8, 橙园 (one variant, no spec)
  E1 土鸡蛋 30枚  32/盒, cost 24,   鲜果园, commission 1.50/盒 (tuan product variant --commission)

Leaders: wang 王姐 (g1 幸福里, g2 阳光花园), rate 8.25%, upline share 10%; li 李哥 (g3 翠湖, g4 东苑),
rate 5%, upline wang; zhao 赵姐 (g5 南山), rate 6%. boss 老板 is the operator.

Round 1, opened 11-02, delivered 11-03 (one deal per group):
  g1 G1,O1: 张三 5斤装2 脐橙1 (100 + 30 = 130), 李四 10斤装1 (95), 王五 脐橙2 (60, picks 幸福里西门)
            sales 285; refund 张三 5斤装1 坏果 50
  g2 G1/5斤装,E1: 赵六 葡萄2 鸡蛋1 (100 + 32 = 132), 钱七 鸡蛋3 (96)          sales 228
  g3 G1,E1: 孙八 10斤装2 (190), 周九 5斤装1 鸡蛋2 (50 + 64 = 114)            sales 304;
            10斤装 delivered 1 of 2: 孙八 short 1 → refund 95
  g4 O1,E1: 吴十 脐橙3 (90), 郑一 鸡蛋2 (64)                                  sales 154
  g5 G1/10斤装,O1: 冯二 葡萄1 脐橙2 (95 + 60 = 155)                          sales 155
Round 2, opened 11-09, delivered 11-10 (g1, g3, g5, after their round 1 closed):
  g1 O1:10,E1: 张三 鸡蛋2 (64), 李四 脐橙1 (30)                               sales 94
  g3 G1/10斤装,O1: 孙八 葡萄1 (95), 周九 脐橙2 (60)                           sales 155
  g5 E1: 冯二 鸡蛋4 (128), 陈三 鸡蛋2 (64)                                    sales 192; refund 陈三 鸡蛋1 32

Purchase orders (the tally; refunds and shorts come later and are not subtracted):
  11-03 橙园: O1 g1 1+2 + g4 3 + g5 2 = 8 × 21.8 = 174.40
        鲜果园: E1 g2 1+3 + g3 2 + g4 2 = 8 × 24 = 192.00; 5斤装 g1 2 + g2 2 + g3 1 = 5 × 38 = 190.00;
               10斤装 g1 1 + g3 2 + g5 1 = 4 × 72.5 = 290.00; subtotal 17, 672.00
        total 25, 174.40 + 672.00 = 846.40
  11-10 橙园: O1 g1 1 + g3 2 = 3 × 21.8 = 65.40
        鲜果园: E1 g1 2 + g5 4+2 = 8 × 24 = 192.00; 10斤装 g3 1 × 72.5 = 72.50; subtotal 9, 264.50
        total 12, 65.40 + 264.50 = 329.90

Settlement of November:
  groups: g1 sales 285 + 94 = 379, refunds 50, net 329 · g2 228/0/228 · g3 304 + 155 = 459/95/364 ·
          g4 154/0/154 · g5 155 + 192 = 347/32/315; total sales 1567, refunds 177, net 1390
  wang: sales 379 + 228 = 607, refunds 50, net 557.
        per-variant: 10斤装 g1 1 × 3 = 3.00; E1 g2 4 × 1.5 = 6.00, g1 2 × 1.5 = 3.00 → 12.00
        at the rate: 557 − 95 − 128 − 64 = 270 (the 5斤装 100 − 50 + 100, 脐橙 30 + 60 + 30);
        270 × 0.0825 = 22.275; commission 12 + 22.275 = 34.275 → 34.28 (half up)
  li:   sales 459 + 154 = 613, refunds 95, net 518.
        per-variant: 10斤装 g3 (2 − 1 short) × 3 = 3.00 and round 2 1 × 3 = 3.00; E1 g3 2 × 1.5 = 3.00,
        g4 2 × 1.5 = 3.00 → 12.00
        at the rate: 518 − (190 − 95) − 95 − 64 − 64 = 200 (5斤装 50, 脐橙 60 + 90); 200 × 0.05 = 10
        commission 22.00
  zhao: sales 347, refunds 32, net 315.
        per-variant: 10斤装 1 × 3 = 3.00; E1 (6 − 1 refunded) × 1.5 = 7.50 → 10.50
        at the rate: 315 − 95 − (192 − 32) = 60 (脐橙); 60 × 0.06 = 3.60; commission 14.10
  wang's upline share: 10% of li's 22 = 2.20; wang due 34.28 + 2.20 = 36.48; li 22.00; zhao 14.10
  totals: commission 34.28 + 22.00 + 14.10 = 70.38, upline share 2.20, due 72.58,
          the platform keeps 1390 − 72.58 = 1317.42
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from adapters.base import Capabilities
from adapters.fake import FakeAdapter, sender_id_of
from bot import platform_messages as pm
from bot.cli import main
from bot.context import Core
from bot.dispatch import Dispatcher
from bot.export import MONEY_FORMAT
from bot.model import InboundMessage
from bot.runtime import read_config
from bot.services.orders import OrderService
from bot.usecases.leaderday import Actor, LeaderDay
from bot.usecases.platform_data import StoreDirectory
from storage.leaderday import audit
from storage.models import DEAL_SUPPLIES, DEALS
from storage.platform import SqlPlatformStore
from storage.sql import open_repository

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal

CONFIG = """
[store]
url = "{url}"
[bot]
timezone = "Asia/Shanghai"
digest_minutes = 0
"""

SUPPLIER_LIST = """编码,名称,规格,单位,售价(元),成本价,供应商,提成,别名
G1,葡萄,5斤装,箱,50,38,鲜果园,,巨峰
G1,葡萄,10斤装,箱,95,72.5,鲜果园,3,
O1,赣南脐橙,,箱,30,21.8,橙园,,橙子、脐橙
E1,土鸡蛋,30枚,盒,32,24,,,鸡蛋
"""

GROUPS = [("g1", "幸福里", "幸福里东门,幸福里西门", "wang"), ("g2", "阳光花园", "阳光花园北门", "wang"),
          ("g3", "翠湖", "翠湖南门", "li"), ("g4", "东苑", "东苑1号门", "li"), ("g5", "南山", "南山超市", "zhao")]


def tuan(capsys: Any, cfg: str, *args: str) -> str:
    """Run ``tuan ARGS``; its stdout. Fails the test on a non-zero exit."""
    code = main([*args, "--config", cfg])
    out, err = capsys.readouterr()
    assert code == 0, (args, out, err)
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def month(request: pytest.FixtureRequest, tmp_path: Path, capsys: Any) -> Any:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    cfg = tmp_path / "tuan.toml"
    cfg.write_text(CONFIG.format(url=url), encoding="utf-8")
    c = str(cfg)
    # the operator's setup, in the order of README "Running a platform"
    tuan(capsys, c, "supplier", "add", "鲜果园", "--name", "鲜果园水果批发", "--contact", "13800000000")
    tuan(capsys, c, "supplier", "add", "橙园", "--name", "赣州橙园")
    listing = tmp_path / "list.csv"
    listing.write_text(SUPPLIER_LIST, encoding="utf-8")
    tuan(capsys, c, "product", "import", str(listing), "--supplier", "鲜果园")
    out = tuan(capsys, c, "product", "variant", "E1", "30枚", "--price", "32", "--cost", "24", "--unit", "盒",
               "--supplier", "鲜果园", "--commission", "1.50", "--aliases", "鸡蛋")
    assert out.strip() == "variant E1/30枚: commission '-' → '1.50'; aliases '' → '鸡蛋'"
    tuan(capsys, c, "leader", "add", "wang", "--name", "王姐", "--account", f"fake:{sender_id_of('王姐')}",
         "--rate", "8.25%", "--upline-share", "10%")
    tuan(capsys, c, "leader", "add", "li", "--name", "李哥", "--account", f"fake:{sender_id_of('李哥')}",
         "--rate", "0.05", "--upline", "wang")
    tuan(capsys, c, "leader", "add", "zhao", "--name", "赵姐", "--account", f"fake:{sender_id_of('赵姐')}",
         "--rate", "6%")
    tuan(capsys, c, "leader", "add", "boss", "--name", "老板", "--role", "operator",
         "--account", f"fake:{sender_id_of('老板')}")
    for gid, title, points, leader in GROUPS:
        tuan(capsys, c, "group", "add", gid, "--platform", "fake", "--chat", gid, "--title", title,
             "--points", points, "--leaders", leader)
    tuan(capsys, c, "schedule", "add", "--group", "g1", "--kind", "purchase", "--time", "21:05")

    repo = open_repository(url)
    service, day = OrderService(repo), LeaderDay(repo)
    n = iter(range(1, 1000))

    def order(gid: str, who: str, text: str) -> None:
        service.handle(InboundMessage("fake", gid, f"m{next(n)}", sender_id_of(who), who, text, datetime.now(UTC)))

    def open_round(gid: str, products: str, delivery: str, opened: datetime) -> str:
        # opened today, then dated back to ``opened`` and delivered on ``delivery`` (`tuan deal open` refuses
        # a delivery day in the past)
        out = tuan(capsys, c, "deal", "open", "--group", gid, "--products", products)
        deal_id = out.split("opened deal ", 1)[1].split(" ", 1)[0]
        with repo.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(update(DEALS).where(DEALS.c.id == deal_id).values(created_at=opened))
            conn.execute(update(DEAL_SUPPLIES).where(DEAL_SUPPLIES.c.deal_id == deal_id)
                         .values(delivery_date=date.fromisoformat(delivery)))
        return deal_id

    first, second = datetime(2026, 11, 2, 9, tzinfo=TZ), datetime(2026, 11, 9, 9, tzinfo=TZ)
    r1 = {gid: open_round(gid, products, "2026-11-03", first) for gid, products in (
        ("g1", "G1,O1"), ("g2", "G1/5斤装,E1"), ("g3", "G1,E1"), ("g4", "O1,E1"), ("g5", "G1/10斤装,O1"))}
    for gid, who, text in (
            ("g1", "张三", "张三 5斤装葡萄2 脐橙1"), ("g1", "李四", "李四 10斤装葡萄1"), ("g1", "王五", "王五 脐橙2"),
            ("g2", "赵六", "赵六 葡萄2 鸡蛋1"), ("g2", "钱七", "钱七 鸡蛋3"),
            ("g3", "孙八", "孙八 10斤装葡萄2"), ("g3", "周九", "周九 5斤装葡萄1 鸡蛋2"),
            ("g4", "吴十", "吴十 脐橙3"), ("g4", "郑一", "郑一 鸡蛋2"),
            ("g5", "冯二", "冯二 葡萄1 脐橙2")):
        order(gid, who, text)
    assert day.choose_point(r1["g1"], "fake:g1", sender_id_of("王五"), "西门")[0] == "幸福里西门"
    for gid in ("g1", "g3", "g5"):  # their cutoff: round 1 closes
        service.close_deal(r1[gid])
    r2 = {gid: open_round(gid, products, "2026-11-10", second) for gid, products in (
        ("g1", "O1:10,E1"), ("g3", "G1/10斤装,O1"), ("g5", "E1"))}
    for gid, who, text in (
            ("g1", "张三", "张三 鸡蛋2"), ("g1", "李四", "李四 脐橙1"),
            ("g3", "孙八", "孙八 葡萄1"), ("g3", "周九", "周九 脐橙2"),
            ("g5", "冯二", "冯二 鸡蛋4"), ("g5", "陈三", "陈三 鸡蛋2")):
        order(gid, who, text)

    now = datetime(2026, 11, 10, 20, tzinfo=TZ)
    assert day.refund(r1["g1"], Actor("fake:g1", sender_id_of("王姐"), "王姐"), now, "张三", "5斤装", 1,
                      "坏果").status == "ok"
    short = day.short(r1["g3"], Actor("fake:g3", sender_id_of("李哥"), "李哥"), now, "10斤装", 1)
    assert [(ln.household.name, ln.amount) for ln in short.lines] == [("孙八", D("95"))]  # type: ignore[union-attr]
    assert day.refund(r2["g5"], Actor("fake:g5", sender_id_of("赵姐"), "赵姐"), now, "陈三", "鸡蛋", 1,
                      "破损").status == "ok"
    yield {"cfg": c, "repo": repo, "r1": r1, "r2": r2, "url": url}
    repo.close()


def sheet(path: Path, name: str) -> list[list[Any]]:
    wb = load_workbook(path)
    return [list(r) for r in wb[name].iter_rows(values_only=True)]


def test_purchase_orders_of_the_two_delivery_dates(month: Any, capsys: Any, tmp_path: Path) -> None:
    c = month["cfg"]
    first = tmp_path / "po-1103.xlsx"
    tuan(capsys, c, "purchase", "--date", "2026-11-03", "--format", "xlsx", "-o", str(first))
    wb = load_workbook(first)
    assert wb.sheetnames == ["采购汇总", "配送分单"]
    lines = sheet(first, "采购汇总")
    assert lines == [
        ["供应商", "编码", "商品", "规格", "单位", "数量", "成本价", "成本金额"],
        ["赣州橙园", "O1", "赣南脐橙", None, "箱", 8, 21.8, 174.4],             # 8 × 21.8
        ["赣州橙园", None, "小计", None, None, 8, None, 174.4],
        ["鲜果园水果批发", "E1", "土鸡蛋 30枚", "30枚", "盒", 8, 24, 192],       # 8 × 24
        ["鲜果园水果批发", "G1", "葡萄 5斤装", "5斤装", "箱", 5, 38, 190],        # 5 × 38
        ["鲜果园水果批发", "G1", "葡萄 10斤装", "10斤装", "箱", 4, 72.5, 290],    # 4 × 72.5
        ["鲜果园水果批发", None, "小计", None, None, 17, None, 672],             # 192 + 190 + 290
        [None, None, "合计", None, None, 25, None, 846.4],                       # 174.40 + 672.00
    ]
    ws = wb["采购汇总"]
    assert ws["H2"].number_format == MONEY_FORMAT and ws["G2"].number_format == MONEY_FORMAT
    assert sheet(first, "配送分单") == [
        ["供应商", "团", "团长", "自提点", "编码", "商品", "规格", "单位", "数量"],
        ["赣州橙园", "g1 幸福里", "王姐", "幸福里东门", "O1", "赣南脐橙", None, "箱", 1],   # 张三
        ["赣州橙园", "g1 幸福里", "王姐", "幸福里西门", "O1", "赣南脐橙", None, "箱", 2],   # 王五 picked 西门
        ["赣州橙园", "g4 东苑", "李哥", "东苑1号门", "O1", "赣南脐橙", None, "箱", 3],
        ["赣州橙园", "g5 南山", "赵姐", "南山超市", "O1", "赣南脐橙", None, "箱", 2],
        ["鲜果园水果批发", "g1 幸福里", "王姐", "幸福里东门", "G1", "葡萄 5斤装", "5斤装", "箱", 2],
        ["鲜果园水果批发", "g1 幸福里", "王姐", "幸福里东门", "G1", "葡萄 10斤装", "10斤装", "箱", 1],
        ["鲜果园水果批发", "g2 阳光花园", "王姐", "阳光花园北门", "E1", "土鸡蛋 30枚", "30枚", "盒", 4],
        ["鲜果园水果批发", "g2 阳光花园", "王姐", "阳光花园北门", "G1", "葡萄 5斤装", "5斤装", "箱", 2],
        ["鲜果园水果批发", "g3 翠湖", "李哥", "翠湖南门", "E1", "土鸡蛋 30枚", "30枚", "盒", 2],
        ["鲜果园水果批发", "g3 翠湖", "李哥", "翠湖南门", "G1", "葡萄 5斤装", "5斤装", "箱", 1],
        ["鲜果园水果批发", "g3 翠湖", "李哥", "翠湖南门", "G1", "葡萄 10斤装", "10斤装", "箱", 2],
        ["鲜果园水果批发", "g4 东苑", "李哥", "东苑1号门", "E1", "土鸡蛋 30枚", "30枚", "盒", 2],
        ["鲜果园水果批发", "g5 南山", "赵姐", "南山超市", "G1", "葡萄 10斤装", "10斤装", "箱", 1],
    ]

    second = tmp_path / "po-1110.xlsx"
    tuan(capsys, c, "purchase", "--date", "2026-11-10", "--format", "xlsx", "-o", str(second))
    assert sheet(second, "采购汇总")[1:] == [
        ["赣州橙园", "O1", "赣南脐橙", None, "箱", 3, 21.8, 65.4],               # 3 × 21.8
        ["赣州橙园", None, "小计", None, None, 3, None, 65.4],
        ["鲜果园水果批发", "E1", "土鸡蛋 30枚", "30枚", "盒", 8, 24, 192],       # (2 + 4 + 2) × 24
        ["鲜果园水果批发", "G1", "葡萄 10斤装", "10斤装", "箱", 1, 72.5, 72.5],
        ["鲜果园水果批发", None, "小计", None, None, 9, None, 264.5],            # 192 + 72.50
        [None, None, "合计", None, None, 12, None, 329.9],                       # 65.40 + 264.50
    ]
    assert sheet(second, "配送分单")[1:] == [
        ["赣州橙园", "g1 幸福里", "王姐", "幸福里东门", "O1", "赣南脐橙", None, "箱", 1],
        ["赣州橙园", "g3 翠湖", "李哥", "翠湖南门", "O1", "赣南脐橙", None, "箱", 2],
        ["鲜果园水果批发", "g1 幸福里", "王姐", "幸福里东门", "E1", "土鸡蛋 30枚", "30枚", "盒", 2],
        ["鲜果园水果批发", "g3 翠湖", "李哥", "翠湖南门", "G1", "葡萄 10斤装", "10斤装", "箱", 1],
        ["鲜果园水果批发", "g5 南山", "赵姐", "南山超市", "E1", "土鸡蛋 30枚", "30枚", "盒", 6],
    ]
    # one supplier only: its lines and total
    out = tuan(capsys, c, "purchase", "--date", "2026-11-10", "--supplier", "橙园", "--format", "csv")
    assert "赣州橙园,O1,赣南脐橙,,箱,3,21.80,65.40" in out and "鲜果园" not in out


def test_the_months_settlement_to_the_fen(month: Any, capsys: Any, tmp_path: Path) -> None:
    c = month["cfg"]
    path = tmp_path / "settle.xlsx"
    tuan(capsys, c, "settle", "--from", "2026-11-01", "--to", "2026-11-30", "-o", str(path))
    wb = load_workbook(path)
    assert wb.sheetnames == [pm.SHEET_SETTLE, pm.SHEET_SETTLE_GROUPS]
    rows = sheet(path, pm.SHEET_SETTLE)
    assert rows[0] == list(pm.SETTLE_COLUMNS)
    assert rows[1:4] == [
        # id, name, upline, groups, sales, refunds, net, rate, commission, upline share, due
        ["li", "李哥", "wang", "g3,g4", 613, 95, 518, "5%", 22, 0, 22],
        ["wang", "王姐", None, "g1,g2", 607, 50, 557, "8.25%", 34.28, 2.2, 36.48],
        ["zhao", "赵姐", None, "g5", 347, 32, 315, "6%", 14.1, 0, 14.1],
    ]
    assert rows[4:] == [
        ["合计", None, None, None, 1567, 177, 1390, None, 70.38, 2.2, 72.58],
        ["平台留存", None, None, None, None, None, 1317.42, None, None, None, None],
    ]
    ws = wb[pm.SHEET_SETTLE]
    assert all(ws.cell(row=r, column=col).number_format == MONEY_FORMAT for r in (2, 3, 4, 5) for col in (5, 9, 11))
    assert sheet(path, pm.SHEET_SETTLE_GROUPS) == [
        list(pm.SETTLE_GROUP_COLUMNS),
        # group, title, leaders, rounds, orders (households per round), sales, refunds, net
        ["g1", "幸福里", "wang", 2, 5, 379, 50, 329],
        ["g2", "阳光花园", "wang", 1, 2, 228, 0, 228],
        ["g3", "翠湖", "li", 2, 4, 459, 95, 364],
        ["g4", "东苑", "li", 1, 2, 154, 0, 154],
        ["g5", "南山", "zhao", 2, 3, 347, 32, 315],
    ]
    out = tuan(capsys, c, "settle", "--from", "2026-11-01", "--to", "2026-11-30", "--leader", "zhao")
    assert "14.10" in out and "李哥" not in out
    # the amounts were recorded when the rounds opened: changing a variant now does not rewrite November
    tuan(capsys, c, "product", "variant", "E1", "30枚", "--price", "32", "--cost", "24", "--unit", "盒",
         "--supplier", "鲜果园", "--commission", "2", "--aliases", "鸡蛋")
    again = tmp_path / "again.xlsx"
    tuan(capsys, c, "settle", "--from", "2026-11-01", "--to", "2026-11-30", "-o", str(again))
    assert sheet(again, pm.SHEET_SETTLE) == rows
    # and December, with no round, settles to zero
    out = tuan(capsys, c, "settle", "--from", "2026-12-01", "--to", "2026-12-31", "--format", "csv")
    assert "wang,王姐,,g1,g2,0.00,0.00,0.00,8.25%,0.00,0.00,0.00" in out.replace('"', "")


async def test_refusals_and_the_audit_of_every_change(month: Any, capsys: Any) -> None:
    c = month["cfg"]
    # a third tier: li's upline is wang, so li cannot recruit
    code = main(["leader", "add", "sun", "--name", "孙姐", "--upline", "li", "--config", c])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip() == "tuan: li cannot recruit: their upline is wang, and a third tier is not allowed (at most two tiers)"
    # an operator-only command from a leader: refused; the operator gets the month's figures
    repo = month["repo"]
    config = read_config(c)
    clock = lambda: datetime(2026, 11, 20, 12, tzinfo=TZ)  # noqa: E731
    core = Core(service=OrderService(repo), config=config, clock=clock,
                directory=StoreDirectory(SqlPlatformStore(repo.engine)))
    chat = FakeAdapter("fake", Capabilities(), clock=clock)
    core.adapters["fake"] = chat
    dispatcher = Dispatcher(core)
    await chat.start(dispatcher)
    await chat.push("/settlement", sender="王姐", chat_id="dm-wang", is_private=True)
    assert chat.pop_all()[-1].text == pm.SETTLEMENT_OPERATOR_ONLY == "只有平台运营可以查看平台结算"
    await chat.push("/结算", sender="老板", chat_id="dm-boss", is_private=True)
    assert chat.pop_all()[-1].text.splitlines() == [
        "📊 平台结算(11月1日 至 11月30日)",
        "李哥:净销售额 ¥518.00,佣金 ¥22.00,下级分成 ¥0.00,应付 ¥22.00",
        "王姐:净销售额 ¥557.00,佣金 ¥34.28,下级分成 ¥2.20,应付 ¥36.48",
        "赵姐:净销售额 ¥315.00,佣金 ¥14.10,下级分成 ¥0.00,应付 ¥14.10",
        "合计:销售额 ¥1567.00,退款 ¥177.00,净销售额 ¥1390.00",
        "应付团长 ¥72.58(佣金 ¥70.38 + 下级分成 ¥2.20),平台留存 ¥1317.42"]
    await chat.push("/收益", sender="李哥", chat_id="dm-li", is_private=True)
    earned = chat.pop_all()[-1].text
    assert "22.00" in earned and "518.00" in earned
    await dispatcher.drain()

    with repo.engine.connect() as conn:
        rows = [r for r in audit(conn) if r["action"] != "config.import"]
    actions = [r["action"] for r in rows]
    # 2 supplier adds; the import: 4 products (G1, O1, E1 added... ) and their variants; 1 variant
    # change; 4 leader adds; 5 group adds; 1 schedule; 8 rounds opened; 2 refunds and 1 short
    assert actions.count("supplier.set") == 2
    assert actions.count("product.import") == 7  # products G1, O1, E1 and variants 5斤装, 10斤装, O1, 30枚
    assert actions.count("variant.set") == 1
    assert actions.count("leader.add") == 4
    assert actions.count("group.add") == 5
    assert actions.count("schedule.add") == 1
    assert actions.count("deal.open") == 8
    assert actions.count("refund") == 2 and actions.count("short") == 1
    assert not set(actions) - {"supplier.set", "product.import", "variant.set", "leader.add", "group.add",
                               "schedule.add", "deal.open", "refund", "short"}
    opened = {r["deal_id"] for r in rows if r["action"] == "deal.open"}
    assert opened == set(month["r1"].values()) | set(month["r2"].values())
    assert all(r["actor_id"].startswith("cli:") for r in rows if r["action"] not in ("refund", "short"))
    assert {r["actor_name"] for r in rows if r["action"] in ("refund", "short")} == {"王姐", "李哥", "赵姐"}
