"""Groups, leaders and products as data: tuan.toml imported into the store (SQLite and PostgreSQL),
who leads what read from the store, schema 0007 over a store of 0006, and a changed price or stock
in tuan.toml reaching the open deal and its card."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import inspect

from adapters.base import Capabilities
from adapters.fake import FakeAdapter, sender_id_of
from bot import commands
from bot import messages as m
from bot.config import AppConfig, config_from_dict
from bot.demo_script import sample_deal
from bot.ports import Changeset, ChatRow
from bot.runtime import serve
from bot.services.orders import OrderService, deal_row
from bot.usecases.platform_data import (
    OPERATOR,
    ConfigDirectory,
    Directory,
    LeaderRow,
    PlatformChanges,
    PlatformDataError,
    ProductRow,
    StoreDirectory,
    changed_product,
    config_rows,
    deal_catalog,
    import_config,
    new_product,
    parse_picks,
)
from storage.engine import make_engine
from storage.migrate import SCHEMA_HEAD, current_revision, upgrade
from storage.platform import SqlPlatformStore
from storage.sql import SqlRepository, open_repository
from tests.pipeline import make_pipeline

LEADER = "团长小美"
CAPS = Capabilities(reactions=True)


def config_data(**changes: Any) -> dict[str, Any]:
    veg = copy.deepcopy(sample_deal(egg_stock=20))
    veg.update(id="veg", title="蔬菜团", groups=["park"])
    veg["items"][0].update(name="上海青", aliases=["青菜"], price="3.5")
    data: dict[str, Any] = {
        "bot": {"digest_minutes": 0, "leaders": ["Boss"]},
        "console": {"enabled": False},
        "telegram": {"leaders": ["@TgOp"]},
        "groups": [{"id": "home", "platform": "fake", "chat": "g1", "title": "幸福里", "leaders": [sender_id_of(LEADER)]},
                   {"id": "park", "platform": "fake", "chat": "g2", "title": "阳光花园"}],
        "deals": [sample_deal(egg_stock=40), veg],
    }
    data.update(changes)
    return data


def config_of(data: dict[str, Any]) -> AppConfig:
    return config_from_dict(data, "tuan.toml", env={})


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[SqlPlatformStore]:
    repo = open_repository(store_url)
    try:
        yield SqlPlatformStore(repo.engine)
    finally:
        repo.close()


# --- the import ------------------------------------------------------------------------------------

def test_import_writes_groups_leaders_and_products_once(store: SqlPlatformStore, caplog: Any) -> None:
    config = config_of(config_data())
    with caplog.at_level(logging.INFO, logger="bot.usecases.platform_data"):
        said = import_config(store, config)
    assert "product 1: added (阳光玫瑰葡萄 2斤装 29.9元/盒)" in said
    assert [r.getMessage() for r in caplog.records] == [f"tuan.toml: {line}" for line in said]
    rows = store.load()
    assert {g.id: (g.chat_key, g.title, g.timezone) for g in rows.groups.values()} == {
        "home": ("fake:g1", "幸福里", "Asia/Shanghai"), "park": ("fake:g2", "阳光花园", "Asia/Shanghai")}
    # the second deal's items have codes the first deal's took: they are products of their own
    assert rows.products["1"].price == Decimal("29.9") and rows.products["veg.1"].name == "上海青"
    assert rows.products["veg.1"].aliases == ("青菜",) and rows.products["4"].unit == "盒"
    assert len(rows.products) == 8
    leader = rows.leaders[f"fake:{sender_id_of(LEADER).lower()}"]
    assert leader.role == "leader" and leader.groups == {"home"} and leader.source == "config"
    assert rows.leaders["*:boss"].role == OPERATOR and rows.leaders["*:boss"].accounts == {("*", "Boss")}
    assert rows.leaders["telegram:@tgop"].accounts == {("telegram", "@TgOp")}
    assert _same_rows(rows, config)
    assert import_config(store, config) == []  # idempotent: nothing changes, nothing is said
    assert _same_rows(store.load(), config)


def _same_rows(rows: Any, config: AppConfig) -> bool:
    want = config_rows(config, datetime.now(UTC))
    return (rows.groups == want.groups
            and {k: v.same(rows.leaders[k]) for k, v in want.leaders.items()} == {k: True for k in want.leaders}
            and set(rows.leaders) == set(want.leaders)
            and all(want.products[k].same(v) for k, v in rows.products.items()) and set(rows.products) == set(want.products))


def test_a_changed_price_updates_the_product_and_is_logged(store: SqlPlatformStore, caplog: Any) -> None:
    data = config_data()
    import_config(store, config_of(data))
    before = store.load().products["2"].updated_at
    data["deals"][0]["items"][0]["price"] = "31.9"
    data["deals"][0]["items"][1]["aliases"] = ["脐橙", "橙子"]
    with caplog.at_level(logging.INFO, logger="bot.usecases.platform_data"):
        said = import_config(store, config_of(data))
    assert said == ["product 1: price '29.90' → '31.90'", "product 2: aliases '脐橙' → '脐橙,橙子'"]
    assert [r.getMessage() for r in caplog.records] == [f"tuan.toml: {line}" for line in said]
    rows = store.load()
    assert rows.products["1"].price == Decimal("31.9") and rows.products["2"].aliases == ("脐橙", "橙子")
    assert rows.products["3"].updated_at == before  # untouched rows keep their time
    assert import_config(store, config_of(data)) == []


def test_leaders_follow_the_config_and_others_stay(store: SqlPlatformStore) -> None:
    data = config_data()
    import_config(store, config_of(data))
    mine = LeaderRow("shop:ahua", "阿花", "leader", "cli", datetime.now(UTC), frozenset({("fake", "ahua")}),
                     frozenset({"park"}))
    store.update(lambda rows: PlatformChanges(leaders=[mine]))
    data["groups"][0]["leaders"] = []
    data["groups"][1]["leaders"] = [sender_id_of(LEADER)]  # moved to the other group
    data["bot"]["leaders"] = []
    said = import_config(store, config_of(data))
    assert "leader *:boss: retired (no longer in tuan.toml; leads nothing from now)" in said
    assert f"leader fake:{sender_id_of(LEADER).lower()}: groups 'home' → 'park'" in said
    rows = store.load()
    assert rows.leaders["*:boss"].retired_at is not None and rows.leaders["shop:ahua"].same(mine)
    assert rows.leaders[f"fake:{sender_id_of(LEADER).lower()}"].groups == {"park"}
    directory = Directory(rows)
    assert directory.scope("fake", sender_id_of(LEADER)).chat_keys == {"fake:g2"}
    assert directory.scope("fake", "AHUA").chat_keys == {"fake:g2"}  # accounts match case-insensitively
    assert not directory.scope("fake", "boss").leads("fake:g1")
    assert import_config(store, config_of(data)) == []  # retired once
    data["bot"]["leaders"] = ["Boss"]
    assert import_config(store, config_of(data)) == ["leader *:boss: reinstated"]
    assert store.load().leaders["*:boss"].retired_at is None
    assert Directory(store.load()).scope("fake", "boss").leads("fake:g1")


def test_a_group_changes_title_and_chat(store: SqlPlatformStore) -> None:
    data = config_data()
    import_config(store, config_of(data))
    data["groups"][0].update(chat="g2", title="幸福里二群")
    data["groups"][1].update(chat="g1")  # the two groups swap chats
    said = import_config(store, config_of(data))
    assert "group home: chat_key 'fake:g1' → 'fake:g2'; title '幸福里' → '幸福里二群'" in said
    rows = store.load()
    assert (rows.groups["home"].chat_key, rows.groups["park"].chat_key) == ("fake:g2", "fake:g1")
    assert rows.leaders[f"fake:{sender_id_of(LEADER).lower()}"].groups == {"home"}  # links kept
    assert Directory(rows).scope("fake", sender_id_of(LEADER)).chat_keys == {"fake:g2"}


async def test_the_store_and_the_config_agree_on_who_leads(store: SqlPlatformStore) -> None:
    config = config_of(config_data())
    import_config(store, config)
    from_store, from_config = StoreDirectory(store), ConfigDirectory(config)
    callers = [("fake", sender_id_of(LEADER), None), ("fake", "x", "boss"), ("fake", "boss", None),
               ("telegram", "1", "tgop"), ("fake", "1", "tgop"), ("fake", "nobody", None)]

    async def scopes(directory: Any) -> list[Any]:
        return [await directory.scope(*c) for c in callers]

    got = await scopes(from_store)
    assert got == await scopes(from_config)
    assert [s.leads("fake:g1") for s in got] == [True, False, True, False, False, False]
    assert got[3].leads("telegram:-100") and not got[0].leads("fake:g2")


async def test_the_store_directory_reads_again_after_its_ttl(store: SqlPlatformStore) -> None:
    import_config(store, config_of(config_data()))
    clock = [0.0]
    directory = StoreDirectory(store, ttl=5.0, clock=lambda: clock[0])
    assert not (await directory.scope("fake", "new")).leads("fake:g1")
    new = LeaderRow("x:new", "新团长", "leader", "cli", datetime.now(UTC), frozenset({("fake", "new")}),
                    frozenset({"home"}))
    store.update(lambda rows: PlatformChanges(leaders=[new]))
    assert not (await directory.scope("fake", "new")).leads("fake:g1")  # still the rows read before
    clock[0] = 5.0
    assert (await directory.scope("fake", "new")).leads("fake:g1")


# --- products and deals from the library ----------------------------------------------------------

def test_products_of_the_library_and_of_the_config(store: SqlPlatformStore) -> None:
    config = config_of(config_data())
    import_config(store, config)
    now = datetime.now(UTC)
    grape = ProductRow("grape", "阳光玫瑰", Decimal("19.9"), unit="盒", aliases=("玫瑰",), updated_at=now)
    store.update(lambda rows: new_product(rows, config, grape))
    with pytest.raises(PlatformDataError, match="exists already"):
        store.update(lambda rows: new_product(rows, config, grape))
    with pytest.raises(PlatformDataError, match="comes from tuan.toml"):
        store.update(lambda rows: new_product(rows, config, ProductRow("1", "x", Decimal(1))))
    with pytest.raises(PlatformDataError, match="comes from tuan.toml"):
        store.update(lambda rows: changed_product(rows, config, "veg.2", now, price=Decimal(1)))
    done = store.update(lambda rows: changed_product(rows, config, "grape", now, price=Decimal("18.5"), active=False))
    assert done.said == ["product grape: price '19.90' → '18.50'; active 'True' → 'False'"]
    assert import_config(store, config) == []  # the import leaves library products alone
    rows = store.load()
    assert rows.products["grape"].price == Decimal("18.5") and not rows.products["grape"].active
    with pytest.raises(PlatformDataError, match="inactive"):
        deal_catalog(rows, [("grape", 3)], title="t", cutoff=None)
    with pytest.raises(PlatformDataError, match="products 1 and p2 share the alias '葡萄'"):
        _clash(rows)
    with pytest.raises(PlatformDataError, match="no product nope"):
        deal_catalog(rows, [("1", None), ("nope", None)], title="t", cutoff=None)
    catalog = deal_catalog(rows, parse_picks("4:30, 1"), title="t", cutoff=None)
    assert [(i.code, i.name, i.price, i.stock) for i in catalog.items] == [
        ("1", "土鸡蛋 30枚", Decimal("32"), 30), ("2", "阳光玫瑰葡萄 2斤装", Decimal("29.9"), None)]


def _clash(rows: Any) -> None:
    """Two products that residents would both call 葡萄."""
    rows.products["p2"] = ProductRow("p2", "巨峰葡萄", Decimal(10), aliases=("葡萄",))
    deal_catalog(rows, [("1", None), ("p2", None)], title="t", cutoff=None)


@pytest.mark.parametrize("text, why", [("", "no products"), ("1,1", "named twice"), ("1:-3", "whole number"),
                                       ("1:x", "whole number"), (":4", "code is missing")])
def test_bad_product_picks(text: str, why: str) -> None:
    with pytest.raises(PlatformDataError, match=why):
        parse_picks(text)


# --- schema 0007 over a store of 0006 --------------------------------------------------------------

def test_a_store_of_0006_is_upgraded_with_its_rows(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        upgrade(engine, "0006")
        assert current_revision(engine) == "0006"
        assert "products" not in inspect(engine).get_table_names()
        repo = SqlRepository(engine)
        catalog = config_of(config_data()).deals[0].catalog
        row = deal_row("d1", catalog, title="水果团", source="config", now=datetime.now(UTC))
        repo.commit(Changeset(deals=[row], chats=[ChatRow("fake:g1", "fake", "g1", "幸福里", "d1")]))
        upgrade(engine)
        assert current_revision(engine) == SCHEMA_HEAD
        kept = repo.get_deal("d1")
        assert kept is not None and [i.price for i in kept.items] == [i.price for i in catalog.items]
        assert repo.get_chat("fake:g1").deal_id == "d1"  # type: ignore[union-attr]
        store = SqlPlatformStore(engine)
        assert store.load().groups == {}
        assert import_config(store, config_of(config_data()))
        assert set(store.load().groups) == {"home", "park"}
    finally:
        engine.dispose()


# --- a price changed in tuan.toml reaches the open deal and its card --------------------------------

async def run_once(config: AppConfig, adapter: FakeAdapter, *lines: tuple[str, str]) -> list[Any]:
    """`tuan run` (serve) with ``adapter``; the leader or a resident says ``lines`` in g1; returns what
    the bot did, then stops."""
    stop = asyncio.Event()
    running = asyncio.create_task(serve(config, stop=stop, adapters=[adapter]))
    try:
        for _ in range(200):
            if adapter.sink is not None:
                break
            await asyncio.sleep(0.02)
        for sender, text in lines:
            await adapter.push(text, sender=sender, chat_id="g1")
        await asyncio.sleep(0)
        return adapter.pop_all()
    finally:
        stop.set()
        await asyncio.wait_for(running, 20)


async def test_a_price_changed_in_tuan_toml_reaches_the_open_deal_and_its_card(store_url: str) -> None:
    data = config_data(store={"url": store_url})
    first = await run_once(config_of(data), FakeAdapter("fake", CAPS), ("王姐", "葡萄2 鸡蛋1"))
    assert [s.kind for s in first] == ["react"]
    repo = open_repository(store_url)
    try:
        deal_id = OrderService(repo).deal_of("fake:g1").id  # type: ignore[union-attr]
    finally:
        repo.close()
    data["deals"][0]["items"][0]["price"] = "31.9"  # 葡萄 29.9 → 31.9
    data["deals"][0]["items"][3]["stock"] = 60  # 鸡蛋 40 → 60
    again = await run_once(config_of(data), FakeAdapter("fake", CAPS), (LEADER, "/deal"))
    cards = [s for s in again if s.kind == "card"]
    # shown again at start (no card to edit after a restart), then by /deal
    assert len(cards) == 2 and all(s.chat_id == "g1" for s in cards)
    for card in cards:
        assert "1号 阳光玫瑰葡萄 2斤装 31.9元/盒" in card.text and "29.9" not in card.text
        assert "剩59" in card.text  # 60 in stock, one ordered
    repo = open_repository(store_url)
    try:
        service = OrderService(repo)
        assert service.deal_of("fake:g1").id == deal_id  # type: ignore[union-attr]  # the same round
        catalog = service.catalog_of(deal_id)
        assert [(i.price, i.stock) for i in catalog.items] == [
            (Decimal("31.9"), None), (Decimal("25.8"), None), (Decimal("22"), None), (Decimal("32"), 60)]
        assert service.tally(deal_id).amount == Decimal("31.9") * 2 + Decimal("32")
        assert service.tally(deal_id).totals == {"1": 2, "2": 0, "3": 0, "4": 1}  # orders kept
        assert SqlPlatformStore(repo.engine).load().products["1"].price == Decimal("31.9")
    finally:
        repo.close()
    third = await run_once(config_of(data), FakeAdapter("fake", CAPS))
    assert third == []  # nothing changed: no card, nothing said


async def test_revise_deal_says_what_changed_and_keeps_orders() -> None:
    p = await make_pipeline()
    await p.chat.push("葡萄2")
    config = p.core.config
    catalog = config.deals[0].catalog
    items = list(catalog.items)
    from dataclasses import replace

    items[0] = replace(items[0], price=Decimal("31.9"), aliases=("葡萄", "玫瑰"))
    items[3] = replace(items[3], stock=9)
    revised = replace(catalog, items=(*items[:3], items[3], replace(items[0], code="5", name="新品", aliases=())))
    said = p.core.service.revise_deal(p.deal_id, revised)
    assert said == ["5号 added: 新品 31.9元", "1号 aliases ('葡萄',) → ('葡萄', '玫瑰')", "1号 price 29.9 → 31.9",
                    "4号 stock 5 → 9"]
    assert p.core.service.revise_deal(p.deal_id, revised) == []
    assert [i.price for i in p.core.service.catalog_of(p.deal_id).items][:1] == [Decimal("31.9")]
    assert p.core.service.tally(p.deal_id).amount == Decimal("63.8")
    assert OrderService(p.repo).catalog_of(p.deal_id).by_code("5") is not None  # committed
    await p.chat.push("玫瑰1")
    assert p.stored() == {"王姐": {"1": 3}}
    await p.close()


async def test_the_revised_card_is_edited_where_the_platform_edits() -> None:
    p = await make_pipeline(Capabilities(buttons=True, edits=True, reactions=True))
    await p.chat.push("/deal", sender=LEADER)
    [card] = p.chat.pop_all()
    catalog = p.core.config.deals[0].catalog
    from dataclasses import replace

    p.core.service.revise_deal(p.deal_id, replace(catalog, items=(replace(catalog.items[0], price=Decimal("28")),
                                                               *catalog.items[1:])))
    assert await commands.show_revised_card(p.core, "fake:g1")
    [edit] = p.chat.pop_all()
    assert edit.kind == "edit" and edit.message_id == card.message_id and "28元/盒" in edit.text
    await p.close()


async def test_a_leader_known_only_to_the_store_leads_and_a_removed_one_no_longer(sqlite_url: str) -> None:
    repo = open_repository(sqlite_url)
    store = SqlPlatformStore(repo.engine)
    config = config_of(config_data())
    import_config(store, config)
    p = await make_pipeline(config=config, repo=repo)
    p.core.directory = StoreDirectory(store, ttl=0)
    await p.chat.push("/tally", sender="阿花", chat_id="g1")
    assert [s.text for s in p.chat.pop_all()] == [m.NOT_LEADER]
    ahua = LeaderRow("shop:ahua", "阿花", "leader", "cli", datetime.now(UTC),
                     frozenset({("fake", sender_id_of("阿花"))}), frozenset({"home"}))
    store.update(lambda rows: PlatformChanges(leaders=[ahua]))
    await p.chat.push("/tally", sender="阿花", chat_id="g1")
    assert m.NOT_LEADER not in [s.text for s in p.chat.pop_all()]
    await p.chat.push("/tally", sender="阿花", chat_id="g2")  # leads home only
    assert [s.text for s in p.chat.pop_all()] == [m.NOT_LEADER]
    await p.chat.push("/tally", sender=LEADER, chat_id="g1")
    assert m.NOT_LEADER not in [s.text for s in p.chat.pop_all()]
    data = config_data()
    data["groups"][0]["leaders"] = []
    import_config(store, config_of(data))  # the config no longer names 团长小美
    await p.chat.push("/tally", sender=LEADER, chat_id="g1")
    assert [s.text for s in p.chat.pop_all()] == [m.NOT_LEADER]
    await p.close()
    repo.close()


def test_a_groups_timezone_and_pickup_points_come_from_the_config(store: SqlPlatformStore) -> None:
    data = config_data()
    data["groups"][0].update(timezone="Asia/Urumqi", pickup_points=["3栋楼下", "南门快递柜"])
    import_config(store, config_of(data))
    home, park = store.load().groups["home"], store.load().groups["park"]
    assert (home.timezone, home.pickup_points) == ("Asia/Urumqi", ("3栋楼下", "南门快递柜"))
    assert (park.timezone, park.pickup_points) == ("Asia/Shanghai", ())
    data["groups"][0]["pickup_points"] = ["3栋楼下"]
    assert import_config(store, config_of(data)) == [
        "group home: pickup_points '3栋楼下,南门快递柜' → '3栋楼下'"]


@pytest.mark.parametrize("group, why", [
    ({"timezone": "Mars/Base"}, "`groups[1].timezone` is not a known time zone"),
    ({"pickup_points": ["", "x"]}, "`groups[1].pickup_points` must not hold an empty name"),
    ({"chat": "g2"}, "`groups[2].chat` repeats the chat of groups[1] (fake:g2)"),
])
def test_bad_group_keys(group: dict[str, Any], why: str) -> None:
    from bot.config import ConfigError

    data = config_data()
    data["groups"][0].update(group)
    with pytest.raises(ConfigError, match=re.escape(why)):
        config_of(data)


def test_two_processes_importing_at_once_both_succeed(store_url: str) -> None:
    """Each import reads and writes under the platform data's lock: the second finds the first's rows."""
    config = config_of(config_data())
    repos = [open_repository(store_url) for _ in range(2)]
    try:
        barrier = threading.Barrier(2)
        results: list[Any] = [None, None]

        def run(n: int) -> None:
            barrier.wait()
            try:
                results[n] = import_config(SqlPlatformStore(repos[n].engine), config)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                results[n] = exc

        threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not any(isinstance(r, Exception) for r in results), results
        assert sorted(len(r) for r in results)[0] == 0  # one of them found everything done
        assert _same_rows(SqlPlatformStore(repos[0].engine).load(), config)
    finally:
        for r in repos:
            r.close()
