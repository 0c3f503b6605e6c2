"""The Telegram adapter: a PTB 22 ``Application`` run inside Tuan's event loop.

Inbound: updates (long polling, or a webhook) → :mod:`convert` → the core's :class:`Sink`, in
order within a chat and concurrently across chats (one lane per chat, :mod:`lanes`). An update is confirmed to Telegram (next poll offset, or the webhook's 200)
and a button press answered only after the sink returned; ``InboundMessage.delivery`` carries
``("telegram:<bot id>", "<update id>")`` and ``ButtonPress.press_id`` is ``"<bot id>:<update id>"``,
so the store can make redeliveries no-ops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from adapters.base import Capabilities, Sink
from adapters.telegram.config import SECRET_ENV, TOKEN_ENV, TelegramConfig, from_section
from adapters.telegram.convert import (
    BotIdentity,
    Unusable,
    is_anonymous_admin,
    lane_of,
    message_of,
    to_inbound,
    to_press,
)
from adapters.telegram.dedup import RecentUpdates
from adapters.telegram.lanes import Lanes
from adapters.telegram.leaders import Leaders
from adapters.telegram.outbound import Outbox
from adapters.telegram.polling import Poller
from adapters.telegram.ratelimit import rate_limiter
from adapters.telegram.webhook import WebhookServer
from bot.config import ENV_TELEGRAM_WEBHOOK_PORT
from bot.election import Elector, Lease
from bot.model import Card, InboundMessage, Mention
from bot.ports import StoreUnavailable

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
MAX_ANSWER = 200  # answerCallbackQuery text limit
MAX_COUNTED = 4096  # updates whose failed attempts are remembered
POLLER_ROLE = "telegram-poller"
"""The elected role of the one worker that calls ``getUpdates`` in polling mode (docs/scaling.md)."""


def _count(counts: dict[int, int], update_id: int, n: int) -> None:
    """Note ``n`` attempts at an update, forgetting the oldest beyond ``MAX_COUNTED`` (a webhook
    update that failed here may be redelivered to another worker and never come back)."""
    counts[update_id] = n
    if len(counts) > MAX_COUNTED:
        del counts[next(iter(counts))]


def _kind(update: Update) -> str:
    return ",".join(k for k in update.to_dict() if k != "update_id") or "empty"


class TelegramAdapter:
    name = "telegram"
    capabilities = Capabilities(buttons=True, reactions=True, edits=True, files=True, direct=True)

    def __init__(self, config: TelegramConfig) -> None:
        self.config = config
        builder = (
            ApplicationBuilder().token(config.token).base_url(config.base_url)
            .base_file_url(config.base_file_url).local_mode(config.local_mode)
            .updater(None).job_queue(None)
        )
        limiter = rate_limiter(config.rate_limit, config.group_per_minute, config.overall_per_second)
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            builder.rate_limiter(limiter).build() if limiter is not None else builder.build()
        )
        self.bot = self.app.bot
        self._outbox = Outbox(self.bot, config.ack_emoji, backoff=config.retry_base / 2,
                              concurrency=config.ack_concurrency, expiry=config.send_expiry)
        self._inbound = Lanes(config.max_in_flight, "telegram-in")
        self._leaders = Leaders(self._fetch_admins, config.leaders, config.admin_cache_seconds)
        self._recent = RecentUpdates()
        self._failures: dict[int, int] = {}  # update id -> failed attempts (given up at max_attempts)
        self._outage: dict[int, int] = {}  # update id -> attempts the store was unavailable for (never given up)
        self._sink: Sink | None = None
        self._me: BotIdentity | None = None
        self._poller: Poller | None = None
        self._stopping_poller: asyncio.Task[None] | None = None  # a deposed poller finishing its updates
        self._leases: Callable[[str], Lease | None] | None = None
        self._election_retry = 5.0
        self._elector: Elector | None = None
        self._webhook: WebhookServer | None = None
        self.webhook_port: int | None = None

    @property
    def me(self) -> BotIdentity:
        if self._me is None:
            raise RuntimeError("TelegramAdapter.start() has not run")
        return self._me

    def private_link(self, start: str) -> str | None:
        """:class:`adapters.base.PrivateLinks`: ``https://t.me/<bot>?start=<start>`` (the private chat
        opens with a 「开始」 button that sends ``/start <start>``); None before :meth:`start`."""
        return f"https://t.me/{self._me.username}?start={start}" if self._me is not None else None

    async def start(self, sink: Sink) -> None:
        self._sink = sink
        await self.app.initialize()  # getMe: fails fast on a bad token or base_url
        self._me = BotIdentity(self.bot.id, self.bot.username)
        await self.app.start()
        webhook = self.config.webhook
        if webhook is not None:
            self._webhook = WebhookServer(self.bot, self._deliver_in_lane, path=webhook.path,
                                          secret=webhook.secret_token)
            self.webhook_port = self._webhook.listen(webhook.listen, webhook.port)
            if webhook.url:  # else whoever runs the load balancer set it, once for every worker
                await self.bot.set_webhook(
                    webhook.url, allowed_updates=ALLOWED_UPDATES, max_connections=webhook.max_connections,
                    secret_token=webhook.secret_token,
                )
        else:
            await self.bot.delete_webhook(drop_pending_updates=False)
            lease = self._leases(POLLER_ROLE) if self._leases is not None else None
            if lease is None:
                self._start_poller()
            else:  # many workers on one store: the elected one polls (Telegram allows one poller)
                self._elector = Elector(lease, on_elected=self._start_poller, on_deposed=self._depose_poller,
                                        retry=self._election_retry, role=POLLER_ROLE)
                self._elector.start()
        log.info("telegram: @%s (%s) receiving by %s", self._me.username, self._me.id, self.config.mode)

    def elect_poller(self, leases: Callable[[str], Lease | None], retry: float) -> None:
        """Poll only while elected (call before :meth:`start`): ``leases(role)`` gives the lease of
        a role on the shared store (None: no election, this process polls), tried every ``retry``
        seconds (``[store] election_retry_seconds``). The other workers take no updates in polling
        mode; they still send and run the use cases. When the holder dies its lease ends and
        another worker polls within ``retry`` seconds of that (docs/scaling.md)."""
        self._leases, self._election_retry = leases, retry

    def _start_poller(self) -> None:
        self._poller = Poller(
            self.bot, self.deliver, timeout=self.config.poll_timeout, allowed_updates=ALLOWED_UPDATES,
            retry_base=self.config.retry_base, lanes=self._inbound, lane_of=lane_of,
        )
        self._poller.start()

    def _depose_poller(self) -> None:
        """The lease was lost (or the elector stops): stop fetching; the updates in hand finish."""
        poller, self._poller = self._poller, None
        if poller is not None:
            self._stopping_poller = asyncio.ensure_future(poller.stop())

    async def stop(self) -> None:
        """Stop receiving, finish the updates in hand, deliver the replies in flight (each up to 10 s)."""
        if self._elector is not None:
            await self._elector.halt()  # deposes the poller while leading
        if self._poller is not None:
            await self._poller.stop()
            self._poller = None
        if self._stopping_poller is not None:
            with contextlib.suppress(Exception):
                await self._stopping_poller
            self._stopping_poller = None
        if self._elector is not None:
            await self._elector.release()
            self._elector = None
        if self._webhook is not None:
            self._webhook.close()  # no new requests; those in hand get their answer after the drain
        await self._inbound.drain(10.0)
        if self._webhook is not None:
            await self._webhook.stop()
            self._webhook = None
        await self._outbox.drain()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def _deliver_in_lane(self, update: Update) -> bool:
        """:meth:`deliver` in the update's chat lane (webhook requests may come in concurrently)."""
        return bool(await (await self._inbound.submit(lane_of(update), partial(self.deliver, update),
                                                      f"update {update.update_id}")))

    async def deliver(self, update: Update) -> bool:
        """Hand one update to the sink. True when done with it; False: deliver it again later.

        Callers keep one chat's updates in order (one lane per chat); different chats may be
        delivered concurrently.

        While the store is unavailable (:class:`bot.ports.StoreUnavailable`) an update is never
        given up: it stays unconfirmed however long the outage lasts. Other failures are retried
        ``max_attempts`` times, then skipped (logged); an update that cannot be read as a message
        or press at all is skipped at once.
        """
        if update.update_id in self._recent:
            return True
        try:
            await self._dispatch(update)
        except StoreUnavailable as exc:
            waits = self._outage.get(update.update_id, 0) + 1
            _count(self._outage, update.update_id, waits)
            log.log(logging.WARNING if waits == 1 else logging.INFO,
                    "update %s not handled: %s (attempt %d); kept for when the store is back",
                    update.update_id, exc, waits)
            return False
        except Exception:
            tries = self._failures.get(update.update_id, 0) + 1
            if tries < self.config.max_attempts:
                _count(self._failures, update.update_id, tries)
                log.warning("update %s failed (attempt %d); will retry", update.update_id, tries,
                            exc_info=True)
                return False
            log.error("update %s failed %d times; skipped", update.update_id, tries, exc_info=True)
        self._failures.pop(update.update_id, None)
        self._outage.pop(update.update_id, None)
        self._recent.add(update.update_id)
        return True

    async def _dispatch(self, update: Update) -> None:
        assert self._sink is not None
        if update.callback_query is not None:
            await self._on_query(update)
            return
        try:
            msg = to_inbound(update, self.me)
        except Unusable as exc:
            log.warning("update %s skipped: %s", update.update_id, exc)
            return
        except Exception:
            log.error("update %s cannot be read as a message; skipped", update.update_id, exc_info=True)
            return
        if msg is None:
            raw = message_of(update)
            if raw is not None and raw.migrate_to_chat_id:
                log.warning("chat %s is now supergroup %s", raw.chat.id, raw.migrate_to_chat_id)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("ignored update %s (%s)", update.update_id, _kind(update))
            return
        await self._sink.on_message(replace(msg, is_admin=await self._is_admin(update, msg)))

    async def _is_admin(self, update: Update, msg: InboundMessage) -> bool:
        raw = message_of(update)
        assert raw is not None
        if is_anonymous_admin(raw):
            return True
        if msg.is_private:
            return False  # admin of a private chat means nothing; bot.permissions asks per group
        return await self._leaders.is_leader(msg.chat_id, msg.sender_id, msg.sender_username)

    async def _on_query(self, update: Update) -> None:
        assert self._sink is not None and update.callback_query is not None
        query = update.callback_query
        try:
            press = to_press(update, self.me, datetime.now(UTC))
        except Unusable as exc:
            log.warning("update %s skipped: %s", update.update_id, exc)
            press = None
        except Exception:
            log.error("update %s cannot be read as a button press; skipped", update.update_id, exc_info=True)
            press = None
        if press is None:
            log.debug("ignored callback query %s (data %r)", update.update_id, query.data)
            text = ""
        else:
            text = await self._sink.on_press(press)
        await self._outbox.answer(query, text[:MAX_ANSWER])  # after the sink returned: the press is committed

    async def is_chat_admin(self, chat_id: str, user_id: str) -> bool:
        """Whether ``user_id`` administers the group ``chat_id`` (getChatAdministrators, cached per chat).

        Private chats (positive ids) have no admins. See :class:`bot.permissions.ChatAdmins`.
        """
        try:
            if int(chat_id) > 0:
                return False
        except ValueError:
            return False
        return user_id in await self._leaders.admins(chat_id)

    async def _fetch_admins(self, chat_id: str) -> Iterable[int]:
        members = await self.bot.get_chat_administrators(int(chat_id))
        return [m.user.id for m in members]

    async def send_text(
        self, chat_id: str, text: str, *, reply_to: str | None = None, mention: Mention | None = None,
        preformatted: bool = False,
    ) -> str | None:
        return await self._outbox.send_text(chat_id, text, reply_to=reply_to, mention=mention,
                                            preformatted=preformatted)

    async def send_mentioning(self, chat_id: str, text: str, mentions: Sequence[Mention]) -> str | None:
        """:class:`adapters.base.MentionsMany`: each ``@name`` becomes a mention of that member."""
        return await self._outbox.send_text(chat_id, text, mentions=mentions)

    async def send_card(self, chat_id: str, card: Card) -> str | None:
        return await self._outbox.send_card(chat_id, card)

    async def edit_text(self, chat_id: str, message_id: str, text: str, card: Card | None = None) -> bool:
        return await self._outbox.edit_text(chat_id, message_id, text, card)

    async def react(self, chat_id: str, message_id: str, emoji: str) -> bool:
        return await self._outbox.react(chat_id, message_id, emoji)

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> bool:
        return await self._outbox.send_file(chat_id, filename, data, caption)


def create(section: Any, app_config: object = None) -> TelegramAdapter:
    """Build the adapter from the ``[telegram]`` table: ``bot.config.TelegramConfig`` (its checked
    ``raw`` table, its resolved secrets and webhook port) or a plain mapping. ``app_config`` is not needed yet.
    """
    if isinstance(section, Mapping):
        return TelegramAdapter(from_section(section))
    secrets = {TOKEN_ENV: section.token, SECRET_ENV: section.webhook.secret_token}
    env = {**os.environ, **{k: v for k, v in secrets.items() if v},
           ENV_TELEGRAM_WEBHOOK_PORT: str(section.webhook.port)}  # resolved: the file's, or the environment's
    return TelegramAdapter(from_section(section.raw, env))
