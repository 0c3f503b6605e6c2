"""Money is checked where it enters: config, catalogs (tuan replay --catalog) and leaders' deal posts."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bot import messages as m
from bot import money
from bot.catalog import CatalogError, catalog_from_dict, load_catalog
from bot.catalog_check import DUPLICATE_ALIAS, catalog_problems
from bot.config import ConfigError, config_from_dict
from bot.demo_script import sample_deal
from bot.engine.dealpost import parse_deal_post
from storage import types as storage_types
from tests.pipeline import LEADER, make_pipeline

BAD = [("0", money.NOT_POSITIVE), ("-1", money.NOT_POSITIVE), ("19.999", money.TOO_PRECISE),
       ("0.001", money.TOO_PRECISE), ("NaN", money.NOT_FINITE), ("Infinity", money.NOT_FINITE),
       ("1E10", money.TOO_LARGE), ("12345678901", money.TOO_LARGE)]


@pytest.mark.parametrize("value, reason", BAD)
def test_bad_prices(value: str, reason: str) -> None:
    assert money.price_problem(Decimal(value)) == reason
    with pytest.raises(money.MoneyError) as caught:
        money.parse_price(value)
    assert caught.value.reason == reason


@pytest.mark.parametrize("raw, value", [("29.9", "29.9"), (30, "30"), ("0.01", "0.01"), ("9999999999.99", None),
                                        (29.9, "29.9"), ("1E+3", "1000")])
def test_good_prices(raw: object, value: str | None) -> None:
    got = money.parse_price(raw)
    assert str(got) == (value or str(raw)) and money.price_problem(got) is None


@pytest.mark.parametrize("raw", [True, None, [1], "二十", float("nan"), float("inf")])
def test_non_numbers_are_refused(raw: object) -> None:
    with pytest.raises(money.MoneyError):
        money.parse_price(raw)


def test_the_rule_is_what_the_store_holds() -> None:
    assert money.PLACES == storage_types.MONEY_PLACES
    assert money.LIMIT == Decimal(10) ** (storage_types.MONEY_DIGITS - storage_types.MONEY_PLACES)
    storage_types.check_money(Decimal("9999999999.99"))  # the largest valid price is storable


def items(*prices: object, aliases: tuple[list[str], ...] = ()) -> dict:
    return {"items": [{"code": str(n), "name": f"商品{n}", "price": p, "aliases": aliases[n - 1] if aliases else []}
                      for n, p in enumerate(prices, 1)]}


@pytest.mark.parametrize("value, _reason", BAD)
def test_a_catalog_names_the_file_and_item(value: str, _reason: str) -> None:
    with pytest.raises(CatalogError, match=r"^cat\.toml: `items\[2\]\.price` "):
        catalog_from_dict(items("29.9", value), "cat.toml")


def test_a_catalog_needs_prices_and_distinct_codes_and_aliases() -> None:
    with pytest.raises(CatalogError, match=r"`items\[1\]\.price` is missing"):
        catalog_from_dict({"items": [{"code": "1", "name": "葡萄"}]}, "cat.toml")
    with pytest.raises(CatalogError, match=r"`items\[2\]\.code` repeats code '1'"):
        catalog_from_dict({"items": [{"code": "1", "name": "a", "price": 1}, {"code": "1", "name": "b", "price": 1}]})
    with pytest.raises(CatalogError, match=r"`items\[2\]\.aliases` repeats '葡萄', an alias of items\[1\]"):
        catalog_from_dict(items("1", "2", aliases=(["葡萄"], ["巨峰", "葡萄"])), "cat.toml")
    ok = catalog_from_dict(items("1", "2", aliases=(["葡萄", "葡萄"], ["橙"])))  # one item may repeat itself
    assert catalog_problems(ok) == []


def test_replay_catalog_with_a_bad_price_is_a_clear_error(tmp_path: Path) -> None:
    cat = tmp_path / "catalog.toml"
    cat.write_text('[[items]]\ncode = "1"\nname = "葡萄"\nprice = 19.999\n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"catalog\.toml: `items\[1\]\.price` has more than 2 decimal places"):
        load_catalog(cat)
    (tmp_path / "t.jsonl").write_text("", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "replay", str(tmp_path / "t.jsonl"), "--catalog", str(cat)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "items[1].price" in done.stderr


def config_with(price: object, **extra: object) -> dict:
    deal = sample_deal(egg_stock=5)
    deal["items"][1] = {**deal["items"][1], "price": price, **extra}
    return {"groups": [{"id": "home", "platform": "fake", "chat": "g1"}], "deals": [deal]}


@pytest.mark.parametrize("price", ["0", "-3", "25.801", "nan", "inf", "1e12"])
def test_config_names_file_and_key(price: str) -> None:
    with pytest.raises(ConfigError, match=r"^tuan\.toml: `deals\[1\]\.items\[2\]\.price` "):
        config_from_dict(config_with(price), "tuan.toml", env={})


def test_config_repeated_alias() -> None:
    with pytest.raises(ConfigError, match=r"^tuan\.toml: `deals\[1\]\.items\[2\]\.aliases` repeats '葡萄'"):
        config_from_dict(config_with("25.8", aliases=["葡萄"]), "tuan.toml", env={})


def test_tuan_run_with_a_bad_price_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "tuan.toml"
    path.write_text('[console]\nenabled = true\n[[groups]]\nid = "home"\nplatform = "console"\nchat = "c"\n'
                    '[[deals]]\nid = "d"\ngroups = ["home"]\n[[deals.items]]\ncode = "1"\nname = "葡萄"\n'
                    'price = "-29.9"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run", "--config", str(path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"tuan: {path}: `deals[1].items[1].price` must be more than 0: '-29.9'"


POST = "周六水果团\n1. 阳光玫瑰葡萄 ¥29.9/盒\n2. 车厘子 ¥{cherry}/斤\n3. 脐橙 25.8元/箱"


def test_a_deal_post_keeps_what_it_read_for_the_check() -> None:
    catalog = parse_deal_post(POST.format(cherry="19.999") + "\n2. 血橙 ¥22/箱")
    assert catalog is not None
    problems = catalog_problems(catalog, catalog.extra["repeated_items"])
    assert [(p.item.code, p.reason) for p in problems] == [("2", money.TOO_PRECISE), ("2", "duplicate_code")]
    assert DUPLICATE_ALIAS == "duplicate_alias"


async def no_deal_pipeline():
    from bot.config import config_from_dict as cfd
    from tests.pipeline import sender_id_of

    config = cfd({"bot": {"digest_minutes": 0, "leaders": [sender_id_of(LEADER)]},
                  "groups": [{"id": "home", "platform": "fake", "chat": "g1", "title": "群"}]}, "t.toml", env={})
    return await make_pipeline(config=config)


@pytest.mark.parametrize("cherry, why", [("19.999", money.TOO_PRECISE), ("0", money.NOT_POSITIVE),
                                         ("99999999999", money.TOO_LARGE)])
async def test_a_deal_post_with_a_bad_price_tells_the_leader_which_item(cherry: str, why: str) -> None:
    p = await no_deal_pipeline()
    await p.chat.push(POST.format(cherry=cherry), sender=LEADER)
    [reply] = p.chat.pop_all()
    assert reply.text == m.DEAL_BAD_PRICE.format(line=f"2号 车厘子 {cherry}元", why=m.PRICE_WHY[why])
    assert reply.mention is not None and reply.mention.name == LEADER
    assert p.core.service.deal_of("fake:g1") is None
    await p.chat.push(POST.format(cherry="39.9"), sender=LEADER)  # fixed: the deal opens
    assert p.chat.pop().text.startswith("已按团长的接龙帖开团,共3样商品")
    await p.chat.push("车厘子2", sender="王姐")
    assert p.core.service.tally(p.core.service.deal_of("fake:g1").id).amount == Decimal("79.8")
    await p.close()


async def test_a_deal_post_with_a_repeated_number_tells_the_leader() -> None:
    p = await no_deal_pipeline()
    await p.chat.push(POST.format(cherry="39.9") + "\n2. 血橙 ¥22/箱", sender=LEADER)
    [reply] = p.chat.pop_all()
    assert reply.text == m.DEAL_REPEATED_ITEM.format(line="2号 血橙 22元", word="2")
    assert p.core.service.deal_of("fake:g1") is None
    await p.close()


@pytest.mark.parametrize("written, line, why", [
    ("车厘子 ¥-5/斤", "2号 车厘子 -5元", money.NOT_POSITIVE),
    ("车厘子 -5元", "2号 车厘子 -5元", money.NOT_POSITIVE),
    ("车厘子 NaN元", "2号 车厘子 NaN元", money.NOT_FINITE),
    ("车厘子 ¥NaN/斤", "2号 车厘子 ¥NaN/斤", money.NOT_FINITE),
    ("车厘子 1e9元", "2号 车厘子 1e9元", money.NOT_FINITE),
    ("车厘子 ¥inf", "2号 车厘子 ¥inf", money.NOT_FINITE),
])
async def test_a_price_that_cannot_be_read_refuses_the_post_naming_the_line(written: str, line: str,
                                                                           why: str) -> None:
    """An item line that names a price we cannot use is never dropped or misread (¥-5 as 5, 1e9 as 9)."""
    p = await no_deal_pipeline()
    await p.chat.push(f"周六水果团\n1. 阳光玫瑰葡萄 ¥29.9/盒\n2. {written}\n3. 脐橙 25.8元/箱", sender=LEADER)
    [reply] = p.chat.pop_all()
    assert reply.text == m.DEAL_BAD_PRICE.format(line=line, why=m.PRICE_WHY[why])
    assert p.core.service.deal_of("fake:g1") is None
    await p.close()


@pytest.mark.parametrize("written, price", [("¥1,299", "1299"), ("1,000元", "1000"), ("¥1,299.50/克", "1299.50"),
                                            ("草莓-25元", "25")])
def test_thousands_separators_and_a_dash_before_the_price(written: str, price: str) -> None:
    catalog = parse_deal_post(f"#接龙\n1. 黄金 {written}\n2. 白银 10元")
    assert catalog is not None and catalog.items[0].price == Decimal(price)
