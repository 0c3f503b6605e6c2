"""Run the synchronous order service off the event loop, one call at a time.

Reading a message can take long (a 接龙 list of thousands of lines) and so can a store that is
slow to answer. In a worker thread neither delays the event loop: other chats' network I/O,
the scheduler and the WeChat liveness ping go on meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


async def locked_call(lock: asyncio.Lock, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """``fn(*args, **kwargs)`` in a worker thread while holding ``lock``; returns or raises what it does.

    ``lock`` is the one that serialises every use of the service (``Core.lock``), so the service
    never runs in two threads at once. A thread cannot be interrupted: if the caller is cancelled
    the lock is still held until the call has ended, and then the cancellation goes on.
    """
    async with lock:
        call = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            while not call.done():
                try:
                    await asyncio.wait({call})
                except asyncio.CancelledError:
                    continue
            if not call.cancelled():
                call.exception()  # retrieved: the caller is gone, its outcome is of no use
            raise
