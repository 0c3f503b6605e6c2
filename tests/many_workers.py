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


def work(url: str, jobs: list[Job], start: Any, results: Any, batch: int = 1) -> None:
    """Handle ``jobs`` in order, one transaction each (``OrderService.handle`` with :func:`ack_effects`),
    or ``batch`` at a time in one transaction (``OrderService.handle_batch``: group commit), after
    ``start`` (a barrier) lets every worker go at once. Puts one list of :data:`Result` on
    ``results``. Any exception (a failed commit, a deadlock) propagates: the process exits non-zero.
    """
    from bot.services.orders import OrderService
    from storage.sql import open_repository

    repo = open_repository(url)
    svc = OrderService(repo)
    out: list[Result] = []
    try:
        start.wait(timeout=120)
        for k in range(0, len(jobs), batch):
            group = [message(job, n) for n, job in enumerate(jobs[k:k + batch], k)]
            for o in svc.handle_batch(group, ack_effects):
                    out.append((o.chat_key, o.message_id, o.kind, tuple((a.item_code, a.delta) for a in o.accepted),
                            tuple(p.code for p in o.refused + o.unclear), tuple((e.kind, e.target) for e in o.effects),
                            o.effects[0].seq if o.effects else -1))
    finally:
        repo.close()
    results.put(out)


def serve(url: str, inbox: Any, start: Any, results: Any, batch: int = 1) -> None:
    """A benchmark worker: handle messages from ``inbox`` ((job, arrival time.time()) or None to stop)
    until None; put (count, CPU seconds of this process, [arrival → commit seconds]) on ``results``.

    ``batch`` > 1: group commit. The worker takes what is queued, up to ``batch`` messages (never
    waiting for more), handles them in one transaction (``OrderService.handle_batch``), and a
    message counts as acknowledged at that commit."""
    import queue

    from bot.services.orders import OrderService
    from storage.sql import open_repository

    repo = open_repository(url)
    svc = OrderService(repo)
    delays: list[float] = []
    n = 0
    try:
        start.wait(timeout=120)
        cpu0 = time.process_time()
        done = False
        while not done:
            taken = [inbox.get()]
            while len(taken) < batch and taken[-1] is not None:
                try:
                    taken.append(inbox.get_nowait())
                except queue.Empty:
                    break
            if taken[-1] is None:
                taken.pop()
                done = True
            if not taken:
                continue
            svc.handle_batch([message(job, n + k) for k, (job, _) in enumerate(taken)], ack_effects)
            now = time.time()
            delays.extend(now - arrived for _, arrived in taken)
            n += len(taken)
        cpu = time.process_time() - cpu0
    finally:
        repo.close()
    results.put((n, cpu, delays))
