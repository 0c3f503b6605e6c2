"""How long the dashboard's pages take on a big store (issue 15: no page over 1 s at 1M orders).

Builds (or reuses, cached like bench/store_bench.py in ``$TMPDIR/tuan-store-bench``) a SQLite store
of ``--size`` orders with store_bench's generator: groups of five rounds, the open round of each
group about 400 orders, one target round of 500. Adds a ``groups`` row per chat, 100k audit rows,
an operator and a leader of the target's group. Then requests every page in-process (Starlette's
TestClient: the whole app, HTTP parsing included, no network) as the operator and as the leader,
``--reads`` times each, and prints the median and the worst in ms.

    python bench/web_bench.py [--size 1M] [--reads 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import store_bench as sb  # noqa: E402
from bench.machine_info import machine  # noqa: E402


def prepare(path: Path, target: sb.Target) -> tuple[str, list[str]]:
    """Groups for every chat, audit rows, accounts; returns the store URL and the chat keys."""
    import sqlite3

    from bot.web.auth import add_user
    from storage.sql import open_repository

    con = sqlite3.connect(path)
    chats = [r[0] for r in con.execute("SELECT chat_key FROM chats ORDER BY chat_key")]
    con.executemany("INSERT INTO groups (id, platform, chat_key, title, timezone, pickup_points) "
                    "VALUES (?, ?, ?, ?, 'Asia/Shanghai', '[\"东门\"]')",
                    [(f"g{n}", k.partition(":")[0], k, f"小区{n}团购群") for n, k in enumerate(chats)])
    gid = chats.index(target.chat_key)
    now = sb.sqlite_ts(datetime.now(UTC))
    con.execute("INSERT INTO leaders (id, name, role, source, created_at) VALUES ('bench:l', '团长', 'leader', "
                "'bench', ?)", (now,))
    con.execute("INSERT INTO group_leaders (group_id, leader_id) VALUES (?, 'bench:l')", (f"g{gid}",))
    con.executemany("INSERT INTO audit (at, actor_id, actor_name, action, chat_key, deal_id, detail) "
                    "VALUES (?, 'u', '团长', 'paid', ?, NULL, 'amount=1')",
                    [(now, chats[n % len(chats)]) for n in range(100_000)])
    con.commit()
    con.close()
    url = f"sqlite:///{path}"
    repo = open_repository(url)
    add_user(repo.engine, "op", "operator", "bench-password")
    add_user(repo.engine, "leader", "leader", "bench-password", "bench:l")
    repo.close()
    return url, chats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1M")
    ap.add_argument("--reads", type=int, default=5)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "tuan-store-bench"))
    args = ap.parse_args()
    from starlette.testclient import TestClient

    from bot.config import config_from_dict
    from bot.services.orders import OrderService
    from bot.web.app import create_app
    from bot.web.views import WebContext
    from storage.migrate import SCHEMA_HEAD
    from storage.sql import open_repository

    print(machine(), flush=True)
    size = sb.parse_size(args.size)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / f"store-{sb.size_name(size)}-g{sb.GENERATOR}-s{SCHEMA_HEAD}.db"
    meta = cached.with_suffix(".json")
    if cached.exists() and meta.exists():
        target = sb.Target(**json.loads(meta.read_text()))
    else:
        t = time.perf_counter()
        target, _took = sb.build_sqlite(cached, size)
        meta.write_text(json.dumps(target.__dict__, ensure_ascii=False))
        print(f"built the {sb.size_name(size)} store in {time.perf_counter() - t:.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="tuan-web-bench-") as tmp:
        path = Path(tmp) / "store.db"
        shutil.copyfile(cached, path)
        url, chats = prepare(path, target)
        config = config_from_dict({"store": {"url": url}, "console": {"enabled": False},
                                   "web": {"secret": "bench"}}, "bench.toml", env={})
        repo = open_repository(url)
        with repo.engine.connect() as conn:
            from sqlalchemy import text

            entries = conn.execute(text("SELECT count(*) FROM entries")).scalar()
        print(f"store: {entries:,} entries, {len(chats)} groups, target deal {target.deal_id} ({target.orders} "
              f"orders) of {target.chat_key}", flush=True)
        app = create_app(WebContext(config, repo, OrderService(repo)))
        deal = target.deal_id
        pages = ["/", "/?page=5", "/api/today", "/events/today?once=1", f"/deals/{deal}",
                 f"/deals/{deal}/households", f"/api/deals/{deal}", f"/events/deals/{deal}?once=1",
                 f"/deals/{deal}/export.xlsx", f"/deals/{deal}/export.csv", "/products", "/compose", "/schedules",
                 "/audit"]
        print(f"{'page':42} {'who':8} {'median ms':>10} {'max ms':>8}")
        worst = 0.0
        for who in ("op", "leader"):
            c = TestClient(app, follow_redirects=False)
            token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
            assert c.post("/login", data={"name": who, "password": "bench-password", "csrf": token}).status_code == 303
            for p in pages:
                times = []
                for _ in range(args.reads):
                    t = time.perf_counter()
                    r = c.get(p)
                    times.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, (p, r.status_code, r.text[:200])
                worst = max(worst, max(times))
                print(f"{p:42} {who:8} {statistics.median(times):10.1f} {max(times):8.1f}", flush=True)
        repo.close()
        print(f"slowest request: {worst:.0f} ms")


if __name__ == "__main__":
    main()
