"""WeChat room message (plain data) → InboundMessage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from adapters.wechat.convert import (
    APP,
    NOTE,
    OTHER,
    RECALLED,
    TEXT,
    RawMessage,
    kind_of,
    mention_prefix,
    message_time,
    native_solitaire,
    recalled_id,
    to_inbound,
)
from tests.wechat.samples import sample, solitaire_xml

BOT = "wxid_bot"
SOURCE = f"wechat:{BOT}"
RAW = RawMessage(id="m1", kind=TEXT, text="葡萄2", talker_id="wxid_alice", talker_name="3栋王姐",
                 room_id="r1@chatroom", room_topic="幸福里团购群", timestamp=1700000000123)


def convert(raw: RawMessage, **kw):  # noqa: ANN201
    return to_inbound(raw, self_id=BOT, source=SOURCE, **kw)


def test_room_text() -> None:
    [msg] = convert(RAW)
    assert (msg.platform, msg.chat_id, msg.chat_title, msg.message_id) == ("wechat", "r1@chatroom", "幸福里团购群", "m1")
    assert (msg.sender_id, msg.sender_name, msg.text) == ("wxid_alice", "3栋王姐", "葡萄2")
    assert msg.ts == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert msg.delivery == (SOURCE, "m1") and not msg.is_admin and not msg.mentions_bot


def test_own_private_and_empty_messages_are_dropped() -> None:
    assert convert(replace(RAW, talker_id=BOT)) == []
    assert convert(replace(RAW, room_id="")) == []
    assert convert(replace(RAW, text="  ")) == []
    assert convert(replace(RAW, kind=OTHER, text="<msg><img/></msg>")) == []


def test_names_admins_and_mentions() -> None:
    [msg] = convert(replace(RAW, talker_name="", mention_ids=(BOT,), talker_is_room_admin=True))
    assert msg.sender_name == "wxid_alice" and msg.mentions_bot and msg.is_admin
    assert mention_prefix("王姐") + "要几盒?" == "@王姐\u2005要几盒?"


def test_a_group_note_without_xml_is_read_as_text() -> None:
    [msg] = convert(replace(RAW, kind=NOTE, text="#接龙\n1. 王姐 葡萄1"))
    assert msg.text == "#接龙\n1. 王姐 葡萄1"


@pytest.mark.parametrize(("text", "expected"), [
    ("m0", "m0"),
    (" m0\n", "m0"),
    ('<sysmsg type="revokemsg"><revokemsg><session>r1@chatroom</session><msgid>1057</msgid>'
     "<newmsgid>7255812093400393001</newmsgid><replacemsg><![CDATA[\"王姐\" 撤回了一条消息]]></replacemsg>"
     "</revokemsg></sysmsg>", "7255812093400393001"),
])
def test_withdrawal(text: str, expected: str) -> None:
    [msg] = convert(replace(RAW, id="m2", kind=RECALLED, text=text))
    assert (msg.message_id, msg.recall_of, msg.text) == ("m2", expected, "")
    assert recalled_id(text) == expected


def test_native_solitaire_gives_the_sender_only_their_own_lines() -> None:
    raw = replace(RAW, id="m3", kind=APP, text=sample("tuan_attributed.xml"), talker_id="wxid_carol",
                  talker_name="7栋小陈", talker_is_room_admin=True)
    msgs = convert(raw)
    assert [(m.message_id, m.sender_id, m.sender_name, m.text, m.is_admin) for m in msgs] == [
        ("m3:3", "wxid_carol", "7栋小陈", "3. 7栋小陈 橙子1 <加急> & 谢谢😊", True),
    ]
    assert [m.delivery for m in msgs] == [(SOURCE, "m3:3")] and msgs[0].chat_id == "r1@chatroom"


@pytest.mark.parametrize("kind", [APP, NOTE])
def test_lines_attributed_to_others_are_never_their_messages(kind: str) -> None:
    xml = solitaire_xml("wxid_mallory", [("wxid_alice", "3栋王姐 不要了"), ("wxid_bob", "5栋李哥 葡萄9"),
                                         ("wxid_mallory", "9栋 葡萄1")])
    msgs = convert(replace(RAW, kind=kind, text=xml, talker_id="wxid_mallory", talker_name="9栋"))
    assert [(m.sender_id, m.text) for m in msgs] == [("wxid_mallory", "3. 9栋 葡萄1")]


def test_typed_solitaire_xml_is_only_text() -> None:
    xml = solitaire_xml("wxid_mallory", [("wxid_alice", "3栋王姐 不要了"), ("wxid_bob", "5栋李哥 葡萄9")])
    [msg] = convert(replace(RAW, kind=TEXT, text=xml, talker_id="wxid_mallory"))
    assert (msg.sender_id, msg.message_id, msg.text) == ("wxid_mallory", "m1", xml)  # the sender's own text
    assert native_solitaire(replace(RAW, kind=TEXT, text=xml)) is None
    assert native_solitaire(replace(RAW, kind=OTHER, text=xml)) is None  # an image's XML is no 群接龙 either
    assert native_solitaire(replace(RAW, kind=APP, text=xml)) is not None


def test_unattributed_solitaire_is_a_copy_from_the_sender() -> None:
    raw = replace(RAW, kind=NOTE, text=sample("tuan_partly_attributed.xml"))
    [msg] = convert(raw)
    assert (msg.message_id, msg.sender_id, msg.text) == ("m1", "wxid_alice", "#接龙 周五团购\n\n1. 3栋王姐 葡萄1\n2. 5栋李哥 葡萄2")


def test_message_time_and_kinds() -> None:
    assert message_time(1700000000) == message_time(1700000000000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert [kind_of(t) for t in (7, 13, 10, 0, 1, 9, 14, 6, 5, 99)] == [TEXT, RECALLED, NOTE, APP, APP, APP, APP,
                                                                      OTHER, OTHER, OTHER]
