"""Settlement, commission with two tiers, /earnings and statistics on a realistic month (SQLite and
PostgreSQL): 3 leaders (王姐 the upline of 李哥), 5 groups, rounds on three days, refunds, a
replacement and a short delivery. Every figure is computed by hand in the comments.

Prices: 葡萄 29.9/盒, 鸡蛋 32/盒, 脐橙 25.8/箱.

Round A, opened 2026-11-02 for g1, g2, g3 (葡萄, 鸡蛋):
  g1 张三 葡萄2 (59.8), 李四 鸡蛋1 (32)          sales 91.8;  refund 张三 葡萄1 坏果 29.9
  g2 王五 葡萄1 鸡蛋2 (29.9 + 64 = 93.9)          sales 93.9
  g3 赵六 葡萄3 (89.7), 钱七 鸡蛋1 (32)          sales 121.7
  鸡蛋: 4 ordered, 3 delivered: first come first served, 钱七 (the last) is short 1 → refund 32 (g3)
Round B, opened 2026-11-09 for g1, g4, g5 (脐橙, 鸡蛋):
  g1 张三 脐橙1 (25.8)                            sales 25.8
  g4 孙八 脐橙2 (51.6), 周九 鸡蛋1 (32)          sales 83.6;  replacement 孙八 脐橙1 补发 (0)
  g5 吴十 脐橙3 鸡蛋1 (77.4 + 32 = 109.4)        sales 109.4; refund 吴十 脐橙1 25.8
Round O, opened 2026-10-20 for g3 (before the period): 赵六 葡萄1 → a repeat buyer on 11-02.
Round D, opened 2026-12-01 for g1 (after the period): 张三 葡萄5 — not settled.

Groups (November): g1 sales 117.6 refunds 29.9 net 87.7 · g2 93.9/0/93.9 · g3 121.7/32/89.7 ·
g4 83.6/0/83.6 · g5 109.4/25.8/83.6. Total sales 526.2, refunds 87.7, net 438.5.

Leaders: wang (王姐) g1+g2, rate 8%, upline share 10%; li (李哥) g3+g4, rate 6.5%, upline wang;
zhao (赵姐) g5, rate 1.25%.
  wang: sales 211.5, refunds 29.9, net 181.6, commission 181.6 × 0.08 = 14.528 → 14.53
  li:   sales 205.3, refunds 32,   net 173.3, commission 173.3 × 0.065 = 11.2645 → 11.26
  zhao: sales 109.4, refunds 25.8, net 83.6,  commission 83.6 × 0.0125 = 1.045 → 1.05 (half up; half
        even would give 1.04)
  wang's upline share: 10% of li's exact 11.2645 = 1.12645 → 1.13; wang due 14.53 + 1.13 = 15.66
  li due 11.26; zhao due 1.05. Totals: commission 26.84, upline share 1.13, due 27.97,
  the platform keeps 438.5 − 27.97 = 410.53.
"""

from __future__ import annotations

import csv
import io
import struct
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
from bot import messages as m
from bot import platform_messages as pm
from bot.catalog import Catalog, Item
from bot.cli import main
from bot.context import Core
from bot.dispatch import Dispatcher
from bot.model import InboundMessage
from bot.runtime import read_config
from bot.services.orders import OrderService
from bot.usecases.leaderday import Actor, LeaderDay
from bot.usecases.lists import deal_lists, export_bytes
from bot.usecases.platform_data import StoreDirectory
from bot.usecases.settlement import Period, settlement
from bot.usecases.settlement_files import as_xlsx
from bot.usecases.stats import day_stats
from storage.models import DEALS
from storage.operators import SqlOperatorStore
from storage.platform import SqlPlatformStore
from storage.sql import open_repository
from tests.leadership_dates import leaders_linked_since

TZ = ZoneInfo("Asia/Shanghai")
NOV = Period(date(2026, 11, 1), date(2026, 11, 30))
D = Decimal

CONFIG = """
[store]
url = "{url}"
[bot]
timezone = "Asia/Shanghai"
digest_minutes = 0
""" + "".join(f"""
[[groups]]
id = "g{n}"
platform = "fake"
chat = "g{n}"
title = "{title}"
""" for n, title in enumerate(["幸福里", "阳光花园", "翠湖", "东苑", "南山"], 1))

GRAPE = Item("1", "葡萄", "盒", D("29.9"))
EGG = Item("2", "鸡蛋", "盒", D("32"))
ORANGE = Item("1", "脐橙", "箱", D("25.8"))


@pytest.fixture(params=["sqlite", "postgresql"])
def month(request: pytest.FixtureRequest, tmp_path: Path, capsys: Any) -> dict[str, Any]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    cfg = tmp_path / "tuan.toml"
    cfg.write_text(CONFIG.format(url=url), encoding="utf-8")
    for args in (
        ("leader", "add", "wang", "--name", "王姐", "--account", f"fake:{sender_id_of('王姐')}", "--groups", "g1,g2",
         "--rate", "8%", "--upline-share", "10%"),
        ("leader", "add", "li", "--name", "李哥", "--account", f"fake:{sender_id_of('李哥')}", "--groups", "g3,g4",
         "--rate", "0.065", "--upline", "wang"),
        ("leader", "add", "zhao", "--name", "赵姐", "--account", f"fake:{sender_id_of('赵姐')}", "--groups", "g5",
         "--rate", "1.25%"),
    ):
        assert main([*args, "--config", str(cfg)]) == 0, capsys.readouterr()
    capsys.readouterr()
    config = read_config(str(cfg))
    repo = open_repository(url)
    leaders_linked_since(repo.engine, datetime(2026, 10, 1, tzinfo=TZ))  # the rounds below are back-dated
    service = OrderService(repo)
    n = iter(range(1, 1000))

    def order(chat: str, who: str, text: str) -> None:
        service.handle(InboundMessage("fake", chat, f"m{next(n)}", sender_id_of(who), who, text, datetime.now(UTC)))

    def round_(items: tuple[Item, ...], chats: list[str], day: datetime,
               orders: list[tuple[str, str, str]], *, closed: bool = False) -> str:
        deal_id = service.open_deal(Catalog(items=items, title="团"), [f"fake:{c}" for c in chats], title="团")
        for chat, who, text in orders:
            order(chat, who, text)
        if closed:  # its cutoff, the evening of its day
            service.close_deal(deal_id)
        with repo.engine.begin() as conn:
            conn.execute(update(DEALS).where(DEALS.c.id == deal_id).values(
                created_at=day, **({"closed_at": day.replace(hour=21)} if closed else {})))
        return deal_id

    old = round_((GRAPE, EGG), ["g3"], datetime(2026, 10, 20, 9, tzinfo=TZ), [("g3", "赵六", "赵六 葡萄1")])
    a = round_((GRAPE, EGG), ["g1", "g2", "g3"], datetime(2026, 11, 2, 9, tzinfo=TZ), [
        ("g1", "张三", "3栋401 葡萄2"), ("g1", "李四", "5栋102 鸡蛋1"), ("g2", "王五", "王五 葡萄1 鸡蛋2"),
        ("g3", "赵六", "赵六 葡萄3"), ("g3", "钱七", "钱七 鸡蛋1")], closed=True)  # closed: its short delivery
    b = round_((ORANGE, EGG), ["g1", "g4", "g5"], datetime(2026, 11, 9, 23, 30, tzinfo=TZ), [
        ("g1", "张三", "3栋401 脐橙1"), ("g4", "孙八", "孙八 脐橙2"), ("g4", "周九", "周九 鸡蛋1"),
        ("g5", "吴十", "吴十 脐橙3 鸡蛋1")])
    dec = round_((GRAPE,), ["g1"], datetime(2026, 12, 1, 0, 0, tzinfo=TZ), [("g1", "张三", "张三 葡萄5")])
    day = LeaderDay(repo)
    now = datetime(2026, 11, 10, tzinfo=TZ)
    assert day.refund(a, Actor("fake:g1", "op", "王姐"), now, "张三", "葡萄", 1, "坏果").status == "ok"
    short = day.short(a, Actor("fake:g3", "op", "李哥"), now, "鸡蛋", 3)
    assert [(ln.household.name, ln.amount) for ln in short.lines] == [("钱七", D("32.0"))]  # type: ignore[union-attr]
    assert day.refund(b, Actor("fake:g4", "op", "李哥"), now, "孙八", "脐橙", 1, "补发").detail["kind"] == "replace"
    assert day.refund(b, Actor("fake:g5", "op", "赵姐"), now, "吴十", "脐橙", 1, "坏了").status == "ok"
    yield {"cfg": str(cfg), "config": config, "repo": repo, "service": service, "deals": (old, a, b, dec)}
    repo.close()


def rows_of(month: dict[str, Any]) -> Any:
    return SqlOperatorStore(month["repo"].engine).load()


def test_the_month_settles_to_the_hand_computed_fen(month: dict[str, Any]) -> None:
    s = settlement(month["service"], month["config"], rows_of(month), NOV)
    got = {ln.leader_id: (ln.sales, ln.refunds, ln.net, ln.commission, ln.upline_share, ln.due) for ln in s.lines}
    assert got == {
        "wang": (D("211.50"), D("29.90"), D("181.60"), D("14.53"), D("1.13"), D("15.66")),
        "li": (D("205.30"), D("32.00"), D("173.30"), D("11.26"), D("0.00"), D("11.26")),
        "zhao": (D("109.40"), D("25.80"), D("83.60"), D("1.05"), D("0.00"), D("1.05")),
    }
    assert {g.group_id: (g.sales, g.refunds, g.net, g.orders) for g in s.groups} == {
        "g1": (D("117.6"), D("29.9"), D("87.7"), 3), "g2": (D("93.9"), D(0), D("93.9"), 1),
        "g3": (D("121.7"), D("32"), D("89.7"), 2), "g4": (D("83.6"), D(0), D("83.6"), 2),
        "g5": (D("109.4"), D("25.8"), D("83.6"), 1)}
    assert (s.sales, s.refunds, s.net, s.commission, s.upline_share, s.due, s.kept) == (
        D("526.2"), D("87.7"), D("438.5"), D("26.84"), D("1.13"), D("27.97"), D("410.53"))
    only = settlement(month["service"], month["config"], rows_of(month), NOV, leader="li")
    assert [ln.leader_id for ln in only.lines] == ["li"] and (only.sales, only.net) == (D("205.3"), D("173.3"))
    upline = settlement(month["service"], month["config"], rows_of(month), NOV, leader="wang")
    assert [(ln.leader_id, ln.upline_share, ln.due) for ln in upline.lines] == [("wang", D("1.13"), D("15.66"))]
    assert [g.group_id for g in upline.groups] == ["g1", "g2"] and upline.kept == D("181.6") - D("15.66")


def test_the_per_item_hook_pays_an_amount_per_unit_kept(month: dict[str, Any]) -> None:
    """鸡蛋 of round A at 1.5/盒 instead of the rate: wang's groups kept 3 (李四 1, 王五 2) → 4.5, the rest
    at 8%: (181.6 − 96) × 0.08 = 6.848 → 11.348 → 11.35; li's one egg (钱七) was short → 0, the rest
    (173.3 − (32 − 32)) × 0.065 = 11.2645 → 11.26 (wang's share 1.13 as before)."""
    a = month["deals"][1]
    s = settlement(month["service"], month["config"], rows_of(month), NOV,
                   per_item=lambda deal_id, code: D("1.5") if (deal_id, code) == (a, "2") else None)
    got = {ln.leader_id: (ln.commission, ln.upline_share) for ln in s.lines}
    assert got == {"wang": (D("11.35"), D("1.13")), "li": (D("11.26"), D("0.00")), "zhao": (D("1.05"), D("0.00"))}


def _export_totals(data: bytes) -> tuple[Decimal, Decimal]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header, total = rows[0], rows[-1]
    assert total[0] == m.EXPORT_TOTAL
    return D(total[header.index("金额")] or "0"), D(total[header.index("退款金额")] or "0")


def test_settlement_matches_the_exports_to_the_fen(month: dict[str, Any]) -> None:
    service, config = month["service"], month["config"]
    rows = rows_of(month)
    per_group: dict[str, list[Decimal]] = {g: [D(0), D(0)] for g in rows.platform.groups}
    for deal_id in month["deals"][1:3]:
        for g in rows.platform.groups.values():
            lists = deal_lists(service, config, deal_id, chat_key=g.chat_key)
            if not lists.views:
                continue
            sales, refunds = _export_totals(export_bytes(lists, config, "csv"))
            per_group[g.id][0] += sales
            per_group[g.id][1] += refunds
    s = settlement(service, config, rows, NOV)
    assert {g.group_id: [g.sales, g.refunds] for g in s.groups} == per_group
    for ln in s.lines:
        assert ln.sales == sum((per_group[g][0] for g in ln.groups), D(0))
        assert ln.refunds == sum((per_group[g][1] for g in ln.groups), D(0))


def test_tuan_settle_writes_xlsx_csv_and_a_table(month: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "nov.xlsx"
    assert main(["settle", "--from", "2026-11-01", "--to", "2026-11-30", "-o", str(out), "--config", month["cfg"]]) == 0
    wb = load_workbook(out)
    sheet = wb[pm.SHEET_SETTLE]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert [(r[0], r[4], r[6], r[8], r[9], r[10]) for r in rows[:3]] == [
        ("li", 205.3, 173.3, 11.26, 0, 11.26), ("wang", 211.5, 181.6, 14.53, 1.13, 15.66),
        ("zhao", 109.4, 83.6, 1.05, 0, 1.05)]
    assert rows[3][0] == pm.SETTLE_TOTAL and (rows[3][4], rows[3][8], rows[3][10]) == (526.2, 26.84, 27.97)
    assert rows[4][0] == pm.SETTLE_KEPT and rows[4][6] == 410.53
    assert sheet["E2"].number_format == '"¥"#,##0.00'
    groups = [[c.value for c in r] for r in wb[pm.SHEET_SETTLE_GROUPS].iter_rows(min_row=2)]
    assert [(r[0], r[2], r[3], r[7]) for r in groups] == [("g1", "wang", 2, 87.7), ("g2", "wang", 1, 93.9),
                                                         ("g3", "li", 1, 89.7), ("g4", "li", 1, 83.6),
                                                         ("g5", "zhao", 1, 83.6)]
    capsys.readouterr()
    assert main(["settle", "--from", "2026-11-01", "--to", "2026-11-30", "--leader", "wang", "--format", "csv",
                 "--config", month["cfg"]]) == 0
    lines = list(csv.reader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    assert lines[0] == list(pm.SETTLE_COLUMNS)
    assert lines[1] == ["wang", "王姐", "", "g1,g2", "211.50", "29.90", "181.60", "8%", "14.53", "1.13", "15.66"]
    assert main(["settle", "--from", "2026-11-01", "--to", "2026-11-30", "--config", month["cfg"]]) == 0
    assert "410.53" in capsys.readouterr().out
    assert main(["settle", "--from", "2026-11-01", "--to", "2026-11-30", "--leader", "nobody",
                 "--config", month["cfg"]]) == 2
    assert capsys.readouterr().err == "tuan: no leader 'nobody' (tuan leader list)\n"
    assert main(["settle", "--from", "2026-11-31", "--to", "2026-11-30", "--config", month["cfg"]]) == 2
    assert "is not a date" in capsys.readouterr().err
    # the reopened workbook of as_xlsx is what -o wrote
    assert as_xlsx(settlement(month["service"], month["config"], rows_of(month), NOV), rows_of(month))[:2] == b"PK"


def test_stats_per_day_and_group_with_repeat_buyers_and_a_png(month: dict[str, Any], tmp_path: Path,
                                                               capsys: Any) -> None:
    stats = day_stats(month["service"], month["config"], rows_of(month), NOV)
    assert [(s.day.isoformat(), s.group_id, s.orders, s.households, s.amount, s.repeat) for s in stats] == [
        ("2026-11-02", "g1", 2, 2, D("91.8"), 0), ("2026-11-02", "g2", 1, 1, D("93.9"), 0),
        ("2026-11-02", "g3", 2, 2, D("121.7"), 1),  # 赵六 bought in October
        ("2026-11-09", "g1", 1, 1, D("25.8"), 1),  # 张三 bought on 11-02
        ("2026-11-09", "g4", 2, 2, D("83.6"), 0), ("2026-11-09", "g5", 1, 1, D("109.4"), 0)]
    png = tmp_path / "sales.png"
    assert main(["stats", "--from", "2026-11-01", "--to", "2026-11-30", "--png", str(png),
                 "--config", month["cfg"]]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == list(pm.STATS_COLUMNS) and "121.70" in out
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 600 and height >= 400 and 10_000 < len(data) < 1_000_000


async def test_earnings_in_a_private_chat_and_the_operators_settlement(month: dict[str, Any], capsys: Any) -> None:
    config, repo = month["config"], month["repo"]
    assert main(["leader", "add", "boss", "--name", "老板", "--role", "operator", "--account",
                 f"fake:{sender_id_of('老板')}", "--config", month["cfg"]]) == 0
    clock = lambda: datetime(2026, 11, 20, 12, tzinfo=TZ)  # noqa: E731
    core = Core(service=OrderService(repo), config=config, clock=clock,
                directory=StoreDirectory(SqlPlatformStore(repo.engine)))
    chat = FakeAdapter("fake", Capabilities(), clock=clock)
    core.adapters["fake"] = chat
    dispatcher = Dispatcher(core)
    await chat.start(dispatcher)
    await chat.push("/收益", sender="王姐", chat_id="dm-wang", is_private=True)
    assert chat.pop_all()[-1].text == pm.EARNINGS.format(
        name="王姐", start="11月1日", end="11月30日", sales="211.50", refunds="29.90", net="181.60", rate="8%",
        commission="14.53", share="1.13", due="15.66")
    await chat.push("/earnings", sender="李哥", chat_id="g3", is_admin=True)
    assert chat.pop_all()[-1].text == pm.EARNINGS_PRIVATE_ONLY
    await chat.push("/佣金", sender="钱七", chat_id="dm-qian", is_private=True)
    assert chat.pop_all()[-1].text == m.PRIVATE_NO_GROUP  # a resident
    await chat.push("/收益", sender="钱七", chat_id="g3")
    assert chat.pop_all()[-1].text == m.NOT_LEADER
    # /settlement is the operators': a leader is refused, an operator gets the month's totals
    await chat.push("/结算", sender="王姐", chat_id="dm-wang", is_private=True)
    assert chat.pop_all()[-1].text == pm.SETTLEMENT_OPERATOR_ONLY
    await chat.push("/earnings", sender="老板", chat_id="dm-boss", is_private=True)
    assert chat.pop_all()[-1].text == pm.EARNINGS_NOT_LEADER
    await chat.push("/settlement", sender="老板", chat_id="dm-boss", is_private=True)
    assert chat.pop_all()[-1].text.splitlines() == [
        "📊 平台结算(11月1日 至 11月30日)",
        "李哥:净销售额 ¥173.30,佣金 ¥11.26,下级分成 ¥0.00,应付 ¥11.26",
        "王姐:净销售额 ¥181.60,佣金 ¥14.53,下级分成 ¥1.13,应付 ¥15.66",
        "赵姐:净销售额 ¥83.60,佣金 ¥1.05,下级分成 ¥0.00,应付 ¥1.05",
        "合计:销售额 ¥526.20,退款 ¥87.70,净销售额 ¥438.50",
        "应付团长 ¥27.97(佣金 ¥26.84 + 下级分成 ¥1.13),平台留存 ¥410.53"]
    await dispatcher.drain()
