"""Leader election for a role among the workers of one store, on the event loop.

A :class:`Elector` tries its lease every ``retry`` seconds while following, and checks it every
``retry`` seconds while leading; it calls ``on_elected`` when it takes the role and
``on_deposed`` when the lease is lost (or at :meth:`Elector.stop` while leading). The lease's
blocking calls run in a thread, so the loop never waits on the database.

With the default ``retry`` (5 s), a follower takes the role at most 5 s after the holder's
session ends: at once when the holder's process dies (its socket closes), or once the server
gives up on a silent holder (``storage.election.SERVER_KEEPALIVE_SECONDS``, 11 s): well
within 30 s either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

DEFAULT_RETRY_SECONDS = 5.0


class Lease(Protocol):
    """The right to play one role (:mod:`storage.election`); every method blocks and never raises."""

    def try_acquire(self) -> bool:
        """Take the role if nobody holds it; True when this process holds it (now or already)."""
        ...

    def still_held(self) -> bool:
        """True while the role is still ours; False (the lease is then dropped) when it was lost."""
        ...

    def release(self) -> None:
        """Give the role up (no-op when not held)."""
        ...


class Elector:
    """Keeps trying to hold ``lease``; tells its owner when it starts and stops leading."""

    def __init__(self, lease: Lease, *, on_elected: Callable[[], None], on_deposed: Callable[[], None],
                 retry: float = DEFAULT_RETRY_SECONDS, role: str = "role") -> None:
        self.lease, self.retry, self.role = lease, retry, role
        self.on_elected, self.on_deposed = on_elected, on_deposed
        self.leading = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        """Start electing on the running loop."""
        self._task = asyncio.create_task(self._run(), name=f"elector:{self.role}")

    async def halt(self) -> None:
        """Stop electing; when leading, step down (``on_deposed``) but keep the lease until :meth:`release`."""
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.leading:
            self._step_down()

    async def release(self) -> None:
        """Give the lease up, so that another worker may take the role at its next try."""
        await asyncio.to_thread(self.lease.release)

    async def stop(self) -> None:
        """:meth:`halt`, then :meth:`release`."""
        await self.halt()
        await self.release()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.leading:
                    if not await asyncio.to_thread(self.lease.still_held):
                        self._step_down()
                        log.warning("%s: lease lost; no longer leading", self.role)
                elif await asyncio.to_thread(self.lease.try_acquire):
                    self.leading = True
                    log.info("%s: elected", self.role)
                    self.on_elected()
            except Exception:
                log.exception("%s: election step failed", self.role)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.retry)

    def _step_down(self) -> None:
        self.leading = False
        try:
            self.on_deposed()
        except Exception:
            log.exception("%s: stepping down failed", self.role)
