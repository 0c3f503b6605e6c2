"""A worker process for the two-process tests: its own OrderService on a shared PostgreSQL store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def work(url: str, chat: str, messages: list[tuple[str, str, str]], closed: Any, close_after: int | None,
         deal_id: str, results: Any) -> None:
    """Handle ``messages`` ((message id, sender, text)) in ``chat``, one transaction each; after
    ``close_after`` of them close the deal and set ``closed``. Puts (message id, kind, accepted
    qty, refused codes, handled after the close was seen) on ``results``."""
    from bot.model import InboundMessage
    from bot.services.orders import OrderService
    from storage.sql import open_repository

    repo = open_repository(url)
    svc = OrderService(repo)
    try:
        for n, (mid, sender, text) in enumerate(messages):
            if close_after is not None and n == close_after:
                svc.close_deal(deal_id)
                closed.set()
            after_close = closed.is_set()
            msg = InboundMessage("t", chat, mid, sender, sender, text, T0 + timedelta(seconds=n))
            out = svc.handle(msg)
            results.put((mid, out.kind, sum(a.delta for a in out.accepted), [p.code for p in out.refused],
                         after_close))
    finally:
        repo.close()
        results.put(None)
