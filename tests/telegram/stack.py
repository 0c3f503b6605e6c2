"""The real pipeline on Telegram: config → store → OrderService → Dispatcher → TelegramAdapter.

Built directly (not through ``bot.runtime``) so the end-to-end test, the crash test's bot
process (``run_bot.py``) and the benchmark control every piece.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.telegram import TelegramAdapter, create
from bot import buttons
from bot.config import config_from_dict
from bot.context import Core
from bot.demo_script import sample_deal
from bot.dispatch import Dispatcher
from bot.ports import Repository
from bot.services.orders import OrderService

CHAT_ID = -1001234567890
CHAT_KEY = f"telegram:{CHAT_ID}"


def config_dict(base_url: str, token: str, *, chats: Sequence[int] = (CHAT_ID,), **telegram: Any) -> dict[str, Any]:
    """One group per chat id (the first is "home"), all in the sample deal."""
    groups = [{"id": "home" if n == 0 else f"g{n}", "platform": "telegram", "chat": str(chat),
               "title": "阳光花园团购群"} for n, chat in enumerate(chats)]
    return {
        "console": {"enabled": False},
        "telegram": {"enabled": True, "token": token, "base_url": base_url, "rate_limit": False,
                     "poll_timeout": 5, "retry_base": 0.05, **telegram},
        "groups": groups,
        "deals": [{**sample_deal(egg_stock=500), "groups": [g["id"] for g in groups]}],
    }


@dataclass
class Stack:
    core: Core
    dispatcher: Dispatcher
    adapter: TelegramAdapter
    repo: Repository

    sweeping: asyncio.Task[None] | None = None

    async def start(self) -> Stack:
        """Start receiving, then deliver what a former run left in the outbox and keep sweeping it
        (as ``bot.runtime.serve``; on SQLite, this process alone serves the store: take over at once)."""
        await self.adapter.start(self.dispatcher)
        sole = getattr(getattr(self.repo, "engine", None), "name", "") == "sqlite"
        await self.dispatcher.sweep(takeover=sole)
        self.sweeping = asyncio.create_task(self.dispatcher.run_sweeper())
        return self

    async def stop(self) -> None:
        if self.sweeping is not None:
            self.dispatcher.stop_sweeper()
            await asyncio.wait({self.sweeping}, timeout=5)
            self.sweeping.cancel()
            await asyncio.gather(self.sweeping, return_exceptions=True)
        await self.adapter.stop()
        await self.dispatcher.drain()

    @property
    def deal_id(self) -> str:
        deal = self.core.service.deal_of(CHAT_KEY)
        assert deal is not None
        return deal.id


def build(repo: Repository, base_url: str, token: str, *, chats: Sequence[int] = (CHAT_ID,), **telegram: Any) -> Stack:
    config = config_from_dict(config_dict(base_url, token, chats=chats, **telegram), "test.toml", env={})
    core = Core(service=OrderService(repo), config=config, clock=lambda: datetime.now(UTC))
    adapter = create(config.telegram, config)
    core.adapters[adapter.name] = adapter
    core.open_configured_deals()
    return Stack(core, Dispatcher(core), adapter, repo)


def egg_card(api: Any, repo: Repository) -> int:
    """Post (as the bot) a card of the configured deal with one signed "鸡蛋 +1" button, the way the
    bot signs it (bot/buttons.py); opens the deal in ``repo`` first when it has none. Returns its id."""
    stack = build(repo, api.base_url, api.token)
    data = "t:" + (buttons.sign(stack.core.button_key, stack.deal_id, "add", "4", f"telegram:{CHAT_ID}") or "")
    return int(api.bot_says(CHAT_ID, "🛒 水果鸡蛋团",
                            {"inline_keyboard": [[{"text": "鸡蛋 +1", "callback_data": data}]]}))


def button_data(card_call: Any) -> dict[str, str]:
    """A sent card's buttons: label → callback data (the sendMessage call's reply_markup)."""
    rows = card_call.params["reply_markup"]["inline_keyboard"]
    seen: dict[str, str] = {}
    for row in rows:
        for b in row:
            label = b["text"] if b["text"] not in seen else f"{b['text']}@{len(seen)}"
            seen[label] = b["callback_data"]
    return seen


def stored(repo: Repository) -> dict[str, dict[str, int]]:
    """sender id → item code → qty, as a service rebuilt from the store sees it."""
    service = OrderService(repo)
    deal = service.deal_of(CHAT_KEY)
    assert deal is not None
    out: dict[str, dict[str, int]] = {}
    for row in service.tally(deal.id).rows:
        per = out.setdefault(row.sender_id, {})
        per[row.item_code] = per.get(row.item_code, 0) + row.qty
    return out
