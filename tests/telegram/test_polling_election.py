"""Polling mode with two workers on one PostgreSQL store: exactly one polls (the elected
``telegram-poller``); the poller killed with SIGKILL, the other polls within 30 s and the updates
sent meanwhile are handled once (issue 10)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.telegram.fake_bot_api import FakeBotApi
from tests.test_takeover import pg_database  # noqa: F401  (a fresh database per test)

CHAT = -1001234567890
TAKEOVER_LIMIT = 30.0  # seconds from the poller's death to the survivor handling an update


def config(path: Path, url: str, api: FakeBotApi) -> Path:
    path.write_text(f'''[store]
url = "{url}"
election_retry_seconds = 1

[console]
enabled = false

[telegram]
enabled = true
token = "{api.token}"
base_url = "{api.base_url}"
mode = "polling"
poll_timeout = 2
rate_limit = false
retry_base = 0.05

[[groups]]
id = "home"
platform = "telegram"
chat = "{CHAT}"
title = "阳光花园团购群"

[[deals]]
id = "fruit"
title = "水果团"
groups = ["home"]

[[deals.items]]
code = "1"
name = "土鸡蛋 30枚"
unit = "盒"
price = "32"
aliases = ["鸡蛋"]
''', encoding="utf-8")
    return path


def start(cfg: Path, name: str) -> subprocess.Popen[bytes]:
    """`tuan run` on ``cfg``; its output in ``<name>.log`` beside the config."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("TUAN_LOG_LEVEL", None)
    with open(cfg.parent / f"{name}.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--config", str(cfg), "-v"],
                                cwd=cfg.parent, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)


def poller_pids(url: str) -> list[int]:
    """The pids of the workers whose session holds the poller's lease (``tuan telegram-poller pid N``)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            names = conn.execute(text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'tuan telegram-poller %'"
            )).scalars().all()
    finally:
        engine.dispose()
    return [int(m.group(1)) for n in names if (m := re.search(r"pid (\d+)", n))]


def order(api: FakeBotApi, n: int) -> int:
    """A resident's order (update); returns its message id."""
    mid = api.message_id(CHAT)
    api.inject({"message": {"message_id": mid, "date": int(time.time()), "text": "鸡蛋1",
                            "chat": {"id": CHAT, "type": "supergroup", "title": "阳光花园团购群"},
                            "from": {"id": 1000 + n, "is_bot": False, "first_name": f"邻居{n}"}}})
    return mid


def acked(api: FakeBotApi) -> list[int]:
    return [int(c.params["message_id"]) for c in api.calls_to("setMessageReaction") if c.ok]


async def until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        await asyncio.sleep(0.2)


async def test_one_worker_polls_and_another_takes_over_when_it_is_killed(
        pg_database: str, tmp_path: Path) -> None:  # noqa: F811
    api = await FakeBotApi().start()
    api.exclusive_polling = True  # a second poller would get 409, as from Telegram
    cfg = config(tmp_path / "tuan.toml", pg_database, api)
    workers = [start(cfg, "first")]
    try:
        await until(lambda: poller_pids(pg_database) == [workers[0].pid], 30, "the first worker polls")
        workers.append(start(cfg, "second"))
        await until(lambda: len(api.calls_to("getMe")) >= 2, 30, "the second worker started")
        first = [order(api, n) for n in range(3)]
        await until(lambda: set(first) <= set(acked(api)), 20, "the first orders are acknowledged")
        await asyncio.sleep(3)  # the follower retries its lease every second: it must not poll
        assert poller_pids(pg_database) == [workers[0].pid]
        assert api.most_polling == 1 and api.conflicts == 0

        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        killed = time.monotonic()
        later = [order(api, n) for n in range(3, 6)]
        await until(lambda: set(later) <= set(acked(api)), TAKEOVER_LIMIT, "the survivor handles the new orders")
        assert time.monotonic() - killed < TAKEOVER_LIMIT
        assert poller_pids(pg_database) == [workers[1].pid]
        assert api.conflicts == 0
        reacted = acked(api)
        assert sorted(reacted) == sorted(set(reacted)) and set(reacted) == set(first + later), reacted

        engine = create_engine(pg_database, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM messages WHERE chat_key = :ck"),
                                      {"ck": f"telegram:{CHAT}"}).scalar()
                eggs = conn.execute(text("SELECT sum(qty) FROM entries WHERE NOT removed AND superseded_seq IS NULL"
                                         )).scalar()
        finally:
            engine.dispose()
        assert stored == 6 and eggs == 6  # each order once
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
                try:
                    w.wait(15)
                except subprocess.TimeoutExpired:
                    w.kill()
                    w.wait(5)
        await api.stop()
        for name in ("first", "second"):
            log = tmp_path / f"{name}.log"
            print(f"--- {name}:\n" + (log.read_text(encoding="utf-8", errors="replace")[-3000:] if log.exists() else ""))
        print([(c.method, c.params, c.status) for c in api.calls if c.method.lower() != "getupdates"][-30:])
