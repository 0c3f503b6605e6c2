"""Two real `tuan run` workers on one PostgreSQL database and the WeChat gateway (mock puppet): one
connects (the elected ``wechat:<account>``), a cutoff the other worker's scheduler commits reaches the
room once through the holder, and the holder SIGKILLed, the survivor connects and answers (issue 10)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from adapters.wechat.config import from_section
from bot import messages as m
from storage.election import AdvisoryLease
from tests.test_takeover import pg_database, scheduler_holders  # noqa: F401  (a fresh database per test)
from tests.wechat.gateway_proc import BOT_ID, ROOM, ROOM_TOPIC, TOKEN, Gateway
from tests.workers import Worker

TZ = ZoneInfo("Asia/Shanghai")
TAKEOVER_LIMIT = 30.0  # seconds from the holder's death to the survivor's login
LOGGED_IN = f"wechat: logged in as {BOT_ID}"
RELAYED = "goes to the worker that holds its connection"
# The scheduler's worker tries every 10 s, the other every second: when the test lets go of the WeChat
# lease, just after both started, the other takes it (its next try comes long before the first one's).
SLOW_RETRY, FAST_RETRY = 10, 1
LEAD_TIME = 15.0  # seconds from writing the configs to the cutoff: time for both to start and take an order


def config(path: Path, url: str, gateway: Gateway, *, retry: float, cutoff: str) -> Path:
    path.write_text(f'''[store]
url = "{url}"
election_retry_seconds = {retry}

[bot]
timezone = "Asia/Shanghai"
digest_minutes = 0
outbox_sweep_seconds = 1

[console]
enabled = false

[wechat]
enabled = true
endpoint = "{gateway.endpoint}"
token = "{TOKEN}"
reconnect_initial = 0.2
reconnect_max = 1
ping_interval = 0.5
ping_timeout = 2

[[groups]]
id = "home"
platform = "wechat"
chat = "{ROOM}"
title = "{ROOM_TOPIC}"

[[deals]]
id = "fruit"
title = "水果团"
groups = ["home"]

[[deals.items]]
code = "1"
name = "阳光玫瑰葡萄"
unit = "盒"
price = "29.9"
aliases = ["葡萄"]

[[schedules]]
group = "home"
kind = "cutoff"
time = "{cutoff}"
''', encoding="utf-8")
    return path


def logged(worker: Worker, text: str) -> list[str]:
    """The worker's log lines (stderr) holding ``text``."""
    return [line for _, line in list(worker.err) if text in line]


def wait_until(condition: Callable[[], object], timeout: float, what: str, *workers: Worker) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}\n" + "\n".join(w.dump() for w in workers))
        time.sleep(0.05)


def connections(pid: int, port: int) -> int:
    """How many established TCP connections process ``pid`` has to 127.0.0.1:``port`` (Linux /proc)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    inodes = set()
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port, state, inode = int(fields[2].rsplit(":", 1)[1], 16), fields[3], fields[9]
            count += remote_port == port and state == "01" and inode in inodes
    return count


def outbox(url: str) -> list[tuple[object, ...]]:
    """The outbox rows left undelivered: (seq, n, kind, holder)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT seq, n, kind, claimed_by FROM outbox"))]
    finally:
        engine.dispose()


def said(gateway: Gateway) -> list[str]:
    return [s["text"] for s in gateway.said_now() if s["room"] == ROOM]


def test_one_worker_holds_the_puppet_and_the_other_relays_its_cutoff_then_takes_over(
        gateway: Gateway, pg_database: str, tmp_path: Path, wechaty_sdk: ModuleType) -> None:  # noqa: F811
    cutoff = (datetime.now(TZ) + timedelta(seconds=LEAD_TIME)).replace(microsecond=0)
    at = cutoff.strftime("%H:%M:%S")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    slow = config(tmp_path / "a" / "tuan.toml", pg_database, gateway, retry=SLOW_RETRY, cutoff=at)
    fast = config(tmp_path / "b" / "tuan.toml", pg_database, gateway, retry=FAST_RETRY, cutoff=at)
    role = f"wechat:{from_section({'endpoint': gateway.endpoint, 'token': TOKEN}, env={}).account}"
    held = AdvisoryLease(create_engine(pg_database, poolclass=NullPool), role)  # the test holds it first
    assert held.try_acquire()
    a = b = None
    try:
        a = Worker(slow, "a")  # alone: the scheduler's lease is its own; the WeChat one is the test's
        wait_until(lambda: scheduler_holders(pg_database) == [f"tuan scheduler pid {a.pid}"], 20,
                   "a holds the scheduler", a)
        b = Worker(fast, "b")
        wait_until(lambda: logged(b, f"only while this worker holds the {role} lease"), 20, "b is up", b)
        held.release()
        wait_until(lambda: logged(b, LOGGED_IN), 10, "b connects to the puppet service", a, b)
        assert logged(a, "wechat: connected") == [] and logged(a, LOGGED_IN) == []  # a follower never connects
        assert (connections(a.pid, gateway.port), connections(b.pid, gateway.port)) == (0, 1)

        gateway.say_now("wxid_alice", "葡萄2")  # through the gateway to b, the holder
        wait_until(lambda: any("3栋王姐" in t for t in said(gateway)), 10, "the order's 接龙 list", a, b)
        time.sleep(1.5)
        assert len(said(gateway)) == 1  # one list for one order

        if datetime.now(TZ) >= cutoff:
            pytest.fail("the workers took too long to start; the cutoff came first")
        wait_until(lambda: any(m.CLOSED in t for t in said(gateway)), 20, "the cutoff reaches the room", a, b)
        assert scheduler_holders(pg_database) == [f"tuan scheduler pid {a.pid}"]  # a's scheduler closed it
        assert logged(a, RELAYED) and logged(b, RELAYED) == []  # committed by a, delivered by b

        # delivered rows are deleted a moment later: a worker killed before that would have its last
        # post said again by the next one once its lease ends (at least once, docs/scaling.md)
        wait_until(lambda: outbox(pg_database) == [], 10, "b marks the cutoff delivered", a, b)
        b.kill()
        killed = time.monotonic()
        wait_until(lambda: logged(a, LOGGED_IN), TAKEOVER_LIMIT, "a connects once b is dead", a)
        assert time.monotonic() - killed <= TAKEOVER_LIMIT
        assert connections(a.pid, gateway.port) == 1
        gateway.say_now("wxid_carol", "葡萄1")  # the round is closed: she is told so, by a
        wait_until(lambda: any("wxid_carol" in s["mentions"] for s in gateway.said_now()), 10,
                   "a answers", a)
        time.sleep(2.0)  # nothing more is coming
        texts = said(gateway)
        assert len(texts) == 3 and len(set(texts)) == 3, texts  # the list, the cutoff, the answer: each once
        assert sum(m.CLOSED in t for t in texts) == 1
        assert outbox(pg_database) == []
    finally:
        held.release()
        for worker in (a, b):
            if worker is not None:
                worker.stop()
