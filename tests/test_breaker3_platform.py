"""Data in the store and tuan.toml imported into it, attacked from the command line (breaker3)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.catalog import Catalog, Item
from bot.cli import main
from bot.model import InboundMessage
from bot.services.orders import OrderService
from storage.platform import SqlPlatformStore
from storage.sql import open_repository
from tests.stores import memory_store

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """
[store]
url = "{url}"
[console]
chat = "console"
[[groups]]
id = "home"
platform = "console"
chat = "console"
title = "幸福里"
leaders = ["团长"]
[[deals]]
id = "fruit"
title = "水果团"
groups = ["home"]
[[deals.items]]
code = "1"
name = "阳光玫瑰葡萄"
unit = "盒"
price = "29.9"
aliases = ["葡萄"]
stock = {stock}
{extra}
"""

APPLE = """
[[deals.items]]
code = "6"
name = "红富士苹果"
unit = "袋"
price = "15"
aliases = ["富士"]
"""


def write_config(tmp_path: Path, url: str, *, stock: str = "40", extra: str = "") -> str:
    path = tmp_path / "tuan.toml"
    path.write_text(CONFIG.format(url=url, stock=stock, extra=extra), encoding="utf-8")
    return str(path)


def tuan(capsys: Any, config: str, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--config", config])
    out, err = capsys.readouterr()
    return code, out, err


# User sees: the leader's own library product 6 (苹果库, 9元) silently becomes tuan.toml's 红富士苹果 15元
# once the file gets an item of code 6 (docs/storage.md: library products are never touched by the import).
def test_the_import_never_overwrites_a_library_product(capsys: Any, tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, sqlite_url)
    code, _, err = tuan(capsys, config, "product", "add", "6", "--name", "苹果库", "--price", "9", "--aliases", "苹果")
    assert (code, err) == (0, "")
    config = write_config(tmp_path, sqlite_url, extra=APPLE)  # the leader adds an item 6 to the file
    code, out, err = tuan(capsys, config, "product", "list", "--json")
    assert code == 0, err
    products = {p["code"]: p for p in json.loads(out)}
    library = [p for p in products.values() if p["name"] == "苹果库"]
    assert library and library[0]["price"] == "9.00" and not library[0]["from_config"]


# User sees: `tuan deal open --products 1:99999999999999999999` prints a 40-line Python traceback.
def test_a_huge_stock_on_deal_open_is_one_line(capsys: Any, tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, sqlite_url)
    code, _, err = tuan(capsys, config, "product", "add", "pear", "--name", "梨", "--price", "5")
    assert code == 0, err
    code, out, err = tuan(capsys, config, "deal", "open", "--group", "home", "--products", "pear:99999999999999999999")
    assert code == 2 and err.startswith("tuan: ") and err.count("\n") == 1, err


# User sees: `tuan run` with `stock = 99999999999999999999` in tuan.toml dies with a traceback
# (README: a wrongly typed key stops start-up with one line naming the file and the key, exit 2).
def test_a_huge_stock_in_tuan_toml_is_one_config_line(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, sqlite_url, stock="99999999999999999999")
    run = subprocess.run([sys.executable, "-m", "bot.cli", "run", "--config", config], cwd=ROOT,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-600:]
    assert "stock" in run.stderr and run.stderr.count("\n") == 1


# User sees: `tuan deals` and /history name a CLI round "11月30日团购 11月30日" (the date twice).
def test_a_cli_round_is_named_with_its_date_once(capsys: Any, tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, sqlite_url)
    repo = open_repository(sqlite_url)
    try:
        svc = OrderService(repo)
        import_ok = tuan(capsys, config, "groups")[0] == 0
        deal = svc.deal_of("console:console")
        if deal is not None:
            svc.close_deal(deal.id)
    finally:
        repo.close()
    assert import_ok
    code, out, err = tuan(capsys, config, "product", "add", "pear", "--name", "梨", "--price", "5")
    code, out, err = tuan(capsys, config, "deal", "open", "--group", "home", "--products", "pear")
    assert code == 0, err
    code, out, err = tuan(capsys, config, "deals", "--json")
    [row] = [r for r in json.loads(out) if r["status"] == "open"]
    day = row["title"].removesuffix("团购")
    assert row["name"].count(day) == 1, row["name"]


# User sees: the leader renumbers 血橙 from 3 to 5 in tuan.toml; after the restart every "血橙1" gets
# "没找到"血橙"...3号血橙、5号血橙" (the old item stays in the round with the same alias).
def test_a_renumbered_item_in_the_config_still_takes_orders_by_its_alias() -> None:
    def cat(code: str) -> Catalog:
        return Catalog(items=(Item("1", "阳光玫瑰葡萄", "盒", Decimal("29.9"), aliases=("葡萄",)),
                              Item(code, "血橙 3斤", "箱", Decimal("22"), aliases=("血橙",))))
    svc = OrderService(memory_store())
    did = svc.open_deal(cat("3"), ["console:console"], title="水果团", source="config")
    svc.revise_deal(did, cat("5"))
    out = svc.handle(InboundMessage("console", "console", "m1", "u1", "王姐", "血橙1", datetime.now(UTC)))
    assert out.accepted and not out.unclear, out


# Regression (held): a price changed in tuan.toml reaches the open round and `tuan deal show`;
# the closed round keeps its price, and `tuan export --deal` of it matches its tally.
def test_a_changed_price_reaches_only_the_open_round(capsys: Any, tmp_path: Path, sqlite_url: str) -> None:
    from bot.config import load_config
    from bot.context import Core


    config = write_config(tmp_path, sqlite_url)
    assert tuan(capsys, config, "groups")[0] == 0
    repo = open_repository(sqlite_url)
    try:
        core = Core(service=OrderService(repo), config=load_config(config), clock=lambda: datetime.now(UTC))
        core.open_configured_deals()
        svc = core.service
        first = svc.deal_of("console:console")
        assert first is not None
        svc.handle(InboundMessage("console", "console", "m1", "u1", "王姐", "葡萄2", first.created_at))
        svc.close_deal(first.id)
        second = svc.open_deal(svc.catalog_of(first.id), ["console:console"], title="水果团", source="config")
        svc.handle(InboundMessage("console", "console", "m2", "u1", "王姐", "葡萄1", first.created_at))
        Path(config).write_text(Path(config).read_text(encoding="utf-8").replace('"29.9"', '"35"'), encoding="utf-8")
        core = Core(service=OrderService(repo), config=load_config(config), clock=lambda: datetime.now(UTC))
        assert core.revise_configured_deals() == {second: ["console:console"]}
    finally:
        repo.close()
    code, out, _ = tuan(capsys, config, "deal", "show", second, "--json")
    assert code == 0 and json.loads(out)["items"][0]["price"] == "35.00"
    code, out, _ = tuan(capsys, config, "deal", "show", first.id, "--json")
    assert code == 0 and json.loads(out)["items"][0]["price"] == "29.90"
    code, out, _ = tuan(capsys, config, "export", "--deal", first.id)
    assert code == 0 and "王姐" in out and "59.80" in out and "35.00" not in out  # (an order time such as 04:35 holds "35")
    code, out, _ = tuan(capsys, config, "deals", "--all", "--json")
    assert [(r["id"], r["status"], r["amount"]) for r in json.loads(out)] == [
        (second, "open", "35.00"), (first.id, "closed", "59.80")]


# Regression (held): unknown ids and bad input are one line on stderr, exit 2, and change nothing.
@pytest.mark.parametrize("args, why", [
    (["deal", "show", "nope"], "no deal 'nope'"),
    (["export", "--deal", "nope"], "no deal 'nope'"),
    (["deal", "copy", "nope"], "nope"),
    (["deals", "--group", "nope"], "no group 'nope'"),
    (["product", "add", "x", "--name", "梨", "--price", "-1"], "more than 0"),
    (["product", "add", "x", "--name", "梨", "--price", "nan"], "not a finite number"),
    (["product", "edit", "1", "--price", "5"], "comes from"),
    (["deal", "open", "--group", "home", "--products", "1:-3"], "whole number"),
    (["deal", "open", "--group", "home", "--products", "1", "--cutoff", "2026-13-01 10:00"], "is not a time"),
])
def test_bad_input_is_one_line(capsys: Any, tmp_path: Path, sqlite_url: str, args: list[str], why: str) -> None:
    config = write_config(tmp_path, sqlite_url)
    code, out, err = tuan(capsys, config, *args)
    assert code == 2 and out == "" and err.startswith("tuan: ") and err.count("\n") == 1 and why in err, err
    repo = open_repository(sqlite_url)
    try:
        assert set(SqlPlatformStore(repo.engine).load().products) <= {"1"}  # nothing added
    finally:
        repo.close()


# Regression (held): a dead database URL is one line naming the key, exit 2, for every command.
@pytest.mark.parametrize("args", [["deals"], ["groups"], ["product", "list"], ["deal", "show", "x"]])
def test_a_dead_database_is_one_line(capsys: Any, tmp_path: Path, args: list[str]) -> None:
    config = write_config(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/nope")
    code, out, err = tuan(capsys, config, *args)
    assert code == 2 and out == "" and "store.url" in err and err.count("\n") == 1, err


# User sees: the leader adds a second group to the open deal in tuan.toml and restarts; the new
# group has no deal (its residents' orders go nowhere) and nothing is logged.
def test_a_group_added_to_the_open_configured_deal_gets_it_at_restart() -> None:
    import copy

    from bot.config import config_from_dict
    from bot.context import Core
    from bot.demo_script import demo_config

    repo = memory_store()
    data = demo_config(chat="console")
    core = Core(service=OrderService(repo), config=config_from_dict(data, "tuan.toml", env={}),
                clock=lambda: datetime.now(UTC))
    [did] = core.open_configured_deals()
    data = copy.deepcopy(data)
    data["groups"].append({"id": "park", "platform": "console", "chat": "park", "title": "阳光花园"})
    data["deals"][0]["groups"] = ["home", "park"]
    core = Core(service=OrderService(repo), config=config_from_dict(data, "tuan.toml", env={}),
                clock=lambda: datetime.now(UTC))  # the restart
    core.revise_configured_deals()
    core.open_configured_deals()
    assert core.service.deal_of("console:park") is not None


# User sees: `tuan deals --days 999999999` (everything, please) prints a Python traceback.
def test_a_huge_days_on_deals_is_one_line_or_every_round(capsys: Any, tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, sqlite_url)
    code, out, err = tuan(capsys, config, "deals", "--days", "999999999")
    assert code in (0, 2) and "Traceback" not in err and err.count("\n") <= 1
