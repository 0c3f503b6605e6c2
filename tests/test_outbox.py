"""The transactional outbox: what the bot says about a message is committed with it, delivered after
the commit, marked once delivered, and what a crash left is delivered by a sweep (at the next
start-up, taking over on a store one process serves) unless older than ``[bot] reply_expiry_seconds``.
Leases shared by several workers: tests/test_outbox_lease.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.base import Capabilities
from adapters.fake import sender_id_of
from bot import messages as m
from bot.catalog import Catalog, Item
from bot.config import config_from_dict
from bot.model import Effect, InboundMessage, Mention
from bot.ports import Changeset, OutboxRow, Repository, StoreUnavailable
from bot.services.orders import OrderService
from bot.services.outcome import Outcome
from storage.sql import open_repository
from tests.pipeline import Pipeline, config_dict, make_pipeline
from tests.stores import memory_store, writes_fail
from tests.waiting import eventually

REACTIONS = Capabilities(reactions=True)
LATER = datetime.now(UTC) + timedelta(days=1)


@pytest.fixture(params=["memory", "sqlite"])
def repo(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Repository]:
    store: Repository = memory_store() if request.param == "memory" else open_repository(
        f"sqlite:///{tmp_path / 't.db'}")
    yield store
    store.close()


def crashing(p: Pipeline) -> None:
    """Make every delivery through the pipeline's chat fail, as if the process died right after the commit."""
    async def dead(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the process is gone")
    p.chat.react = dead  # type: ignore[method-assign]
    p.chat.send_text = dead  # type: ignore[method-assign]


async def restart(p: Pipeline, caps: Capabilities | None = REACTIONS, **bot: Any) -> Pipeline:
    """A new process on the same store (which it alone serves): a new service, dispatcher and chat,
    then the start-up sweep, taking over what the former run held."""
    await p.close()
    config = config_from_dict(config_dict(**bot), "test.toml", env={})
    again = await make_pipeline(caps, config=config, repo=p.repo)
    await again.dispatcher.sweep(takeover=True)
    return again


async def test_the_ack_is_committed_with_the_order_then_delivered_once(repo: Repository) -> None:
    p = await make_pipeline(REACTIONS, repo=repo)
    at_delivery: list[list[OutboxRow]] = []
    react = p.chat.react

    async def watching(chat_id: str, message_id: str, emoji: str) -> bool:
        at_delivery.append(repo.pending_effects(LATER))
        return await react(chat_id, message_id, emoji)
    p.chat.react = watching  # type: ignore[method-assign]
    msg = await p.chat.push("葡萄2", sender="王姐")
    [[row]] = at_delivery  # committed before it was delivered
    assert (row.kind, row.target, row.text, row.chat_key) == ("react", msg.message_id, m.ACK_EMOJI, "fake:g1")
    assert [(s.kind, s.message_id) for s in p.chat.pop_all()] == [("react", msg.message_id)]
    await p.close()
    assert repo.pending_effects(LATER) == []  # marked delivered
    again = await restart(p)
    assert again.chat.pop_all() == []  # nothing said twice
    await again.close()


async def test_what_a_crash_kept_from_going_out_is_said_at_the_next_start(repo: Repository) -> None:
    p = await make_pipeline(REACTIONS, repo=repo)
    crashing(p)
    msg = await p.chat.push("橙1 葡萄2", sender="王姐")  # one line unclear, one accepted
    assert p.chat.pop_all() == []
    assert p.stored() == {"王姐": {"1": 2}}
    rows = repo.pending_effects(LATER)
    assert [(r.kind, r.target) for r in rows] == [("reply", msg.message_id), ("react", msg.message_id)]
    again = await restart(p)
    ask, ack = again.chat.pop_all()
    assert ask.kind == "text" and ask.text == m.ASK_AMBIGUOUS.format(word="橙", options="脐橙还是血橙")
    assert ask.reply_to == msg.message_id and ask.mention == Mention(sender_id_of("王姐"), "王姐")
    assert (ack.kind, ack.message_id, ack.emoji) == ("react", msg.message_id, m.ACK_EMOJI)
    await again.close()
    assert repo.pending_effects(LATER) == []
    third = await restart(again)
    assert third.chat.pop_all() == []
    await third.close()


async def test_effects_older_than_the_expiry_are_dropped_and_logged(repo: Repository,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    p = await make_pipeline(REACTIONS, repo=repo)
    crashing(p)
    fresh = await p.chat.push("葡萄1", sender="王姐")
    old = datetime.now(UTC) - timedelta(seconds=601)
    repo.commit(Changeset(outbox=[OutboxRow(seq=10_000, n=0, chat_key="fake:g1", kind="reply", target="m0",
                                            text="很久以前的回答", mention_id=None, mention_name=None,
                                            created_at=old)]))
    with caplog.at_level(logging.WARNING, logger="bot.dispatch"):
        again = await restart(p)  # the default expiry: 600 s
    assert [(s.kind, s.message_id) for s in again.chat.pop_all()] == [("react", fresh.message_id)]
    assert "1 undelivered effects older than 600.0 s dropped" in caplog.text
    await again.close()
    assert repo.pending_effects(LATER) == []


async def test_a_shorter_expiry_drops_what_the_default_would_deliver(repo: Repository) -> None:
    p = await make_pipeline(REACTIONS, repo=repo)
    crashing(p)
    await p.chat.push("葡萄1", sender="王姐")
    await eventually(lambda: datetime.now(UTC) - repo.pending_effects(LATER)[0].created_at > timedelta(seconds=0.2),
                     5, what="the effect to age")
    again = await restart(p, reply_expiry_seconds=0.2)
    assert again.chat.pop_all() == []
    await again.close()
    assert repo.pending_effects(LATER) == []


async def test_a_sweep_leaves_this_runs_own_effects_alone_while_their_lease_holds(repo: Repository) -> None:
    p = await make_pipeline(REACTIONS, repo=repo)
    crashing(p)
    await p.chat.push("葡萄1", sender="王姐")
    del p.chat.react  # deliveries work again
    assert await p.dispatcher.sweep(takeover=True) == 0  # the row is this run's: perhaps being delivered right now
    assert p.chat.pop_all() == []
    [row] = repo.pending_effects(LATER)
    assert row.claimed_by == p.dispatcher.worker_id
    await p.close()


async def test_without_reactions_the_list_digest_delivers_the_ack(repo: Repository) -> None:
    p = await make_pipeline(repo=repo, digest_minutes=0.01)  # 0.6 s
    await p.chat.push("葡萄2", sender="王姐")
    [first] = p.chat.pop_all()
    assert "王姐 葡萄2" in first.text
    await p.chat.push("鸡蛋1", sender="阿强")  # inside the interval: its digest waits
    assert p.chat.pop_all() == []
    await p.close()  # a stop drops the waiting digest, not its outbox row
    assert [r.kind for r in repo.pending_effects(LATER)] == ["react"]
    again = await restart(p, None, digest_minutes=0.01)
    [digest] = again.chat.pop_all()
    assert "阿强 鸡蛋1" in digest.text and "(共2户)" in digest.text
    await again.close()
    assert repo.pending_effects(LATER) == []


async def test_a_redelivered_message_says_nothing_again(repo: Repository) -> None:
    p = await make_pipeline(REACTIONS, repo=repo)
    crashing(p)
    msg = await p.chat.push("葡萄2", sender="王姐")
    again = await restart(p)
    again.chat.pop_all()
    await again.chat.push("葡萄2", sender="王姐", message_id=msg.message_id)  # the platform redelivers it
    assert again.chat.pop_all() == []
    assert again.stored() == {"王姐": {"1": 2}}
    await again.close()
    assert repo.pending_effects(LATER) == []


def test_the_service_commits_effects_with_the_message_or_not_at_all(tmp_path: Any) -> None:
    repo = open_repository(f"sqlite:///{tmp_path / 't.db'}")
    try:
        svc = OrderService(repo, catalog=Catalog(items=(Item("1", "葡萄", "盒"),)))
        asked: list[str] = []

        def ack(o: Outcome) -> list[Effect]:
            asked.append(o.message_id)
            return [Effect(o.chat_key, "react", target=o.message_id, text=m.ACK_EMOJI)] if o.changed else []

        def msg(n: int) -> InboundMessage:
            return InboundMessage("t", "g1", f"m{n}", "u1", "王姐", "葡萄1", datetime.now(UTC), delivery=("t:bot", str(n)))
        out = svc.handle(msg(1), ack)
        [row] = repo.pending_effects(LATER)
        assert out.effects == (row,) and (row.n, row.kind, row.target, row.chat_key) == (0, "react", "m1", "t:g1")
        assert svc.handle(msg(1), ack).kind == "duplicate" and asked == ["m1"]  # a redelivery says nothing again
        with writes_fail(repo, StoreUnavailable("down")), pytest.raises(StoreUnavailable):
            svc.handle(msg(2), ack)
        assert repo.pending_effects(LATER) == [row]  # nothing of the failed message, its effects included
        out = svc.handle(msg(2), ack)  # offered again: taken, with its effect, once
        assert [r.target for r in repo.pending_effects(LATER)] == ["m1", "m2"] and len(out.effects) == 1
        assert svc.handle(msg(3)).effects == ()  # no one asked: nothing to say (a replay)
        assert len(repo.pending_effects(LATER)) == 2
    finally:
        repo.close()


async def test_a_stop_asked_before_the_sweeper_ran_ends_it_after_one_sweep() -> None:
    """A console at end of input stops the bot before the sweeper's task first runs: the sweeper
    must still see the stop (it waited out its whole interval, so every such stop took 5 s)."""
    import asyncio

    p = await make_pipeline()
    try:
        sweeping = asyncio.create_task(p.dispatcher.run_sweeper(every=3600))
        p.dispatcher.stop_sweeper()  # before the task had a turn
        await asyncio.wait_for(sweeping, timeout=30)  # one sweep, then done: not an hour
    finally:
        await p.close()
