"""Breaker round 6: the month's settlement (tuan settle) as an operator works it, bugs kept as strict
xfails (the mark goes once the fix lands).

By hand: 土鸡蛋 30枚 32.00/盒, the variant's commission 1.50/盒 (instead of the rate), leader 王姐 10%.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from adapters.fake import sender_id_of
from bot.cli import main
from bot.model import InboundMessage
from bot.runtime import read_config
from bot.services.orders import OrderService
from bot.usecases.leaderday import Actor, LeaderDay
from bot.usecases.settlement import Period, settlement
from storage.models import DEALS
from storage.operators import SqlOperatorStore
from storage.sql import SqlRepository, open_repository
from tests.leadership_dates import leaders_linked_since

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal

CONFIG = """
[store]
url = "{url}"
[bot]
timezone = "Asia/Shanghai"
digest_minutes = 0
[[groups]]
id = "g1"
platform = "fake"
chat = "g1"
title = "幸福里"
"""


class Month:
    def __init__(self, tmp_path: Path, url: str, capsys: Any) -> None:
        self.cfg = tmp_path / "tuan.toml"
        self.cfg.write_text(CONFIG.format(url=url), encoding="utf-8")
        self.capsys = capsys
        self.repo: SqlRepository = open_repository(url)
        self.service = OrderService(self.repo)
        self.n = 0

    def cli(self, *args: str) -> int:
        code = main([*args, "--config", str(self.cfg)])
        self.capsys.readouterr()
        return code

    def order(self, who: str, text: str) -> None:
        self.n += 1
        self.service.handle(InboundMessage("fake", "g1", f"m{self.n}", sender_id_of(who), who, text,
                                           datetime.now(UTC)))

    def opened_on(self, deal_id: str, day: datetime) -> None:
        with self.repo.engine.begin() as conn:
            conn.execute(update(DEALS).where(DEALS.c.id == deal_id).values(created_at=day))

    def settle(self, period: Period) -> Any:
        return settlement(self.service, read_config(str(self.cfg)), SqlOperatorStore(self.repo.engine).load(), period)


@pytest.fixture
def month(tmp_path: Path, sqlite_url: str, capsys: Any) -> Iterator[Month]:
    w = Month(tmp_path, sqlite_url, capsys)
    yield w
    w.repo.close()


def _wang(w: Month, rate: str = "10%") -> None:
    assert w.cli("leader", "add", "wang", "--name", "王姐", "--account", f"fake:{sender_id_of('王姐')}",
                 "--groups", "g1", "--rate", rate) == 0


# HIGH. User sees: the operator settles the month. 王姐's group sold 3 boxes of eggs, a variant paying
# her 1.50 a box: 张三 ordered 2 for his neighbour (帮邻居6栋101刘奶奶 鸡蛋2, a household of its own)
# and 李四 1. All three went bad and were refunded (sales 96.00, refunds 96.00, net 0.00); yet
# `tuan settle` pays 王姐 3.00 and the platform keeps −3.00: the refunded units of a neighbour's
# (proxy) household are never counted as refunded (group_figures reads the refunded quantity of the
# ordering resident's own household only), so the per-unit commission is paid on them.
def test_the_per_unit_commission_is_not_paid_on_a_neighbour_s_refunded_units(month: Month) -> None:
    w = month
    assert w.cli("supplier", "add", "xg", "--name", "鲜果园") == 0
    assert w.cli("product", "add", "E1", "--name", "土鸡蛋", "--price", "32", "--unit", "盒", "--spec", "30枚") == 0
    assert w.cli("product", "variant", "E1", "30枚", "--price", "32", "--cost", "24", "--unit", "盒",
                 "--supplier", "xg", "--commission", "1.50", "--aliases", "鸡蛋") == 0
    _wang(w)
    assert w.cli("deal", "open", "--group", "g1", "--products", "E1", "--delivery", "2099-12-01") == 0
    deal = w.service.deal_of("fake:g1")
    assert deal is not None
    w.order("张三", "帮邻居6栋101刘奶奶 鸡蛋2")
    w.order("李四", "李四 鸡蛋1")
    day, now, leader = LeaderDay(w.repo), datetime.now(UTC), Actor("fake:g1", "op", "王姐")
    assert day.refund(deal.id, leader, now, "刘奶奶", "鸡蛋", 2, "坏了").status == "ok"
    assert day.refund(deal.id, leader, now, "李四", "鸡蛋", 1, "坏了").status == "ok"
    today = deal.created_at.astimezone(TZ).date()  # the round's day: a month's last midnight may pass since
    s = w.settle(Period(today.replace(day=1), today))
    (line,) = s.lines
    assert (line.sales, line.refunds, line.net) == (D("96.00"), D("96.00"), D("0.00"))
    assert line.commission == D("0.00"), f"commission {line.commission} on nothing kept (platform keeps {s.kept})"


# HIGH. User sees: October is settled on 1 November (王姐 at 10%: 100.00 net → 10.00, paid out). On
# 15 November the operator lowers her rate to 5% (`tuan leader edit wang --rate 5%`). Settling
# October again (for the books, or `/earnings` history) now says 5.00: a rate change rewrites every
# past period, although a variant's per-unit commission is frozen when the deal opens precisely "so
# a later change does not rewrite a past month" (docs/platform.md). A rate changed mid-month likewise
# applies to the rounds before the change.
def test_a_rate_change_does_not_rewrite_a_settled_month(month: Month) -> None:
    from bot.catalog import Catalog, Item

    w = month
    _wang(w, "10%")
    leaders_linked_since(w.repo.engine, datetime(2026, 10, 1, tzinfo=TZ))  # the round below is back-dated
    deal = w.service.open_deal(Catalog(items=(Item("1", "鸡蛋", "盒", D("25")),), title="团"), ["fake:g1"], title="团")
    w.order("李四", "李四 鸡蛋4")
    w.opened_on(deal, datetime(2026, 10, 10, 9, tzinfo=TZ))
    october = Period(date(2026, 10, 1), date(2026, 10, 31))
    (before,) = w.settle(october).lines
    assert (before.net, before.commission) == (D("100.00"), D("10.00"))
    assert w.cli("leader", "edit", "wang", "--rate", "5%") == 0
    (after,) = w.settle(october).lines
    assert after.commission == D("10.00"), f"October's commission became {after.commission} after the rate change"


# MEDIUM. User sees: the operator types `tuan product variant G1 5斤 --price 29.9 --commission 50`
# (5.0 meant): accepted, and every box sold at ¥29.90 pays the leader ¥50 in `tuan settle` (the
# platform keeps less than nothing). A refund above the item's value and a price above 10^10 are
# refused; a per-unit commission above the variant's own price is not.
def test_a_commission_above_the_price_is_refused(month: Month) -> None:
    w = month
    assert w.cli("product", "add", "G1", "--name", "葡萄", "--price", "29.9", "--spec", "5斤") == 0
    assert w.cli("product", "variant", "G1", "5斤", "--price", "29.9", "--commission", "50") == 2
