"""Long polling that confirms an update to Telegram only once it has been handled.

PTB's ``Updater`` (not used) confirms a batch (the next ``getUpdates`` offset) as soon as it is queued, so
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
from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import partial
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from adapters.telegram.calls import retry_after_seconds
from adapters.telegram.lanes import Lanes

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
READ_MARGIN = 10.0  # seconds a long poll's HTTP read may take beyond its timeout
BUSY_POLL = 0.25  # seconds between polls while an update is in hand (each such poll returns at once)
MAX_BUSY_POLL = 2.0  # ... growing to this while the polls bring nothing new (e.g. a database outage)

Deliver = Callable[[Update], Awaitable[bool]]  # True: done with it (handled or given up)


class Poller:
    """Fetches updates and hands each to its chat's lane; the offset passes only what was handled.

    Updates of one chat are handled in order, different chats concurrently (``lanes``). Telegram
    confirms updates by offset only, so the offset stays at the oldest update not yet handled:
    while one is in hand the next polls come back at once with it (skipped, as known) and any
    news, so they are spaced by :data:`BUSY_POLL` (growing to :data:`MAX_BUSY_POLL` while they bring
    nothing new); once nothing is in hand, the next poll is a long poll again. A poll returns at
    most 100 updates, so other chats run at most that far ahead of a slow one.
    """

    def __init__(
        self, bot: Bot, deliver: Deliver, *, timeout: int, allowed_updates: Sequence[str], retry_base: float,
        lanes: Lanes, lane_of: Callable[[Update], Hashable],
    ) -> None:
        self._bot = bot
        self._deliver = deliver
        self._timeout = timeout
        self._allowed = list(allowed_updates)
        self._retry_base = retry_base
        self._lanes = lanes
        self._lane_of = lane_of
        self._next: int | None = None  # one past the newest update taken (handed to a lane or skipped)
        self._pending: set[int] = set()  # update ids handed to a lane and not yet handled
        self._confirmed: int | None = None
        self._stopping = asyncio.Event()
        self._drained = asyncio.Event()  # nothing in hand (or stopping): time for a long poll
        self._task: asyncio.Task[None] | None = None

    @property
    def _offset(self) -> int | None:
        """The offset to poll with: the oldest update in hand, else one past the newest taken."""
        return min(self._pending) if self._pending else self._next

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram-poller")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop fetching, finish the updates in hand (up to ``grace`` seconds), confirm what was handled."""
        self._stopping.set()
        self._drained.set()
        if self._task is None:
            return
        self._task.cancel()  # wherever it waits: the long poll, room in the lanes, progress
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._lanes.drain(grace)
        offset = self._offset
        if offset is not None and offset != self._confirmed:
            with contextlib.suppress(TelegramError):
                await self._get(offset, timeout=0, limit=1)

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

    def _parse(self, raw: dict[str, Any]) -> Update | None:
        try:
            return Update.de_json(raw, self._bot)
        except Exception:
            log.error("update %s cannot be parsed by this PTB version; skipped: %.500r",
                      raw.get("update_id"), raw, exc_info=True)
            return None

    async def _run(self) -> None:
        failures = 0
        quiet = 0  # polls in a row that brought nothing new
        while not self._stopping.is_set():
            busy = bool(self._pending)
            try:
                updates = await self._get(self._offset, 0 if busy else self._timeout)
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
            quiet += 1
            for raw in updates:
                update_id = int(raw["update_id"])
                if self._next is not None and update_id < self._next:
                    continue  # in hand already, or handled
                update = self._parse(raw)
                self._next = update_id + 1
                quiet = 0
                if update is not None:
                    self._pending.add(update_id)
                    self._drained.clear()
                    await self._lanes.submit(self._lane_of(update), partial(self._handle, update),
                                             f"update {update_id}")
            if self._pending:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._drained.wait(), min(BUSY_POLL * 2 ** min(quiet, 3), MAX_BUSY_POLL))

    async def _handle(self, update: Update) -> bool:
        """Deliver until done (then the offset may pass it); False when stopping before it was."""
        attempt = 0
        while not self._stopping.is_set():
            if await self._deliver(update):
                self._pending.discard(update.update_id)
                if not self._pending:
                    self._drained.set()
                return True
            await self._pause(min(self._retry_base * 2**attempt, MAX_BACKOFF))
            attempt += 1
        return False
