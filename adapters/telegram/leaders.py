"""Who leads a chat: its administrators (getChatAdministrators, cached with expiry) plus config."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)

FAILED_TTL = 60.0  # after a failed lookup, try again no sooner than this


class Leaders:
    """``fetch(chat_id)`` returns the admins' user ids; one lookup per chat at a time."""

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[Iterable[int]]],
        configured: Iterable[str] = (),
        ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._configured = frozenset(str(x).lower() for x in configured)
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}  # chat -> (expires, admin ids)
        self._locks: dict[str, asyncio.Lock] = {}

    def is_configured(self, user_id: str, username: str | None = None) -> bool:
        return user_id in self._configured or (
            username is not None and "@" + username.lower() in self._configured
        )

    def forget(self, chat_id: str) -> None:
        """Drop a chat's cached admins (e.g. after a promotion)."""
        self._cache.pop(chat_id, None)

    async def admins(self, chat_id: str) -> frozenset[str]:
        cached = self._cache.get(chat_id)
        if cached and cached[0] > self._clock():
            return cached[1]
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            cached = self._cache.get(chat_id)
            if cached and cached[0] > self._clock():
                return cached[1]
            try:
                ids = frozenset(str(i) for i in await self._fetch(chat_id))
                ttl = self._ttl
            except Exception:  # network, Forbidden (kicked), BadRequest (not a group)...
                log.warning("getChatAdministrators failed for chat %s", chat_id, exc_info=True)
                ids, ttl = (cached[1] if cached else frozenset()), min(self._ttl, FAILED_TTL)
            self._cache[chat_id] = (self._clock() + ttl, ids)
            return ids

    async def is_leader(self, chat_id: str, user_id: str, username: str | None = None) -> bool:
        if self.is_configured(user_id, username):
            return True
        return user_id in await self.admins(chat_id)
