"""Rounds past and present: `tuan deals`, `tuan deal show|copy`, `tuan export --deal`, and /history.

One store, built through the public service API: yesterday's round (水果团, groups 幸福里 g1 and
阳光花园 g2) with orders, closed; then today's round for g1 only. g2 stays bound to yesterday's.

Yesterday, by hand: 王姐 (g1) 葡萄 3 (2, then 改成3) + 鸡蛋 1 = 3 x 29.90 + 32.00 = 121.70;
EVIL (g1, a formula for a name) 脐橙 1 = 25.80; 小李 (g1) 葡萄 1 then 不要了 = nothing (no household);
老张 (g2) 鸡蛋 2 = 64.00. Households 3, amount 211.50. Today: 阿强 (g1) 葡萄 1 = 29.90, 1 household.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.fake import sender_id_of
from bot import messages as m
from bot.catalog import Catalog, Item
from bot.cli import main
from bot.config import config_from_dict
from bot.model import InboundMessage
from bot.services.orders import OrderService
from storage.sql import open_repository
from tests.pipeline import make_pipeline

LEADER = "团长小美"
EVIL = "=HYPERLINK(\"http://x\",\"点我\")"
CUTOFF = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
T0 = datetime.now(UTC) - timedelta(hours=1)
URL_FIXTURES = {"sqlite": "sqlite_url", "postgresql": "pg_url"}


def catalog() -> Catalog:
    return Catalog(items=(
        Item("1", "阳光玫瑰葡萄 2斤装", "盒", Decimal("29.90"), aliases=("葡萄",)),
        Item("2", "赣南脐橙 5斤", "箱", Decimal("25.80"), aliases=("脐橙",)),
        Item("3", "土鸡蛋 30枚", "盒", Decimal("32"), aliases=("鸡蛋",), stock=40),
    ), cutoff=CUTOFF, max_qty=10, title="水果团")


@dataclass
class Store:
    url: str
    yesterday: str
    today: str
    config: Path


class Say:
    def __init__(self, svc: OrderService) -> None:
        self.svc, self.n = svc, 0

    def __call__(self, chat: str, who: str, text: str, *, recall_of: str | None = None) -> str:
        self.n += 1
        self.svc.handle(InboundMessage("fake", chat, f"m{self.n}", sender_id_of(who), who, text,
                                       T0 + timedelta(seconds=self.n), recall_of=recall_of))
        return f"m{self.n}"


def build(url: str, tmp_path: Path) -> Store:
    repo = open_repository(url)
    try:
        svc = OrderService(repo)
        say = Say(svc)
        yesterday = svc.open_deal(catalog(), ["fake:g1", "fake:g2"], title="水果团", source="config")
        say("g1", "王姐", "葡萄2 鸡蛋1")
        say("g1", EVIL, "脐橙1")
        say("g1", "小李", "葡萄1")
        say("g1", "王姐", "葡萄改成3")
        say("g1", "小李", "葡萄不要了")
        say("g2", "老张", "鸡蛋2")
        svc.close_deal(yesterday)
        today = svc.open_deal(catalog(), ["fake:g1"], title="水果团", source="config")
        say("g1", "阿强", "葡萄1")
        assert svc.tally(yesterday).amount == Decimal("211.50")  # the service agrees with the hand count
    finally:
        repo.close()
    config = tmp_path / "tuan.toml"
    config.write_text(f"""
[store]
url = "{url}"

[[groups]]
id = "home"
platform = "fake"
chat = "g1"
title = "幸福里"

[[groups]]
id = "park"
platform = "fake"
chat = "g2"
title = "阳光花园"
""", encoding="utf-8")
    return Store(url, yesterday, today, config)


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return build(request.getfixturevalue(URL_FIXTURES[request.param]), tmp_path)


def tuan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


def deals_json(capsys: pytest.CaptureFixture[str], s: Store, *args: str) -> list[dict[str, Any]]:
    status, out, err = tuan(capsys, "deals", "--json", "--config", str(s.config), *args)
    assert status == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def day_name(title: str, opened: str) -> str:
    day = datetime.fromisoformat(opened).astimezone(config_from_dict({}).bot.tz)
    return f"{title} {day.month}月{day.day}日"


@pytest.mark.parametrize("store", ["sqlite", "postgresql"], indirect=True)
def test_deals_all_lists_yesterdays_round_with_its_households_and_amount(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    rounds = deals_json(capsys, store, "--all")
    assert [r["id"] for r in rounds] == [store.today, store.yesterday]  # newest first
    today, yesterday = rounds
    assert (yesterday["status"], yesterday["households"], yesterday["amount"]) == ("closed", 3, "211.50")
    assert [(g["name"], g["households"]) for g in yesterday["groups"]] == [("home", 2), ("park", 1)]
    assert (today["status"], today["households"], today["amount"], today["closed"]) == ("open", 1, "29.90", None)
    assert [g["name"] for g in today["groups"]] == ["home"]
    assert yesterday["name"] == day_name("水果团", yesterday["opened"])
    assert datetime.fromisoformat(yesterday["opened"]) <= datetime.fromisoformat(today["opened"])

    assert [r["id"] for r in deals_json(capsys, store, "--all", "--group", "park")] == [store.yesterday]
    assert [r["id"] for r in deals_json(capsys, store, "--all", "--group", "fake:g1")] == [store.today,
                                                                                           store.yesterday]
    assert [r["id"] for r in deals_json(capsys, store)] == [store.today, store.yesterday]  # both recent

    status, out, _ = tuan(capsys, "deals", "--all", "--config", str(store.config))
    assert status == 0
    header, first, second = out.splitlines()
    assert header.split() == ["id", "group", "title", "status", "opened", "closed", "households", "amount"]
    assert first.startswith(store.today) and first.split()[-2:] == ["1", "29.90"]
    assert second.startswith(store.yesterday) and "home,park" in second and second.split()[-2:] == ["3", "211.50"]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"], indirect=True)
def test_store_totals_agree_with_the_services_tally(store: Store) -> None:
    """Lists, copies with labels, decreases, sets and withdrawals: the SQL aggregates count what
    the service's tally counts (quantities per item, households, amount)."""
    from storage.history import round_of

    repo = open_repository(store.url)
    try:
        svc = OrderService(repo)
        say = Say(svc)
        say.n = 100
        say("g1", "王姐", "#接龙\n1. 3栋402 王姐 葡萄2")
        say("g1", "阿强", "#接龙\n1. 3栋402 王姐 葡萄2\n2. 5栋101 阿强 脐橙1 鸡蛋2")
        say("g1", "阿强", "鸡蛋减1")
        gone = say("g1", "小李", "葡萄3")
        say("g1", "小李", "", recall_of=gone)
        say("g1", "小周", "脐橙2")
        say("g1", "小周", "脐橙不要了")
        say("g1", "小周", "葡萄1")
        with repo.engine.connect() as conn:
            for deal_id in (store.today, store.yesterday):
                tally, row = svc.tally(deal_id), round_of(conn, deal_id)
                assert row is not None
                assert {i.code: i.qty for i in row.items} == tally.totals
                assert row.amount == tally.amount
                assert row.households == len({(r.chat_key, r.sender_id) for r in tally.rows})
            today = round_of(conn, store.today)
        # by hand: 阿强 葡萄1 (yesterday's test order) + his line 脐橙1 鸡蛋2, 减1; 王姐 葡萄2; 小李 withdrew;
        # 小周 葡萄1 after a cancelled 脐橙2. Three households (阿强 once, under two labels).
        assert today is not None and today.households == 3 and today.amount == Decimal("177.40")
        assert [i.qty for i in today.items] == [4, 1, 1]
    finally:
        repo.close()


def test_default_listing_keeps_open_rounds_and_leaves_out_old_closed_ones(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    from sqlalchemy import update

    from storage.models import DEALS

    repo = open_repository(store.url)
    with repo.engine.begin() as conn:  # both rounds opened 40 days ago
        conn.execute(update(DEALS).values(created_at=datetime.now(UTC) - timedelta(days=40)))
        conn.execute(update(DEALS).where(DEALS.c.closed_at.is_not(None))  # and yesterday's closed 39 days ago
                     .values(closed_at=datetime.now(UTC) - timedelta(days=39)))
    repo.close()
    assert [r["id"] for r in deals_json(capsys, store)] == [store.today]  # open: always listed
    assert {r["id"] for r in deals_json(capsys, store, "--days", "60")} == {store.today, store.yesterday}
    assert len(deals_json(capsys, store, "--all")) == 2


def test_deal_show_gives_items_with_qty_and_amount(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = tuan(capsys, "deal", "show", store.yesterday, "--json", "--config", str(store.config))
    assert status == 0, err
    shown = json.loads(out)
    assert [(i["code"], i["qty"], i["price"], i["amount"]) for i in shown["items"]] == [
        ("1", 3, "29.90", "89.70"), ("2", 1, "25.80", "25.80"), ("3", 3, "32.00", "96.00")]
    assert (shown["households"], shown["amount"], shown["status"]) == (3, "211.50", "closed")
    status, out, _ = tuan(capsys, "deal", "show", store.yesterday, "--config", str(store.config))
    assert status == 0 and "水果团" in out and "households 3  amount 211.50" in out and "89.70" in out


@pytest.mark.parametrize("args", [["deal", "show", "nope"], ["export", "--deal", "nope"], ["deal", "copy", "nope"],
                                  ["deals", "--group", "nowhere"]])
def test_unknown_id_or_group_is_one_line_and_exit_2(store: Store, capsys: pytest.CaptureFixture[str],
                                                    args: list[str]) -> None:
    status, out, err = tuan(capsys, *args, "--config", str(store.config))
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("tuan: ")
    assert args[-1] in err


def read_csv(data: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data, newline="")))


def test_export_deal_exports_yesterdays_round(store: Store, capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    out_file = tmp_path / "y.csv"
    status, _, err = tuan(capsys, "export", "--deal", store.yesterday, "-o", str(out_file),
                          "--config", str(store.config))
    assert status == 0, err
    assert os.stat(out_file).st_mode & 0o777 == 0o600
    data = out_file.read_bytes()
    assert data.startswith("\ufeff".encode())
    rows = read_csv(data.decode("utf-8-sig"))
    assert tuple(rows[0]) == m.EXPORT_COLUMNS
    # 跟团号 by first order: 王姐 1, EVIL 2, 小李 3 (cancelled: kept, not listed), 老张 4
    assert [(r[0], r[1], r[4], r[6], r[8], r[14]) for r in rows[1:-1]] == [
        ("1", "王姐", "阳光玫瑰葡萄 2斤装", "3", "89.70", "幸福里"), ("1", "王姐", "土鸡蛋 30枚", "1", "32.00", "幸福里"),
        ("2", "'" + EVIL, "赣南脐橙 5斤", "1", "25.80", "幸福里"),  # neutralised: text, never a formula
        ("4", "老张", "土鸡蛋 30枚", "2", "64.00", "阳光花园"),
    ]
    assert rows[-1][0] == m.EXPORT_TOTAL and rows[-1][6] == "7" and rows[-1][8] == "211.50"
    assert "小李" not in data.decode("utf-8-sig") and "阿强" not in data.decode("utf-8-sig")

    status, stdout, _ = tuan(capsys, "export", "--deal", store.yesterday, "--format", "csv",
                             "--config", str(store.config))
    assert status == 0 and read_csv(stdout.lstrip("\ufeff")) == rows  # stdout: the same document


def test_deal_copy_reopens_yesterdays_round(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = tuan(capsys, "deal", "copy", store.yesterday, "--config", str(store.config))
    assert status == 1 and "home" in err and store.today in err  # g1 has today's round open

    status, out, err = tuan(capsys, "deal", "copy", store.yesterday, "--group", "park", "--config",
                            str(store.config))
    assert status == 0, err
    new_id = out.split()[1].rstrip(":")
    repo = open_repository(store.url)
    try:
        svc = OrderService(repo)
        deal = svc.deal_of("fake:g2")
        assert deal is not None and deal.id == new_id and deal.status == "open"
        assert deal.source == f"copy:{store.yesterday}" and deal.title == "水果团"
        copied = svc.catalog_of(new_id)
        assert copied.items == catalog().items and copied.max_qty == 10 and copied.cutoff is None
        assert svc.deal_of("fake:g1").id == store.today  # type: ignore[union-attr]
        Say(svc)("g2", "老张", "鸡蛋1")  # the new round takes orders
        assert svc.tally(new_id).totals["3"] == 1
    finally:
        repo.close()
    [new] = [r for r in deals_json(capsys, store, "--group", "park") if r["id"] == new_id]
    assert (new["status"], new["households"], new["amount"]) == ("open", 1, "32.00")


async def test_history_in_the_chat_shows_both_rounds_and_refuses_residents(sqlite_url: str,
                                                                          tmp_path: Path) -> None:
    s = build(sqlite_url, tmp_path)
    config = config_from_dict({
        "bot": {"digest_minutes": 0},
        "groups": [{"id": "home", "platform": "fake", "chat": "g1", "title": "幸福里",
                    "leaders": [sender_id_of(LEADER)]}],
    }, "test.toml", env={})
    repo = open_repository(sqlite_url)
    p = await make_pipeline(config=config, repo=repo)
    try:
        assert p.core.service.deal_of("fake:g1").id == s.today  # type: ignore[union-attr]
        await p.chat.push("/history", sender="王姐", chat_id="g1")
        assert [x.text for x in p.chat.pop_all()] == [m.NOT_LEADER]

        with repo.engine.connect() as conn:
            from bot.usecases.history import show_round

            names = {d: show_round(conn, config, d).name for d in (s.today, s.yesterday)}
        expected = "\n".join([
            m.HISTORY_TITLE.format(n=2),
            m.HISTORY_ROW.format(name=names[s.today], state=m.HISTORY_OPEN, households=1, amount="29.90"),
            m.HISTORY_ROW.format(name=names[s.yesterday], state=m.HISTORY_CLOSED, households=3, amount="211.50"),
        ])
        for alias in ("/history", "/历史"):
            await p.chat.push(alias, sender=LEADER, chat_id="g1")
            [answer] = p.chat.pop_all()
            assert (answer.chat_id, answer.text) == ("g1", expected)

        await p.chat.push("/history", sender=LEADER, chat_id="dm", is_private=True)
        [answer] = p.chat.pop_all()
        assert (answer.chat_id, answer.text) == ("dm", m.GROUP_HEADING.format(group="幸福里") + "\n" + expected)
        await p.chat.push("/history", sender="王姐", chat_id="dm2", is_private=True)
        assert [x.text for x in p.chat.pop_all()] == [m.PRIVATE_NO_GROUP]
    finally:
        await p.close()
        repo.close()


async def test_history_on_the_in_memory_store_of_the_unit_tests() -> None:
    p = await make_pipeline()  # in-memory SQLite: one connection, read under the core's lock
    await p.chat.push("/history", sender=LEADER, chat_id="g1")
    [answer] = p.chat.pop_all()
    assert answer.text.startswith("📜") and "进行中 0户 ¥0.00" in answer.text
    await p.close()
