"""Group commit in `tuan run` (bot/batcher.py, issue 10): messages that arrive while the service is
busy share the next transaction; a lone message runs at once; each caller gets its own outcome."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter

import pytest

from adapters.base import Capabilities
from bot import messages as m
from bot.batcher import Batcher
from bot.model import InboundMessage
from bot.services.orders import OrderService
from tests.pipeline import make_pipeline


class Service:
    """A stand-in for the order service: records its batches; ``gate`` holds a batch while it runs."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()

    def run(self, items: list[str]) -> list[str | Exception]:
        self.batches.append(list(items))
        self.started.set()
        self.gate.wait(10)
        return [ValueError(i) if i.startswith("bad") else i.upper() for i in items]


async def until(flag: threading.Event) -> None:
    for _ in range(500):
        if flag.is_set():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the batch never started")


async def test_a_lone_message_runs_at_once_alone() -> None:
    svc = Service()
    b = Batcher(asyncio.Lock(), svc.run, max_batch=100)
    assert await b.submit("a") == "A"
    assert await b.submit("b") == "B"
    assert svc.batches == [["a"], ["b"]]


async def test_messages_queued_while_busy_share_the_next_batch_in_order() -> None:
    svc = Service()
    svc.gate.clear()
    b = Batcher(asyncio.Lock(), svc.run, max_batch=3)
    first = asyncio.ensure_future(b.submit("a"))
    await until(svc.started)
    rest = [asyncio.ensure_future(b.submit(x)) for x in "bcdef"]
    await asyncio.sleep(0.05)
    svc.gate.set()
    assert await first == "A"
    assert await asyncio.gather(*rest) == list("BCDEF")
    assert svc.batches == [["a"], ["b", "c", "d"], ["e", "f"]]  # at most max_batch, never waiting to fill


async def test_a_failing_message_fails_alone() -> None:
    svc = Service()
    svc.gate.clear()
    b = Batcher(asyncio.Lock(), svc.run)
    first = asyncio.ensure_future(b.submit("a"))
    await until(svc.started)
    rest = [asyncio.ensure_future(b.submit(x)) for x in ("b", "bad1", "c")]
    svc.gate.set()
    await first
    got = await asyncio.gather(*rest, return_exceptions=True)
    assert got[0] == "B" and got[2] == "C"
    assert isinstance(got[1], ValueError) and str(got[1]) == "bad1"


async def test_a_run_that_raises_fails_its_batch_only() -> None:
    calls: list[list[str]] = []

    def run(items: list[str]) -> list[str | Exception]:
        calls.append(items)
        if len(calls) == 1:
            raise RuntimeError("store down")
        return [i.upper() for i in items]

    b = Batcher(asyncio.Lock(), run)
    with pytest.raises(RuntimeError, match="store down"):
        await b.submit("a")
    assert await b.submit("b") == "B"


async def test_a_barrier_splits_batches_and_other_lock_holders_run_between() -> None:
    svc = Service()
    svc.gate.clear()
    lock = asyncio.Lock()
    b = Batcher(lock, svc.run)
    order: list[str] = []
    first = asyncio.ensure_future(b.submit("a"))
    await until(svc.started)
    before = asyncio.ensure_future(b.submit("b"))
    await asyncio.sleep(0)
    b.barrier()  # a command comes, and waits for the lock

    async def command() -> None:
        async with lock:
            order.append("command")
            order.extend(x for batch in svc.batches for x in batch)

    cmd = asyncio.ensure_future(command())
    await asyncio.sleep(0)
    after = asyncio.ensure_future(b.submit("c"))
    await asyncio.sleep(0.05)
    svc.gate.set()
    await asyncio.gather(first, before, cmd, after)
    assert svc.batches == [["a"], ["b"], ["c"]]
    assert order == ["command", "a", "b"]  # the command saw b committed and c not yet


async def test_a_caller_cancelled_before_its_batch_is_taken_out() -> None:
    svc = Service()
    svc.gate.clear()
    b = Batcher(asyncio.Lock(), svc.run)
    first = asyncio.ensure_future(b.submit("a"))
    await until(svc.started)
    gone = asyncio.ensure_future(b.submit("gone"))
    kept = asyncio.ensure_future(b.submit("kept"))
    await asyncio.sleep(0.01)
    gone.cancel()
    svc.gate.set()
    assert await kept == "KEPT"
    await first
    assert gone.cancelled()
    assert svc.batches == [["a"], ["kept"]]


@pytest.mark.parametrize("seed", range(12))
async def test_every_item_is_run_once_in_submission_order(seed: int) -> None:
    """Items submitted in random bursts (pauses between them, barriers), random batch sizes: each
    caller gets its own result, every item runs once, in submission order, no batch over max_batch,
    and no batch holds items from both sides of a barrier."""
    rnd = random.Random(seed)
    max_batch = rnd.randint(1, 6)
    runs: list[list[int]] = []

    def run(items: list[int]) -> list[int | Exception]:
        runs.append(items)
        return [i * 10 for i in items]

    b = Batcher(asyncio.Lock(), run, max_batch=max_batch)
    tasks = []
    side: dict[int, int] = {}

    async def caller(n: int, barrier: bool) -> int:  # a command first, then this message
        if barrier:
            b.barrier()
        side[n] = b._epoch
        return await b.submit(n)

    for n in range(rnd.randint(1, 60)):
        tasks.append(asyncio.ensure_future(caller(n, rnd.random() < 0.15)))
        for _ in range(rnd.choice([0, 0, 1, 3])):
            await asyncio.sleep(0)
    got = await asyncio.gather(*tasks)
    assert got == [n * 10 for n in range(len(tasks))]
    assert [i for r in runs for i in r] == list(range(len(tasks)))
    assert max(map(len, runs)) <= max_batch
    assert all(len({side[i] for i in r}) == 1 for r in runs)
    assert b.batches == len(runs) and b.items == len(tasks)


async def test_a_burst_of_orders_in_tuan_run_shares_transactions_and_each_is_acknowledged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The dispatcher: 30 orders arriving at once (three chats of one deal, as webhook requests
    would) commit in a few transactions, each message gets its own ✅ after its commit, and what is
    stored is what one transaction each gives."""
    p = await make_pipeline(Capabilities(reactions=True, direct=True), digest_minutes=0)
    batches: list[int] = []
    real = OrderService.handle_each

    def counting(self: OrderService, msgs, *args, **kwargs):  # type: ignore[no-untyped-def]
        batches.append(len(msgs))
        return real(self, msgs, *args, **kwargs)

    monkeypatch.setattr(OrderService, "handle_each", counting)
    names = [f"住户{k}" for k in range(30)]
    sent = await asyncio.gather(*(p.chat.push("葡萄1", sender=n) for n in names))
    assert sum(batches) == 30 and len(batches) < 30 and max(batches) > 1, batches
    acks = Counter((s.kind, s.message_id, s.emoji) for s in p.chat.pop_all())
    assert acks == Counter({("react", msg.message_id, m.ACK_EMOJI): 1 for msg in sent})
    assert p.stored() == {n: {"1": 1} for n in names}
    await p.close()


async def test_a_message_that_fails_in_a_batch_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """One order's commit fails inside a burst: its caller (a webhook request) gets the error and
    nothing of it is stored; the others are stored and acknowledged."""
    p = await make_pipeline(Capabilities(reactions=True, direct=True))
    real = OrderService.handle

    def flaky(self: OrderService, msg: InboundMessage, *args, **kwargs):  # type: ignore[no-untyped-def]
        if msg.sender_name == "坏":
            raise RuntimeError("commit failed")
        return real(self, msg, *args, **kwargs)

    monkeypatch.setattr(OrderService, "handle", flaky)
    real_process = OrderService._process

    def process(self: OrderService, u, msg):  # type: ignore[no-untyped-def]
        if msg.sender_name == "坏":
            raise RuntimeError("breaks the batch")
        return real_process(self, u, msg)

    monkeypatch.setattr(OrderService, "_process", process)
    names = ["甲", "乙", "坏", "丙"]
    got = await asyncio.gather(*(p.chat.push("葡萄1", sender=n) for n in names), return_exceptions=True)
    assert [type(g).__name__ for g in got] == ["InboundMessage", "InboundMessage", "RuntimeError", "InboundMessage"]
    assert p.stored() == {"甲": {"1": 1}, "乙": {"1": 1}, "丙": {"1": 1}}
    acks = sorted(s.message_id for s in p.chat.pop_all() if s.kind == "react")
    assert acks == sorted(g.message_id for g in got if isinstance(g, InboundMessage))
    await p.close()
