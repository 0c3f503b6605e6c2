"""Changes that name no item and the question they leave open (spec §3.6), also across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.catalog import Catalog, Item
from bot.model import InboundMessage
from bot.ports import Repository
from bot.services.orders import OrderService
from tests.stores import memory_store

T0 = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
ORANGES = Catalog(items=(
    Item("1", "赣南脐橙", "箱"),
    Item("2", "塔罗科血橙", "箱"),
    Item("3", "阿克苏苹果", "箱"),
))


class Chat:
    def __init__(self, svc: OrderService) -> None:
        self.svc, self.n = svc, 0

    def say(self, sender: str, text: str, *, minutes: float | None = None, recall_of: str | None = None):  # type: ignore[no-untyped-def]
        self.n += 1
        at = T0 + timedelta(minutes=self.n if minutes is None else minutes)
        return self.svc.handle(InboundMessage("t", "g1", f"m{self.n}", sender, sender, text, at, recall_of=recall_of))

    def totals(self, sender: str) -> dict[str, int]:
        return self.svc.sender_totals("t:g1", sender)


@pytest.fixture
def chat() -> Chat:
    return Chat(OrderService(memory_store(), catalog=ORANGES))


@pytest.mark.parametrize("change, want", [("改成3", 3), ("再加1", 3), ("减1", 1), ("-1", 1), ("改成0", 0)])
def test_a_change_without_item_is_about_the_senders_one_item(chat: Chat, change: str, want: int) -> None:
    chat.say("u1", "血橙2")
    out = chat.say("u1", change)
    assert not out.unclear
    assert chat.totals("u1") == ({"2": want} if want else {})


@pytest.mark.parametrize("change", ["改成3", "再加1", "减1", "-1"])
def test_a_change_without_item_is_unclear_with_none_or_several(chat: Chat, change: str) -> None:
    assert chat.say("u1", change).unclear  # none
    chat.say("u2", "血橙2")
    chat.say("u2", "脐橙1")
    assert chat.say("u2", change).unclear  # several
    assert chat.totals("u2") == {"2": 2, "1": 1}


def test_the_next_message_naming_only_an_item_answers(chat: Chat) -> None:
    chat.say("u1", "血橙2")
    chat.say("u1", "脐橙1")
    chat.say("u1", "改成3")
    out = chat.say("u1", "血橙3")
    assert not out.unclear
    assert chat.totals("u1") == {"2": 3, "1": 1}  # set to 3, not 2 + 3


def test_an_answer_without_a_number_takes_the_questions_number(chat: Chat) -> None:
    chat.say("u1", "改成3")
    chat.say("u1", "血橙")
    assert chat.totals("u1") == {"2": 3}
    chat.say("u1", "脐橙2")
    chat.say("u1", "再加2")
    chat.say("u1", "脐橙")
    assert chat.totals("u1") == {"2": 3, "1": 4}


def test_an_answer_with_another_number_takes_that_number(chat: Chat) -> None:
    chat.say("u1", "改成3")
    chat.say("u1", "血橙5")
    assert chat.totals("u1") == {"2": 5}


def test_only_the_next_message_within_ten_minutes_answers(chat: Chat) -> None:
    chat.say("u1", "改成3", minutes=1)
    chat.say("u1", "血橙", minutes=12)  # too late: a new entry of 1
    assert chat.totals("u1") == {"2": 1}
    chat.say("u2", "改成3", minutes=13)
    chat.say("u2", "几点到?", minutes=14)  # the next message was no answer
    chat.say("u2", "脐橙", minutes=15)
    assert chat.totals("u2") == {"1": 1}


def test_another_residents_message_does_not_answer_nor_close(chat: Chat) -> None:
    chat.say("u1", "改成3")
    chat.say("u2", "血橙")
    chat.say("u1", "苹果")
    assert chat.totals("u2") == {"2": 1} and chat.totals("u1") == {"3": 3}


def test_a_labelled_or_multi_item_reply_is_a_new_order_not_an_answer(chat: Chat) -> None:
    chat.say("u1", "改成3")
    chat.say("u1", "血橙1 脐橙1")
    assert chat.totals("u1") == {"2": 1, "1": 1}


@pytest.fixture(params=["sqlite_url", "pg_url"])
def store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(request.param))


def _open(url: str) -> Repository:
    from storage.sql import open_repository

    return open_repository(url)


def test_a_question_survives_a_restart(store_url: str) -> None:
    repo = _open(store_url)
    c = Chat(OrderService(repo, catalog=ORANGES))
    c.say("u1", "血橙2")
    c.say("u1", "脐橙1")
    assert c.say("u1", "改成3").unclear
    c.say("u2", "改成4")
    c.say("u2", "谢谢")  # u2's question is closed by the next message
    repo.close()
    repo2 = _open(store_url)
    c2 = Chat(OrderService(repo2, catalog=ORANGES))
    c2.n = c.n
    c2.say("u1", "血橙3")
    c2.say("u2", "苹果")
    assert c2.totals("u1") == {"2": 3, "1": 1}
    assert c2.totals("u2") == {"3": 1}
    repo2.close()


def test_a_question_survives_a_restart_in_memory_store() -> None:
    repo = memory_store()
    c = Chat(OrderService(repo, catalog=ORANGES))
    c.say("u1", "改成3")
    c2 = Chat(OrderService(repo, catalog=ORANGES))
    c2.n = c.n
    c2.say("u1", "苹果")
    assert c2.totals("u1") == {"3": 3}
