"""The adapter against a real local peer: the Node puppet-service gateway with the mock puppet."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from adapters.wechat import WechatUnavailable
from bot.model import Mention
from tests.waiting import eventually
from tests.wechat.conftest import RecordingSink
from tests.wechat.gateway_proc import (
    BOT_ID,
    OTHER_ROOM,
    ROOM,
    ROOM_TOPIC,
    Gateway,
    ensure_node_modules,
    free_port,
)
from tests.wechat.samples import sample


async def test_room_messages_reach_the_sink_and_replies_mention_the_resident(gateway: Gateway, make_adapter) -> None:
    sink = RecordingSink()
    adapter = await make_adapter(gateway.endpoint, sink)
    assert adapter.connected
    sent_id = await gateway.say("wxid_alice", "葡萄 2")
    [msg] = await sink.wait_for(1)
    assert (msg.platform, msg.chat_id, msg.chat_title) == ("wechat", ROOM, ROOM_TOPIC)
    assert (msg.message_id, msg.sender_id, msg.sender_name, msg.text) == (sent_id, "wxid_alice", "3栋王姐", "葡萄 2")
    assert msg.ts.tzinfo is not None and msg.delivery == (f"wechat:{BOT_ID}", sent_id)
    assert msg.chat_key == f"wechat:{ROOM}" and not msg.mentions_bot and not msg.is_private

    await adapter.send_text(ROOM, "要几盒？", mention=Mention("wxid_alice", "3栋王姐"))
    await adapter.send_text(ROOM, "今晚8点截单")
    assert await gateway.said() == [
        {"room": ROOM, "text": "@3栋王姐\u2005要几盒？", "mentions": ["wxid_alice"]},
        {"room": ROOM, "text": "今晚8点截单", "mentions": []},
    ]
    # The bot's own messages come back from the service as room messages: they are not delivered.
    # Messages arrive in the order they were said, so once bob's has arrived, they would have too.
    await gateway.say("wxid_bob", "橙子1")
    messages = await sink.wait_for(2)
    assert [m.text for m in messages] == ["葡萄 2", "橙子1"] and messages[1].sender_name == "5栋李哥"


async def test_order_of_messages_is_kept(gateway: Gateway, make_adapter) -> None:
    sink = RecordingSink()
    await make_adapter(gateway.endpoint, sink)
    texts = [f"{n}. 王姐 葡萄{n}" for n in range(1, 16)]
    for text in texts:
        await gateway.say("wxid_alice", text)
    await sink.wait_for(len(texts))
    assert [m.text for m in sink.messages] == texts


async def test_mentioning_the_bot(gateway: Gateway, make_adapter) -> None:
    sink = RecordingSink()
    await make_adapter(gateway.endpoint, sink)
    await gateway.say("wxid_bob", "@团购小助手\u2005我订了几盒？", mentions=[BOT_ID])
    [msg] = await sink.wait_for(1)
    assert msg.mentions_bot


async def test_withdrawn_message_becomes_recall_of(gateway: Gateway, make_adapter) -> None:
    sink = RecordingSink()
    await make_adapter(gateway.endpoint, sink)
    order_id = await gateway.say("wxid_alice", "葡萄 2")
    recall_id = await gateway.recall("wxid_alice", order_id)
    _, recall = await sink.wait_for(2)
    assert (recall.message_id, recall.recall_of, recall.text, recall.sender_id) == (recall_id, order_id, "", "wxid_alice")


async def test_native_solitaire_delivers_the_senders_own_lines(gateway: Gateway, make_adapter) -> None:
    sink = RecordingSink()
    await make_adapter(gateway.endpoint, sink)
    app_id = await gateway.raw("wxid_carol", 0, sample("tuan_attributed.xml"))  # 0: Unknown
    spoof = await gateway.say("wxid_bob", sample("tuan_attributed.xml"))  # the same XML typed as text
    lines = await sink.wait_for(2)
    assert [(m.message_id, m.sender_id, m.sender_name, m.text) for m in lines] == [
        (f"{app_id}:3", "wxid_carol", "7栋小陈", "3. 7栋小陈 橙子1 <加急> & 谢谢😊"),  # lines 1, 2: not carol's
        (spoof, "wxid_bob", "5栋李哥", sample("tuan_attributed.xml")),  # text: bob's own, as typed
    ]
    # Without attribution for every line, the list is handled as a copy from whoever sent it.
    copy_id = await gateway.raw("wxid_bob", 10, sample("tuan_partly_attributed.xml"))  # 10: GroupNote
    copy = (await sink.wait_for(3))[2]
    assert (copy.message_id, copy.sender_id) == (copy_id, "wxid_bob")
    assert copy.text == "#接龙 周五团购\n\n1. 3栋王姐 葡萄1\n2. 5栋李哥 葡萄2"


async def test_only_the_configured_rooms_are_served(gateway: Gateway, make_adapter) -> None:
    sink = RecordingSink()
    await make_adapter(gateway.endpoint, sink, rooms=[ROOM_TOPIC])
    await gateway.say("wxid_alice", "闲聊一句", room=OTHER_ROOM)
    await gateway.say("wxid_alice", "葡萄 1")
    messages = await sink.wait_for(1)  # in order: the other room's message would have come first
    assert [m.text for m in messages] == ["葡萄 1"] and messages[0].chat_id == ROOM


async def test_wrong_token_is_reported_within_seconds_and_retried(gateway: Gateway, make_adapter, caplog) -> None:
    caplog.set_level(logging.INFO, logger="adapters.wechat")
    ticks = 0

    async def other_work() -> None:  # the rest of the bot, in the same loop
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.05)

    def failures() -> list[str]:
        return [r.getMessage() for r in caplog.records if "cannot connect" in r.getMessage()]

    worker = asyncio.create_task(other_work())
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    adapter = await make_adapter(gateway.endpoint, RecordingSink(), token="not-the-token", start_wait=1.5)
    assert not adapter.connected and loop.time() - t0 < 3
    await eventually(lambda: len(failures()) >= 2, 5, what="a second attempt")  # retried, not given up
    elapsed = loop.time() - t0
    worker.cancel()
    assert "UNAUTHENTICATED" in failures()[0] and "not-the-token" not in caplog.text
    assert ticks > elapsed / 0.05 / 2  # the loop was not blocked while it tried


async def test_gateway_restart_reconnects(gateway: Gateway, make_adapter, caplog) -> None:
    caplog.set_level(logging.INFO, logger="adapters.wechat")
    sink = RecordingSink()
    adapter = await make_adapter(gateway.endpoint, sink)
    await gateway.say("wxid_alice", "葡萄 1")
    await sink.wait_for(1)

    gateway.kill()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while adapter.connected:
        assert loop.time() - t0 < 3, "the lost connection was not noticed"
        await asyncio.sleep(0.05)
    assert any("lost:" in r.getMessage() for r in caplog.records)

    gateway.start()
    t0 = loop.time()
    while not adapter.connected:
        assert loop.time() - t0 < 15, "did not reconnect"
        await asyncio.sleep(0.1)
    await gateway.say("wxid_bob", "橙子 2")
    later = await sink.wait_for(2)
    assert later[1].text == "橙子 2" and later[1].sender_name == "5栋李哥"
    await adapter.send_text(ROOM, "收到")
    assert await gateway.said() == [{"room": ROOM, "text": "收到", "mentions": []}]


async def test_gateway_down_at_start(wechaty_sdk, tmp_path, make_adapter) -> None:
    ensure_node_modules()
    gw = Gateway(free_port(), tmp_path)
    sink = RecordingSink()
    adapter = await make_adapter(gw.endpoint, sink, start_wait=0.5, send_wait=0.3)
    assert not adapter.connected
    with pytest.raises(WechatUnavailable):
        await adapter.send_text(ROOM, "来晚了")
    gw.start()
    try:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while not adapter.connected:
            assert loop.time() - t0 < 15, "did not connect once the gateway came up"
            await asyncio.sleep(0.1)
        await gw.say("wxid_alice", "葡萄 3")
        [msg] = await sink.wait_for(1)
        assert msg.text == "葡萄 3"
    finally:
        gw.kill()


async def test_a_frozen_service_is_noticed_by_the_liveness_ping(gateway: Gateway, make_adapter, caplog) -> None:
    caplog.set_level(logging.INFO, logger="adapters.wechat")
    sink = RecordingSink()
    adapter = await make_adapter(gateway.endpoint, sink, ping_interval=0.3, ping_timeout=0.5)
    gateway.freeze()  # the TCP connection stays open, nothing answers
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    try:
        while adapter.connected:
            assert loop.time() - t0 < 3, "the unanswered ping was not noticed"
            await asyncio.sleep(0.05)
        assert any("lost: TimeoutError" in r.getMessage() for r in caplog.records)
    finally:
        gateway.thaw()
    t0 = loop.time()
    while not adapter.connected:
        assert loop.time() - t0 < 15, "did not reconnect"
        await asyncio.sleep(0.1)
    await gateway.say("wxid_alice", "葡萄 1")
    [msg] = await sink.wait_for(1)
    assert msg.text == "葡萄 1"


async def test_no_login_is_reported_then_a_late_login_connects(wechaty_sdk, tmp_path, make_adapter, caplog) -> None:
    caplog.set_level(logging.INFO, logger="adapters.wechat")
    ensure_node_modules()
    gw = Gateway(free_port(), tmp_path, login=False)
    gw.start()
    try:
        sink = RecordingSink()
        adapter = await make_adapter(gw.endpoint, sink, start_wait=1.5, login_timeout=0.5, ping_interval=0.2)
        assert not adapter.connected
        assert "no WeChat account has logged in" in caplog.text and "tuan-test-qr" in caplog.text

        await gw.login()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while not adapter.connected:
            assert loop.time() - t0 < 5, "the login was not noticed"
            await asyncio.sleep(0.05)
        await gw.logout()
        while adapter.connected:
            assert loop.time() - t0 < 10, "the logout was not noticed"
            await asyncio.sleep(0.05)
        assert f"account {BOT_ID} logged out" in caplog.text
    finally:
        gw.kill()


async def test_stop_lets_the_message_being_handled_finish(gateway: Gateway, make_adapter) -> None:
    class SlowSink(RecordingSink):
        def __init__(self) -> None:
            super().__init__()
            self.started = asyncio.Event()

            self.release = asyncio.Event()

        async def on_message(self, msg) -> None:  # noqa: ANN001
            self.started.set()
            await self.release.wait()
            await super().on_message(msg)

    sink = SlowSink()
    adapter = await make_adapter(gateway.endpoint, sink)
    await gateway.say("wxid_alice", "葡萄 2")
    await asyncio.wait_for(sink.started.wait(), 10)
    stopping = asyncio.create_task(adapter.stop())
    await asyncio.sleep(0)  # stop() runs up to its wait for the message being handled
    assert not stopping.done() and sink.messages == []
    sink.release.set()
    await asyncio.wait_for(stopping, 10)
    assert [m.text for m in sink.messages] == ["葡萄 2"] and not adapter.connected


def unretrieved_errors() -> list[asyncio.Future[object]]:
    """Finished tasks and futures whose error nobody has retrieved.

    asyncio reports each one when it is garbage-collected, which may be long after the test
    (after pytest's summary line, or after the bot's last log line); ``_log_traceback`` is the
    flag it reports by.
    """
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, asyncio.Future) and o.done() and not o.cancelled()
            and getattr(o, "_log_traceback", False)]


async def test_stop_during_a_ping_leaves_no_task_behind(gateway: Gateway, make_adapter) -> None:
    adapter = await make_adapter(gateway.endpoint, RecordingSink(), ping_interval=0.05, ping_timeout=30.0)
    assert adapter.connected
    gateway.freeze()  # the next ping waits for an answer that does not come
    try:
        def pinging() -> bool:
            return any(getattr(t.get_coro(), "__name__", "") == "ding" for t in asyncio.all_tasks())

        await eventually(pinging, 5, what="a ping in flight")
        await adapter.stop()
    finally:
        gateway.thaw()
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert left == [] and unretrieved_errors() == []
