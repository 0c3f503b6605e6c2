"""Edits as Telegram sends them (breaker3): every edit of a message names the *original* message.

Telegram's ``edited_message`` carries the original ``message_id``; ``adapters.telegram.convert``
makes each edit its own message ``<id>:e<update_id>`` with ``edit_of=<id>``. So a message edited
twice arrives as two edits of the same original, never as an edit of the first edit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from telegram import Update

from adapters.telegram.convert import BotIdentity, to_inbound
from bot.catalog import Catalog, Item
from bot.model import InboundMessage
from bot.services.orders import OrderService
from tests.stores import memory_store

ME = BotIdentity(id=999, username="TuanBot")
GROUP = {"id": -1001, "type": "supergroup", "title": "阳光花园"}
WANG = {"id": 7, "is_bot": False, "first_name": "王姐"}
QIANG = {"id": 8, "is_bot": False, "first_name": "阿强"}
DATE = int(datetime.now(UTC).timestamp()) - 600
CHAT = "telegram:-1001"


def catalog() -> Catalog:
    return Catalog(items=(Item("1", "阳光玫瑰葡萄", "盒", Decimal("29.9"), aliases=("葡萄",)),
                          Item("2", "土鸡蛋", "盒", Decimal("32"), aliases=("鸡蛋",), stock=5)), max_qty=10)


def tg(update_id: int, message_id: int, text: str, *, who: dict[str, Any] = WANG, edit_date: int | None = None,
       ) -> InboundMessage:
    """The InboundMessage the Telegram adapter makes of a new (or, with ``edit_date``, edited) message."""
    msg: dict[str, Any] = {"message_id": message_id, "date": DATE, "chat": GROUP, "from": who, "text": text}
    kind = "message"
    if edit_date is not None:
        msg["edit_date"] = edit_date
        kind = "edited_message"
    inbound = to_inbound(Update.de_json({"update_id": update_id, kind: msg}, None), ME)
    assert inbound is not None
    return inbound


def totals(svc: OrderService, deal_id: str) -> dict[str, int]:
    return {code: q for code, q in svc.tally(deal_id).totals.items() if q}


@pytest.fixture
def svc_deal() -> tuple[OrderService, str]:
    svc = OrderService(memory_store())
    return svc, svc.open_deal(catalog(), [CHAT], title="周日团")


# User sees: 王姐 fixes 葡萄2 to 葡萄3, then to 葡萄4; the leader's tally says 7 boxes (both edits count).
def test_a_message_edited_twice_counts_only_its_last_text(svc_deal: tuple[OrderService, str]) -> None:
    svc, did = svc_deal
    svc.handle(tg(1, 5, "葡萄2"))
    svc.handle(tg(2, 5, "葡萄3", edit_date=DATE + 10))
    assert totals(svc, did) == {"1": 3}
    svc.handle(tg(3, 5, "葡萄4", edit_date=DATE + 20))
    assert totals(svc, did) == {"1": 4}


# User sees: two edits that overtook their message (two webhook workers) both counted: 鸡蛋 1 + 2 = 3, not 2.
def test_two_edits_arriving_before_their_original_count_as_the_last(svc_deal: tuple[OrderService, str]) -> None:
    svc, did = svc_deal
    svc.handle(tg(2, 6, "鸡蛋1", edit_date=DATE + 10))
    svc.handle(tg(3, 6, "鸡蛋2", edit_date=DATE + 20))
    svc.handle(tg(1, 6, "鸡蛋3"))  # the original, late: changes nothing
    assert totals(svc, did) == {"2": 2}


# User sees: 王姐 fixes a typo in yesterday's (closed) order and it becomes a new order of 3 in today's round.
def test_an_edit_of_last_rounds_message_orders_nothing_in_the_new_round() -> None:
    svc = OrderService(memory_store())
    first = svc.open_deal(catalog(), [CHAT], title="周六团")
    svc.handle(tg(1, 5, "葡萄2"))
    svc.close_deal(first)
    second = svc.open_deal(catalog(), [CHAT], title="周日团")
    svc.handle(tg(2, 5, "葡萄3", edit_date=DATE + 60))
    assert totals(svc, first) == {"1": 2}
    assert totals(svc, second) == {}


# Regression (held): an edit by someone else of 王姐's message id changes nothing of hers.
def test_an_edit_claiming_another_residents_message_does_not_undo_it(svc_deal: tuple[OrderService, str]) -> None:
    svc, did = svc_deal
    svc.handle(tg(1, 5, "鸡蛋3"))
    svc.handle(tg(2, 5, "鸡蛋1", who=QIANG, edit_date=DATE + 10))  # a forged edit: 阿强 as sender
    assert svc.sender_totals(CHAT, "7") == {"2": 3}
    assert totals(svc, did)["2"] <= 5  # stock


# Regression (held): a message redelivered after its deal's cache is dropped (a restart) counts once.
def test_a_redelivered_update_counts_once_after_the_cache_is_gone(svc_deal: tuple[OrderService, str]) -> None:
    svc, did = svc_deal
    svc.handle(tg(1, 5, "葡萄2"))
    fresh = OrderService(svc.repo)  # a restarted process: nothing cached
    assert fresh.handle(tg(1, 5, "葡萄2")).kind == "duplicate"
    assert totals(fresh, did) == {"1": 2}


# Regression (held): a single edit that overtook its original counts once, the original changes nothing.
def test_one_edit_before_its_original_counts_once_across_a_restart(svc_deal: tuple[OrderService, str]) -> None:
    svc, did = svc_deal
    svc.handle(tg(2, 6, "鸡蛋2", edit_date=DATE + 10))
    fresh = OrderService(svc.repo)
    fresh.handle(tg(1, 6, "鸡蛋4"))
    assert totals(fresh, did) == {"2": 2}


# The same through real HTTP: the fake Bot API ⇄ PTB ⇄ TelegramAdapter ⇄ Dispatcher ⇄ OrderService ⇄ SQLite.
# User sees: 👌 on 葡萄2, edits it to 葡萄3 and then 葡萄4; /tally counts 7 boxes for her.
async def test_edited_twice_over_the_bot_api(sqlite_url: str) -> None:
    from storage.sql import open_repository
    from tests.telegram.fake_bot_api import FakeBotApi
    from tests.telegram.stack import CHAT_ID, build, stored
    from tests.telegram.updates import Chat, Person

    api = FakeBotApi()
    await api.start()
    repo = open_repository(sqlite_url)
    running = await build(repo, api.base_url, api.token).start()
    try:
        group = Chat(api, CHAT_ID)
        wang = Person(7, "王姐")
        said = group.say(wang, "葡萄2")
        await api.wait_for(lambda: stored(repo) == {"7": {"1": 2}})
        group.edit(said, "葡萄3")
        await api.wait_for(lambda: stored(repo) != {"7": {"1": 2}})
        group.edit(said, "葡萄4")
        await api.wait_for(lambda: len(api.calls_to("setMessageReaction")) >= 3)
        assert stored(repo) == {"7": {"1": 4}}
    finally:
        await running.stop()
        repo.close()
        await api.stop()
