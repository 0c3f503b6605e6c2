"""Set-up for the dashboard's tests: a SQLite file store with two groups (A led by leader A, B by
leader B), a product library, three web accounts, a deal open in each group with orders placed
through the real order service, and the app (in-process, or served by uvicorn in a thread)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.config import AppConfig, config_from_dict
from bot.model import InboundMessage
from bot.services.orders import OrderService
from bot.usecases.platform_data import ProductRow, deal_catalog, import_config, new_product
from bot.web.auth import add_user
from bot.web.views import WebContext
from storage.platform import SqlPlatformStore
from storage.sql import SqlRepository, open_repository

GA, GB = "fake:ga", "fake:gb"
PASSWORDS = {"op": "operator-pw-1", "leadera": "leader-a-pw", "leaderb": "leader-b-pw"}
PRODUCTS = [("grape", "阳光玫瑰葡萄", "29.9", "盒", ("葡萄",)), ("egg", "土鸡蛋", "32", "盒", ("鸡蛋",)),
            ("orange", "赣南脐橙", "25.8", "箱", ("脐橙", "橙子"))]


def config_of(url: str) -> AppConfig:
    return config_from_dict({
        "store": {"url": url},
        "bot": {"digest_minutes": 0, "leaders": []},
        "console": {"enabled": False},
        "web": {"secret": "test-secret-for-the-web-tests"},
        "groups": [
            {"id": "a", "platform": "fake", "chat": "ga", "title": "幸福里A群", "leaders": ["la"],
             "pickup_points": ["东门"]},
            {"id": "b", "platform": "fake", "chat": "gb", "title": "公园里B群", "leaders": ["lb"]},
        ],
        "schedules": [{"group": "a", "kind": "cutoff", "time": "21:00"}, {"group": "b", "kind": "reminder",
                                                                         "time": "18:00"}],
    }, "test.toml", env={})


@dataclass
class World:
    config: AppConfig
    repo: SqlRepository
    service: OrderService
    deals: dict[str, str] = field(default_factory=dict)  # chat key -> deal id
    n: int = 0

    @property
    def ctx(self) -> WebContext:
        return WebContext(self.config, self.repo, self.service)

    def order(self, chat_key: str, who: str, text: str) -> Any:
        """A resident's message through the real order service (as the bot handles it)."""
        self.n += 1
        chat = chat_key.partition(":")[2]
        msg = InboundMessage(platform="fake", chat_id=chat, message_id=f"m{self.n}", sender_id=f"u-{who}",
                             sender_name=who, text=text, ts=datetime.now(UTC))
        return OrderService(self.repo).handle(msg)  # another service: as another process would


def world(tmp_path: Path, *, orders: bool = True, url: str | None = None) -> World:
    """The world on a SQLite file in ``tmp_path``, or on the store at ``url``."""
    config = config_of(url or f"sqlite:///{tmp_path / 'tuan.db'}")
    repo = open_repository(config.store.url)
    store = SqlPlatformStore(repo.engine)
    import_config(store, config)
    now = datetime.now(UTC)
    for code, name, price, unit, aliases in PRODUCTS:
        store.update(lambda rows, code=code, name=name, price=price, unit=unit, aliases=aliases: new_product(
            rows, config, ProductRow(id=code, name=name, price=Decimal(price), unit=unit, aliases=aliases,
                                     updated_at=now)))
    add_user(repo.engine, "op", "operator", PASSWORDS["op"])
    add_user(repo.engine, "leadera", "leader", PASSWORDS["leadera"], "fake:la")
    add_user(repo.engine, "leaderb", "leader", PASSWORDS["leaderb"], "fake:lb")
    w = World(config, repo, OrderService(repo))
    if orders:
        rows = store.load()
        for key, title in ((GA, "A群周末团"), (GB, "B群周末团")):
            catalog = deal_catalog(rows, [("grape", 50), ("egg", None)], title=title, cutoff=None)
            w.deals[key] = w.service.open_deal(catalog, [key], title=title, source="test")
        w.order(GA, "王姐", "3栋402 王姐 葡萄2")
        w.order(GA, "李哥", "5栋101 李哥 鸡蛋1")
        w.order(GB, "赵姨", "1栋101 赵姨 葡萄1")
    return w


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """The dashboard served by uvicorn on 127.0.0.1 in a thread of its own (its own event loop)."""

    def __init__(self, w: World, *, poll: float = 0.2) -> None:
        import uvicorn

        from bot.web.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(w.ctx, None, poll=poll)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
