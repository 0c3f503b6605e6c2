"""Deal posts as leaders write them (spec §3.1): prices, tiers, the cutoff line, the title."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from bot.catalog import CatalogError, load_catalog
from bot.engine.dealpost import parse_deal_post

CST = timezone(timedelta(hours=8))
POSTED = datetime(2026, 11, 25, 19, 0, tzinfo=CST)


def test_price_on_the_next_line_and_tier_prices() -> None:
    cat = parse_deal_post("#接龙 年货预购\n1) 水饺(50颗装) 22元/2包42元\n(2)砂锅鱼头\n一包23元\n"
                          "（3）三丝卷 一组2条15元\n例:3栋402 王姐 水饺1", POSTED)
    assert cat is not None
    assert [(i.code, i.name, i.price) for i in cat.items] == [
        ("1", "水饺(50颗装)", Decimal("22")), ("2", "砂锅鱼头", Decimal("23")), ("3", "三丝卷 一组2条", Decimal("15"))]


def test_a_line_without_price_and_no_price_after_it_is_no_item() -> None:
    cat = parse_deal_post("#接龙\n1. 葡萄 29.9元/盒\n2. 神秘水果\n3. 鸡蛋 32元", POSTED)
    assert cat is not None and [i.code for i in cat.items] == ["1", "3"]
    assert cat.items[0].unit == "盒"


@pytest.mark.parametrize("line, at", [
    ("今晚8点截单", datetime(2026, 11, 25, 20, 0, tzinfo=CST)),
    ("21:00截单", datetime(2026, 11, 25, 21, 0, tzinfo=CST)),
    ("明天中午12点截单", datetime(2026, 11, 26, 12, 0, tzinfo=CST)),
    ("晚上9点半截单", datetime(2026, 11, 25, 21, 30, tzinfo=CST)),
    ("截单时间：今晚九点", datetime(2026, 11, 25, 21, 0, tzinfo=CST)),
    ("8点截单", datetime(2026, 11, 25, 20, 0, tzinfo=CST)),  # 8 o'clock has passed at 19:00: the evening
    ("明早10点截单", datetime(2026, 11, 26, 10, 0, tzinfo=CST)),
    ("今晚8点截单，明天下午3点到货", datetime(2026, 11, 25, 20, 0, tzinfo=CST)),
    ("11月26日下午5点截单", datetime(2026, 11, 26, 17, 0, tzinfo=CST)),
    ("21：30 截止接龙", datetime(2026, 11, 25, 21, 30, tzinfo=CST)),
    # midnight ends the evening: not the noon already past (every order would be refused)
    ("今晚12点截单", datetime(2026, 11, 26, 0, 0, tzinfo=CST)),
    ("晚上12点截单", datetime(2026, 11, 26, 0, 0, tzinfo=CST)),
    ("今晚零点截单", datetime(2026, 11, 26, 0, 0, tzinfo=CST)),
    ("今晚24点截单", datetime(2026, 11, 26, 0, 0, tzinfo=CST)),
    ("中午12点截单", datetime(2026, 11, 26, 12, 0, tzinfo=CST)),  # said at 19:00: tomorrow's noon
    ("周四晚8点截单", datetime(2026, 11, 26, 20, 0, tzinfo=CST)),  # posted on Wednesday 25th
    ("星期三晚上8点截单", datetime(2026, 11, 25, 20, 0, tzinfo=CST)),
    ("周一中午12点截单", datetime(2026, 11, 30, 12, 0, tzinfo=CST)),
])
def test_the_cutoff_line(line: str, at: datetime) -> None:
    for text in (f"#接龙 今日水果\n{line}\n1. 葡萄 29.9元\n2. 鸡蛋 32元", f"#接龙\n1. 葡萄 29.9元\n2. 鸡蛋 32元\n{line}"):
        cat = parse_deal_post(text, POSTED)
        assert cat is not None and cat.cutoff == at, text
        assert cat.cutoff.utcoffset() == timedelta(hours=8)


def test_the_cutoff_is_in_the_posts_time_zone() -> None:
    posted = datetime(2026, 11, 25, 18, 0, tzinfo=timezone(timedelta(hours=-5)))
    cat = parse_deal_post("#接龙\n今晚8点截单\n1. 葡萄 29.9元", posted)
    assert cat is not None and cat.cutoff == datetime(2026, 11, 25, 20, 0, tzinfo=timezone(timedelta(hours=-5)))


def test_no_cutoff_line_no_cutoff() -> None:
    cat = parse_deal_post("#接龙\n明天下午3点到货\n1. 葡萄 29.9元", POSTED)
    assert cat is not None and cat.cutoff is None
    assert parse_deal_post("#接龙\n今晚8点截单\n1. 葡萄 29.9元") is not None  # no time known: no cutoff


@pytest.mark.parametrize("post, title", [
    ("@所有人 🍇🍇#接龙 #接龙 今日水果🔥🔥\n1. 葡萄 29.9元", "今日水果"),
    ("#接龙#\n【周末团】新鲜到货[玫瑰][玫瑰]\n1. 葡萄 29.9元", "【周末团】新鲜到货"),
    ("#接龙\n1. 阳光玫瑰葡萄 29.9元\n2. 鸡蛋 32元", "阳光玫瑰葡萄、鸡蛋"),
    ("幸福里 幸福里 3期团购 ✨✨\n1. 葡萄 29.9元", "幸福里 3期团购"),
])
def test_the_title_is_clean(post: str, title: str) -> None:
    cat = parse_deal_post(post, POSTED)
    assert cat is not None and cat.title == title


def test_max_line_qty_in_the_catalog_file(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('max_line_qty = 300\n[[items]]\ncode = "1"\nname = "葡萄"\nprice = "10"\n', encoding="utf-8")
    assert load_catalog(p).max_line_qty == 300
    p.write_text('[[items]]\ncode = "1"\nname = "葡萄"\nprice = "10"\n', encoding="utf-8")
    assert load_catalog(p).max_line_qty == 99
    p.write_text('max_line_qty = 0\n[[items]]\ncode = "1"\nname = "葡萄"\nprice = "10"\n', encoding="utf-8")
    with pytest.raises(CatalogError, match="max_line_qty"):
        load_catalog(p)


def test_a_posts_cutoff_survives_a_restart(sqlite_url: str) -> None:
    from bot.model import InboundMessage
    from bot.services.orders import OrderService
    from storage.sql import open_repository

    def msg(n: int, sender: str, text: str, at: datetime, leader: bool = False) -> InboundMessage:
        return InboundMessage("t", "g1", f"m{n}", sender, sender, text, at, is_admin=leader)

    repo = open_repository(sqlite_url)
    svc = OrderService(repo)
    assert svc.handle(msg(1, "lead", "#接龙 今日水果\n今晚8点截单\n1. 葡萄 29.9元/盒", POSTED, leader=True)).kind == "deal"
    assert svc.handle(msg(2, "u1", "葡萄2", POSTED + timedelta(minutes=30))).accepted
    repo.close()
    repo2 = open_repository(sqlite_url)
    svc2 = OrderService(repo2)
    late = svc2.handle(msg(3, "u2", "葡萄1", POSTED + timedelta(hours=1, minutes=5)))
    big = svc2.handle(msg(4, "u3", "葡萄200", POSTED + timedelta(minutes=40)))
    repo2.close()
    assert [p.code for p in late.refused] == ["after_cutoff"] and not late.accepted
    assert [p.code for p in big.unclear] == ["large_qty"]  # the default line limit after the restart


@pytest.mark.parametrize("line, price, unit", [
    ("1. 葡萄 29块9一盒", "29.9", ""),
    ("1. 葡萄 29元9角", "29.9", ""),
    ("1. 葡萄 29块5毛", "29.5", ""),
    ("1. 葡萄 9块9包邮", "9.9", ""),
    ("1. 葡萄 12块8/个", "12.8", "个"),
    ("1. 葡萄 3元5角2分", "3.52", ""),
    ("1. 苹果 29元5斤", "29", ""),  # 5斤 is the amount, not 5角
    ("1. 西瓜 3块1个", "3", ""),
    ("1. 橙子 25元3箱", "25", ""),
    ("1. 葡萄 22元/2包42元", "22", ""),
])
def test_prices_in_kuai_jiao_mao(line: str, price: str, unit: str) -> None:
    """29块9 is ¥29.90, not ¥29 (a misread price is wrong money on every order)."""
    from decimal import Decimal

    cat = parse_deal_post("#接龙\n" + line, POSTED)
    assert cat is not None and (cat.items[0].price, cat.items[0].unit) == (Decimal(price), unit)
