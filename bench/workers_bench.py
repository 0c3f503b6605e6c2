"""Workers benchmark: messages/s of N worker processes on one PostgreSQL (issue 10).

    python bench/workers_bench.py                       # 1, 2, 4 workers; 200 chats and one hot chat
    python bench/workers_bench.py --messages 2000 --hot-messages 600 --rate 1000 --seconds 3
    python bench/workers_bench.py --profile /tmp/w.prof # also: one steady worker under cProfile

Each worker is a process (multiprocessing spawn) with its own ``OrderService`` on the shared store,
doing per message what a `tuan run` worker does minus the network: each message, as it arrives, is
submitted to the same group commit as `tuan run`'s dispatcher (``bot.batcher.Batcher`` over
``OrderService.handle_each``, with the ✅ of bot/dispatch.py committed in the outbox with the
order): a message that finds the worker idle is committed alone, those that arrive meanwhile share
the next transaction (at most ``--batches`` N; 1: one transaction each). A deal another worker's
transaction holds is skipped (SKIP LOCKED) and its chats' messages go in a second transaction.
Messages come from a multiprocessing queue: in the throughput rows it is filled before the
workers start (closed loop: msg/s = messages / wall time from the start signal to the last
commit); in the latency rows a generator puts messages on it at ``--rate`` msg/s (open loop) and
each worker notes the time from a message's arrival (put on the queue) to the commit of its ✅.

Scenarios: (a) 200 chats, each its own deal, messages spread at random; (b) one hot chat, every
worker's messages in one deal (the deal's row lock orders them). "cold": each worker starts with
an empty cache and loads each deal at its first message; "steady": each worker first loads every
deal (``OrderService.preload``), as a worker that has been running has them. Each run gets a fresh
schema in a database ``bench_workers_<pid>`` created on the server of ``--pg`` and dropped at the end.

CPU: user+sys seconds of the worker processes per message (``time.process_time`` in each worker,
from the start signal); server CPU: utime+stime of this database's PostgreSQL backends
(pg_stat_activity, /proc, sampled every 20 ms; the WAL writer and other shared server processes
are not counted). Baseline, same run, same database: one process doing a bare single-row INSERT
per transaction (``engine.begin()``), the floor of "one transaction per message" through SQLAlchemy.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pstats
import random
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from machine_info import machine  # noqa: E402  (bench/, the script's folder, is on sys.path)
from sqlalchemy import create_engine, make_url, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from bot.catalog import Catalog, Item  # noqa: E402
from bot.services.orders import OrderService  # noqa: E402
from storage.sql import open_repository  # noqa: E402
from tests.many_workers import Job, serve  # noqa: E402

CATALOG = Catalog(items=(Item("1", "土鸡蛋 30枚", "盒", Decimal("19.9"), aliases=("鸡蛋",), stock=10**9),
                         Item("2", "脐橙", "箱", Decimal("39"), aliases=("脐橙",))))




class Database:
    """A database of its own on the server, dropped by :meth:`drop`; a fresh schema per run."""

    def __init__(self, pg: str) -> None:
        self.name = f"bench_workers_{os.getpid()}"
        self.admin = create_engine(pg, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(pg).set(database=self.name)
        self.admin_dsn = make_url(pg).set(drivername="postgresql").render_as_string(hide_password=False)
        self.engine = create_engine(self.url, poolclass=NullPool)

    def schema(self) -> tuple[str, str]:
        """A new schema and the URL whose connections use it."""
        schema = f"s_{uuid.uuid4().hex[:12]}"
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = self.url.update_query_dict({"options": f"-csearch_path={schema}"})
        return schema, url.render_as_string(hide_password=False)

    def drop_schema(self, schema: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    def drop(self) -> None:
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def jobs(n: int, chats: list[str], rnd: random.Random) -> list[Job]:
    return [(rnd.choice(chats), f"m{k}", f"u{k}", f"鸡蛋1 脐橙{rnd.randint(1, 3)}") for k in range(n)]


def prepare(url: str, chats: list[str]) -> None:
    repo = open_repository(url)
    try:
        svc = OrderService(repo)
        for chat in chats:
            svc.open_deal(CATALOG, [f"t:{chat}"], title=chat)
    finally:
        repo.close()


class ServerCPU(threading.Thread):
    """CPU seconds of the PostgreSQL backends of database ``name`` while it runs: each backend's
    utime+stime (/proc) sampled every 20 ms, last sample minus first. A lower bound (a backend's
    last 20 ms before it exits may be missed); None when no backend could be read."""

    def __init__(self, admin_url: str, name: str) -> None:
        super().__init__(daemon=True)
        self.admin_url, self.name = admin_url, name
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self.stop.is_set():
                for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.name,)):
                    c = proc_cpu(pid)
                    if c is not None:
                        self.first.setdefault(pid, c)
                        self.last[pid] = c
                self.stop.wait(0.02)

    def total(self) -> float | None:
        self.stop.set()
        self.join(5)
        return sum(self.last[p] - self.first[p] for p in self.last) if self.last else None


def proc_cpu(pid: int) -> float | None:
    """utime+stime of a live process in seconds, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_workers(db: Database, url: str, workers: int, feed: list[Job], rate: float | None, batch: int = 1,
                warm: bool = False, profile: str | None = None) -> dict[str, Any]:
    """``workers`` serve processes on ``url``; ``feed`` put on their queue all at once (``rate`` None)
    or at ``rate`` per second once they started. Wall time, CPU (workers', server's), arrival →
    commit delays, messages deferred past deals another worker held."""
    ctx = multiprocessing.get_context("spawn")
    inbox, results, start = ctx.Queue(), ctx.Queue(), ctx.Barrier(workers + 1)
    procs = [ctx.Process(target=serve, args=(url, inbox, start, results, batch, warm, profile if k == 0 else None))
             for k in range(workers)]
    for p in procs:
        p.start()
    if rate is None:
        now = time.time()
        for job in feed:
            inbox.put((job, now))
        time.sleep(0.5)  # let the queue's feeder thread fill the pipe before the clock starts
    start.wait(timeout=300)
    server = ServerCPU(db.admin_dsn, db.name)
    server.start()
    t0 = time.perf_counter()
    if rate is not None:
        begin = time.time()
        for k, job in enumerate(feed):
            due = begin + k / rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            inbox.put((job, time.time()))
    for _ in procs:
        inbox.put(None)
    got = [results.get(timeout=1800) for _ in procs]
    wall = time.perf_counter() - t0
    server_cpu = server.total()
    for p in procs:
        p.join(60)
        if p.exitcode != 0:
            raise SystemExit(f"a worker failed (exit {p.exitcode}): a failed commit")
    n = sum(g[0] for g in got)
    delays = sorted(d for g in got for d in g[2])
    return {"n": n, "wall": wall, "cpu": sum(g[1] for g in got), "delays": delays, "server": server_cpu,
            "deferred": sum(g[3] for g in got)}


def baseline(db: Database, n: int) -> dict[str, Any]:
    schema, url = db.schema()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (id bigint PRIMARY KEY, chat text, body text)"))
        stmt = text("INSERT INTO t (id, chat, body) VALUES (:id, :chat, :body)")
        t0, c0 = time.perf_counter(), time.process_time()
        for k in range(n):
            with engine.begin() as conn:
                conn.execute(stmt, {"id": k, "chat": "hot", "body": "鸡蛋1 脐橙2"})
        return {"n": n, "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}
    finally:
        engine.dispose()
        db.drop_schema(schema)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def row(label: str, r: dict[str, Any], workers: int, base_cpu: float, latency: bool = False) -> str:
    cpu = r["cpu"] / r["n"]
    server = f"{r['server'] / r['n'] * 1000:.2f}" if r.get("server") is not None else "—"
    lat = (f"{pct(r['delays'], 0.5) * 1000:,.0f} | {pct(r['delays'], 0.95) * 1000:,.0f}" if latency
           else "— | —")  # closed loop: a delay is only the queue's length
    return (f"| {label} | {r['n']:,} | {r['wall']:.2f} | {r['n'] / r['wall']:,.0f} | {r['n'] / r['wall'] / workers:,.0f} "
            f"| {cpu * 1000:.2f} | {cpu / base_cpu:.1f}× | {server} | {r.get('deferred', 0):,} | {lat} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("TUAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--messages", type=int, default=2000, help="messages per throughput run over 200 chats")
    ap.add_argument("--hot-messages", type=int, default=600, help="messages per throughput run in one chat")
    ap.add_argument("--rate", type=float, default=1000.0, help="offered msg/s of the latency runs")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each latency run")
    ap.add_argument("--batches", default="1,100",
                    help="group commit: at most this many queued messages per transaction (1: one each)")
    ap.add_argument("--profile", help="also run one steady worker on (a) under cProfile, stats written here")
    args = ap.parse_args()
    counts = [int(x) for x in args.workers.split(",")]
    print(machine(), flush=True)
    db = Database(args.pg)
    rows: list[str] = []

    def run(label: str, chats: list[str], w: int, feed: list[Job], rate: float | None, batch: int, warm: bool,
            profile: str | None = None) -> dict[str, Any]:
        schema, url = db.schema()
        try:
            prepare(url, chats)
            r = run_workers(db, url, w, feed, rate, batch, warm, profile)
        finally:
            db.drop_schema(schema)
        rows.append(row(f"{label}, {w} worker{'s' if w > 1 else ''}", r, w, base_cpu, latency=rate is not None))
        print(rows[-1], flush=True)
        return r

    try:
        base = baseline(db, 2000)
        base_cpu = base["cpu"] / base["n"]
        rows.append(f"| baseline: bare INSERT, one transaction each, 1 process | {base['n']:,} | {base['wall']:.2f} | "
                    f"{base['n'] / base['wall']:,.0f} | {base['n'] / base['wall']:,.0f} | {base_cpu * 1000:.2f} | 1.0× "
                    f"| — | — | — | — |")
        print(rows[-1], flush=True)
        chats200 = [f"g{n:03d}" for n in range(200)]
        batches = [int(x) for x in args.batches.split(",")]
        for b in batches:
            per = "1 a transaction" if b == 1 else f"≤{b} a transaction"
            for label, chats, total, warm in (("(a) 200 chats, cold", chats200, args.messages, False),
                                              ("(a) 200 chats, steady", chats200, args.messages, True),
                                              ("(b) one hot chat", ["hot"], args.hot_messages, True)):
                for w in counts:
                    run(f"{label}, {per}", chats, w, jobs(total, chats, random.Random(w)), None, b, warm)
        n = int(args.rate * args.seconds)
        for w in counts:
            run(f"latency: {args.rate:,.0f} msg/s offered for {args.seconds:g} s, (a) steady, ≤{batches[-1]} a "
                f"transaction", chats200, w, jobs(n, chats200, random.Random(7)), args.rate, batches[-1], True)
        if args.profile:
            run(f"(a) 200 chats, steady, ≤{batches[-1]} a transaction, under cProfile", chats200, 1,
                jobs(args.messages, chats200, random.Random(1)), None, batches[-1], True, args.profile)
    finally:
        db.drop()
    print()
    print("| scenario | messages | wall s | msg/s | msg/s per worker | worker CPU ms/msg | worker CPU ratio to "
          "baseline | server CPU ms/msg | deferred (SKIP LOCKED) | arrival→commit p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for line in rows:
        print(line)
    print("\nat the end: " + machine().replace("at start", "now"))
    if args.profile:
        print(f"\ncProfile of one steady worker ({args.profile}), by own time:")
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
