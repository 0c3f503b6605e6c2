"""`tuan groups`, `tuan product list|add|edit` and `tuan deal open` over a store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.services.orders import OrderService
from storage.platform import SqlPlatformStore
from storage.sql import open_repository

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
[[groups]]
id = "park"
platform = "console"
chat = "park"
title = "阳光花园"
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


def test_groups_lists_the_configured_groups_with_their_leaders(capsys: Any, config_path: str) -> None:
    code, out, err = tuan(capsys, config_path, "groups", "--json")
    assert code == 0 and err == ""
    groups = json.loads(out)["groups"]
    assert [(g["id"], g["chat_key"], g["title"], g["leaders"]) for g in groups] == [
        ("home", "console:console", "幸福里", ["团长"]), ("park", "console:park", "阳光花园", [])]
    code, out, _ = tuan(capsys, config_path, "groups")
    assert code == 0 and "幸福里" in out and "console:park" in out


def test_product_add_edit_list(capsys: Any, config_path: str) -> None:
    code, out, err = tuan(capsys, config_path, "product", "add", "grape", "--name", "巨峰葡萄", "--price", "15.5",
                          "--unit", "串", "--aliases", "巨峰,黑葡萄", "--spec", "1斤", "--supplier", "老王果园")
    assert (code, err) == (0, "") and out == "product grape: added (巨峰葡萄 15.5元)\n"
    code, out, err = tuan(capsys, config_path, "product", "edit", "grape", "--price", "14", "--inactive")
    assert code == 0 and "price '15.50' → '14.00'" in out
    code, out, _ = tuan(capsys, config_path, "product", "list", "--json")
    products = {p["code"]: p for p in json.loads(out)}
    assert products["grape"] == {**products["grape"], "name": "巨峰葡萄", "price": "14.00", "unit": "串",
                                 "aliases": ["巨峰", "黑葡萄"], "spec": "1斤", "supplier": "老王果园", "active": False,
                                 "from_config": False}
    assert products["1"]["from_config"] and products["1"]["price"] == "29.90"
    code, out, _ = tuan(capsys, config_path, "product", "list")
    assert code == 0 and "巨峰葡萄" in out and "tuan.toml" in out


@pytest.mark.parametrize("args, why", [
    (["product", "add", "x", "--name", "梨", "--price", "1.999"], "--price has more than 2 decimal places"),
    (["product", "add", "x", "--name", "梨", "--price", "0"], "--price must be more than 0"),
    (["product", "add", "x", "--name", "梨", "--price", "inf"], "--price is not a finite number"),
    (["product", "add", "x", "--name", "梨", "--price", "abc"], "--price is not a decimal number"),
    (["product", "add", "x", "--name", " ", "--price", "3"], "must not be empty"),
    (["product", "add", "1", "--name", "梨", "--price", "3"], "product 1 comes from"),
    (["product", "edit", "1", "--price", "3"], "product 1 comes from"),
    (["product", "edit", "nope", "--price", "3"], "no product nope"),
    (["deal", "open", "--group", "nope", "--products", "1"], "no group 'nope' (groups: home, park)"),
    (["deal", "open", "--group", "park", "--products", "1,zzz"], "no product zzz"),
    (["deal", "open", "--group", "park", "--products", "1:many"], "whole number"),
    (["deal", "open", "--group", "park", "--products", "1", "--cutoff", "2001-01-01 21:00"], "in the past"),
    (["deal", "open", "--group", "park", "--products", "1", "--cutoff", "soon"], "is not a time"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: Any, config_path: str, args: list[str], why: str) -> None:
    code, out, err = tuan(capsys, config_path, *args)
    assert code == 2 and out == "" and why in err and err.count("\n") == 1 and err.startswith("tuan: ")


def test_deal_open_from_the_library(capsys: Any, config_path: str) -> None:
    assert tuan(capsys, config_path, "product", "add", "egg", "--name", "土鸡蛋", "--price", "32",
                "--aliases", "鸡蛋")[0] == 0
    code, out, err = tuan(capsys, config_path, "deal", "open", "--group", "park", "--products", "egg:30,1",
                          "--title", "周末团", "--cutoff", "2099-11-30 21:00")
    assert code == 0 and err == "" and out.startswith("opened deal ") and "(周末团) for group park" in out
    url = _url(config_path)
    repo = open_repository(url)
    try:
        service = OrderService(repo)
        deal = service.deal_of("console:park")
        assert deal is not None and deal.status == "open" and deal.source == "cli" and deal.title == "周末团"
        catalog = service.catalog_of(deal.id)
        assert [(i.code, i.name, i.price, i.stock, i.aliases) for i in catalog.items] == [
            ("1", "土鸡蛋", Decimal("32"), 30, ("鸡蛋",)), ("2", "阳光玫瑰葡萄", Decimal("29.9"), None, ("葡萄",))]
        assert catalog.cutoff is not None and catalog.cutoff.utcoffset() is not None
        assert catalog.cutoff.isoformat().startswith("2099-11-30T13:00")  # 21:00 in Asia/Shanghai, stored as UTC
        assert service.deal_of("console:console") is None  # the other group is untouched
        assert set(SqlPlatformStore(repo.engine).load().products) == {"1", "egg"}
    finally:
        repo.close()
    code, _out, err = tuan(capsys, config_path, "deal", "open", "--group", "park", "--products", "1")
    assert code == 2 and "group park has an open deal" in err


def _url(config_path: str) -> str:
    from bot.config import load_config

    return load_config(config_path).store.url
