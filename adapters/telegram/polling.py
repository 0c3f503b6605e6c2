"""Long polling that confirms an update to Telegram only once it has been handled.

PTB's ``Updater`` confirms a batch (the next ``getUpdates`` offset) as soon as it is queued, so
a crash loses whatever was queued but not yet handled. Here the offset moves past an update only
after the sink returned; a crash makes Telegram deliver it again, and the store's exactly-once
mark turns the redelivery into a no-op.

Updates are fetched as JSON and parsed one by one: ``Bot.get_updates`` parses the whole batch at
once, so a single update this PTB version cannot parse would stall polling for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from adapters.telegram.calls import retry_after_seconds

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
READ_MARGIN = 10.0  # seconds a long poll's HTTP read may take beyond its timeout

Deliver = Callable[[Update], Awaitable[bool]]  # True: done with it (handled or given up)


class Poller:
    def __init__(
        self, bot: Bot, deliver: Deliver, *, timeout: int, allowed_updates: Sequence[str], retry_base: float
    ) -> None:
        self._bot = bot
        self._deliver = deliver
        self._timeout = timeout
        self._allowed = list(allowed_updates)
        self._retry_base = retry_base
        self._offset: int | None = None
        self._confirmed: int | None = None
        self._stopping = asyncio.Event()
        self._fetching = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram-poller")

    async def stop(self, grace: float = 10.0) -> None:
        """Finish the update in hand (up to ``grace`` seconds), then confirm what was handled."""
        self._stopping.set()
        if self._task is None:
            return
        if self._fetching:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await asyncio.wait_for(self._task, grace)
        if self._offset is not None and self._offset != self._confirmed:
            with contextlib.suppress(TelegramError):
                await self._get(self._offset, timeout=0, limit=1)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _get(self, offset: int | None, timeout: int, limit: int = 100) -> list[dict[str, Any]]:
        args: dict[str, Any] = {"timeout": timeout, "limit": limit, "allowed_updates": self._allowed}
        if offset is not None:
            args["offset"] = offset
        # Bot API method names are case-insensitive; "getupdates" is not PTB's parsing get_updates.
        raw = await self._bot.do_api_request("getupdates", api_kwargs=args, read_timeout=timeout + READ_MARGIN)
        self._confirmed = offset
        return [u for u in raw if isinstance(u, dict) and isinstance(u.get("update_id"), int)] if isinstance(
            raw, list) else []

    async def _fetch(self) -> list[dict[str, Any]]:
        self._fetching = True
        try:
            return await self._get(self._offset, self._timeout)
        finally:
            self._fetching = False

    def _parse(self, raw: dict[str, Any]) -> Update | None:
        try:
            return Update.de_json(raw, self._bot)
        except Exception:
            log.error("update %s cannot be parsed by this PTB version; skipped: %.500r",
                      raw.get("update_id"), raw, exc_info=True)
            return None

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                updates = await self._fetch()
            except InvalidToken:
                log.critical("Telegram rejected the bot token; polling stops")
                raise
            except RetryAfter as exc:
                await self._pause(retry_after_seconds(exc))
                continue
            except Exception as exc:  # network errors, Conflict (another poller or a webhook)
                failures += 1
                level = logging.WARNING if isinstance(exc, Conflict) or failures > 3 else logging.INFO
                log.log(level, "getUpdates failed (%s); retrying", exc, exc_info=failures > 3)
                await self._pause(min(self._retry_base * 2 ** min(failures, 10), MAX_BACKOFF))
                continue
            failures = 0
            for raw in updates:
                update = self._parse(raw)
                if update is not None and not await self._handle(update):
                    break
                self._offset = int(raw["update_id"]) + 1
                await asyncio.sleep(0)  # let the acknowledgements of this one start

    async def _handle(self, update: Update) -> bool:
        """Deliver until done; False when stopping before it was."""
        attempt = 0
        while not self._stopping.is_set():
            if await self._deliver(update):
                return True
            await self._pause(min(self._retry_base * 2**attempt, MAX_BACKOFF))
            attempt += 1
        return False
