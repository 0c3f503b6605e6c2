"""What the dispatcher, the commands and the scheduled jobs share: the service, the adapters, the clock."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from adapters.base import Adapter, MentionsMany
from bot.catalog import Catalog
from bot.config import AppConfig
from bot.model import MENTIONS, REPLY, Card, Effect, Mention
from bot.services.orders import OrderService
from bot.usecases.platform_data import ConfigDirectory, LeaderDirectory
from bot.worker import locked_call

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
BOT_SENDER_ID = "tuan-bot"
BOT_SENDER_NAME = "Tuan"


def split_chat_key(chat_key: str) -> tuple[str, str]:
    platform, _, chat_id = chat_key.partition(":")
    return platform, chat_id


def delivers_here(adapter: Adapter) -> bool:
    """Whether this process may send through ``adapter`` now: its ``delivers_here`` attribute, True
    when it has none. An elected connection (WeChat: one worker per account, docs/scaling.md) says
    False on the workers that do not hold it; what they would say there goes through the outbox."""
    return bool(getattr(adapter, "delivers_here", True))


@dataclass(eq=False)
class Core:
    """The running bot. The service is synchronous: call it only while holding ``lock``."""

    service: OrderService
    config: AppConfig
    clock: Clock
    adapters: dict[str, Adapter] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Feed the bot's own 接龙 lists to the service as leader lines, so a resident who copies
    # the bot's list and appends a line adds only that line.
    register_own_lists: bool = True
    cards: dict[str, str] = field(default_factory=dict)  # chat key -> message id of the last deal card
    card_deals: dict[str, str] = field(default_factory=dict)  # chat key -> the deal id that card shows
    # The key deal-card buttons are signed with (bot/buttons.py); derived from the config when empty.
    button_key: bytes = b""
    # Who leads what (bot/permissions.py): the store's leaders (tuan run), else the configuration's.
    directory: LeaderDirectory | None = None

    def __post_init__(self) -> None:
        if self.directory is None:
            self.directory = ConfigDirectory(self.config)
        if not self.button_key:
            from bot.buttons import key_of

            self.button_key = key_of(self.config)

    def adapter_of(self, chat_key: str) -> Adapter | None:
        return self.adapters.get(split_chat_key(chat_key)[0])

    def now(self) -> datetime:
        return self.clock()

    async def send(self, chat_key: str, text: str, *, reply_to: str | None = None,
                   mention: Mention | None = None, preformatted: bool = False) -> str | None:
        """Say ``text`` in the chat; ``preformatted`` for a table lined up with spaces (monospace where
        the platform has it). Returns the platform's message id, None when it could not be sent."""
        adapter = self.adapter_of(chat_key)
        if adapter is None:
            log.warning("no adapter for %s; dropped: %s", chat_key, text[:40])
            return None
        if not delivers_here(adapter):  # ``preformatted`` is not kept: WeChat shows text as it is anyway
            return await self.relay(Effect(chat_key, REPLY, target=reply_to, text=text, mention=mention))
        return await adapter.send_text(split_chat_key(chat_key)[1], text, reply_to=reply_to, mention=mention,
                                       preformatted=preformatted)

    async def send_mentioning(self, chat_key: str, text: str, mentions: Sequence[Mention]) -> str | None:
        """Say ``text`` in which each of ``mentions`` is written ``@name`` (in order): a real mention of
        each where the adapter can (:class:`adapters.base.MentionsMany`), else the text as it is."""
        adapter = self.adapter_of(chat_key)
        if adapter is None:
            log.warning("no adapter for %s; dropped: %s", chat_key, text[:40])
            return None
        chat_id = split_chat_key(chat_key)[1]
        if not delivers_here(adapter):
            ids = "\n".join(m.user_id for m in mentions)
            names = "\n".join(" ".join(m.name.split()) for m in mentions)  # one member per line
            return await self.relay(Effect(chat_key, MENTIONS, text=text,
                                           mention=Mention(user_id=ids, name=names) if mentions else None))
        if mentions and isinstance(adapter, MentionsMany):
            return await adapter.send_mentioning(chat_id, text, mentions)
        return await adapter.send_text(chat_id, text)

    async def send_card(self, chat_key: str, card: Card) -> str | None:
        adapter = self.adapter_of(chat_key)
        if adapter is None:
            return None
        if not delivers_here(adapter):  # only platforms without buttons are elected (WeChat): its text
            relayed = await self.relay(Effect(chat_key, REPLY, text=card.text))
            await self.note_own(chat_key, relayed, card.text)
            return relayed
        sent = await adapter.send_card(split_chat_key(chat_key)[1], card)
        if sent:
            self.cards[chat_key] = sent
            if card.deal_id:
                self.card_deals[chat_key] = card.deal_id
        await self.note_own(chat_key, sent, card.text)
        return sent

    async def relay(self, effect: Effect) -> str:
        """Commit ``effect`` to the outbox, held by nobody, for the worker that can say it (this one
        cannot: :func:`delivers_here` is False for its chat's adapter); returns a local message id,
        ``outbox-<seq>``. The holder's sweeper delivers it within ``[bot] outbox_sweep_seconds``."""
        seq = await asyncio.to_thread(self.service.relay_effects, [effect])
        log.info("a %s for %s goes to the worker that holds its connection (outbox %d)", effect.kind,
                 effect.chat_key, seq)
        return f"outbox-{seq}"

    async def post_list(self, chat_key: str, text: str) -> None:
        """Post a 接龙 list and, when enabled, record its lines as the bot's own (seen, nobody's entry)."""
        sent = await self.send(chat_key, text)
        await self.note_own(chat_key, sent, text)

    async def note_own(self, chat_key: str, sent: str | None, text: str) -> None:
        """Record a post of the bot's, so a resident who copies it and appends a line adds only that line."""
        if not self.register_own_lists or self.adapter_of(chat_key) is None:
            return
        await locked_call(self.lock, self.service.note_post, chat_key, sent or f"tuan-{uuid.uuid4().hex[:12]}",
                          text, self.now(), BOT_SENDER_ID, BOT_SENDER_NAME)

    # --- deals (call while holding the lock) ---

    def open_deal_for(self, chat_key: str) -> str | None:
        """The chat's open deal; else open its configured deal afresh (for all its groups); else None."""
        deal = self.service.deal_of(chat_key)
        if deal is not None and deal.status == "open":
            return deal.id
        configured = self.config.deal_of_chat(chat_key)
        if configured is None:
            return None
        chats = [g.chat_key for gid in configured.groups if (g := self.config.group(gid)) is not None]
        chats = [chat_key, *(c for c in chats if c != chat_key)]  # another group's open round stays its own
        return self.service.open_deal(configured.catalog, chats, title=configured.title, source="config",
                                      keep_open=True)

    def open_configured_deals(self) -> list[str]:
        """At start: open each configured deal whose chats have no deal yet (a restart keeps its state)."""
        opened = []
        for deal in self.config.deals:
            chats = [g.chat_key for gid in deal.groups if (g := self.config.group(gid)) is not None]
            current = [row for c in chats if (row := self.service.deal_of(c)) is not None]
            if not current:  # checked again under the chats' locks: two workers starting at once open one
                opened.append(self.service.open_deal(deal.catalog, chats, title=deal.title, source="config",
                                                     keep_open=True))
                continue
            ours = [row for row in current if row.status == "open" and row.source == "config"]
            if ours:  # a group added to the configured deal in tuan.toml joins its open round
                joined = self.service.join_deal(ours[0].id, [c for c in chats if self.service.deal_of(c) is None])
                if joined:
                    log.info("deal %s: %s joined its open round", ours[0].id, ", ".join(joined))
        return opened

    def revise_configured_deals(self) -> dict[str, list[str]]:
        """At start: the open round of each configured deal (one the config opened) takes the config's
        items, prices, stock, cutoff and limits (:meth:`OrderService.revise_deal`). Returns the chat
        keys of each deal that changed, by deal id (their cards are to be shown again)."""
        changed: dict[str, list[str]] = {}
        for deal in self.config.deals:
            chats = [g.chat_key for gid in deal.groups if (g := self.config.group(gid)) is not None]
            rows = {row.id: row for c in chats if (row := self.service.deal_of(c)) is not None}
            for did, row in rows.items():
                if row.status == "open" and row.source == "config" and self.service.revise_deal(did, deal.catalog):
                    changed[did] = [c for c in chats if (now := self.service.deal_of(c)) is not None and now.id == did]
        return changed

    def current(self, chat_key: str) -> tuple[str, Catalog, str, bool] | None:
        """(deal id, catalog, title, closed) of the chat's current deal, or None."""
        deal = self.service.deal_of(chat_key)
        if deal is None:
            return None
        catalog = self.service.catalog_of(deal.id)
        return deal.id, catalog, deal.title or catalog.title, deal.status != "open"
