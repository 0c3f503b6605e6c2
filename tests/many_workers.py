"""Worker processes for the many-worker tests and the workers benchmark: each its own OrderService
on one shared PostgreSQL store, doing what `tuan run` does per message minus the network.

Kept importable on its own (multiprocessing's spawn imports it in every child).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)

Job = tuple[str, str, str, str]
"""One inbound message: (chat id, message id, sender id, text); the platform is "t"."""

Result = tuple[str, str, str, tuple[tuple[str, int], ...], tuple[str, ...], tuple[tuple[str, str | None], ...], int]
"""What a worker saw of one message: (chat key, message id, kind, accepted (item code, delta),
refused problem codes, committed effects (kind, target), the message's seq or -1)."""


def ack_effects(outcome: Any) -> list[Any]:
    """The dispatcher's reply policy in short (bot/dispatch.py): a ✅ on a message that changed an
    order, one reply naming the problems of a refused or unclear one."""
    from bot import messages as m
    from bot.model import REACT, REPLY, Effect, Mention

    effects = []
    problems = outcome.unclear + outcome.refused
    if problems:
        effects.append(Effect(outcome.chat_key, REPLY, target=outcome.message_id,
                              text=",".join(p.code for p in problems),
                              mention=Mention(user_id=outcome.sender_id, name=outcome.sender_id)))
    if outcome.changed:
        effects.append(Effect(outcome.chat_key, REACT, target=outcome.message_id, text=m.ACK_EMOJI))
    return effects


def message(job: Job, n: int) -> Any:
    """The inbound message of ``job`` (the ``n``-th a worker handles), with a platform delivery id."""
    from bot.model import InboundMessage

    chat, mid, sender, text = job
    return InboundMessage("t", chat, mid, sender, sender, text, T0 + timedelta(milliseconds=n),
                          delivery=("t:test", f"{chat}/{mid}"))


def batch_of(svc: Any, holder: str = "worker") -> Any:
    """What a `tuan run` worker's dispatcher does with a batch its :class:`bot.batcher.Batcher`
    hands it (``Dispatcher._handle_batch``, with the reply policy of :func:`ack_effects`): the
    messages handled by ``OrderService.handle_each``, each with its outcome or its own exception."""
    lease = timedelta(seconds=60)

    def run(msgs: list[Any]) -> list[Any]:
        return svc.handle_each(msgs, ack_effects, holder=holder, lease=lease)

    return run


def result_of(o: Any) -> Result:
    return (o.chat_key, o.message_id, o.kind, tuple((a.item_code, a.delta) for a in o.accepted),
            tuple(p.code for p in o.refused + o.unclear), tuple((e.kind, e.target) for e in o.effects),
            o.effects[0].seq if o.effects else -1)


def work(url: str, jobs: list[Job], start: Any, results: Any, batch: int = 1) -> None:
    """Handle ``jobs`` as `tuan run` does when they all arrive at once: each submitted to the group
    commit of bot/batcher.py (at most ``batch`` a transaction; 1: one transaction each), in order,
    after ``start`` (a barrier) lets every worker go at once. Puts (list of :data:`Result`, messages
    deferred because another worker held their deal) on ``results``. Any exception (a failed
    commit) propagates: the process exits non-zero.
    """
    import asyncio

    from bot.batcher import Batcher
    from bot.services.orders import OrderService
    from storage.sql import open_repository

    repo = open_repository(url)
    svc = OrderService(repo)

    async def main() -> list[Any]:
        batcher = Batcher(asyncio.Lock(), batch_of(svc), max_batch=batch)
        calls = [asyncio.ensure_future(batcher.submit(message(job, n))) for n, job in enumerate(jobs)]
        return list(await asyncio.gather(*calls))

    try:
        start.wait(timeout=120)
        outs = asyncio.run(main())
    finally:
        repo.close()
    results.put(([result_of(o) for o in outs], svc.deferred))


def serve(url: str, inbox: Any, start: Any, results: Any, batch: int = 1, warm: bool = False,
          profile: str | None = None) -> None:
    """A benchmark worker, doing what `tuan run` does minus the network: each message from ``inbox``
    ((job, arrival time.time()), or None to stop) is submitted, as it comes, to the group commit of
    bot/batcher.py (at most ``batch`` a transaction, never waiting for more), and counts as
    acknowledged when its transaction (with its ✅ in the outbox) commits. ``warm``: every deal is
    loaded first (``OrderService.preload``), as in a worker that has been serving them. ``profile``: a cProfile of the run is
    written there (of the thread the batches run in: the per-message work). Puts (count, CPU seconds of this process, [arrival → commit seconds], deferred)
    on ``results``."""
    import asyncio
    import threading

    from bot.batcher import Batcher
    from bot.services.orders import OrderService
    from storage.sql import open_repository

    repo = open_repository(url)
    svc = OrderService(repo)
    delays: list[float] = []

    run = batch_of(svc)
    prof = None
    if profile:  # the service's thread, where the per-message work is done
        import cProfile

        prof = cProfile.Profile()
        plain = run

        def run(msgs: list[Any]) -> list[Any]:
            return prof.runcall(plain, msgs)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        batcher = Batcher(asyncio.Lock(), run, max_batch=batch)
        calls: set[asyncio.Future[None]] = set()
        done = asyncio.Event()
        count = 0

        async def one(job: Job, arrived: float, n: int) -> None:
            await batcher.submit(message(job, n))
            delays.append(time.time() - arrived)

        def arrive(item: Any) -> None:
            nonlocal count
            if item is None:
                done.set()
                return
            call = asyncio.ensure_future(one(item[0], item[1], count))
            count += 1
            calls.add(call)
            call.add_done_callback(calls.discard)

        def read() -> None:  # the "network": a thread receiving messages, handing them to the loop
            while True:
                item = inbox.get()
                loop.call_soon_threadsafe(arrive, item)
                if item is None:
                    return

        threading.Thread(target=read, daemon=True).start()
        await done.wait()
        while calls:
            await asyncio.gather(*list(calls))
        return count

    try:
        if warm:
            svc.preload(row.chat_key for row in svc.chats_with_deal())
        start.wait(timeout=120)
        cpu0 = time.process_time()
        n = asyncio.run(main())
        if prof is not None and profile:
            prof.dump_stats(profile)
        cpu = time.process_time() - cpu0
    finally:
        repo.close()
    results.put((n, cpu, delays, svc.deferred))
