"""What the core sends, checked at the fake Bot API: texts, cards, edits, reactions, files, retries."""

from __future__ import annotations

import time

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.outbound import chunks
from bot.model import Card, CardButton, Mention
from tests.telegram.conftest import RecordingSink, config_for
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.updates import Chat, Person

GROUP = -1001234567890
CARD = Card("葡萄 0 / 苹果 0", (
    (CardButton("葡萄 +1", "add", "grape", "d1:add:grape:sig"), CardButton("−1", "sub", "grape", "d1:sub:grape:sig")),
    (CardButton("我的订单", "mine", None, "d1:mine:sig"),),
))


async def test_send_text_with_reply_and_mention(api: FakeBotApi, adapter: TelegramAdapter) -> None:
    group = Chat(api)
    asked = group.say(Person(7, "Alice"), "橙子有吗")
    mid = await adapter.send_text(str(GROUP), "没有橙子", reply_to=f"{asked}:e1009", mention=Mention("7", "Alice"))
    sent = api.calls_to("sendMessage")[-1].params
    assert mid is not None and (GROUP, int(mid)) in api.bot_messages
    assert sent["text"] == "@Alice 没有橙子"
    assert sent["reply_parameters"] == {"message_id": asked, "allow_sending_without_reply": True}
    assert sent["entities"] == [{"type": "text_mention", "offset": 0, "length": 6,
                                 "user": {"id": 7, "first_name": "Alice", "is_bot": False}}]
    assert await adapter.send_text(str(GROUP), "接龙", reply_to="tuan-3f2a") is not None  # not a Telegram id
    assert "reply_parameters" not in api.calls_to("sendMessage")[-1].params
    assert not await adapter.react(str(GROUP), "press:123456:1001", "✅")


async def test_a_preformatted_table_is_monospace_after_the_mention_in_every_piece(api: FakeBotApi,
                                                                                adapter: TelegramAdapter) -> None:
    row = "1号   阳光玫瑰葡萄 🍇 2斤装  2盒   ¥59.80 <b>&amp;</b>\n"  # markup-like words stay text
    table = "📊 统计\n" + row * 200  # longer than one message: sent in pieces
    assert await adapter.send_text(str(GROUP), table, mention=Mention("7", "Alice"), preformatted=True)
    calls = [c.params for c in api.calls_to("sendMessage")]
    assert len(calls) >= 2 and "".join(c["text"] for c in calls) == "@Alice " + table
    first, *rest = calls
    assert [e["type"] for e in first["entities"]] == ["text_mention", "pre"]
    pre = first["entities"][1]
    assert pre["offset"] == len("@Alice ")
    assert pre["offset"] + pre["length"] == len(first["text"].rstrip().encode("utf-16-le")) // 2
    for c in rest:
        assert c["entities"] == [{"type": "pre", "offset": 0,
                                  "length": len(c["text"].rstrip().encode("utf-16-le")) // 2}]
    assert all("parse_mode" not in c for c in calls)


async def test_long_texts_are_split_at_line_ends(api: FakeBotApi, adapter: TelegramAdapter) -> None:
    text = "".join(f"{n:04d} 邻居{n} 葡萄×1\n" for n in range(600))
    first = await adapter.send_text(str(GROUP), text)
    pieces = api.sent_texts(GROUP)
    assert len(pieces) == len(chunks(text)) > 1 and first is not None
    assert "".join(pieces) == text and all(len(p) <= 4096 for p in pieces)


async def test_card_buttons_and_edits_in_place(api: FakeBotApi, adapter: TelegramAdapter) -> None:
    mid = await adapter.send_card(str(GROUP), CARD)
    assert mid is not None
    markup = api.calls_to("sendMessage")[-1].params["reply_markup"]
    assert markup == {"inline_keyboard": [
        [{"text": "葡萄 +1", "callback_data": "t:d1:add:grape:sig"},
         {"text": "−1", "callback_data": "t:d1:sub:grape:sig"}],
        [{"text": "我的订单", "callback_data": "t:d1:mine:sig"}]]}
    assert await adapter.edit_text(str(GROUP), mid, "葡萄 1 / 苹果 0", CARD)
    assert await adapter.edit_text(str(GROUP), mid, "葡萄 1 / 苹果 0", CARD)  # unchanged: no call
    assert await adapter.edit_text(str(GROUP), mid, "葡萄 2 / 苹果 0")  # no card given: buttons kept
    edits = api.calls_to("editMessageText")
    assert len(edits) == 2 and all(e.params["reply_markup"] == markup for e in edits)
    assert api.bot_messages[(GROUP, int(mid))]["text"] == "葡萄 2 / 苹果 0"


async def test_edit_tolerates_not_modified_and_reports_failure(api: FakeBotApi, sink: RecordingSink) -> None:
    first = TelegramAdapter(config_for(api))
    await first.start(sink)
    mid = await first.send_card(str(GROUP), CARD)
    await first.stop()
    assert mid is not None
    fresh = TelegramAdapter(config_for(api))  # a restarted process: nothing remembered
    await fresh.start(sink)
    try:
        assert await fresh.edit_text(str(GROUP), mid, CARD.text, CARD)  # "message is not modified"
        assert not await fresh.edit_text(str(GROUP), "99999", "x")  # "message to edit not found"
        api.fail("editMessageText", 502, "Bad Gateway")
        assert await fresh.edit_text(str(GROUP), mid, "葡萄 3", CARD)  # retried
    finally:
        await fresh.stop()


async def test_reactions(api: FakeBotApi, adapter: TelegramAdapter) -> None:
    assert await adapter.react(str(GROUP), "41", "✅")  # not a Telegram reaction: sent as 👌
    assert await adapter.react(str(GROUP), "42:e1005", "🎉")  # the chat allows them: sent in the background
    await api.wait_for(lambda: len(api.calls_to("setMessageReaction")) == 2)
    sent = [(c.params["message_id"], c.params["reaction"]) for c in api.calls_to("setMessageReaction")]
    assert sent == [("41", [{"type": "emoji", "emoji": "👌"}]), ("42", [{"type": "emoji", "emoji": "🎉"}])]


async def test_chats_without_reactions_are_remembered(api: FakeBotApi, adapter: TelegramAdapter) -> None:
    api.no_reactions.add(-5)
    assert not await adapter.react("-5", "1", "✅")
    assert not await adapter.react("-5", "2", "✅")  # remembered: no second call
    assert len(api.calls_to("setMessageReaction")) == 1
    assert await adapter.react("-6", "1", "✅")
    api.no_reactions.add(-6)  # an admin turns reactions off
    assert await adapter.react("-6", "2", "✅")  # in the background: refused there
    await api.wait_for(lambda: len(api.calls_to("setMessageReaction")) == 3)
    await adapter.stop()  # waits for acknowledgements in flight
    assert not await adapter.react("-6", "3", "✅")
    assert len(api.calls_to("setMessageReaction")) == 3


async def test_send_file(api: FakeBotApi, adapter: TelegramAdapter) -> None:
    data = "姓名,葡萄\n邻居1,2\n".encode()
    assert await adapter.send_file("42", "tally.csv", data, caption="订单汇总")
    call = api.calls_to("sendDocument")[0]
    assert call.files["document"] == ("tally.csv", data)
    assert call.params["caption"] == "订单汇总" and call.params["chat_id"] == "42"


async def test_flood_limit_and_network_errors_are_retried(api: FakeBotApi, adapter: TelegramAdapter) -> None:
    api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    api.fail("sendMessage", 502, "Bad Gateway")
    started = time.perf_counter()
    assert await adapter.send_text(str(GROUP), "截单了") is not None
    assert time.perf_counter() - started >= 1
    assert len(api.calls_to("sendMessage")) == 3 and api.sent_texts(GROUP)[-1] == "截单了"
    api.fail("sendMessage", 403, "Forbidden: bot was kicked from the supergroup chat")
    assert await adapter.send_text(str(GROUP), "x") is None
    assert not await adapter.send_file(str(GROUP), "a.csv", b"")  # refused by the server: False
