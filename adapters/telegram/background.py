"""Button answers sent without holding up the next update.

Against the real Bot API a call takes 50–300 ms; awaiting each answer before reading the next
update would cap a group's burst at a few presses a second. Calls here start only after the
sink returned (the press is committed), at most ``limit`` at a time; ``drain`` waits for them
on shutdown. A crash may lose an answer, never an order. (Reactions go through the chat's
outbound lane instead, so they keep their order: :class:`adapters.telegram.outbound.Outbox`.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self, limit: int = 8) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.create_task(self._run(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Coroutine[Any, Any, object]) -> None:
        async with self._slots:
            try:
                await work
            except Exception:
                log.exception("background Bot API call failed")

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the calls in flight (up to ``timeout`` seconds), then cancel what is left."""
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
