"""The leader's day after the cutoff: households and 跟团号, stocking list, sorting list, exports.

One store, built through the order service: two groups, 幸福里 (g1, pickup points 东门 and 西门) and
阳光花园 (g2, 南门), sharing today's 水果团 (葡萄 29.90/盒, 脐橙 25.80/箱, 鸡蛋 32/盒); g2 also has
蔬菜团 today (鸡蛋 32/盒, the same product, and 西兰花 6.50/颗). 30 households in all.

By hand, 水果团 (跟团号 in order of first order; 小李 #12 cancelled, so not listed):

g1 (东门, the default point): #1 王姐 3栋402 葡萄2, then 鸡蛋1 as a short reply: one household 91.80;
#2 李姐 5-1-302 脐橙1 25.80; #3 张三 12栋101 葡萄1 29.90; #4 赵磊 9-1-302 鸡蛋2 64.00; #5 刘
5号楼2单元301 葡萄1 脐橙1 55.70; #6 小周 3-201 鸡蛋1 32.00; #7 阿强 (no room) 葡萄3 89.70; #8 刘奶奶
6栋101, 王姐's proxy line, 葡萄2 59.80; #9 孙阿姨 2栋1102 脐橙2 51.60; #10 钱 2栋302 葡萄1 29.90; #11 陈
10栋2单元501 鸡蛋1 32.00; #13 吴 1栋101 脐橙1 25.80; #14 郑 (a phone number, no room) 葡萄2 59.80;
#15 冯 3栋2单元402 葡萄1 29.90; #16 何 4#201 鸡蛋1 32.00; #17 许 7-101 葡萄1 鸡蛋1 61.90; #18 韩
2栋302 脐橙1 25.80. 17 households, 797.40 (葡萄14 418.60, 脐橙6 154.80, 鸡蛋7 224.00).

g2 (南门): #19 老张 8栋601 鸡蛋2 64.00; #20 马 8-1-202 葡萄1 29.90; #21 朱 6栋301 脐橙1 25.80; #22 胡
(no label) 葡萄2 59.80; #23 林 11栋101 鸡蛋1 32.00; #24 高 8栋102 葡萄1, then 脐橙1: 55.70; #25 罗
5-2-101 鸡蛋1 32.00; #26 梁 9栋1单元1201 葡萄1 29.90; #27 宋奶奶 8栋301, 宋's proxy line, 鸡蛋1 32.00;
#28 唐 (no room) 葡萄1 鸡蛋1 61.90. 10 households, 423.00 (葡萄6 179.40, 脐橙2 51.60, 鸡蛋6 192.00).

水果团: 27 households, 1220.40 (葡萄20 598.00, 脐橙8 206.40, 鸡蛋13 416.00).
蔬菜团 (g2): #1 老张 西兰花2 13.00; #2 董 鸡蛋1 西兰花1 38.50; #3 萧 西兰花3 19.50: 71.00.
The day: 30 households, 1291.40 (葡萄20 598.00, 脐橙8 206.40, 鸡蛋14 448.00, 西兰花6 39.00);
g2's day: 13 households, 494.00 (葡萄6 179.40, 脐橙2 51.60, 鸡蛋7 224.00, 西兰花6 39.00).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.fake import sender_id_of
from bot import messages as m
from bot import render
from bot.catalog import Catalog, Item
from bot.cli import main
from bot.config import config_from_dict
from bot.leaderlists import Marks, household_views, sorting_list, sorting_text, stocking_list, stocking_text
from bot.model import InboundMessage
from bot.rooms import Room, parse_room, room_sort_key
from bot.services.households import proxy_label, proxy_of
from bot.services.orders import OrderService
from bot.usecases.lists import day_stock, deal_lists, export_bytes
from storage.sql import open_repository
from tests.sheets import csv_rows, xlsx_rows

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
G1, G2 = "fake:g1", "fake:g2"
POINTS = {G1: ("东门", "西门"), G2: ("南门",)}
TITLES = {G1: "幸福里", G2: "阳光花园"}


def fruit() -> Catalog:
    return Catalog(items=(
        Item("1", "阳光玫瑰葡萄 2斤装", "盒", Decimal("29.90"), aliases=("葡萄",)),
        Item("2", "赣南脐橙 5斤", "箱", Decimal("25.80"), aliases=("脐橙",)),
        Item("3", "土鸡蛋 30枚", "盒", Decimal("32"), aliases=("鸡蛋",)),
    ), title="水果团")


def veg() -> Catalog:
    return Catalog(items=(
        Item("1", "土鸡蛋 30枚", "盒", Decimal("32"), aliases=("鸡蛋",)),
        Item("2", "西兰花", "颗", Decimal("6.50"), aliases=("西兰花",)),
    ), title="蔬菜团")


FRUIT_ORDERS = [
    ("g1", "王姐", "3栋402 王姐 葡萄2"), ("g1", "李姐", "李姐 5-1-302 脐橙1"), ("g1", "张三", "12栋101 张三 葡萄1"),
    ("g1", "赵磊", "9-1-302 赵磊 鸡蛋2"), ("g1", "刘", "5号楼2单元301 刘 葡萄1 脐橙1"), ("g1", "小周", "3-201 小周 鸡蛋1"),
    ("g1", "阿强", "阿强 葡萄3"), ("g1", "王姐", "帮邻居6栋101刘奶奶 葡萄2"), ("g1", "孙阿姨", "2栋1102 孙阿姨 脐橙2"),
    ("g1", "钱", "2栋302 钱 葡萄1"), ("g1", "王姐", "鸡蛋1"), ("g1", "陈", "10栋2单元501 陈 鸡蛋1"),
    ("g1", "小李", "小李 葡萄1"), ("g1", "吴", "1栋101 吴 脐橙1"), ("g1", "郑", "郑 13812345678 葡萄2"),
    ("g1", "小李", "葡萄不要了"), ("g1", "冯", "3栋2单元402 冯 葡萄1"), ("g1", "何", "4#201 何 鸡蛋1"),
    ("g1", "许", "7-101 许 葡萄1 鸡蛋1"), ("g1", "韩", "韩 2栋302 脐橙1"),
    ("g2", "老张", "8栋601 老张 鸡蛋2"), ("g2", "马", "8-1-202 马 葡萄1"), ("g2", "朱", "朱 6栋301 脐橙1"),
    ("g2", "胡", "葡萄2"), ("g2", "林", "11栋101 林 鸡蛋1"), ("g2", "高", "8栋102 高 葡萄1"),
    ("g2", "罗", "5-2-101 罗 鸡蛋1"), ("g2", "梁", "梁 9栋1单元1201 葡萄1"), ("g2", "宋", "帮8栋301宋奶奶 鸡蛋1"),
    ("g2", "唐", "唐 葡萄1 鸡蛋1"), ("g2", "高", "脐橙1"),
]
VEG_ORDERS = [("g2", "老张", "8栋601 老张 西兰花2"), ("g2", "董", "7栋202 董 鸡蛋1 西兰花1"), ("g2", "萧", "萧 西兰花3")]


@dataclass
class Day:
    svc: OrderService
    fruit: str
    veg: str
    config_path: Path
    times: dict[str, datetime]  # the first message of each sender (aware)


@pytest.fixture
def day(tmp_path: Path) -> Day:
    return build_day(tmp_path)


def build_day(tmp_path: Path) -> Day:
    """The store of the module docstring, with its tuan.toml, under ``tmp_path``."""
    url = f"sqlite:///{tmp_path / 'tuan.db'}"
    svc = OrderService(open_repository(url))
    fruit_id = svc.open_deal(fruit(), [G1, G2], title="水果团")
    times: dict[str, datetime] = {}
    n = 0
    for chat, who, text in FRUIT_ORDERS:
        n += 1
        ts = T0 + timedelta(minutes=n)
        times.setdefault(who, ts)
        out = svc.handle(InboundMessage("fake", chat, f"m{n}", sender_id_of(who), who, text, ts))
        assert out.accepted, text
    veg_id = svc.open_deal(veg(), [G2], title="蔬菜团")  # g2's round is now 蔬菜团; 水果团 keeps its orders
    for chat, who, text in VEG_ORDERS:
        n += 1
        out = svc.handle(InboundMessage("fake", chat, f"m{n}", sender_id_of(who), who, text, T0 + timedelta(minutes=n)))
        assert out.accepted, text
    config = tmp_path / "tuan.toml"
    config.write_text(f"""
[store]
url = "{url}"

[[groups]]
id = "home"
platform = "fake"
chat = "g1"
title = "幸福里"
pickup_points = ["东门", "西门"]

[[groups]]
id = "park"
platform = "fake"
chat = "g2"
title = "阳光花园"
pickup_points = ["南门"]
""", encoding="utf-8")
    return Day(svc, fruit_id, veg_id, config, times)


def opened_day(day: Day) -> date:
    """The fixture's deals, 水果团 then 蔬菜团, pinned as opened at noon in Shanghai of the day 水果团
    was opened; that day. (Not "today": midnight may pass during the fixture or after it.)"""
    from sqlalchemy import update

    from storage.models import DEALS

    row = day.svc.repo.get_deal(day.fruit)
    assert row is not None
    on = row.created_at.astimezone(TZ).date()
    noon = datetime(on.year, on.month, on.day, 12, tzinfo=TZ)
    with day.svc.repo.engine.begin() as conn:  # type: ignore[attr-defined]
        for deal_id, at in ((day.fruit, noon), (day.veg, noon + timedelta(minutes=1))):
            conn.execute(update(DEALS).where(DEALS.c.id == deal_id).values(created_at=at))
    return on


def app_config(day: Day):  # type: ignore[no-untyped-def]
    from bot.runtime import read_config

    return read_config(str(day.config_path))


# --- rooms and households, as tables ------------------------------------------------------------------


@pytest.mark.parametrize("label, room", [
    ("3栋402", Room(3, 0, 402)),
    ("3-402", Room(3, 0, 402)),
    ("9-1-302", Room(9, 1, 302)),
    ("5号楼2单元301", Room(5, 2, 301)),
    ("李姐 5-1-302", Room(5, 1, 302)),
    ("3栋2单元402 冯", Room(3, 2, 402)),
    ("4#201 何", Room(4, 0, 201)),
    ("梁 9栋1单元1201", Room(9, 1, 1201)),
    ("３栋４０２ 王姐", Room(3, 0, 402)),  # full-width digits
    ("3—402", Room(3, 0, 402)),  # a long dash
    ("帮邻居6栋101刘奶奶", Room(6, 0, 101)),
    ("郑 13812345678", None),  # a phone number is no room
    ("阿强", None),
    ("", None),
])
def test_rooms_read_from_labels(label: str, room: Room | None) -> None:
    assert parse_room(label) == room


def test_natural_sort_order_of_labels() -> None:
    labels = ["阿强", "12栋101 张三", "3栋402 王姐", "3-201 小周", "李姐 5-1-302", "9-1-302 赵磊", "5号楼2单元301 刘",
              "2栋1102 孙阿姨", "郑 13812345678", "3栋2单元402 冯", "2栋302 钱", "1栋101 吴"]
    assert sorted(labels, key=room_sort_key) == [
        "1栋101 吴", "2栋302 钱", "2栋1102 孙阿姨", "3-201 小周", "3栋402 王姐", "3栋2单元402 冯", "李姐 5-1-302",
        "5号楼2单元301 刘", "9-1-302 赵磊", "12栋101 张三",
        "郑 13812345678", "阿强",  # no room: last (by their text)
    ]


@pytest.mark.parametrize("label, proxy, shown", [
    ("帮邻居6栋101刘奶奶", "6栋101刘奶奶", "6栋101刘奶奶"),
    ("帮6栋101 刘奶奶", "6栋101刘奶奶", "6栋101 刘奶奶"),  # the same neighbour as above
    ("替楼上 7-302 孙", "7-302孙", "7-302 孙"),
    ("代6-1-101 刘奶奶", "6-1-101刘奶奶", "6-1-101 刘奶奶"),
    ("给隔壁王阿姨", "王阿姨", "王阿姨"),
    ("帮我妈", "", "帮我妈"),  # 帮我…: the resident's own order
    ("代", "", "代"),  # a proxy word and nobody named
    ("3栋402 王姐", "", "3栋402 王姐"),
    ("", "", ""),
])
def test_proxy_lines(label: str, proxy: str, shown: str) -> None:
    assert proxy_of(label) == proxy
    assert proxy_label(label) == shown


# --- households and 跟团号 on the day's store -----------------------------------------------------------


def test_a_resident_with_a_jielong_line_and_a_short_reply_is_one_household(day: Day) -> None:
    tally = day.svc.tally(day.fruit, G1)
    homes = render.households(tally, fruit())
    assert len(homes) == 17
    [wang] = [h for h in homes if h.sender_id == sender_id_of("王姐") and not h.proxy]
    assert (wang.number, wang.who, wang.items, wang.labels) == (1, "3栋402 王姐", {"1": 2, "3": 1}, ["3栋402 王姐", ""])
    [granny] = [h for h in homes if h.proxy]
    assert (granny.number, granny.sender_id, granny.label, granny.items) == (8, sender_id_of("王姐"), "6栋101刘奶奶",
                                                                             {"1": 2})
    listing = render.jielong_list(tally, fruit(), title="水果团")
    assert m.LIST_TITLE.format(title="水果团", n=17) in listing
    assert "1. 3栋402 王姐 葡萄2 鸡蛋1" in listing.splitlines()
    whole = render.tally_table(day.svc.tally(day.fruit), fruit(), title="水果团")
    assert m.TALLY_TOTAL.format(amount="1220.40", households=27) in whole


def test_order_numbers_follow_first_orders_and_survive_a_cancellation(day: Day) -> None:
    tally = day.svc.tally(day.fruit)
    views = household_views(tally, fruit(), group_points=POINTS, group_titles=TITLES)
    assert [v.number for v in views] == [n for n in range(1, 29) if n != 12]  # 小李 #12 cancelled everything
    assert len(set(tally.numbers.values())) == 28 and tally.numbers[(G1, sender_id_of("小李"), "")] == 12
    by_number = {v.number: v for v in views}
    assert (by_number[24].who, by_number[24].amount) == ("高", Decimal("55.70"))  # 接龙 line + short reply
    assert (by_number[27].who, by_number[27].label, by_number[27].room) == ("宋", "8栋301宋奶奶", Room(8, 0, 301))
    assert (by_number[22].who, by_number[22].label, by_number[22].room) == ("胡", "", None)
    assert sum((v.amount for v in views), Decimal(0)) == Decimal("1220.40")
    assert {v.pickup_point for v in views if v.chat_key == G1} == {"东门"}  # the group's first point
    assert {v.pickup_point for v in views if v.chat_key == G2} == {"南门"}
    # a resident's chosen point (the other tables' data) wins over the default
    chosen = household_views(tally, fruit(), group_points=POINTS, points={(G1, sender_id_of("李姐")): "西门"})
    assert {v.who: v.pickup_point for v in chosen if v.chat_key == G1}["李姐"] == "西门"
    times = day.svc.order_times(tally)
    assert times[(G1, sender_id_of("王姐"), "")] == day.times["王姐"]
    assert times[(G2, sender_id_of("宋"), "8栋301宋奶奶")] == day.times["宋"]


def test_stocking_list_of_a_deal_and_of_the_day(day: Day) -> None:
    stock = stocking_list([(day.svc.tally(day.fruit), fruit())])
    assert [(s.name, s.spec, s.price, s.qty, s.amount) for s in stock.lines] == [
        ("阳光玫瑰葡萄 2斤装", "盒", Decimal("29.90"), 20, Decimal("598.00")),
        ("赣南脐橙 5斤", "箱", Decimal("25.80"), 8, Decimal("206.40")),
        ("土鸡蛋 30枚", "盒", Decimal("32"), 13, Decimal("416")),
    ]
    assert (stock.households, stock.amount, stock.qty) == (27, Decimal("1220.40"), 41)
    config = app_config(day)
    today = opened_day(day)
    ids, whole = day_stock(day.svc, config, today)
    assert ids == [day.fruit, day.veg]
    assert [(s.name, s.qty, s.amount) for s in whole.lines] == [
        ("阳光玫瑰葡萄 2斤装", 20, Decimal("598.00")), ("赣南脐橙 5斤", 8, Decimal("206.40")),
        ("土鸡蛋 30枚", 14, Decimal("448")), ("西兰花", 6, Decimal("39.00")),
    ]
    assert (whole.households, whole.amount) == (30, Decimal("1291.40"))
    _ids, park = day_stock(day.svc, config, today, [G2])
    assert [(s.name, s.qty, s.amount) for s in park.lines] == [
        ("阳光玫瑰葡萄 2斤装", 6, Decimal("179.40")), ("赣南脐橙 5斤", 2, Decimal("51.60")),
        ("土鸡蛋 30枚", 7, Decimal("224")), ("西兰花", 6, Decimal("39.00")),
    ]
    assert (park.households, park.amount) == (13, Decimal("494.00"))
    assert day_stock(day.svc, config, today - timedelta(days=1))[0] == []
    text = stocking_text(whole, title="今天")
    assert m.STOCK_TOTAL.format(qty=48, households=30, amount="1291.40") in text and "西兰花" in text


SORTED_EAST = [13, 10, 18, 9, 6, 1, 15, 16, 2, 5, 8, 17, 4, 11, 3, 7, 14]
SORTED_SOUTH = [25, 21, 24, 27, 19, 20, 26, 23, 22, 28]


def test_sorting_list_per_pickup_point_by_building_and_room(day: Day) -> None:
    views = household_views(day.svc.tally(day.fruit), fruit(), group_points=POINTS, group_titles=TITLES)
    points = sorting_list(views, point_order=["东门", "西门", "南门"])
    assert [p.point for p in points] == ["东门", "南门"]
    assert [h.number for h in points[0].households] == SORTED_EAST
    assert [h.number for h in points[1].households] == SORTED_SOUTH
    assert (points[0].amount, points[1].amount) == (Decimal("797.40"), Decimal("423.00"))
    marks = {(G1, sender_id_of("王姐")): Marks(paid=True),
             (G1, sender_id_of("王姐"), "6栋101刘奶奶"): Marks(picked=True, refunds={"1": Decimal("29.90")})}
    marked = household_views(day.svc.tally(day.fruit, G1), fruit(), group_points=POINTS, marks=marks)
    text = sorting_text(sorting_list(marked), title="水果团")
    lines = text.splitlines()
    assert lines[0] == m.SORT_TITLE.format(title="水果团", households=17)
    assert lines[1] == m.SORT_POINT.format(point="东门", households=17, amount="797.40")
    assert lines[2] == m.SORT_ROW.format(number=13, who="1栋101 吴", goods="脐橙1箱", amount="25.80")
    assert m.SORT_ROW.format(number=1, who="3栋402 王姐", goods="葡萄2盒 鸡蛋1盒", amount="91.80") + " [已付]" in lines
    assert (m.SORT_ROW.format(number=8, who="6栋101刘奶奶" + m.SORT_PROXY.format(who="王姐"), goods="葡萄2盒",
                              amount="59.80") + " [已取] [退¥29.90]") in lines
    assert lines[-1] == m.SORT_ROW.format(number=14, who="郑 13812345678", goods="葡萄2盒", amount="59.80")


# --- exports ------------------------------------------------------------------------------------------


def test_xlsx_export_cell_by_cell(day: Day) -> None:
    from openpyxl import load_workbook

    config = app_config(day)
    marks = {(G1, sender_id_of("王姐")): Marks(paid=True, paid_amount=Decimal("91.80")),
             (G1, sender_id_of("李姐")): Marks(picked=True, refunds={"2": Decimal("25.80")}, note="坏果"),
             (G1, sender_id_of("王姐"), "6栋101刘奶奶"): Marks(refunds={"": Decimal("5")})}
    lists = deal_lists(day.svc, config, day.fruit, chat_key=G1, titles=TITLES, marks=marks, pickup_points=POINTS)
    data = export_bytes(lists, config, "xlsx", POINTS)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == [m.SHEET_ORDERS, m.SHEET_STOCK, m.SHEET_SORT]
    ws = wb[m.SHEET_ORDERS]
    assert [c.value for c in ws[1]] == list(m.EXPORT_COLUMNS)
    assert all(c.font.b for c in ws[1])
    wang_at = day.times["王姐"].astimezone(TZ).replace(tzinfo=None)
    assert [c.value for c in ws[2]] == [1, "王姐", "3栋402 王姐", "东门", "阳光玫瑰葡萄 2斤装", "盒", 2, 29.9, 59.8,
                                        "已付 ¥91.80", None, None, None, wang_at, "幸福里"]
    assert [c.value for c in ws[3]][:9] == [1, "王姐", "3栋402 王姐", "东门", "土鸡蛋 30枚", "盒", 1, 32, 32]
    li = [c.value for c in ws[4]]
    assert li[:9] == [2, "李姐", "李姐 5-1-302", "东门", "赣南脐橙 5斤", "箱", 1, 25.8, 25.8]
    assert li[9:13] == [None, "已取", 25.8, "坏果"]
    granny = next([c.value for c in row] for row in ws.iter_rows(min_row=2) if row[0].value == 8)
    assert granny[1:4] == ["王姐", "6栋101刘奶奶", "东门"] and granny[11] == 5 and granny[12] == "王姐代订"
    for row, name in [(2, "单价"), (2, "金额"), (4, "退款金额")]:  # (an empty cell is not written at all)
        assert ws.cell(row=row, column=m.EXPORT_COLUMNS.index(name) + 1).number_format == '"¥"#,##0.00'
    assert ws.cell(row=2, column=14).number_format == "yyyy-mm-dd hh:mm"
    assert ws.cell(row=2, column=7).data_type == "n" and ws.cell(row=2, column=9).data_type == "n"
    total = [c.value for c in ws[ws.max_row]]
    assert total[0] == m.EXPORT_TOTAL and total[6] == 27 and total[8] == 797.4 and total[11] == 30.8
    assert ws.max_row == 1 + 20 + 1  # 17 households, 20 (household, item) lines, the total
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["E"].width == 2 + len("阳光玫瑰葡萄 2斤装".encode("gbk"))  # CJK counts two

    stock = wb[m.SHEET_STOCK]
    assert [[c.value for c in row] for row in stock.iter_rows()] == [
        list(m.STOCK_COLUMNS), ["阳光玫瑰葡萄 2斤装", "盒", 14, 29.9, 418.6], ["赣南脐橙 5斤", "箱", 6, 25.8, 154.8],
        ["土鸡蛋 30枚", "盒", 7, 32, 224], [m.EXPORT_TOTAL, None, 27, None, 797.4]]
    assert stock.freeze_panes == "A2" and stock["E2"].number_format == '"¥"#,##0.00'

    sort = wb[m.SHEET_SORT]
    assert [c.value for c in sort[1]] == list(m.SORT_COLUMNS)
    assert [row[1].value for row in sort.iter_rows(min_row=2)] == SORTED_EAST
    assert [c.value for c in sort[7]] == ["东门", 1, "3栋402 王姐", "王姐", "葡萄2盒 鸡蛋1盒", 91.8, "已付 ¥91.80", None,
                                          None, None, "幸福里"]
    assert sort.freeze_panes == "A2" and sort["F2"].number_format == '"¥"#,##0.00'


def test_csv_export_has_the_same_columns(day: Day) -> None:
    config = app_config(day)
    lists = deal_lists(day.svc, config, day.fruit, titles=TITLES, pickup_points=POINTS)
    rows = csv_rows(export_bytes(lists, config, "csv"))
    assert tuple(rows[0]) == m.EXPORT_COLUMNS
    wang_at = f"{day.times['王姐'].astimezone(TZ):%Y-%m-%d %H:%M}"
    from bot.usecases.leaderday import marks_for_deal

    codes = {sid: mk.pickup_code for (_ck, sid), mk in marks_for_deal(day.svc.repo, day.fruit).items()}
    assert rows[1][:12] == ["1", "王姐", "3栋402 王姐", "东门", "阳光玫瑰葡萄 2斤装", "盒", "2", "29.90", "59.80", "", "",
                            ""]
    # the 备注 column carries the household's pickup code (核销), as the leader's records hold it
    assert rows[1][12] in {m.LIST_PICKUP_CODE.format(code=c) for c in codes.values()}
    assert rows[1][13:] == [wang_at, "幸福里"]
    assert rows[-1][0] == m.EXPORT_TOTAL and rows[-1][6] == "41" and rows[-1][8] == "1220.40"
    with pytest.raises(ValueError):
        export_bytes(lists, config, "pdf")


# --- the CLI ------------------------------------------------------------------------------------------


def tuan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_tuan_pickup_prints_the_sorting_list(day: Day, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = tuan(capsys, "pickup", "--deal", day.fruit, "--config", str(day.config_path))
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("📦 水果团") and lines[0].endswith("(共27户)")
    assert lines[1] == m.SORT_POINT.format(point="东门", households=17, amount="797.40")
    east = [int(x.split()[0][1:]) for x in lines[2:19]]
    assert east == SORTED_EAST
    assert lines[19] == m.SORT_POINT.format(point="南门", households=10, amount="423.00")
    assert [int(x.split()[0][1:]) for x in lines[20:]] == SORTED_SOUTH
    assert tuan(capsys, "pickup", "--deal", "nope", "--config", str(day.config_path))[0] == 2


def test_tuan_pickup_pdf_is_refused_on_a_terminal_and_given_to_a_pipe(
        day: Day, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    args = ("pickup", "--deal", day.fruit, "--format", "pdf", "--config", str(day.config_path))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    status, out, err = tuan(capsys, *args)
    assert status == 2 and out == ""
    assert "binary" in err and "-o FILE" in err and "\n" == err[-1] and err.count("\n") == 1
    monkeypatch.undo()
    piped = subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, timeout=120)
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout.startswith(b"%PDF-")


def test_tuan_stock_prints_the_days_stocking_list(day: Day, capsys: pytest.CaptureFixture[str]) -> None:
    today = opened_day(day)
    status, out, err = tuan(capsys, "stock", "--date", today.isoformat(), "--config", str(day.config_path))
    assert status == 0, err
    assert m.STOCK_TOTAL.format(qty=48, households=30, amount="1291.40") in out
    assert any(line.split()[:4] == ["土鸡蛋", "30枚", "盒", "14"] for line in out.splitlines())
    assert f"deals: {day.fruit}, {day.veg}" in out
    status, out, err = tuan(capsys, "stock", "--date", today.isoformat(), "--group", "park",
                            "--config", str(day.config_path))
    assert status == 0 and m.STOCK_TOTAL.format(qty=21, households=13, amount="494.00") in out
    assert tuan(capsys, "stock", "--date", "yesterday", "--config", str(day.config_path))[0] == 2
    assert tuan(capsys, "stock", "--date", date(2020, 1, 1).isoformat(), "--config",
                str(day.config_path))[1].splitlines()[-1] == m.STOCK_EMPTY


def test_tuan_export_writes_xlsx_or_csv(day: Day, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "水果团.xlsx"
    status, _, err = tuan(capsys, "export", "--deal", day.fruit, "-o", str(out_file), "--config", str(day.config_path))
    assert status == 0, err
    assert (out_file.stat().st_mode & 0o777) == 0o600
    rows = xlsx_rows(out_file.read_bytes())
    assert tuple(rows[0]) == m.EXPORT_COLUMNS and rows[-1][8] == 1220.4
    assert {r[3] for r in rows[1:-1]} == {"东门", "南门"}
    sort = xlsx_rows(out_file.read_bytes(), m.SHEET_SORT)
    assert [r[1] for r in sort[1:]] == SORTED_EAST + SORTED_SOUTH
    csv_file = tmp_path / "x.txt"
    status, _, err = tuan(capsys, "export", "--deal", day.fruit, "--format", "csv", "-o", str(csv_file),
                          "--config", str(day.config_path))
    assert status == 0, err
    assert tuple(csv_rows(csv_file.read_bytes())[0]) == m.EXPORT_COLUMNS


# --- the chat -----------------------------------------------------------------------------------------


async def test_my_shows_the_order_numbers_and_stock_the_stocking_list() -> None:
    from adapters.base import Capabilities
    from tests.pipeline import LEADER, make_pipeline

    p = await make_pipeline(Capabilities(reactions=True))
    await p.chat.push("3栋402 王姐 葡萄2", sender="王姐")
    await p.chat.push("5栋101 阿强 鸡蛋1", sender="阿强")
    await p.chat.push("帮邻居6栋101刘奶奶 葡萄1", sender="王姐")
    await p.chat.push("鸡蛋1", sender="王姐")
    p.chat.pop_all()
    await p.chat.push("/my", sender="王姐")
    numbers = "、".join([m.MY_NUMBER_ONE.format(number=1), m.MY_NUMBER_PROXY.format(number=3, who="6栋101刘奶奶")])
    first = p.chat.pop().text.splitlines()[0]  # then its marks, no code in a group (tests/test_leaderday.py)
    assert first.endswith(m.MY_NUMBER.format(numbers=numbers))
    await p.chat.push("/备货", sender=LEADER)
    text = p.chat.pop().text
    assert "阳光玫瑰葡萄 2斤装" in text and m.STOCK_TOTAL.format(qty=5, households=3, amount="153.70") in text
    await p.chat.push("/stock", sender="阿强")
    assert p.chat.pop().text == m.NOT_LEADER
    await p.close()


# --- /history and `tuan deals` count households as the tally does ----------------------------------------


def test_rounds_count_households_as_the_tally_does(day: Day) -> None:
    from bot.usecases.history import engine_of, show_round
    from storage.history import reading

    with reading(engine_of(day.svc.repo)) as conn:
        r = show_round(conn, app_config(day), day.fruit)
    assert (r.households, r.amount) == (27, Decimal("1220.40"))
    assert {g.chat_key: g.households for g in r.groups} == {G1: 17, G2: 10}


def test_proxy_households_count_alike_in_rounds_and_tally(tmp_path: Path) -> None:
    from bot.usecases.history import engine_of
    from storage.history import reading, round_of

    svc = OrderService(open_repository(f"sqlite:///{tmp_path / 't.db'}"))
    deal = svc.open_deal(fruit(), [G1], title="水果团")
    # 葡萄减1 is read under 王姐's latest label (the proxy line's): it comes off 刘奶奶's 葡萄
    lines = [("王姐", "3栋402 王姐 葡萄1"), ("王姐", "帮6栋101刘奶奶 葡萄2"), ("王姐", "葡萄减1"),
             ("阿强", "5栋101 阿强 鸡蛋1"), ("阿强", "帮7栋1单元202 孙 鸡蛋1"), ("阿强", "帮7栋1单元202孙 脐橙1")]
    for n, (who, text) in enumerate(lines, 1):
        assert svc.handle(InboundMessage("fake", "g1", f"m{n}", sender_id_of(who), who, text,
                                         T0 + timedelta(minutes=n))).accepted, text
    homes = render.households(svc.tally(deal), fruit())
    assert sorted((h.number, h.label, h.items) for h in homes) == [
        (1, "3栋402 王姐", {"1": 1}), (2, "6栋101刘奶奶", {"1": 1}), (3, "5栋101 阿强", {"3": 1}),
        (4, "7栋1单元202 孙", {"2": 1, "3": 1})]  # 帮7栋1单元202 孙 and 帮7栋1单元202孙: one neighbour
    with reading(engine_of(svc.repo)) as conn:
        row = round_of(conn, deal)
    assert row is not None and row.households == len(homes) == 4


def test_a_decrease_under_another_label_comes_off_the_first_labels_alike() -> None:
    from bot.ports import EntryRow
    from bot.services.orders import build_tally
    from storage.history import _fold

    def entry(n: int, who: str, label: str, item: str, qty: int) -> EntryRow:
        return EntryRow(n, "d", G1, who, who, label, item, qty, "entry" if qty > 0 else "sub", f"m{n}", n)

    entries = [entry(1, "w", "3栋402 王姐", "1", 1), entry(2, "w", "帮6栋101刘奶奶", "1", 2), entry(3, "w", "", "1", -1),
               entry(4, "q", "", "3", 1), entry(5, "q", "帮邻居孙", "3", 1), entry(6, "q", "", "3", -2)]
    homes = render.households(build_tally("d", fruit(), entries), fruit())
    assert [(h.sender_id, h.proxy, h.items) for h in homes] == [("w", "6栋101刘奶奶", {"1": 2})]
    rows = [("d", e.chat_key, e.sender_id, e.item_code, e.label, e.qty, e.id) for e in entries]
    assert _fold(rows) == ({"d": {"1": 2}}, {"d": {G1: 1}})


async def test_pickup_sends_the_sorting_list_by_pickup_point_privately() -> None:
    from adapters.base import Capabilities
    from tests.pipeline import LEADER, config_dict, make_pipeline

    data = config_dict()
    data["groups"][0]["pickup_points"] = ["东门快递柜", "西门"]
    p = await make_pipeline(Capabilities(reactions=True, direct=True), config=config_from_dict(data, "t.toml", env={}))
    for who, text in [("王姐", "3栋402 王姐 葡萄2"), ("阿强", "12栋101 阿强 鸡蛋1"), ("李姐", "李姐 5-1-302 葡萄1"),
                      ("胡", "葡萄1"), ("王姐", "帮邻居6栋101刘奶奶 葡萄2"), ("王姐", "鸡蛋1")]:
        await p.chat.push(text, sender=who)
    p.chat.pop_all()
    await p.chat.push("/分拣", sender=LEADER)
    private, said = p.chat.pop_all()
    assert said.text == m.SENT_PRIVATELY and private.chat_id == sender_id_of(LEADER)
    assert private.text.splitlines()[2:] == [
        m.SORT_POINT.format(point="东门快递柜", households=5, amount="243.40"),
        m.SORT_ROW.format(number=1, who="3栋402 王姐", goods="葡萄2盒 鸡蛋1盒", amount="91.80"),
        m.SORT_ROW.format(number=3, who="李姐 5-1-302", goods="葡萄1盒", amount="29.90"),
        m.SORT_ROW.format(number=5, who="6栋101刘奶奶" + m.SORT_PROXY.format(who="王姐"), goods="葡萄2盒",
                          amount="59.80"),
        m.SORT_ROW.format(number=2, who="12栋101 阿强", goods="鸡蛋1盒", amount="32.00"),
        m.SORT_ROW.format(number=4, who="胡", goods="葡萄1盒", amount="29.90"),
    ]
    await p.close()
