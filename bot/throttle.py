"""Per-key rate limit for posts that must not flood a chat (list digests, card edits)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Action = Callable[[], Awaitable[None]]


class Throttle:
    """Run an action at most once per ``interval`` seconds per key.

    A request when the key is free runs at once (awaited by the caller); a request inside
    the interval runs once, at the interval's end, with the latest action requested, so the
    last state is always shown without one post per message. With ``leading=False`` every
    request waits (a debounce: a burst of requests becomes one run ``interval`` later).
    """

    def __init__(self, interval: float, *, leading: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.leading = leading
        self._clock = clock
        self._last: dict[str, float] = {}
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._actions: dict[str, Action] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def pending(self, key: str) -> bool:
        return key in self._pending

    async def request(self, key: str, action: Action) -> None:
        if key in self._pending:
            self._actions[key] = action
            return
        wait = self._last.get(key, float("-inf")) + self.interval - self._clock()
        if not self.leading:
            wait = self.interval
        elif wait <= 0:
            self._last[key] = self._clock()
            await self._call(action)
            return
        self._actions[key] = action
        task = asyncio.create_task(self._later(key, wait))
        self._pending[key] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _later(self, key: str, wait: float) -> None:
        await asyncio.sleep(wait)
        self._pending.pop(key, None)
        action = self._actions.pop(key)
        self._last[key] = self._clock()
        await self._call(action)

    @staticmethod
    async def _call(action: Action) -> None:
        try:
            await action()
        except Exception:
            log.exception("throttled post failed")

    async def close(self) -> None:
        """Drop the posts still waiting for their turn; let one being sent finish."""
        for task in self._pending.values():
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pending.clear()
        self._actions.clear()
