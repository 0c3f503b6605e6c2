"""Outbox leases on PostgreSQL with several workers (two Core + Dispatcher + store engine each, one
database): a live worker's effects are its own while its lease holds, a dead worker's are delivered
by another once, in ``seq`` order per chat, and two sweepers at once never take one row twice."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.base import Capabilities
from bot.config import config_from_dict
from bot.demo_script import sample_deal
from bot.model import Card, Mention
from bot.ports import Changeset, OutboxRow, Repository
from storage.sql import SqlRepository, open_repository
from tests.pipeline import LEADER, Pipeline, make_pipeline
from tests.waiting import eventually

REACTIONS = Capabilities(reactions=True)
LEASE, SWEEP = 1.0, 0.2
LATER = datetime.now(UTC) + timedelta(days=1)

# (chat, sender, text): g1 gets an order, a question (橙: 脐橙 or 血橙?) and an order; g2 two orders
SAID = [("g1", "王姐", "葡萄1"), ("g2", "小张", "葡萄2"), ("g1", "阿强", "橙1"), ("g2", "小李", "脐橙1"),
        ("g1", "李姐", "鸡蛋1")]


def worker_config(**bot: Any) -> Any:
    from adapters.fake import sender_id_of

    return config_from_dict({
        "bot": {"digest_minutes": 0, "leaders": [sender_id_of(LEADER)], "outbox_lease_seconds": LEASE,
                "outbox_sweep_seconds": SWEEP, **bot},
        "groups": [{"id": "home", "platform": "fake", "chat": "g1", "title": "幸福里团购群"},
                   {"id": "east", "platform": "fake", "chat": "g2", "title": "东区团购群"}],
        "deals": [{**sample_deal(egg_stock=5), "groups": ["home", "east"]}],
    }, "test.toml", env={})


class Workers:
    """Worker pipelines on one PostgreSQL schema, each with its own engine; their sweepers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pipes: list[Pipeline] = []
        self.sweepers: dict[int, asyncio.Task[None]] = {}
        self.tasks: list[asyncio.Task[Any]] = []  # deliveries a test left blocked

    async def add(self, caps: Capabilities | None = REACTIONS, **bot: Any) -> Pipeline:
        p = await make_pipeline(caps, config=worker_config(**bot), repo=open_repository(self.url))
        self.pipes.append(p)
        return p

    def sweep(self, p: Pipeline) -> None:
        self.sweepers[id(p)] = asyncio.create_task(p.dispatcher.run_sweeper())

    async def kill(self, p: Pipeline, *work: asyncio.Task[Any]) -> None:
        """The worker dies: its sweeper (and lease extensions) and its deliveries stop, nothing is marked."""
        for task in (self.sweepers.pop(id(p)), *work):
            task.cancel()
        await asyncio.gather(*work, return_exceptions=True)

    async def close(self) -> None:
        for task in (*self.sweepers.values(), *self.tasks):
            task.cancel()
        await asyncio.gather(*self.sweepers.values(), *self.tasks, return_exceptions=True)
        for p in self.pipes:
            p.repo.close()


@pytest.fixture(scope="module", autouse=True)
def dictionary_loaded() -> None:
    """jieba's dictionary, loaded before the clocks of these tests start."""
    from bot.engine.matcher import base_tokenizer

    base_tokenizer()


@pytest.fixture
async def workers(pg_url: str) -> AsyncIterator[Workers]:
    w = Workers(pg_url)
    yield w
    await w.close()


def stuck(p: Pipeline) -> asyncio.Event:
    """Block every delivery of the worker's chat until the returned event is set."""
    go = asyncio.Event()
    react, send = p.chat.react, p.chat.send_text

    async def react_later(*args: Any, **kwargs: Any) -> Any:
        await go.wait()
        return await react(*args, **kwargs)

    async def send_later(*args: Any, **kwargs: Any) -> Any:
        await go.wait()
        return await send(*args, **kwargs)
    p.chat.react = react_later  # type: ignore[method-assign]
    p.chat.send_text = send_later  # type: ignore[method-assign]
    return go


def delivered(p: Pipeline) -> list[tuple[str, str | None]]:
    """What the worker's chat was told: (chat, target message id), a ✅ and a reply alike."""
    return [(s.chat_id, s.message_id if s.kind == "react" else s.reply_to) for s in p.chat.sent]


def expected(rows: list[OutboxRow]) -> list[tuple[str, str | None]]:
    return [(r.chat_key.partition(":")[2], r.target) for r in rows]


def per_chat(said: list[tuple[str, str | None]]) -> dict[str, list[str | None]]:
    out: dict[str, list[str | None]] = {}
    for chat, target in said:
        out.setdefault(chat, []).append(target)
    return out


async def committed_stuck(p: Pipeline) -> tuple[list[asyncio.Task[Any]], list[OutboxRow]]:
    """Worker ``p`` commits SAID, one message at a time, each delivery blocked; its outbox rows."""
    stuck(p)
    tasks: list[asyncio.Task[Any]] = []
    for n, (chat, who, text) in enumerate(SAID):
        tasks.append(asyncio.create_task(p.chat.push(text, sender=who, chat_id=chat)))
        await eventually(lambda n=n: len({r.seq for r in p.repo.pending_effects(LATER)}) == n + 1, 10,
                         what=f"message {n} committed")
    rows = p.repo.pending_effects(LATER)
    assert [r.kind for r in rows] == ["react", "react", "reply", "react", "react"]
    return tasks, rows


async def test_a_live_workers_effects_wait_for_it_and_a_dead_ones_go_out_once_in_order(workers: Workers) -> None:
    a, b = await workers.add(), await workers.add()
    workers.sweep(a)  # alive: it extends the lease of what it holds
    workers.sweep(b)
    tasks, rows = await committed_stuck(a)
    workers.tasks.extend(tasks)
    assert {r.claimed_by for r in rows} == {a.dispatcher.worker_id}
    await asyncio.sleep(3 * LEASE)  # three leases: A, stalled but alive, keeps them
    assert b.chat.sent == [] and a.chat.sent == []
    assert {r.claimed_by for r in b.repo.pending_effects(LATER)} == {a.dispatcher.worker_id}

    await workers.kill(a, *tasks)
    died = asyncio.get_running_loop().time()
    await eventually(lambda: len(b.chat.sent) >= len(rows), 5 * LEASE, what="B delivered A's effects")
    assert asyncio.get_running_loop().time() - died < LEASE + 3 * SWEEP + 1.0  # within a lease and a sweep
    await asyncio.sleep(3 * SWEEP)  # later sweeps find nothing more
    assert per_chat(delivered(b)) == per_chat(expected(rows))  # each once, in seq order per chat
    assert len(b.chat.sent) == len(rows)
    assert a.chat.sent == []
    assert b.repo.pending_effects(LATER) == []


async def test_a_worker_that_was_only_slow_keeps_what_another_did_not_take(workers: Workers) -> None:
    a = await workers.add()
    go = stuck(a)
    task = asyncio.create_task(a.chat.push("葡萄1", sender="王姐"))
    await eventually(lambda: a.repo.pending_effects(LATER), 10, what="the order committed")
    await asyncio.sleep(2 * LEASE)  # no sweeper anywhere: nobody takes it
    go.set()
    await task
    assert delivered(a) == [("g1", "m1")]
    await a.close()
    assert a.repo.pending_effects(LATER) == []


async def test_a_row_taken_over_after_a_stall_is_deleted_by_its_new_holder_only(workers: Workers) -> None:
    a, b = await workers.add(), await workers.add()
    go = stuck(a)
    task = asyncio.create_task(a.chat.push("葡萄1", sender="王姐"))
    await eventually(lambda: a.repo.pending_effects(LATER), 10, what="the order committed")
    await asyncio.sleep(LEASE + 0.1)  # A stalls past its lease (no sweeper of its own extends it)
    b_delivers = stuck(b)
    sweep = asyncio.create_task(b.dispatcher.sweep())
    await eventually(lambda: [r.claimed_by for r in b.repo.pending_effects(LATER)] == [b.dispatcher.worker_id],
                     5, what="B claimed the row")
    go.set()  # A wakes up, delivers (at least once: the documented trade-off) and marks
    await task
    await a.close()
    [row] = b.repo.pending_effects(LATER)  # A's mark left B's row alone
    assert row.claimed_by == b.dispatcher.worker_id
    b_delivers.set()
    await sweep
    await b.close()
    assert b.repo.pending_effects(LATER) == []
    assert delivered(a) == delivered(b) == [("g1", "m1")]


async def test_a_digest_waiting_longer_than_the_lease_stays_with_its_worker_until_it_stops(workers: Workers) -> None:
    a = await workers.add(None, digest_minutes=1.0)  # no reactions: the ✅ is the next list, once a minute
    b = await workers.add(None, digest_minutes=1.0)
    workers.sweep(a)
    workers.sweep(b)
    await a.chat.push("葡萄2", sender="王姐")  # the first list goes out at once
    [first] = a.chat.pop_all()
    assert "王姐 葡萄2" in first.text
    await a.chat.push("鸡蛋1", sender="阿强")  # its list waits for the minute
    await asyncio.sleep(3 * LEASE)
    assert a.chat.sent == [] and b.chat.sent == []  # A extended its lease: B did not post the list
    [row] = b.repo.pending_effects(LATER)
    assert row.claimed_by == a.dispatcher.worker_id and row.claimed_until is not None
    await workers.kill(a)
    await a.close()  # a clean stop releases the row: B takes it at its next sweep, not a lease later
    await eventually(lambda: b.chat.sent, 3 * SWEEP + 0.5, what="B posted the list")
    [digest] = b.chat.pop_all()
    assert "阿强 鸡蛋1" in digest.text and "(共2户)" in digest.text
    await eventually(lambda: b.repo.pending_effects(LATER) == [], 2, what="the row marked")


async def test_a_failed_delivery_is_tried_again_once_its_lease_ends(workers: Workers) -> None:
    a = await workers.add()
    react = a.chat.react

    async def fails(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the platform said no")
    a.chat.react = fails  # type: ignore[method-assign]
    await a.chat.push("葡萄1", sender="王姐")
    assert a.chat.sent == [] and len(a.repo.pending_effects(LATER)) == 1
    a.chat.react = react  # type: ignore[method-assign]
    [row] = a.repo.pending_effects(LATER)
    assert row.claimed_until is not None
    workers.sweep(a)
    await asyncio.sleep(LEASE / 2)
    sent = list(a.chat.sent)
    # nothing while its lease holds; checked only if it still does (a slow machine may get here after it ended)
    if datetime.now(UTC) < row.claimed_until:
        assert sent == []
    await eventually(lambda: a.chat.sent, 2 * LEASE, what="the ✅ sent again")
    assert delivered(a) == [("g1", "m1")]
    await eventually(lambda: a.repo.pending_effects(LATER) == [], 2, what="the row marked")


def dead_workers_rows(repo: Repository, count: int, chats: int, *, grouped: bool = False) -> list[OutboxRow]:
    """``count`` ✅s a dead worker left (its lease over), spread over ``chats`` chats (round robin;
    ``grouped``: each chat's in a run of seqs)."""
    now = datetime.now(UTC)
    chat = (lambda n: n * chats // count) if grouped else (lambda n: n % chats)
    rows = [OutboxRow(seq=1000 + n, n=0, chat_key=f"fake:g{chat(n) + 1}", kind="react", target=f"x{n}",
                      text="✅", mention_id=None, mention_name=None, created_at=now, claimed_by="dead:1:x",
                      claimed_until=now - timedelta(seconds=1)) for n in range(count)]
    repo.commit(Changeset(outbox=rows))
    return rows


def test_concurrent_claims_never_take_one_row_twice(pg_url: str) -> None:
    stores = [open_repository(pg_url) for _ in range(4)]
    try:
        rows = dead_workers_rows(stores[0], 600, 7)
        taken: dict[str, list[tuple[int, int]]] = {}
        start = threading.Barrier(len(stores))

        def claim(store: SqlRepository, me: str) -> None:
            """Claim a few at a time and deliver them (delete), until the outbox is empty."""
            mine = taken.setdefault(me, [])
            start.wait()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                got = store.claim_effects(me, datetime.now(UTC) + timedelta(minutes=5), now=datetime.now(UTC),
                                          limit=7)
                keys = [(r.seq, r.n) for r in got]
                mine.extend(keys)
                store.effects_delivered(keys, me)
                if not got:
                    if not store.pending_effects(LATER):
                        return
                    time.sleep(0.002)
        threads = [threading.Thread(target=claim, args=(s, f"w{n}")) for n, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        every = [k for keys in taken.values() for k in keys]
        assert sorted(every) == [(r.seq, r.n) for r in rows]  # each row claimed, by exactly one
        assert sum(1 for keys in taken.values() if keys) >= 2  # they did claim side by side
    finally:
        for s in stores:
            s.close()


async def test_two_sweepers_at_once_deliver_each_row_once_in_order_per_chat(workers: Workers) -> None:
    pipes = [await workers.add(), await workers.add()]
    said: list[tuple[str, str | None]] = []  # what both workers told the chats, in the order told
    for p in pipes:  # a slow platform: the sweeps overlap
        react = p.chat.react

        def slow(react: Callable[..., Any] = react) -> Callable[..., Any]:
            async def call(chat_id: str, message_id: str, emoji: str) -> Any:
                await asyncio.sleep(0.002)
                said.append((chat_id, message_id))
                return await react(chat_id, message_id, emoji)
            return call
        p.chat.react = slow()  # type: ignore[method-assign]
    rows = dead_workers_rows(pipes[0].repo, 500, 5, grouped=True)  # a sweep's 200 rows: two chats
    for p in pipes:
        workers.sweep(p)
    await eventually(lambda: not pipes[0].repo.pending_effects(LATER), 60, interval=0.1, what="the outbox emptied")
    await asyncio.sleep(3 * SWEEP)
    assert sorted(said) == sorted(expected(rows))  # every ✅ once
    assert all(delivered(p) for p in pipes)  # both took a share
    assert per_chat(said) == per_chat(expected(rows))  # in seq order per chat, across the two workers


async def test_a_worker_that_cannot_reach_a_platform_leaves_its_effects_to_the_one_that_can(workers: Workers) -> None:
    """Like a WeChat follower (another worker holds the account's connection): what it commits or
    posts for the platform's chats is delivered once by the holder, never by itself."""
    follower, holder = await workers.add(), await workers.add()
    follower.chat.delivers_here = False  # type: ignore[attr-defined]
    assert follower.dispatcher.elsewhere() == ["fake"] and holder.dispatcher.elsewhere() == []
    workers.sweep(follower)
    msg = await follower.chat.push("葡萄1", sender="王姐", chat_id="g1")  # a deposed holder's last message
    [acked] = follower.repo.pending_effects(LATER)
    assert acked.claimed_until is not None and acked.claimed_until <= datetime.now(UTC)  # released at once
    sent = await follower.core.send("fake:g2", "今晚8点截单")  # a scheduled post on the follower
    assert sent is not None and sent.startswith("outbox-")
    roll = [Mention(user_id="u1", name="王姐"), Mention(user_id="u2", name="小 张")]
    await follower.core.send_mentioning("fake:g1", "@王姐 @小 张 请取货", roll)
    await follower.core.send_card("fake:g2", Card(text="水果团 接龙"))
    await asyncio.sleep(3 * SWEEP)  # the follower's sweeper passes them by
    assert follower.chat.sent == []
    assert [r.claimed_by for r in follower.repo.pending_effects(LATER)] == [follower.dispatcher.worker_id, None, None,
                                                                            None]
    workers.sweep(holder)
    await eventually(lambda: not holder.repo.pending_effects(LATER), 10, what="the holder delivers them")
    got = [(s.kind, s.chat_id, s.emoji or s.text, s.message_id if s.kind == "react" else s.mentions)
           for s in holder.chat.sent]
    assert [g for g in got if g[1] == "g1"] == [("react", "g1", "✅", msg.message_id),
                                                 ("text", "g1", "@王姐 @小 张 请取货", tuple(roll))]
    assert [g for g in got if g[1] == "g2"] == [("text", "g2", "今晚8点截单", ()), ("text", "g2", "水果团 接龙", ())]
    await asyncio.sleep(3 * SWEEP)
    assert follower.chat.sent == [] and len(holder.chat.sent) == 4  # once, by the holder only
