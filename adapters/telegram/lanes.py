"""Per-chat lanes: work of one chat runs in order, different chats run side by side.

A lane is a FIFO queue with one task working through it, created when work for its key arrives
and retired as soon as its queue is empty, so idle chats cost nothing. ``limit`` bounds the work
submitted but not finished across all lanes: :meth:`Lanes.submit` waits for room, which pushes
back on whoever produces the work (the poller stops fetching; a sender waits).

Used twice by the Telegram adapter: inbound updates (one lane per chat, so a slow chat does not
hold up the others while each chat's messages stay in order) and outbound calls (one lane per
chat, so a reply being retried is not overtaken by a later one, while one chat's flood limit
does not delay other chats).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_Item = tuple[Callable[[], Awaitable[Any]], "asyncio.Future[Any]", str]


def _retrieve(fut: asyncio.Future[Any]) -> None:
    """Mark a failed future's exception as seen: nobody may be waiting for fire-and-forget work."""
    if not fut.cancelled():
        fut.exception()


class Lanes:
    """Per-key ordered, cross-key concurrent work queues (see the module docstring).

    ``limit``: most items queued or running across all keys (≥ 1). ``name`` appears in the log.
    """

    def __init__(self, limit: int, name: str) -> None:
        self._room = asyncio.Semaphore(max(1, limit))
        self._name = name
        self._queues: dict[Hashable, deque[_Item]] = {}
        self._workers: dict[Hashable, asyncio.Task[None]] = {}
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        """Items queued or running, all lanes together."""
        return self._count

    @property
    def lanes(self) -> int:
        """Lanes alive now (keys with queued or running work)."""
        return len(self._workers)

    async def submit(self, key: Hashable, work: Callable[[], Awaitable[T]], what: str = "") -> asyncio.Future[T]:
        """Queue ``work()`` behind the earlier work of ``key``; waits while the lanes are full.

        Returns a future for ``work()``'s result (or exception); awaiting it is optional, a
        failure nobody awaits is logged. ``what`` describes the work for the log.
        """
        await self._room.acquire()
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_retrieve)
        self._count += 1
        self._idle.clear()
        self._queues.setdefault(key, deque()).append((work, fut, what))
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key), name=f"{self._name}:{key}")
        return fut

    def _finish(self) -> None:
        self._count -= 1
        self._room.release()
        if not self._count:
            self._idle.set()

    async def _work(self, key: Hashable) -> None:
        queue = self._queues[key]
        try:
            while queue:
                work, fut, what = queue[0]
                try:
                    if not fut.done():  # a waiter that gave up cancels the future: skip the work
                        result = await work()
                        if not fut.done():
                            fut.set_result(result)
                except asyncio.CancelledError:
                    fut.cancel()
                    raise
                except Exception as exc:
                    log.exception("%s: %s failed", self._name, what or "work")
                    if not fut.done():
                        fut.set_exception(exc)
                finally:
                    queue.popleft()
                    self._finish()
        finally:
            for _, fut, what in queue:  # cancelled: what is left will not run
                log.warning("%s: %s dropped at shutdown", self._name, what or "work")
                fut.cancel()
                self._finish()
            queue.clear()
            del self._queues[key]
            del self._workers[key]

    async def drain(self, timeout: float) -> None:
        """Wait for all queued work (up to ``timeout`` seconds), then cancel what is left."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            pass
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
