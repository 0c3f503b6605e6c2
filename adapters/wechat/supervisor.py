"""Keep one connection alive: run it, notice when it ends, and start it again with backoff.

``Wechaty.start()`` is unfit for a bot that shares its event loop: it swallows connection
errors, sleeps 60 s and recurses, and on a puppet error it stops the whole loop. The adapter
runs its own connection attempts under a :class:`Supervisor` instead: an attempt is a
coroutine that connects and serves until the connection is lost (it returns or raises); the
supervisor logs why, waits ``Backoff.delay(n)`` and tries again, until :meth:`stop`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: ``initial * factor**n``, at most ``maximum``, ±``jitter`` (a fraction)."""

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0
    jitter: float = 0.1

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """The wait before the next attempt, after ``failures`` (≥ 1) failed attempts in a row."""
        base = min(self.maximum, self.initial * self.factor ** max(0, failures - 1))
        return max(0.0, base * (1 + self.jitter * (2 * rand() - 1)))


Attempt = Callable[["Supervisor"], Awaitable[None]]


class Supervisor:
    """Runs ``attempt`` again and again until stopped; an attempt calls :meth:`mark_up` once it works.

    A failure right after :meth:`mark_up` waits ``backoff.initial`` again: only failures in a
    row make the wait grow.
    """

    def __init__(self, name: str, attempt: Attempt, backoff: Backoff,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.name = name
        self._attempt = attempt
        self._backoff = backoff
        self._sleep = sleep
        self._stopping = False
        self.failures = 0  # failed attempts since the last mark_up
        self.attempts = 0
        self.up = asyncio.Event()  # set while an attempt is marked up
        self.tried = asyncio.Event()  # set once the first attempt worked or failed

    def mark_up(self) -> None:
        self.failures = 0
        self.up.set()
        self.tried.set()

    def stop(self) -> None:
        self._stopping = True

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def run(self) -> None:
        while not self._stopping:
            self.attempts += 1
            try:
                await self._attempt(self)
                reason = "connection closed"
            except asyncio.CancelledError:
                self.up.clear()
                raise
            except Exception as exc:  # the reason is logged; the loop goes on
                reason = describe(exc)
            was_up = self.up.is_set()
            self.up.clear()
            self.tried.set()
            if self._stopping:
                break
            self.failures += 1
            delay = self._backoff.delay(self.failures)
            level = logging.WARNING if was_up or self.failures == 1 else logging.INFO
            log.log(level, "%s: %s %s; reconnecting in %.1f s (attempt %d)", self.name,
                    "lost:" if was_up else "cannot connect:", reason, delay, self.attempts + 1)
            await self._sleep(delay)


def describe(exc: BaseException) -> str:
    """A one-line reason for the log: the class and the message, without a traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
