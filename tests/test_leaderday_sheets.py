"""The leader's lists after a real evening and morning: what the leader recorded (pickup points, a short
delivery, refunds, payments, verifications) shows in the stocking list, the sorting list, /unpaid,
the XLSX export (reopened with openpyxl, cell by cell) and the PDF sheet.

Two groups (tests/test_leaderday.py's): 幸福里 (g1, points 东门 and 西门) with residents 1..20 of
``g1_line`` and 公园里 (g2, 北门) with 10 households, each group its own round of 水果鸡蛋团 (葡萄
29.90/盒, 脐橙 25.80/箱, 鸡蛋 32/盒). 30 households. By hand:

g1: resident i lives in building (i−1)%4+1, room 100·((i−1)//4+1)+1, orders 葡萄2 when i is odd
else 1, and 鸡蛋1 when i%5 == 0. 葡萄 10×2 + 10×1 = 30 (897.00), 鸡蛋 4 (128.00): 1025.00.
g2: 脐橙1 each (258.00), 葡萄1 for the first three (89.70): 347.70. The leader's day (/stock over
both): 葡萄 33 986.70, 脐橙 10 258.00, 鸡蛋 4 128.00, 1372.70, 30 households.

After the cutoff in g1:
- residents 11..15 chose 西门: 吴姐 3栋301 59.80, 郑大爷 4栋301 29.90, 孙姐 1栋401 59.80, 小林 2栋401
  29.90, 黄阿姨 3栋401 91.80 = 271.20; 东门 the other 15: 1025.00 − 271.20 = 753.80.
- /short 葡萄 26: residents 1..16 take 24, 17 (马姐) 2 = 26; 18 胡叔 short 1 (29.90), 19 朱阿姨
  short 2 (59.80), 20 罗大哥 short 1 (29.90): 119.60.
- /refund 王姐 葡萄 1 坏果: 29.90; /refund 陈老师 鸡蛋 1 破损 ¥10: 10.00. Refunds 159.50.
- /paid 王姐 (owes 59.80 − 29.90 = 29.90), /paid 张叔 20 (of 59.80), /paid 周阿姨 (61.90): 111.80.
- /unpaid: owed 1025.00 − 159.50 = 865.50, less 111.80 paid = 753.70, from 16 households (王姐 and
  周阿姨 paid up; 胡叔 and 朱阿姨 owe nothing after the short delivery).
- verified: 刘奶奶 (i=4) by code, 李阿姨 (i=2) by label, 小赵 (i=6) by a reply 已取.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.base import Capabilities
from bot import messages as m
from bot.config import config_from_dict
from bot.demo_script import NAMES
from bot.leaderday_commands import leaderday_of
from tests.pipeline import LEADER, Pipeline, make_pipeline
from tests.test_leaderday import PARK_LEADER, PHONE, deal_of, g1_line, said, two_groups

TZ = ZoneInfo("Asia/Shanghai")
G1, G2 = "fake:g1", "fake:g2"
MONEY = '"¥"#,##0.00'
EAST = [1, 5, 9, 17, 2, 6, 10, 18, 3, 7, 19, 4, 8, 16, 20]  # 跟团号 = resident number in g1
WEST = [13, 14, 11, 15, 12]


def name(i: int) -> str:
    return NAMES[i - 1]


def label(i: int) -> str:
    phone = f" {PHONE}" if i == 19 else ""
    return f"{(i - 1) % 4 + 1}栋{100 * ((i - 1) // 4 + 1) + 1} {name(i)}{phone}"


async def the_evening_and_morning(p: Pipeline, base: datetime) -> dict[str, str]:
    """Orders at base + i minutes, the leader's morning at base + 20 h; returns g1's pickup codes by name."""
    now = [base]
    p.core.clock = lambda: now[0]
    order_ids = {}
    for i in range(1, 21):
        sent = await p.chat.push(g1_line(i), sender=name(i), chat_id="g1", ts=base + timedelta(minutes=i))
        order_ids[i] = sent.message_id
    for j in range(1, 11):
        extra = " 葡萄1" if j <= 3 else ""
        await p.chat.push(f"{j}号楼1单元{j}01 {NAMES[19 + j]} 脐橙1{extra}", sender=NAMES[19 + j], chat_id="g2",
                          ts=base + timedelta(minutes=30 + j))
    for i in range(11, 16):
        assert await said(p, "自提 西门", sender=name(i)) == [m.POINT_CHOSEN.format(point="西门")]
    now[0] = base + timedelta(hours=1)
    for chat_id, who in (("g1", LEADER), ("g2", PARK_LEADER)):
        assert (await said(p, "/close", sender=who, chat_id=chat_id))[0].startswith(m.CLOSED)

    now[0] = base + timedelta(hours=20)
    day = leaderday_of(p.core)
    assert day is not None
    codes = {h.name: mk.pickup_code for h, mk in
             ((h, day.marks_for_deal(deal_of(p, G1))[h.key]) for h in day.households(deal_of(p, G1)))}
    short = await said(p, "/short 葡萄 26")
    assert short[0].endswith(m.SHORT_TOTAL.format(amount="119.60"))
    await said(p, "/refund 王姐 葡萄 1 坏果")
    await said(p, f"/refund {name(5)} 鸡蛋 1 破损 ¥10")
    await said(p, "/paid 王姐")
    await said(p, f"/paid {name(3)} 20")
    await said(p, f"/paid {name(10)}")
    await said(p, f"/verify {codes[name(4)]}")
    await said(p, "/picked 2栋101")
    now[0] += timedelta(minutes=5)
    assert (await said(p, "已取", reply_to=order_ids[6]))[0].startswith("✅")
    return codes


async def test_lists_and_exports_after_the_leaders_morning() -> None:
    config = config_from_dict(two_groups(), "test.toml", env={})
    p = await make_pipeline(Capabilities(reactions=True, files=True, direct=True), config=config)
    base = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    codes = await the_evening_and_morning(p, base)
    morning = base + timedelta(hours=20)

    # /unpaid (hand figures in the module docstring)
    [unpaid] = await said(p, "/unpaid")
    lines = unpaid.split("\n")
    assert lines[0] == m.UNPAID_TITLE.format(n=16, total="753.70") and len(lines) == 17
    assert m.UNPAID_ROW.format(who=f"1栋201 {name(5)}", owed="81.80", paid="0.00", due="81.80") in lines
    assert m.UNPAID_ROW.format(who=f"4栋501 {name(20)}", owed="32.00", paid="0.00", due="32.00") in lines
    assert m.UNPAID_ROW.format(who=f"3栋101 {name(3)}", owed="59.80", paid="20.00", due="39.80") in lines

    # the day's stocking list over both groups, privately
    [stock] = await said(p, "/stock", chat_id="dm", is_private=True)
    assert m.STOCK_TOTAL.format(qty=47, households=30, amount="1372.70") in stock
    rows = {ln.split()[0]: ln.split()[-2:] for ln in stock.splitlines() if ln.startswith(("阳光", "赣南", "土鸡蛋"))}
    assert rows == {"阳光玫瑰葡萄": ["33", "¥986.70"], "赣南脐橙": ["10", "¥258.00"], "土鸡蛋": ["4", "¥128.00"]}

    # the sorting list, privately: per point, by building and room, with the marks recorded
    p.chat.pop_all()
    await p.chat.push("/pickup", sender=LEADER, chat_id="g1")
    sorting, _said = p.chat.pop_all()
    text = sorting.text.splitlines()
    east_at = text.index(m.SORT_POINT.format(point="东门", households=15, amount="753.80"))
    west_at = text.index(m.SORT_POINT.format(point="西门", households=5, amount="271.20"))
    assert [int(r.split()[0][1:]) for r in text[east_at + 1:west_at]] == EAST
    assert [int(r.split()[0][1:]) for r in text[west_at + 1:]] == WEST
    assert m.SORT_ROW.format(number=1, who=label(1), goods="葡萄2盒", amount="59.80") + " [已付] [退¥29.90]" in text
    assert m.SORT_ROW.format(number=2, who=label(2), goods="葡萄1盒", amount="29.90") + " [已取]" in text
    assert m.SORT_ROW.format(number=10, who=label(10), goods="葡萄1盒 鸡蛋1盒", amount="61.90") + " [已付]" in text
    assert m.SORT_ROW.format(number=19, who=label(19), goods="葡萄2盒", amount="59.80") + " [退¥59.80]" in text

    # the export: /export sends the XLSX privately; reopened cell by cell
    from openpyxl import load_workbook

    p.chat.pop_all()
    await p.chat.push("/export", sender=LEADER, chat_id="g1")
    doc, _said = p.chat.pop_all()
    assert doc.kind == "file" and doc.message_id.endswith(".xlsx")
    wb = load_workbook(io.BytesIO(doc.data))
    ws = wb[m.SHEET_ORDERS]
    assert [c.value for c in ws[1]] == list(m.EXPORT_COLUMNS)
    assert ws.max_row == 1 + 24 + 1  # 20 households, 4 with eggs: 24 lines; the 合计
    at = {i: (base + timedelta(minutes=i)).astimezone(TZ).replace(tzinfo=None) for i in range(1, 21)}
    picked = f"已取 {morning.astimezone(TZ):%Y-%m-%d %H:%M}"
    grape, egg = ("阳光玫瑰葡萄 2斤装", "盒", 29.9), ("土鸡蛋 30枚", "盒", 32)

    def row(n: int) -> list[object]:
        return [c.value for c in ws[n]]

    code = {i: m.LIST_PICKUP_CODE.format(code=codes[name(i)]) for i in range(1, 21)}
    assert row(2) == [1, "王姐", label(1), "东门", *grape[:2], 2, 29.9, 59.8, "已付 ¥29.90", None, 29.9, code[1], at[1],
                      "幸福里团购群"]
    assert row(3) == [2, name(2), label(2), "东门", *grape[:2], 1, 29.9, 29.9, None, picked, None, code[2], at[2],
                      "幸福里团购群"]
    assert row(4)[9] == "部分付 ¥20.00" and row(4)[11] is None  # 张叔: 20 of 59.80
    assert row(5)[10] == picked  # 刘奶奶, by code
    # 陈老师 (#5): two lines; the ¥10 refund on the egg line, the 备注 on the first line only
    assert row(6)[:12] == [5, name(5), label(5), "东门", *grape[:2], 2, 29.9, 59.8, None, None, None]
    assert row(7) == [5, name(5), label(5), "东门", *egg[:2], 1, 32, 32, None, None, 10, None, at[5], "幸福里团购群"]
    assert row(8)[:2] == [6, name(6)]  # 小赵, verified by a reply five minutes later
    assert row(8)[10] == f"已取 {(morning + timedelta(minutes=5)).astimezone(TZ):%Y-%m-%d %H:%M}"
    # 西门's residents keep their point; 朱阿姨 (#19) short 2, her phone whole in the leader's file
    assert [r[3] for r in ws.iter_rows(min_row=2, max_row=25, values_only=True) if r[0] in WEST] == ["西门"] * 6
    [zhu] = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == 19]
    assert zhu[2] == label(19) and PHONE in zhu[2] and zhu[6:12] == (2, 29.9, 59.8, None, None, 59.8)
    [luo_grape, luo_egg] = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == 20]
    assert (luo_grape[4], luo_grape[11], luo_egg[4], luo_egg[11]) == (grape[0], 29.9, egg[0], None)
    assert row(26) == [m.EXPORT_TOTAL, None, None, None, None, None, 34, None, 1025, None, None, 159.5, None, None,
                       None]
    for r in (2, 7, 26):
        assert ws.cell(row=r, column=9).number_format == MONEY
    assert ws.cell(row=2, column=12).number_format == MONEY and ws.freeze_panes == "A2"

    stock_ws = wb[m.SHEET_STOCK]
    assert [[c.value for c in r] for r in stock_ws.iter_rows()] == [
        list(m.STOCK_COLUMNS), [*grape[:2], 30, 29.9, 897], [*egg[:2], 4, 32, 128], [m.EXPORT_TOTAL, None, 34, None, 1025]]

    sort_ws = wb[m.SHEET_SORT]
    sort_rows = [list(r) for r in sort_ws.iter_rows(min_row=2, values_only=True)]
    assert [r[1] for r in sort_rows] == EAST + WEST and [r[0] for r in sort_rows] == ["东门"] * 15 + ["西门"] * 5
    assert sort_rows[0] == ["东门", 1, label(1), "王姐", "葡萄2盒", 59.8, "已付 ¥29.90", None, 29.9,
                            code[1], "幸福里团购群"]
    assert sort_rows[4][:9] == ["东门", 2, label(2), name(2), "葡萄1盒", 29.9, None, "已取", None]
    assert round(sum(r[5] for r in sort_rows), 2) == 1025 and round(sum(r[8] or 0 for r in sort_rows), 2) == 159.5

    # the CSV (tuan export --format csv): the same cells as text
    from bot.usecases.lists import deal_lists, export_bytes
    from tests.sheets import csv_rows

    lists = deal_lists(p.core.service, p.core.config, deal_of(p, G1), chat_key=G1, titles={G1: "幸福里团购群"})
    csv = csv_rows(export_bytes(lists, p.core.config, "csv"))
    assert tuple(csv[0]) == m.EXPORT_COLUMNS and len(csv) == 26
    assert csv[1] == ["1", "王姐", label(1), "东门", *grape[:2], "2", "29.90", "59.80", "已付 ¥29.90", "", "29.90", code[1],
                      f"{at[1]:%Y-%m-%d %H:%M}", "幸福里团购群"]
    assert csv[-1][:12] == [m.EXPORT_TOTAL, "", "", "", "", "", "34", "", "1025.00", "", "", "159.50"]

    # the other group's export: its own round, its own households only
    p.chat.pop_all()
    await p.chat.push("/export", sender=PARK_LEADER, chat_id="g2")
    doc, _said = p.chat.pop_all()
    wb2 = load_workbook(io.BytesIO(doc.data))
    body = [list(r) for r in wb2[m.SHEET_ORDERS].iter_rows(min_row=2, values_only=True)]
    assert body[-1][6] == 13 and body[-1][8] == 347.7 and {r[3] for r in body[:-1]} == {"北门"}
    assert [r[0] for r in body[:-1]] == [1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10]

    # the same lists as the PDF sheet
    from tests.test_sheet_pdf import numbers_in, pages

    p.chat.pop_all()
    await p.chat.push("/pickup pdf", sender=LEADER, chat_id="g1")
    doc, _said = p.chat.pop_all()
    east, west = pages(doc.data)
    assert numbers_in(east) == EAST and numbers_in(west) == WEST
    assert m.PDF_POINT.format(point="西门", households=5, amount="271.20") in west and "已付 ¥29.90" in east
    assert east.count(m.MARK_PICKED) == 3 and east.count(m.PDF_NOT_PICKED) == 12
    await p.close()
