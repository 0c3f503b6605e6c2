"""The order service on transcripts: changes, edits, withdrawals, copies, limits, restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.catalog import Catalog, Item
from bot.model import InboundMessage
from bot.ports import Repository
from bot.services.orders import OrderService
from tests.stores import FlakyStore, memory_store

T0 = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


def catalog(**kw: object) -> Catalog:
    return Catalog(items=(
        Item("1", "阳光玫瑰葡萄 2斤装", "盒", aliases=("葡萄", "阳光玫瑰")),
        Item("2", "赣南脐橙 5斤", "箱", aliases=("脐橙", "橙子")),
        Item("3", "土鸡蛋 30枚", "盒", aliases=("鸡蛋",), stock=kw.pop("egg_stock", None)),  # type: ignore[arg-type]
    ), **kw)  # type: ignore[arg-type]


class Chat:
    def __init__(self, svc: OrderService, chat: str = "g1") -> None:
        self.svc, self.chat, self.n = svc, chat, 0

    def say(self, sender: str, text: str, *, leader: bool = False, edit_of: str | None = None,
            recall_of: str | None = None, at: datetime | None = None, mid: str | None = None):  # type: ignore[no-untyped-def]
        self.n += 1
        m = InboundMessage("t", self.chat, mid or f"m{self.n}", sender, sender, text, at or T0 + timedelta(minutes=self.n),
                           is_admin=leader, edit_of=edit_of, recall_of=recall_of)
        return self.svc.handle(m)

    def totals(self, sender: str) -> dict[str, int]:
        return self.svc.sender_totals(f"t:{self.chat}", sender)


@pytest.fixture
def chat() -> Chat:
    return Chat(OrderService(memory_store(), catalog=catalog()))


def test_recall_of_a_set_restores_the_earlier_total(chat: Chat) -> None:
    chat.say("u1", "葡萄2")
    chat.say("u1", "葡萄改成3")
    chat.say("u1", "", recall_of="m2")
    assert chat.totals("u1") == {"1": 2}


def test_recall_of_a_set_changed_again_later_keeps_the_later(chat: Chat) -> None:
    chat.say("u1", "葡萄2")
    chat.say("u1", "葡萄改成3")
    chat.say("u1", "葡萄改成5")
    chat.say("u1", "", recall_of="m2")
    assert chat.totals("u1") == {"1": 5}


def test_recall_of_an_entry_superseded_by_a_set_changes_nothing(chat: Chat) -> None:
    chat.say("u1", "葡萄2")
    chat.say("u1", "葡萄改成5")
    chat.say("u1", "", recall_of="m1")
    assert chat.totals("u1") == {"1": 5}


def test_recall_of_an_entry_keeps_a_later_addition(chat: Chat) -> None:
    chat.say("u1", "葡萄2")
    chat.say("u1", "葡萄再加1")
    chat.say("u1", "", recall_of="m1")
    assert chat.totals("u1") == {"1": 1}


def test_recall_of_decrease_and_of_cancel(chat: Chat) -> None:
    chat.say("u1", "葡萄3 鸡蛋1")
    chat.say("u1", "葡萄减1")
    assert chat.totals("u1") == {"1": 2, "3": 1}
    chat.say("u1", "", recall_of="m2")
    assert chat.totals("u1") == {"1": 3, "3": 1}
    chat.say("u1", "取消")
    assert chat.totals("u1") == {}
    chat.say("u1", "", recall_of="m4")
    assert chat.totals("u1") == {"1": 3, "3": 1}


def test_decrease_below_zero_and_cancel_of_nothing(chat: Chat) -> None:
    chat.say("u1", "葡萄1")
    out = chat.say("u1", "葡萄减5")
    assert chat.totals("u1") == {}
    assert not out.unclear and not out.refused
    out = chat.say("u1", "鸡蛋不要了")
    assert not out.unclear and not out.accepted


def test_someone_else_cannot_recall_or_edit_my_message(chat: Chat) -> None:
    chat.say("u1", "葡萄2")
    chat.say("u2", "", recall_of="m1")
    chat.say("u2", "葡萄1", edit_of="m1")
    assert chat.totals("u1") == {"1": 2}
    assert chat.totals("u2") == {"1": 1}


def test_edit_of_a_copy_keeps_the_unchanged_own_line(chat: Chat) -> None:
    chat.say("u1", "#接龙\n1. 王姐 葡萄1\n2. 王姐妹妹 鸡蛋1")
    chat.say("u2", "#接龙\n1. 王姐 葡萄1\n2. 王姐妹妹 鸡蛋1\n3. 阿强 橙子1")
    chat.say("u1", "#接龙\n1. 王姐 葡萄3\n2. 王姐妹妹 鸡蛋1", edit_of="m1")
    assert chat.totals("u1") == {"1": 3, "3": 1}
    assert chat.totals("u2") == {"2": 1}


def test_own_line_replaced_then_recalled_brings_the_old_line_back(chat: Chat) -> None:
    chat.say("u1", "#接龙\n1. 王姐 葡萄1")
    chat.say("u2", "#接龙\n1. 王姐 葡萄1\n2. 阿强 橙子1")
    chat.say("u1", "#接龙\n1. 王姐 葡萄3\n2. 阿强 橙子1")
    assert chat.totals("u1") == {"1": 3}
    chat.say("u1", "", recall_of="m3")
    assert chat.totals("u1") == {"1": 1}


def test_copy_with_a_missing_line_cancels_nothing(chat: Chat) -> None:
    chat.say("u1", "#接龙\n1. 王姐 葡萄1")
    chat.say("u2", "#接龙\n1. 王姐 葡萄1\n2. 阿强 橙子1")
    chat.say("u3", "#接龙\n2. 阿强 橙子1\n3. 小陈 鸡蛋2")
    assert chat.totals("u1") == {"1": 1}
    assert chat.totals("u2") == {"2": 1}
    assert chat.totals("u3") == {"3": 2}


def test_stock_is_given_back_by_a_cancel() -> None:
    c = Chat(OrderService(memory_store(), catalog=catalog(egg_stock=2)))
    c.say("u1", "鸡蛋2")
    assert c.say("u2", "鸡蛋1").refused
    c.say("u1", "鸡蛋不要了")
    assert not c.say("u2", "鸡蛋1").refused
    assert c.totals("u2") == {"3": 1}


def test_max_qty_refuses_a_set_whole() -> None:
    c = Chat(OrderService(memory_store(), catalog=catalog(max_qty=5)))
    c.say("u1", "葡萄2")
    out = c.say("u1", "葡萄改成6")
    assert [p.code for p in out.refused] == ["over_max"]
    assert c.totals("u1") == {"1": 2}
    assert c.say("u1", "葡萄再加4").refused
    assert not c.say("u1", "葡萄再加3").refused


def test_after_cutoff_edits_and_recalls_are_refused() -> None:
    cut = T0 + timedelta(minutes=2, seconds=30)
    c = Chat(OrderService(memory_store(), catalog=catalog(cutoff=cut)))
    c.say("u1", "葡萄2")
    c.say("u2", "鸡蛋1")
    assert c.say("u1", "", recall_of="m1").refused
    assert c.say("u2", "鸡蛋3", edit_of="m2").refused
    assert c.say("u3", "橙子?").refused == ()
    assert c.totals("u1") == {"1": 2} and c.totals("u2") == {"3": 1}


def test_leader_messages_are_never_orders(chat: Chat) -> None:
    out = chat.say("lead", "葡萄2", leader=True)
    assert not out.accepted and chat.totals("lead") == {}


def test_each_chat_gets_its_own_deal_post() -> None:
    svc = OrderService(memory_store())
    east, west = Chat(svc, "east"), Chat(svc, "west")
    east.say("lead", "#接龙\n1. 沃柑 5斤装 19.9元/箱\n2、丹东草莓 1斤 ¥35.8", leader=True)
    west.say("lead", "#接龙\n1. 纯牛奶 250ml*12盒 42元/提", leader=True)
    east.say("u1", "草莓2")
    west.say("u1", "+1")
    assert east.totals("u1") == {"2": 2}
    assert west.totals("u1") == {"1": 1}
    assert svc.deal_of("t:east") != svc.deal_of("t:west")


def test_a_redelivered_message_changes_nothing(chat: Chat) -> None:
    chat.say("u1", "葡萄2", mid="x1")
    assert chat.say("u1", "葡萄2", mid="x1").kind == "duplicate"
    assert chat.totals("u1") == {"1": 2}


@pytest.fixture(params=["sqlite_url", "pg_url"])
def store_url(request: pytest.FixtureRequest) -> str:
    """The restart tests run on a SQLite file and on PostgreSQL (a fresh schema)."""
    return str(request.getfixturevalue(request.param))


def _open(url: str) -> Repository:
    from storage.sql import open_repository

    return open_repository(url)


def test_restart_rebuilds_seen_lines_and_undo_history(store_url: str) -> None:
    repo = _open(store_url)
    c = Chat(OrderService(repo, catalog=catalog(egg_stock=5)))
    c.say("u1", "#接龙\n1. 王姐 葡萄1")
    c.say("u2", "#接龙\n1. 王姐 葡萄1\n2. 阿强 鸡蛋3")
    c.say("u1", "葡萄改成4")
    repo.close()

    repo2 = _open(store_url)
    c2 = Chat(OrderService(repo2, catalog=catalog(egg_stock=5)))
    c2.n = c.n
    c2.say("u3", "#接龙\n1. 王姐 葡萄1\n2. 阿强 鸡蛋3\n3. 小陈 鸡蛋3")  # 3 > 2 left: sold out
    assert c2.totals("u1") == {"1": 4}
    assert c2.totals("u2") == {"3": 3}
    assert c2.totals("u3") == {}
    c2.say("u1", "", recall_of="m3")
    assert c2.totals("u1") == {"1": 1}
    c2.say("u2", "", recall_of="m2")
    assert c2.totals("u2") == {}
    c2.say("u3", "鸡蛋3")
    assert c2.totals("u3") == {"3": 3}
    repo2.close()


def test_a_merged_copy_that_renumbers_another_line_adds_nothing(chat: Chat) -> None:
    chat.say("u1", "#接龙\n1. 王姐 葡萄1")
    chat.say("u2", "#接龙\n1. 王姐 葡萄1\n2. 阿强 葡萄2")
    chat.say("u3", "#接龙\n1. 王姐 葡萄1\n2. 李阿姨 鸡蛋1")
    chat.say("u4", "#接龙\n1. 王姐 葡萄1\n2. 阿强 葡萄2\n3. 李阿姨 鸡蛋1\n4. 小陈 橙子1")
    assert chat.totals("u3") == {"3": 1}
    assert chat.totals("u4") == {"2": 1}


def test_a_delivery_is_claimed_once(chat: Chat) -> None:
    assert chat.svc.claim_delivery(("telegram:1", "77")) is True
    assert chat.svc.claim_delivery(("telegram:1", "77")) is False
    assert chat.svc.is_processed("telegram:1", "77")


def test_the_bots_own_post_is_seen_and_defines_no_deal() -> None:
    svc = OrderService(memory_store())
    card = "🛒 今日团购\n1. 沃柑 5斤装 19.9元/箱\n2. 丹东草莓 1斤 35.8元"
    svc.note_post("t:g1", "bot1", card, T0)
    assert svc.deal_of("t:g1") is None  # the bot's card is no leader's deal post
    c = Chat(svc)
    c.say("lead", "#接龙\n1. 沃柑 5斤装 19.9元/箱\n2. 丹东草莓 1斤 ¥35.8", leader=True)
    svc.note_post("t:g1", "bot2", "#接龙 今日\n1. 3栋402 王姐 沃柑1", T0 + timedelta(minutes=30))
    c.say("u2", "#接龙 今日\n1. 3栋402 王姐 沃柑1\n2. 阿强 草莓2")
    assert c.totals("u2") == {"2": 2}


def test_list_numbers_past_999_are_list_numbers(chat: Chat) -> None:
    lines = "\n".join(f"{k}. 住户{k} 葡萄1" for k in range(998, 1001))
    chat.say("u1", "#接龙\n" + lines)
    chat.say("u2", "#接龙\n" + lines + "\n1001. 阿强 鸡蛋2")
    assert chat.totals("u2") == {"3": 2}
    assert chat.totals("u1") == {"1": 3}


def test_a_failed_commit_leaves_no_phantom_order() -> None:
    repo = FlakyStore()
    c = Chat(OrderService(repo, catalog=catalog(egg_stock=3)))
    c.say("u1", "#接龙\n1. 王姐 鸡蛋2")
    repo.fail_next = True
    with pytest.raises(ConnectionError):
        c.say("u2", "#接龙\n1. 王姐 鸡蛋2\n2. 阿强 鸡蛋1")
    assert c.totals("u2") == {}  # not acknowledged, not counted: the adapter will redeliver it
    c.n -= 1
    out = c.say("u2", "#接龙\n1. 王姐 鸡蛋2\n2. 阿强 鸡蛋1")  # the redelivery is taken, once
    assert [a.delta for a in out.accepted] == [1]
    assert c.totals("u2") == {"3": 1} and c.totals("u1") == {"3": 2}


def test_a_new_round_starts_with_no_seen_lines() -> None:
    svc = OrderService(memory_store())
    first = svc.open_deal(catalog(), ["t:g1"], title="周一团")
    c = Chat(svc)
    c.say("u1", "#接龙\n1. 王姐 葡萄1")
    svc.close_deal(first)
    svc.open_deal(catalog(), ["t:g1"], title="周二团")
    c.say("u1", "#接龙\n1. 王姐 葡萄1")  # the same line, tomorrow: a new order of the new round
    c.say("u2", "#接龙\n1. 王姐 葡萄1\n2. 阿强 鸡蛋1")
    assert c.totals("u1") == {"1": 1}
    assert c.totals("u2") == {"3": 1}


def test_a_new_round_survives_a_restart(store_url: str) -> None:
    repo = _open(store_url)
    svc = OrderService(repo)
    first = svc.open_deal(catalog(), ["t:g1"], title="周一团")
    c = Chat(svc)
    c.say("u1", "#接龙\n1. 王姐 葡萄1")
    svc.close_deal(first)
    svc.open_deal(catalog(), ["t:g1"], title="周二团")
    c.say("u2", "#接龙\n1. 阿强 鸡蛋1")
    repo.close()
    repo2 = _open(store_url)
    c2 = Chat(OrderService(repo2))
    c2.n = c.n
    c2.say("u1", "#接龙\n1. 阿强 鸡蛋1\n2. 王姐 葡萄1")  # yesterday's line again: new today
    c2.say("u3", "#接龙\n1. 阿强 鸡蛋1\n2. 王姐 葡萄1")  # today's lines: seen
    assert c2.totals("u1") == {"1": 1} and c2.totals("u2") == {"3": 1} and c2.totals("u3") == {}
    repo2.close()


def test_an_edit_of_an_edit_after_a_restart_keeps_the_unchanged_line(store_url: str) -> None:
    repo = _open(store_url)
    c = Chat(OrderService(repo, catalog=catalog()))
    c.say("u1", "#接龙\n1. 王姐 葡萄1\n2. 王姐妹妹 鸡蛋1")
    c.say("u2", "#接龙\n1. 王姐 葡萄1\n2. 王姐妹妹 鸡蛋1\n3. 阿强 橙子1")
    c.say("u1", "#接龙\n1. 王姐 葡萄2\n2. 王姐妹妹 鸡蛋1", edit_of="m1")
    repo.close()
    repo2 = _open(store_url)
    c2 = Chat(OrderService(repo2, catalog=catalog()))
    c2.n = c.n
    c2.say("u1", "#接龙\n1. 王姐 葡萄3\n2. 王姐妹妹 鸡蛋1", edit_of="m3")
    c2.say("u3", "#接龙\n1. 王姐 葡萄1\n2. 王姐妹妹 鸡蛋1\n3. 阿强 橙子1\n4. 小陈 鸡蛋2")
    assert c2.totals("u1") == {"1": 3, "3": 1}
    assert c2.totals("u2") == {"2": 1} and c2.totals("u3") == {"3": 2}
    repo2.close()


def test_an_original_arriving_after_its_edit_changes_nothing(chat: Chat) -> None:
    """Two workers (or a slow platform) may hand the service an edit before the message it edits:
    the edit counts as the message; the original, when it comes, adds nothing."""
    chat.say("u1", "葡萄3", mid="m1:e1", edit_of="m1")
    out = chat.say("u1", "葡萄2", mid="m1")
    assert out.kind == "stale" and not out.accepted
    assert chat.totals("u1") == {"1": 3}


def test_a_late_original_stays_stale_after_a_restart(tmp_path: object) -> None:
    from storage.sql import open_repository

    url = f"sqlite:///{tmp_path}/t.db"
    c = Chat(OrderService(open_repository(url), catalog=catalog()))
    c.say("u1", "葡萄3", mid="m1:e1", edit_of="m1")
    c.svc.repo.close()
    c2 = Chat(OrderService(open_repository(url), catalog=catalog()))
    assert c2.say("u1", "葡萄2", mid="m1").kind == "stale"
    assert c2.totals("u1") == {"1": 3}
    c2.svc.repo.close()
