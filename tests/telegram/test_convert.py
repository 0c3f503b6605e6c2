"""convert.py: Telegram updates → InboundMessage / ButtonPress, without a network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Update

from adapters.telegram.convert import (
    BotIdentity,
    address_command,
    is_anonymous_admin,
    message_of,
    to_inbound,
    to_press,
)

ME = BotIdentity(id=999, username="TuanBot")
GROUP = {"id": -1001, "type": "supergroup", "title": "阳光花园"}
ALICE = {"id": 7, "is_bot": False, "first_name": "Alice", "last_name": "Wang", "username": "alice"}
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def update(kind: str = "message", update_id: int = 50, **fields: Any) -> Update:
    msg: dict[str, Any] = {"message_id": 5, "date": 1_790_000_000, "chat": GROUP, "from": ALICE, "text": "葡萄+1"}
    msg.update(fields)
    msg = {k: v for k, v in msg.items() if v is not None}
    return Update.de_json({"update_id": update_id, kind: msg}, None)


def test_group_message() -> None:
    msg = to_inbound(update(), ME)
    assert msg is not None
    assert (msg.platform, msg.chat_id, msg.message_id, msg.sender_id) == ("telegram", "-1001", "5", "7")
    assert msg.sender_name == "Alice Wang"
    assert msg.text == "葡萄+1"
    assert msg.chat_title == "阳光花园"
    assert msg.ts == datetime.fromtimestamp(1_790_000_000, UTC)
    assert msg.delivery == ("telegram:999", "50")
    assert not (msg.is_private or msg.is_admin or msg.mentions_bot or msg.edit_of or msg.reply_to)
    assert msg.chat_key == "telegram:-1001"


def test_edit_gets_its_own_id_and_names_the_original() -> None:
    msg = to_inbound(update("edited_message", update_id=61, text="葡萄+2", edit_date=1_790_000_100), ME)
    assert msg is not None
    assert msg.message_id == "5:e61"
    assert msg.edit_of == "5"
    assert msg.ts == datetime.fromtimestamp(1_790_000_100, UTC)
    assert msg.delivery == ("telegram:999", "61")


def test_private_chat() -> None:
    msg = to_inbound(update(chat={"id": 7, "type": "private", "first_name": "Alice"}, text="/export"), ME)
    assert msg is not None and msg.is_private and msg.chat_id == "7"


@pytest.mark.parametrize(("text", "expected"), [
    ("/tally@TuanBot", "/tally"),
    ("/tally@tuanbot 今天", "/tally 今天"),
    ("/tally", "/tally"),
    ("/tally@OtherBot", None),
    ("葡萄 2", "葡萄 2"),
])
def test_address_command(text: str, expected: str | None) -> None:
    assert address_command(text, "TuanBot") == expected


def test_command_for_us_mentions_us_and_other_bots_commands_are_ignored() -> None:
    msg = to_inbound(update(text="/close@TuanBot"), ME)
    assert msg is not None and msg.text == "/close" and msg.mentions_bot
    assert to_inbound(update(text="/close@OtherBot"), ME) is None


def test_mentions_and_replies() -> None:
    at = to_inbound(update(text="@TuanBot 我的订单", entities=[{"type": "mention", "offset": 0, "length": 8}]), ME)
    assert at is not None and at.mentions_bot
    bot_msg = {"message_id": 3, "date": 1_789_999_000, "chat": GROUP, "from": {"id": 999, "is_bot": True,
                                                                              "first_name": "Tuan"}, "text": "卡片"}
    reply = to_inbound(update(text="+1", reply_to_message=bot_msg), ME)
    assert reply is not None and reply.mentions_bot and reply.reply_to == "3"


def test_caption_counts_as_text() -> None:
    msg = to_inbound(update(text=None, caption="今日团购：葡萄 25元/盒", photo=[
        {"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]), ME)
    assert msg is not None and msg.text == "今日团购：葡萄 25元/盒"


@pytest.mark.parametrize("fields", [
    {"text": None, "sticker": {"file_id": "s", "file_unique_id": "u", "width": 1, "height": 1, "is_animated": False,
                               "is_video": False, "type": "regular"}},
    {"text": None, "new_chat_members": [ALICE]},
    {"text": None, "left_chat_member": ALICE},
    {"text": None, "pinned_message": {"message_id": 1, "date": 0, "chat": GROUP}},
    {"text": "   "},
    {"from": None},
    {"from": {"id": 5, "is_bot": True, "first_name": "OtherBot"}},
    {"sender_chat": {"id": -100777, "type": "channel", "title": "频道"}},
    {"is_automatic_forward": True, "sender_chat": {"id": -100777, "type": "channel", "title": "频道"}},
    {"chat": {"id": -100777, "type": "channel", "title": "频道"}},
])
def test_ignored_messages(fields: dict[str, Any]) -> None:
    assert to_inbound(update(**fields), ME) is None


def test_channel_posts_and_other_update_kinds_are_ignored() -> None:
    post = Update.de_json({"update_id": 1, "channel_post": {"message_id": 1, "date": 0, "text": "hi", "chat": {
        "id": -100777, "type": "channel", "title": "频道"}}}, None)
    assert message_of(post) is None and to_inbound(post, ME) is None
    reaction = Update.de_json({"update_id": 2, "message_reaction": {
        "chat": GROUP, "message_id": 1, "date": 0, "old_reaction": [], "new_reaction": []}}, None)
    assert to_inbound(reaction, ME) is None and to_press(reaction, ME, NOW) is None


def test_anonymous_admin_posts_as_the_group() -> None:
    anonymous: dict[str, Any] = {"from": {"id": 1087968824, "is_bot": True, "first_name": "Group",
                                          "username": "GroupAnonymousBot"}}
    upd = update(**anonymous, sender_chat=GROUP, text="今日团购")
    raw = message_of(upd)
    assert raw is not None and is_anonymous_admin(raw)
    msg = to_inbound(upd, ME)
    assert msg is not None and msg.sender_id == "chat-1001" and msg.sender_name == "阳光花园"


def query(data: str | None, update_id: int = 70, with_message: bool = True) -> Update:
    q: dict[str, Any] = {"id": "q1", "from": ALICE, "chat_instance": "c"}
    if data is not None:
        q["data"] = data
    if with_message:
        q["message"] = {"message_id": 9, "date": 1_790_000_000, "chat": GROUP, "text": "卡片"}
    return Update.de_json({"update_id": update_id, "callback_query": q}, None)


def test_button_press() -> None:
    press = to_press(query("t:add:grape"), ME, NOW)
    assert press is not None
    assert (press.action, press.item_code, press.press_id, press.card_message_id) == ("add", "grape", "999:70", "9")
    assert (press.chat_id, press.sender_id, press.sender_name, press.ts) == ("-1001", "7", "Alice Wang", NOW)
    mine = to_press(query("t:mine"), ME, NOW)
    assert mine is not None and mine.action == "mine" and mine.item_code is None


@pytest.mark.parametrize("data", ["", "garbage", "t:add", "t:explode:grape", "x:add:grape", "t:mine:grape", None])
def test_garbage_callback_data(data: str | None) -> None:
    assert to_press(query(data), ME, NOW) is None


def test_callback_without_message_or_on_an_inaccessible_one() -> None:
    assert to_press(query("t:add:grape", with_message=False), ME, NOW) is None
    old = Update.de_json({"update_id": 3, "callback_query": {"id": "q", "from": ALICE, "chat_instance": "c",
                                                             "data": "t:sub:grape", "message": {
                                                                 "message_id": 4, "date": 0, "chat": GROUP}}}, None)
    press = to_press(old, ME, NOW)
    assert press is not None and press.card_message_id == "4" and press.action == "sub"
