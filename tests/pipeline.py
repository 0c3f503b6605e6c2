"""Shared set-up for pipeline tests: a fake chat → dispatcher → real OrderService → repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.base import Capabilities
from adapters.fake import FakeAdapter, sender_id_of
from bot.config import AppConfig, config_from_dict
from bot.context import Core
from bot.demo_script import sample_deal
from bot.dispatch import Dispatcher
from bot.ports import Repository
from bot.services.orders import OrderService
from tests.stores import memory_store

LEADER = "团长小美"


def config_dict(**bot: Any) -> dict[str, Any]:
    return {
        "bot": {"digest_minutes": 0, "leaders": [sender_id_of(LEADER)], **bot},
        "groups": [{"id": "home", "platform": "fake", "chat": "g1", "title": "幸福里团购群"}],
        "deals": [sample_deal(egg_stock=5)],
    }


@dataclass
class Pipeline:
    core: Core
    chat: FakeAdapter
    dispatcher: Dispatcher
    repo: Repository

    @property
    def deal_id(self) -> str:
        deal = self.core.service.deal_of("fake:g1")
        assert deal is not None
        return deal.id

    def stored(self) -> dict[str, dict[str, int]]:
        """sender name → item code → qty, as a service rebuilt from the store sees it."""
        out: dict[str, dict[str, int]] = {}
        for row in OrderService(self.repo).tally(self.deal_id).rows:
            per = out.setdefault(row.sender_name, {})
            per[row.item_code] = per.get(row.item_code, 0) + row.qty
        return out

    async def close(self) -> None:
        await self.dispatcher.drain()


async def make_pipeline(caps: Capabilities | None = None, *, config: AppConfig | None = None,
                        repo: Repository | None = None, **bot: Any) -> Pipeline:
    config = config or config_from_dict(config_dict(**bot), "test.toml", env={})
    repo = repo or memory_store()
    clock = lambda: datetime.now(UTC)  # noqa: E731
    core = Core(service=OrderService(repo), config=config, clock=clock)
    chat = FakeAdapter("fake", caps or Capabilities(), clock=clock)
    core.adapters["fake"] = chat
    async with core.lock:
        core.open_configured_deals()
    dispatcher = Dispatcher(core)
    await chat.start(dispatcher)
    return Pipeline(core, chat, dispatcher, repo)
