"""Webhook mode as the ingress of several workers sharing one store.

A load balancer in the test posts Telegram Update JSON round-robin to 3 workers (each its own
store connection, OrderService, Dispatcher and TelegramAdapter with its own webhook port, all on
one SQLite file); what the store holds and what was sent to the fake Bot API must equal a
single-worker run of the same updates. A request answered 500 is posted again to the next worker,
as Telegram does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import bot.dispatch
from adapters.telegram import TelegramAdapter, create
from bot import buttons
from bot.config import config_from_dict
from bot.services.orders import OrderService
from storage.sql import open_repository
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import CHAT_ID, Stack, build, config_dict

SECRET = "workers-S3cret_token"
PATH = "/tg"
CHAT2 = -1009876543210
CHATS = (CHAT_ID, CHAT2)
LEADER = {"id": 1, "is_bot": False, "first_name": "团长小美", "username": "xiaomei"}
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def person(n: int) -> dict[str, Any]:
    return {"id": 1000 + n, "is_bot": False, "first_name": f"邻居{n}"}


class Script:
    """One chat's updates with fixed update ids, message ids and callback query ids."""

    def __init__(self, chat_id: int, ids: itertools.count[int]) -> None:
        self.ids = ids  # update ids, shared by the chats as Telegram numbers a bot's updates
        self.chat = {"id": chat_id, "type": "supergroup", "title": "阳光花园团购群"}
        self.updates: list[dict[str, Any]] = []
        self.sent: dict[int, dict[str, Any]] = {}
        self._message_ids = itertools.count(100)

    def say(self, who: dict[str, Any], text: str) -> int:
        msg = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": self.chat, "from": who,
               "text": text}
        self.sent[msg["message_id"]] = msg
        self.updates.append({"update_id": next(self.ids), "message": msg})
        return int(msg["message_id"])

    def edit(self, message_id: int, text: str) -> None:
        edited = {**self.sent[message_id], "text": text, "edit_date": int(time.time())}
        self.updates.append({"update_id": next(self.ids), "edited_message": edited})

    def press(self, who: dict[str, Any], card: int, action: str, item: str | None) -> None:
        n = next(self.ids)
        self.updates.append({"update_id": n, "callback_query": {
            "id": f"q{n}", "from": who, "chat_instance": "ci", "data": f"{action} {item or ''}",
            "message": {"message_id": card, "date": 0, "chat": self.chat}}})

    def again(self, index: int) -> None:
        """Telegram delivers an update again (the first answer was lost on the way back)."""
        self.updates.append(self.updates[index])


def scripts() -> list[Script]:
    """The same story in both chats: text orders, an edit, button presses, chatter, a question, a
    redelivered order and press; then the leader's /tally in each (its last update, played once the
    rest of both chats is done). Card presses carry a placeholder
    ``"<action> <item>"`` that :func:`sign_presses` replaces with the run's signed data."""
    out, ids = [], itertools.count(1)
    for chat_id in CHATS:
        s = Script(chat_id, ids)
        first = s.say(person(1), "葡萄2")
        s.say(person(2), "脐橙1")
        s.say(person(3), "1号1份 4号2份")
        s.again(0)
        s.say(person(4), "血橙一箱")
        s.edit(first, "葡萄3")
        s.say(person(5), "谢谢团长")
        s.say(person(6), "鸡蛋")
        s.press(person(7), 1, "add", "1")
        s.press(person(8), 1, "add", "4")
        s.press(person(7), 1, "add", "1")
        s.press(person(7), 1, "sub", "1")
        s.press(person(8), 1, "mine", None)
        s.say(person(2), "脐橙改成2")
        s.again(len(s.updates) - 3)
        out.append(s)
    for s in out:  # after both chats are done: the chats share the deal /tally counts
        s.say(LEADER, "/tally")
    return out


def sign_presses(update: dict[str, Any], key: bytes, deal_id: str, card: int) -> dict[str, Any]:
    query = update.get("callback_query")
    if query is None:
        return update
    action, item = query["data"].split(" ")
    chat_key = f"telegram:{query['message']['chat']['id']}"
    data = "t:" + (buttons.sign(key, deal_id, action, item or None, chat_key) or "")
    return {**update, "callback_query": {**query, "data": data, "message": {**query["message"], "message_id": card}}}


async def post(session: aiohttp.ClientSession, port: int, body: Any, headers: dict[str, str] = HEADERS) -> int:
    async with session.post(f"http://127.0.0.1:{port}{PATH}", json=body, headers=headers) as resp:
        return resp.status


class Balancer:
    """Round-robin over the workers' ports; a 500 is posted again to the next worker, like Telegram."""

    def __init__(self, ports: Sequence[int]) -> None:
        self._next = itertools.cycle(ports)
        self.retried = 0

    async def deliver(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        for _ in range(50):
            status = await post(session, next(self._next), update)
            if status == 200:
                return
            assert status == 500, status
            self.retried += 1
            await asyncio.sleep(0.05)
        raise AssertionError(f"update {update['update_id']} never answered 200")


def webhook_settings() -> dict[str, Any]:
    return {"mode": "webhook", "webhook": {"listen": "127.0.0.1", "port": 0, "path": PATH, "secret_token": SECRET}}


@dataclass
class Workers:
    stacks: list[Stack]  # each its own store connection and OrderService
    extra: list[TelegramAdapter]  # ingresses into the first stack's core (``shared``)

    @property
    def ports(self) -> list[int]:
        return [a.webhook_port or 0 for a in [*(st.adapter for st in self.stacks), *self.extra]]

    async def stop(self) -> None:
        for adapter in self.extra:
            await adapter.stop()
        for stack in self.stacks:
            await stack.stop()
            stack.repo.close()


async def start_workers(api: FakeBotApi, url: str, n: int, *, shared: bool) -> Workers:
    """``n`` webhook ingresses on one store: ``n`` whole workers, or (``shared``) ``n`` adapters
    feeding one worker's core."""
    workers = Workers([], [])
    for _ in range(1 if shared else n):  # one after the other: the first opens the configured deal
        stack = build(open_repository(url), api.base_url, api.token, chats=CHATS, **webhook_settings())
        workers.stacks.append(await stack.start())
    core = workers.stacks[0].core
    for _ in range(n - len(workers.stacks)):
        adapter = create(core.config.telegram, core.config)
        await adapter.start(workers.stacks[0].dispatcher)
        workers.extra.append(adapter)
    return workers


ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Processes:
    """``tuan``-like worker processes (``tests.telegram.run_bot``), each with its webhook port."""

    procs: list[asyncio.subprocess.Process]
    ports: list[int]

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(proc.wait(), 30) for proc in self.procs]
        assert codes == [0] * len(codes)


async def spawn_workers(api: FakeBotApi, url: str, n: int, log: Path) -> Processes:
    repo = open_repository(url)
    try:  # the configured deal is opened here, so the workers starting side by side all find it
        build(repo, api.base_url, api.token, chats=CHATS)
    finally:
        repo.close()
    ports = [free_port() for _ in range(n)]
    procs = []
    with log.open("ab") as err:
        for port in ports:
            settings = webhook_settings()
            settings["webhook"]["port"] = port
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.telegram.run_bot", api.base_url, api.token, url,
                "--settings", json.dumps({"chats": list(CHATS), **settings}), cwd=ROOT, stderr=err))
    workers = Processes(procs, ports)
    async with aiohttp.ClientSession() as session:
        for port in ports:
            for _ in range(300):
                try:
                    async with session.get(f"http://127.0.0.1:{port}{PATH}") as resp:
                        assert resp.status == 405  # up: the path takes only POST
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                await workers.stop()
                raise AssertionError(f"no worker on port {port}: {log.read_text(errors='replace')[-2000:]}")
    return workers


def signing(api: FakeBotApi, url: str) -> tuple[bytes, dict[str, str]]:
    """The bot's button key and each chat's deal id, as the workers sign cards."""
    config = config_from_dict(config_dict(api.base_url, api.token, chats=CHATS), "test.toml", env={})
    repo = open_repository(url)
    try:
        service = OrderService(repo)
        deals = {}
        for chat in CHATS:
            deal = service.deal_of(f"telegram:{chat}")
            assert deal is not None
            deals[f"telegram:{chat}"] = deal.id
    finally:
        repo.close()
    return buttons.key_of(config), deals


def outcome(api: FakeBotApi, url: str) -> dict[str, Any]:
    """What a run left: each chat's tally from the store, and every call the workers made that a
    group sees (debounced card edits left out: when they fire depends on timing)."""
    repo = open_repository(url)
    try:
        service = OrderService(repo)
        tallies = {}
        for chat in CHATS:
            deal = service.deal_of(f"telegram:{chat}")
            assert deal is not None
            tallies[chat] = sorted((r.sender_id, r.item_code, r.qty) for r in service.tally(deal.id).rows)
    finally:
        repo.close()
    sent = Counter((int(c.params["chat_id"]), c.params["text"]) for c in api.calls_to("sendMessage"))
    reactions = Counter((int(c.params["chat_id"]), int(c.params["message_id"]),
                         c.params["reaction"][0]["emoji"]) for c in api.calls_to("setMessageReaction"))
    answers: dict[str, str] = {}  # the first answer (Telegram refuses a second one)
    for c in api.calls_to("answerCallbackQuery"):
        answers.setdefault(c.params["callback_query_id"], c.params.get("text", ""))
    return {"tallies": tallies, "sent": sent, "reactions": reactions, "answers": answers}


async def run(url: str, n: int, *, shared: bool = False, processes: Path | None = None) -> dict[str, Any]:
    """Play :func:`scripts` through ``n`` webhook ingresses on the store at ``url`` (chats side by
    side, each chat in order): workers in this process, or (``processes``: their log file) each its own."""
    api = await FakeBotApi().start()
    try:
        for chat in CHATS:
            api.set_admins(chat, [LEADER])
        workers: Workers | Processes
        if processes is not None:
            workers = await spawn_workers(api, url, n, processes)
        else:
            workers = await start_workers(api, url, n, shared=shared)
        try:
            key, deals = signing(api, url)
            stories = []
            for s in scripts():
                card = api.bot_says(s.chat["id"], "🛒 水果鸡蛋团")
                stories.append([sign_presses(u, key, deals[f"telegram:{s.chat['id']}"], card) for u in s.updates])
            balancer = Balancer(workers.ports)
            async with aiohttp.ClientSession() as session:
                async def play(story: list[dict[str, Any]]) -> None:
                    for update in story:
                        await balancer.deliver(session, update)
                await asyncio.gather(*(play(story[:-1]) for story in stories))
                for story in stories:
                    await play(story[-1:])
        finally:
            await workers.stop()
        assert not api.calls_to("setWebhook")  # no url: the balancer's owner registers it
        return outcome(api, url)
    finally:
        await api.stop()


@pytest.fixture(autouse=True)
def _quick_card_edits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.dispatch, "CARD_EDIT_SECONDS", 0.1)


@pytest.mark.parametrize(("shared", "store"), [
    pytest.param(True, "sqlite", id="3 ingresses, one core, SQLite"),
    pytest.param(False, "sqlite", id="3 whole workers, SQLite"),
    pytest.param(False, "postgresql", id="3 whole workers, PostgreSQL"),
    pytest.param(False, "postgresql processes", id="3 worker processes, PostgreSQL"),
])
async def test_three_workers_leave_what_one_worker_leaves(tmp_path: Path, shared: bool, store: str,
                                                          request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'three'}.db" if store == "sqlite" else request.getfixturevalue("pg_url")
    one = await run(f"sqlite:///{tmp_path / 'one'}.db", 1)
    # the story is worth comparing: orders in both chats, replies, reactions, every press answered
    assert all(one["tallies"][chat] for chat in CHATS)
    assert one["reactions"] and len(one["answers"]) == 10
    assert any(text.startswith("📊") for _, text in one["sent"]), one["sent"]
    three = await run(url, 3, shared=shared, processes=tmp_path / "workers.log" if "processes" in store else None)
    for key, want in one.items():
        got = three[key]
        if isinstance(want, Counter):
            assert got == want, f"{key}: only with 3 workers {got - want}, only with 1 {want - got}"
        assert got == want, key


@pytest.fixture
async def three(tmp_path: Path) -> AsyncIterator[tuple[FakeBotApi, Workers, str]]:
    """Three whole workers on one SQLite file, and the fake Bot API they talk to."""
    api = await FakeBotApi().start()
    url = f"sqlite:///{tmp_path / 'tuan'}.db"
    for chat in CHATS:
        api.set_admins(chat, [LEADER])
    workers = await start_workers(api, url, 3, shared=False)
    yield api, workers, url
    await workers.stop()
    await api.stop()


def orders_in_store(url: str) -> list[tuple[str, str, int]]:
    repo = open_repository(url)
    try:
        service = OrderService(repo)
        deal = service.deal_of(f"telegram:{CHAT_ID}")
        assert deal is not None
        return sorted((r.sender_id, r.item_code, r.qty) for r in service.tally(deal.id).rows)
    finally:
        repo.close()


async def test_a_wrong_secret_or_a_body_that_is_no_update_is_refused_and_nothing_stored(
        three: tuple[FakeBotApi, Workers, str]) -> None:
    api, workers, url = three
    s = Script(CHAT_ID, itertools.count(1))
    s.say(person(1), "葡萄2")
    order = s.updates[0]
    port = workers.ports[0]
    async with aiohttp.ClientSession() as session:
        assert await post(session, port, order, headers={}) == 403
        assert await post(session, port, order, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}) == 403
        assert await post(session, port, order, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}) == 403
        for body in ("not json", [order], {"message": order["message"]}, {**order, "update_id": "1"},
                     {**order, "update_id": True}, "{\"update_id\": 1,"):
            data = body if isinstance(body, str) else json.dumps(body)
            async with session.post(f"http://127.0.0.1:{port}{PATH}", data=data, headers=HEADERS) as resp:
                assert resp.status == 400, body
        async with session.post(f"http://127.0.0.1:{port}/other", json=order, headers=HEADERS) as resp:
            assert resp.status == 404
    assert orders_in_store(url) == []
    assert not api.calls_to("setMessageReaction") and not api.calls_to("sendMessage")
    async with aiohttp.ClientSession() as session:  # the same update, rightly sent, is taken
        assert await post(session, port, order) == 200
    assert orders_in_store(url) == [("1001", "1", 2)]


async def test_an_update_delivered_to_every_worker_is_handled_once(three: tuple[FakeBotApi, Workers, str]) -> None:
    api, workers, url = three
    s = Script(CHAT_ID, itertools.count(1))
    s.say(person(1), "葡萄2")
    s.say(person(2), "鸡蛋1")
    async with aiohttp.ClientSession() as session:
        balancer = Balancer(workers.ports)
        for update in [s.updates[0]] * 3 + [s.updates[1]] * 2 + [s.updates[0]]:
            await balancer.deliver(session, update)
    await asyncio.sleep(0.2)  # a second ✅ would be on its way
    assert orders_in_store(url) == [("1001", "1", 2), ("1002", "4", 1)]
    assert sorted(int(c.params["message_id"]) for c in api.calls_to("setMessageReaction")) == [100, 101]


async def test_an_edit_that_overtakes_its_message_is_not_lost(three: tuple[FakeBotApi, Workers, str]) -> None:
    """With ``max_connections`` above 1 Telegram may have a message and its edit in flight at once,
    at two workers; the edit may be handled first. It is handled (never dropped) and acknowledged."""
    api, workers, url = three
    s = Script(CHAT_ID, itertools.count(1))
    first = s.say(person(1), "葡萄2")
    s.edit(first, "葡萄3")
    async with aiohttp.ClientSession() as session:
        assert await post(session, workers.ports[1], s.updates[1]) == 200
        assert orders_in_store(url) == [("1001", "1", 3)]  # the edit's text stands as the order
        await Balancer(workers.ports[:1]).deliver(session, s.updates[0])
    assert [int(c.params["message_id"]) for c in api.calls_to("setMessageReaction")][:1] == [first]


async def test_a_message_that_arrives_after_its_edit_changes_nothing(three: tuple[FakeBotApi, Workers, str]) -> None:
    api, workers, url = three
    s = Script(CHAT_ID, itertools.count(1))
    first = s.say(person(1), "葡萄2")
    s.edit(first, "葡萄3")
    async with aiohttp.ClientSession() as session:
        balancer = Balancer(workers.ports[:1])
        await balancer.deliver(session, s.updates[1])
        await balancer.deliver(session, s.updates[0])
    assert orders_in_store(url) == [("1001", "1", 3)]


async def test_a_burst_of_updates_is_group_committed_and_each_answered_after_its_commit(
        three: tuple[FakeBotApi, Workers, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """24 orders posted at once to one worker (two chats): they share transactions (bot/batcher.py),
    yet each request is answered 200 only once its order is in the store, and each gets one ✅."""
    api, workers, url = three
    batches: list[int] = []
    real = OrderService.handle_each

    def counting(self: OrderService, msgs, *args, **kwargs):  # type: ignore[no-untyped-def]
        batches.append(len(msgs))
        return real(self, msgs, *args, **kwargs)

    monkeypatch.setattr(OrderService, "handle_each", counting)
    ids = itertools.count(1)
    chats = [Script(chat, ids) for chat in CHATS]
    for n in range(24):
        chats[n % 2].say(person(n), "葡萄1")
    port = workers.ports[0]
    reader = open_repository(url)
    late: list[int] = []

    async def deliver(session: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        assert await post(session, port, update) == 200
        mid = str(update["message"]["message_id"])
        chat = f"telegram:{update['message']['chat']['id']}"
        with reader.transaction() as tx:
            if tx.seen_message(chat, mid) is None:
                late.append(update["update_id"])

    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(deliver(session, u) for s in chats for u in s.updates))
    finally:
        reader.close()
    assert not late, f"answered 200 before their commit: {late}"
    assert sum(batches) == 24 and max(batches) > 1, batches
    for _ in range(100):
        if len(api.calls_to("setMessageReaction")) >= 24:
            break
        await asyncio.sleep(0.05)
    reacted = Counter((int(c.params["chat_id"]), int(c.params["message_id"]))
                      for c in api.calls_to("setMessageReaction"))
    assert reacted == Counter({(s.chat["id"], mid): 1 for s in chats for mid in s.sent})
