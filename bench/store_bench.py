"""Store benchmark: `tuan run` start-up and a leader's reads against stores of 10k, 100k and 1M orders.

    python bench/store_bench.py                                  # 10k, 100k, 1M on SQLite and PostgreSQL
    python bench/store_bench.py --sizes 10k,100k --engines sqlite
    python bench/store_bench.py --quick                          # 10k and 100k, one start-up each

Stores are built straight into the schema (``storage.sql.open_repository`` creates it, then bulk
INSERTs on SQLite, COPY on PostgreSQL), shaped like a real one: groups of five rounds (deals) of
about 300-500 orders each, four closed and one open per group, so the open rounds hold a fifth
of the orders; one message per order (a 接龙 copy with its last lines, or a short reply), a list
line for each 接龙 order, a few changes (superseded entries), withdrawals, notices, schedule marks,
expired outbox rows, each round's chats in ``deal_chats`` and the id blocks above every id.
SQLite stores are cached in ``$TMPDIR/tuan-store-bench`` (keyed by size, generator and schema
revision) and copied for each run; PostgreSQL stores are databases ``bench_store_<size>`` on the
server of ``--pg``, dropped after the run (``--keep-pg`` keeps and reuses them).

Measured, per size and engine:
  start-up  `tuan run -v --config CFG` (the store's URL, the console with stdin at end of input,
            so the bot starts and stops at once) as a subprocess: wall time from spawn to exit,
            CPU time (user+sys) and peak RSS from os.wait4, and the time until the console's
            banner (the bot is up; stdout unbuffered). The median of ``--repeat`` runs (one run
            when a run takes over 5 s). Baseline: the same command against an EMPTY store of the
            same engine; the ratio is start-up wall / empty start-up wall.
  leader    in a subprocess (its own memory, the same timeout): ``OrderService(repo)`` (init s),
            then for one open deal of ~500 orders, as a leader's commands do it: /tally
            (``service.tally`` + ``render.tally_table``), /pickup (``service.tally(deal, chat)`` +
            ``render.pickup_list``), /export (``bot.usecases.lists.deal_lists`` + ``export_bytes``, XLSX);
            the first tally's time and the median of ``--reads`` runs of each, ms. Baselines in
            the same process: ``SELECT count(*) FROM entries`` and a plain select of the deal's
            entry rows (both median, ms); the ratio is tally median / plain select.

A child that runs past ``--timeout`` seconds is killed and reported as ``>T``. Targets (issue 9):
start-up under 2 s and RSS under 200 MB at 1M, flat in the store's size; tally, pickup list and
export at 1M under 50 ms. The PostgreSQL server's own CPU and memory are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from machine_info import machine  # bench/, the script's folder, is on sys.path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
GENERATOR = 1  # bump when the generated shape changes (invalidates cached SQLite stores)
MB = 1024  # ru_maxrss is in KiB on Linux
ROUNDS_PER_GROUP = 5  # four closed rounds and the open one
ORDERS_PER_GROUP = 2000
BATCH = 50_000  # rows per executemany / COPY flush
T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
TARGET_ROUND = 500  # orders in the deal the leader reads
BULK_TABLES = ("messages", "entries", "lines", "notices")  # filled in batches; the rest at the end

PRODUCTS = [  # name, unit, price, aliases
    ("阳光玫瑰葡萄 2斤装", "盒", "29.90", ["葡萄", "阳光玫瑰"]),
    ("赣南脐橙 5斤", "箱", "25.80", ["脐橙"]),
    ("血橙 3斤", "箱", "22.00", ["血橙"]),
    ("土鸡蛋 30枚", "盒", "32.00", ["鸡蛋"]),
    ("丹东草莓 3斤", "盒", "59.00", ["草莓"]),
    ("烟台苹果 10斤", "箱", "45.50", ["苹果"]),
    ("海南香蕉 5斤", "箱", "19.90", ["香蕉"]),
    ("纯牛奶 250ml*12", "提", "36.00", ["牛奶"]),
    ("东北大米 10斤", "袋", "42.00", ["大米"]),
    ("猕猴桃 12个", "盒", "28.80", ["猕猴桃", "奇异果"]),
    ("车厘子 2斤", "盒", "88.00", ["车厘子", "樱桃"]),
    ("手工水饺 1kg", "袋", "26.00", ["水饺", "饺子"]),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
SUFFIXES = ["姐", "哥", "阿姨", "老师", "妈妈", "叔", "奶奶", "先生"]


# -- the shape --------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """``10k`` -> 10000, ``1M`` -> 1000000, ``2500`` -> 2500."""
    t = text.strip().lower().replace("_", "").replace(",", "")
    mult = 1_000_000 if t.endswith("m") else 1_000 if t.endswith("k") else 1
    return int(float(t.rstrip("mk")) * mult)


def size_name(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


@dataclass
class Target:
    """The open deal a leader reads (its id, one chat of it, its title, its orders)."""

    deal_id: str
    chat_key: str
    title: str
    orders: int


@dataclass
class Plan:
    """Round sizes per group (the last round of each group is the open one); sums to the size."""

    size: int
    groups: list[list[int]]
    target_group: int

    @classmethod
    def make(cls, size: int, rng: random.Random) -> Plan:
        n_groups = max(1, round(size / ORDERS_PER_GROUP))
        target = n_groups // 2
        weights = [[rng.randint(300, 500) for _ in range(ROUNDS_PER_GROUP)] for _ in range(n_groups)]
        weights[target][-1] = TARGET_ROUND
        total = sum(map(sum, weights))
        sizes = [[w * size // total for w in ws] for ws in weights]
        short = size - sum(map(sum, sizes))
        flat = [(g, r) for g in range(n_groups) for r in range(ROUNDS_PER_GROUP)]
        for k in range(short):  # the remainder, one each, round-robin
            g, r = flat[k % len(flat)]
            sizes[g][r] += 1
        return cls(size, sizes, target)


def chat_of(g: int) -> tuple[str, str, str]:
    """(chat_key, platform, external id) of group ``g``: two Telegram groups to one WeChat room."""
    if g % 3 == 2:
        ext = f"{20000000000 + g * 7919}@chatroom"
        return f"wechat:{ext}", "wechat", ext
    ext = f"-100{1500000000 + g * 104729}"
    return f"telegram:{ext}", "telegram", ext


class Generator:
    """Yields the store's rows as tuples in the column order of :data:`COLUMNS`.

    ``ts`` formats an aware datetime the way the engine's bulk path wants it (SQLite: naive UTC text
    as SQLAlchemy writes it; PostgreSQL: ISO with offset). Ids of messages, entries and lines come
    from one counter, as the store's id blocks give them.
    """

    def __init__(self, plan: Plan, ts: Callable[[datetime], str], seed: int = 2026) -> None:
        self.plan, self.ts = plan, ts
        self.rng = random.Random(seed)
        self.next_id = 1
        self.deals: list[tuple[Any, ...]] = []
        self.items: list[tuple[Any, ...]] = []
        self.chats: list[tuple[Any, ...]] = []
        self.deal_chats: list[tuple[Any, ...]] = []
        self.marks: list[tuple[Any, ...]] = []
        self.outbox: list[tuple[Any, ...]] = []
        self.target: Target | None = None

    def _id(self) -> int:
        i = self.next_id
        self.next_id += 1
        return i

    def residents(self, g: int) -> list[tuple[str, str, str]]:
        """(sender id, display name, 接龙 label) of a group's ~600 households."""
        rng = random.Random(g)
        out = []
        for k in range(600):
            name = rng.choice(SURNAMES) + rng.choice(SUFFIXES)
            label = f"{rng.randint(1, 30)}栋{rng.randint(1, 33)}{rng.randint(1, 4):02d} {name}"
            sid = f"wxid_{g:05d}{k:04d}" if g % 3 == 2 else str(5_000_000_000 + g * 1000 + k)
            out.append((sid, name, label))
        return out

    def rows(self) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """(table, row) for every message, entry, line and notice, round by round; the small
        tables (deals, items, chats, deal_chats, marks, outbox) fill the lists on the generator."""
        rng = self.rng
        for g, rounds in enumerate(self.plan.groups):
            chat_key, plat, ext = chat_of(g)
            people = self.residents(g)
            open_deal = ""
            for r, n_orders in enumerate(rounds):
                day = T0 + timedelta(days=(g % 7) + r * 2)
                deal_id = f"d{rng.getrandbits(60):015x}"
                opened = day + timedelta(hours=8)
                is_open = r == len(rounds) - 1
                products = rng.sample(PRODUCTS, rng.randint(4, 8))
                title = f"水果鸡蛋团 {day.month}月{day.day}日"
                self.deals.append((deal_id, title, "open" if is_open else "closed", self.ts(opened + timedelta(hours=13)),
                                   None, self.ts(opened), "config", 99, n_orders,
                                   None if is_open else self.ts(opened + timedelta(hours=13))))
                for pos, (name, unit, price, aliases) in enumerate(products):
                    stock = 200 if pos == 3 else None
                    self.items.append((deal_id, str(pos + 1), name, unit, price,
                                       json.dumps(aliases, ensure_ascii=False), stock, pos))
                self.deal_chats.append((deal_id, chat_key))
                self.marks.append((f"deal_card:{g}:{day:%Y-%m-%d}", self.ts(opened)))
                self.marks.append((f"cutoff:{g}:{day:%Y-%m-%d}", self.ts(opened + timedelta(hours=13))))
                if is_open:
                    open_deal = deal_id
                    if g == self.plan.target_group:
                        self.target = Target(deal_id, chat_key, title, n_orders)
                yield from self._round(g, chat_key, deal_id, title, opened, n_orders, products, people, is_open)
            self.chats.append((chat_key, plat, ext, f"幸福里{g + 1}期 团购群", open_deal))

    def _round(self, g: int, chat_key: str, deal_id: str, title: str, opened: datetime, n_orders: int,
               products: list[tuple[str, str, str, list[str]]], people: list[tuple[str, str, str]],
               is_open: bool) -> Iterator[tuple[str, tuple[Any, ...]]]:
        rng, ts = self.rng, self.ts
        msg_no = 0

        def message_id() -> str:
            nonlocal msg_no
            msg_no += 1
            return f"wx{self.next_id:x}" if g % 3 == 2 else str(self.next_id)

        card = "\n".join([f"🛒 {title}"] + [f"{n + 1}号 {p[0]} {p[2]}元/{p[1]}" for n, p in enumerate(products)])
        seq = self._id()
        yield "messages", (seq, chat_key, message_id(), "tuan-bot", "Tuan", card, ts(opened), True, None, None,
                           "bot", deal_id)
        header = f"#接龙 {title}\n例:3栋402 王姐 葡萄1"
        recent: list[str] = []
        mine: list[list[Any]] = []  # this round's entries, as lists (a later change supersedes one)
        lines = 0
        for i in range(n_orders):
            at = opened + timedelta(seconds=20 + i * 97)
            sid, name, label = people[rng.randrange(len(people))]
            code = rng.randint(1, len(products))
            alias = products[code - 1][3][0]
            qty = rng.choice((1, 1, 1, 2, 2, 3, 5))
            seq, mid = self._id(), message_id()
            roll = rng.random()
            if roll < 0.03 and mine:  # a change of an earlier order: it supersedes that entry
                old = mine[rng.randrange(len(mine))]
                if old[12] is None and not old[13]:
                    old[12] = seq
                sid, name, label, code = old[3], old[4], old[5], int(old[6])
                alias = products[code - 1][3][0]
                text, kind, line_id = f"{alias}改成{qty}", "set", None
            elif roll < 0.73:  # a 接龙 copy: its last lines and the new one
                lines += 1
                own = f"{lines}. {label} {alias}{qty}"
                text = "\n".join([header, *recent[-3:], own])
                recent.append(own)
                kind, line_id = "order", self._id()
                yield "lines", (line_id, chat_key, own, str(lines), label, sid, mid, seq, True, None, deal_id)
            else:  # a short reply
                text, kind, line_id = f"{alias}{qty}", "order", None
            removed = rng.random() < 0.01  # withdrawn (recalled) afterwards
            entry = [self._id(), deal_id, chat_key, sid, name, label, str(code), qty,
                     "set" if kind == "set" else "entry", mid, seq, line_id, None, removed]
            mine.append(entry)
            yield "messages", (seq, chat_key, mid, sid, name, text, ts(at), False, None, None, kind, deal_id)
            if rng.random() < 0.005:
                yield "notices", (None, chat_key, mid, seq, "unclear", "ambiguous item: 橙")
        for entry in mine:
            yield "entries", tuple(entry)
        if is_open:  # a crash's leftovers, long expired
            for n in range(2):
                self.outbox.append((seq, n, chat_key, "react", mid, "✅", None, None, ts(opened)))


COLUMNS: dict[str, tuple[str, ...]] = {
    "deals": ("id", "title", "status", "cutoff", "max_qty", "created_at", "source", "max_line_qty", "version",
              "closed_at"),
    "deal_items": ("deal_id", "code", "name", "unit", "price", "aliases", "stock", "position"),
    "chats": ("chat_key", "platform", "external_id", "title", "deal_id"),
    "deal_chats": ("deal_id", "chat_key"),
    "messages": ("seq", "chat_key", "message_id", "sender_id", "sender_name", "text", "ts", "is_admin", "edit_of",
                 "recall_of", "kind", "deal_id"),
    "entries": ("id", "deal_id", "chat_key", "sender_id", "sender_name", "label", "item_code", "qty", "kind",
                "message_id", "seq", "line_id", "superseded_seq", "removed"),
    "lines": ("id", "chat_key", "text_key", "number", "label", "owner_id", "message_id", "seq", "alive",
              "replaced_by", "deal_id"),
    "notices": ("id", "chat_key", "message_id", "seq", "kind", "reason"),
    "sent_marks": ("key", "at"),
    "outbox": ("seq", "n", "chat_key", "kind", "target", "text", "mention_id", "mention_name", "created_at"),
}
"""The columns the generator fills, per table (checked against storage.models before a build)."""


def check_schema() -> None:
    """Fail with the difference when storage.models no longer matches :data:`COLUMNS`."""
    from storage.models import METADATA

    for name, cols in COLUMNS.items():
        table = METADATA.tables[name]
        unknown = set(cols) - set(table.c.keys())
        required = {c.name for c in table.c if not c.nullable and c.server_default is None
                    and not (c.primary_key and c.autoincrement is True)}
        missing = required - set(cols) - ({"id"} if name == "notices" else set())
        if unknown or missing:
            raise SystemExit(f"store_bench: the schema of `{name}` changed (unknown {sorted(unknown)}, "
                             f"unfilled {sorted(missing)}): update COLUMNS and the generator")


# -- building stores --------------------------------------------------------------------------------


def sqlite_ts(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def pg_ts(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(" ", "microseconds")


def create_schema(url: str) -> None:
    from storage.sql import open_repository

    open_repository(url).close()


def build_sqlite(path: Path, size: int) -> tuple[Target, float]:
    """Build a SQLite store of ``size`` orders at ``path``; returns the target deal and seconds taken."""
    import sqlite3

    t = time.perf_counter()
    path.unlink(missing_ok=True)
    create_schema(f"sqlite:///{path}")
    gen = Generator(Plan.make(size, random.Random(size)), sqlite_ts)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")  # one transaction of a throwaway file; WAL again at the end
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-262144")  # 256 MB: the indexes stay in memory while they grow
    con.execute("BEGIN")
    indexes = secondary_indexes("sqlite")
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')

    def insert(table: str, rows: list[tuple[Any, ...]]) -> None:
        cols = COLUMNS[table]
        if table == "notices":
            cols, rows = cols[1:], [r[1:] for r in rows]
        con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)

    fill(gen, insert)
    for _, create in indexes:
        con.execute(create)
    top = gen.next_id - 1
    con.execute("UPDATE id_blocks SET next_block = ? WHERE name = 'ids'", (top // 1024 + 1,))
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    assert gen.target is not None
    return gen.target, time.perf_counter() - t


def fill(gen: Generator, insert: Callable[[str, list[tuple[Any, ...]]], None]) -> None:
    """Stream the generator's rows into ``insert`` in batches, the small tables last (deals first)."""
    pending: dict[str, list[tuple[Any, ...]]] = {t: [] for t in BULK_TABLES}
    for table, row in gen.rows():
        bucket = pending[table]
        bucket.append(row)
        if len(bucket) >= BATCH:
            if gen.deals:  # entries refer to their deals: the deals so far go first
                insert("deals", gen.deals)
                gen.deals = []
            insert(table, bucket)
            pending[table] = []
    for table in ("deals", "deal_items", "chats", "deal_chats", "sent_marks", "outbox"):
        rows_of = {"deals": gen.deals, "deal_items": gen.items, "chats": gen.chats, "deal_chats": gen.deal_chats,
                   "sent_marks": gen.marks, "outbox": gen.outbox}[table]
        if rows_of:
            insert(table, rows_of)
    for table, bucket in pending.items():
        if bucket:
            insert(table, bucket)


def admin_url(pg: str, database: str | None = None) -> str:
    """A libpq URL (no ``+psycopg``) of the server of ``pg``, to ``database`` when given."""
    parts = urlsplit(pg)
    parts = parts._replace(scheme=parts.scheme.split("+")[0])
    if database is not None:
        parts = parts._replace(path="/" + database)
    return urlunsplit(parts)


def pg_db_url(pg: str, database: str) -> str:
    return urlunsplit(urlsplit(pg)._replace(path="/" + database))


def pg_stamp(size: int) -> str:
    from storage.migrate import SCHEMA_HEAD

    return f"tuan-store-bench generator {GENERATOR} schema {SCHEMA_HEAD} orders {size}"


def build_pg(pg: str, database: str, size: int, *, reuse: bool) -> tuple[Target, float, bool]:
    """Build (or, with ``reuse``, find) database ``database`` holding ``size`` orders.

    Returns the target deal, seconds taken and whether it was reused. Loaded with COPY, then ANALYZE.
    """
    import psycopg

    t = time.perf_counter()
    gen = Generator(Plan.make(size, random.Random(size)), pg_ts)
    with psycopg.connect(admin_url(pg), autocommit=True) as admin:
        stamp = admin.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                              (database,)).fetchone()
        kept = stamp[0] if stamp is not None and stamp[0] else ""
        if reuse and kept.startswith(pg_stamp(size) + " "):
            return Target(**json.loads(kept.removeprefix(pg_stamp(size) + " "))), time.perf_counter() - t, True
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    create_schema(pg_db_url(pg, database))
    indexes = secondary_indexes("postgresql")
    with psycopg.connect(admin_url(pg, database)) as conn:
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        def insert(table: str, rows: list[tuple[Any, ...]]) -> None:
            cols = COLUMNS[table]
            if table == "notices":
                cols, rows = cols[1:], [r[1:] for r in rows]
            with conn.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

        fill(gen, insert)
        for _, create in indexes:
            conn.execute(create)
        top = gen.next_id - 1
        conn.execute("UPDATE id_blocks SET next_block = %s WHERE name = 'ids'", (top // 1024 + 1,))
        conn.execute("SELECT setval('tuan_id_blocks', %s, false)", (top // 1024 + 1,))
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    assert gen.target is not None
    with psycopg.connect(admin_url(pg), autocommit=True) as admin:  # the stamp a later --keep-pg run reuses
        note = f"{pg_stamp(size)} {json.dumps(gen.target.__dict__, ensure_ascii=False)}".replace("'", "''")
        admin.execute(f"COMMENT ON DATABASE \"{database}\" IS '{note}'".encode())
    return gen.target, time.perf_counter() - t, False


def secondary_indexes(engine: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the bulk tables' indexes other than primary keys.

    A build drops them, loads, and creates them again: sorting once is faster than growing them
    row by row.
    """
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex

    from storage.models import METADATA

    dialect = postgresql.dialect() if engine == "postgresql" else sqlite.dialect()  # type: ignore[no-untyped-call]
    return [(str(ix.name), str(CreateIndex(ix).compile(dialect=dialect)))
            for t in BULK_TABLES for ix in METADATA.tables[t].indexes]


def drop_pg(pg: str, database: str) -> None:
    import psycopg

    with psycopg.connect(admin_url(pg), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# -- measuring --------------------------------------------------------------------------------------


def tuan_cmd() -> list[str]:
    """$TUAN_CMD (e.g. another checkout's `python -m bot.cli`), else `tuan` next to this Python,
    else on PATH, else `python -m bot.cli`."""
    if os.environ.get("TUAN_CMD"):
        return shlex.split(os.environ["TUAN_CMD"])
    local = Path(sys.executable).parent / "tuan"
    if local.exists():
        return [str(local)]
    found = shutil.which("tuan")
    return [found] if found else [sys.executable, "-m", "bot.cli"]


@dataclass
class Child:
    """One measured subprocess: wall s, CPU s, peak RSS MB, exit code, the seconds at which each
    stdout/stderr line arrived, and whether it was killed at the timeout."""

    wall: float
    cpu: float
    rss_mb: float
    code: int
    out: list[tuple[float, str]] = field(default_factory=list)
    err: list[tuple[float, str]] = field(default_factory=list)
    timed_out: bool = False

    def first(self, lines: list[tuple[float, str]], needle: str) -> float | None:
        return next((t for t, ln in lines if needle in ln), None)


def run_child(cmd: list[str], timeout: float, cwd: Path | None = None) -> Child:
    """Run ``cmd`` with stdin at end of input; per-process rusage from os.wait4; killed at ``timeout``."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=cwd, env=env, start_new_session=True)
    out: list[tuple[float, str]] = []
    err: list[tuple[float, str]] = []

    def pump(stream: Any, into: list[tuple[float, str]]) -> None:
        for raw in stream:
            into.append((time.perf_counter() - t0, raw.decode("utf-8", "replace").rstrip("\n")))

    pumps = [threading.Thread(target=pump, args=(p.stdout, out), daemon=True),
             threading.Thread(target=pump, args=(p.stderr, err), daemon=True)]
    for th in pumps:
        th.start()
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        os.killpg(p.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    for th in pumps:
        th.join(5)
    return Child(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / MB, p.returncode, out, err, killed.is_set())


@dataclass
class Startup:
    wall: float
    cpu: float
    rss_mb: float
    ready: float | None  # seconds until the console's banner
    timed_out: bool
    runs: int


def startup(url: str, workdir: Path, timeout: float, repeat: int) -> Startup:
    """`tuan run -v --config CFG` with the console at end of input: the median of up to ``repeat`` runs."""
    cfg = workdir / "tuan.toml"
    cfg.write_text(f'[store]\nurl = "{url}"\n\n[console]\nenabled = true\n', encoding="utf-8")
    runs: list[Child] = []
    for _ in range(repeat):
        child = run_child([*tuan_cmd(), "run", "-v", "--config", str(cfg)], timeout, cwd=workdir)
        if child.code != 0 and not child.timed_out:
            tail = "\n".join(ln for _, ln in child.err[-15:])
            raise SystemExit(f"store_bench: `tuan run` against {url} exited {child.code}:\n{tail}")
        runs.append(child)
        if child.timed_out or child.wall > 5:
            break
    readies = [c.out[0][0] for c in runs if c.out]  # the console's banner is its first line
    return Startup(statistics.median(c.wall for c in runs), statistics.median(c.cpu for c in runs),
                   statistics.median(c.rss_mb for c in runs), statistics.median(readies) if readies else None,
                   any(c.timed_out for c in runs), len(runs))


def leader_reads(url: str, deal_id: str, chat_key: str, title: str, reads: int) -> dict[str, Any]:
    """In this process (run as a child): the service's start and a leader's reads of one deal, ms."""
    from sqlalchemy import func, select

    from bot import render
    from bot.config import AppConfig
    from bot.services.orders import OrderService
    from bot.usecases.lists import deal_lists, export_bytes
    from storage.models import ENTRIES
    from storage.sql import open_repository

    def ms(fn: Callable[[], object]) -> float:
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1000

    repo = open_repository(url)
    t = time.perf_counter()
    svc = OrderService(repo)
    init = time.perf_counter() - t

    def tally() -> str:
        return render.tally_table(svc.tally(deal_id), svc.catalog_of(deal_id), title=title)

    def pickup() -> str:
        return render.pickup_list(svc.tally(deal_id, chat_key), svc.catalog_of(deal_id), title=title, mask=False)

    def export() -> bytes:
        lists = deal_lists(svc, AppConfig(), deal_id, chat_key=chat_key, titles={chat_key: title}, pickup_points={})
        return export_bytes(lists, AppConfig(), "xlsx")

    first = ms(tally)
    households = len(render.households(svc.tally(deal_id), svc.catalog_of(deal_id)))
    out: dict[str, Any] = {"init_s": init, "tally_first_ms": first, "households": households}
    for name, fn in (("tally", tally), ("pickup", pickup), ("export", export)):
        out[f"{name}_ms"] = statistics.median(ms(fn) for _ in range(reads))
    count = select(func.count()).select_from(ENTRIES)
    plain = select(ENTRIES).where(ENTRIES.c.deal_id == deal_id)
    with repo.engine.connect() as conn:
        out["count_ms"] = statistics.median(ms(lambda: conn.execute(count).scalar()) for _ in range(reads))
        out["select_ms"] = statistics.median(ms(lambda: conn.execute(plain).fetchall()) for _ in range(reads))
        out["entries"] = conn.execute(count).scalar()
    repo.close()
    return out


def leader(url: str, target: Target, timeout: float, reads: int) -> dict[str, Any] | None:
    """:func:`leader_reads` in a subprocess; None when it ran past ``timeout``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--leader-reads",
           json.dumps([url, target.deal_id, target.chat_key, target.title, reads])]
    child = run_child(cmd, timeout)
    if child.timed_out:
        return None
    if child.code != 0:
        tail = "\n".join(ln for _, ln in child.err[-15:])
        raise SystemExit(f"store_bench: the leader's reads against {url} exited {child.code}:\n{tail}")
    result: dict[str, Any] = json.loads(child.out[-1][1])
    result["rss_mb"] = child.rss_mb
    return result


# -- the run ----------------------------------------------------------------------------------------


@dataclass
class Result:
    size: int
    engine: str
    build: str
    start: Startup
    empty: Startup
    reads: dict[str, Any] | None
    target: Target




def fmt_s(s: Startup, field_: str, timeout: float) -> str:
    value = getattr(s, field_)
    if s.timed_out:
        return f">{timeout:.0f}" if field_ == "wall" else f"({value:.1f})" if field_ == "cpu" else f"({value:.0f})"
    if value is None:
        return "—"
    return f"{value:.0f}" if field_ == "rss_mb" else f"{value:.2f}"


def fmt_ms(reads: dict[str, Any] | None, key: str) -> str:
    if reads is None:
        return "—"
    v = reads[key]
    return f"{v:.1f}" if key.endswith("_ms") else f"{v:.2f}"


def table(results: list[Result], timeout: float) -> str:
    head = ("| orders | engine | start-up wall s | CPU s | RSS MB | ready s | empty store: wall s / RSS MB | "
            "ratio wall / CPU | service init s | tally ms (first / median) | pickup ms | export ms | "
            "count(*) ms | select deal ms | tally / select |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        s, e, rd = r.start, r.empty, r.reads
        ratio = (f">{timeout / e.wall:.0f}×" if s.timed_out
                 else f"{s.wall / e.wall:.1f}× / {s.cpu / e.cpu:.1f}×")
        tally = "—" if rd is None else f"{rd['tally_first_ms']:.1f} / {rd['tally_ms']:.1f}"
        over = "—" if rd is None or rd["select_ms"] <= 0 else f"{rd['tally_ms'] / rd['select_ms']:.1f}×"
        init = f">{timeout:.0f}" if rd is None else f"{rd['init_s']:.2f}"
        rows.append(
            f"| {size_name(r.size)} | {r.engine} | {fmt_s(s, 'wall', timeout)} | {fmt_s(s, 'cpu', timeout)} | "
            f"{fmt_s(s, 'rss_mb', timeout)} | {fmt_s(s, 'ready', timeout)} | {e.wall:.2f} / {e.rss_mb:.0f} | "
            f"{ratio} | {init} | {tally} | {fmt_ms(rd, 'pickup_ms')} | {fmt_ms(rd, 'export_ms')} | "
            f"{fmt_ms(rd, 'count_ms')} | {fmt_ms(rd, 'select_ms')} | {over} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k,1M", help="orders per store, e.g. 10k,100k,1M")
    ap.add_argument("--engines", default="sqlite,postgresql", help="sqlite, postgresql or both")
    ap.add_argument("--quick", action="store_true", help="10k and 100k, one start-up each, 3 reads")
    ap.add_argument("--pg", default=os.environ.get("TUAN_TEST_PG_URL", PG_DEFAULT),
                    help="a PostgreSQL URL whose server may get databases bench_store_<size>")
    ap.add_argument("--keep-pg", action="store_true", help="keep the PostgreSQL stores (and reuse kept ones)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a child is killed (default 60)")
    ap.add_argument("--repeat", type=int, default=3, help="start-ups per store (median; one when a run is over 5 s)")
    ap.add_argument("--reads", type=int, default=7, help="runs of each leader read (median)")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "tuan-store-bench"),
                    help="directory of the cached SQLite stores")
    ap.add_argument("--leader-reads", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.leader_reads:
        url, deal_id, chat_key, title, reads = json.loads(args.leader_reads)
        print(json.dumps(leader_reads(url, deal_id, chat_key, title, reads)))
        return
    sizes = [parse_size(s) for s in ("10k,100k" if args.quick and args.sizes == "10k,100k,1M" else args.sizes).split(",")]
    engines = [e.strip() for e in args.engines.split(",")]
    if set(engines) - {"sqlite", "postgresql"}:
        raise SystemExit("store_bench: --engines takes sqlite and/or postgresql")
    repeat, reads = (1, 3) if args.quick else (args.repeat, args.reads)
    check_schema()
    from storage.migrate import SCHEMA_HEAD

    print(machine(), flush=True)
    print(f"command: {shlex.join(tuan_cmd())} run -v --config CFG  (stdin at end of input)", flush=True)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="tuan-store-bench-") as tmp:
        work = Path(tmp)
        for engine in engines:
            if engine == "sqlite":
                empty_path = work / "empty.db"
                create_schema(f"sqlite:///{empty_path}")
                empty = startup(f"sqlite:///{empty_path}", work, args.timeout, max(repeat, 3))
            else:
                db = "bench_store_empty"
                drop_pg(args.pg, db)
                import psycopg

                with psycopg.connect(admin_url(args.pg), autocommit=True) as admin:
                    admin.execute(f'CREATE DATABASE "{db}"')
                create_schema(pg_db_url(args.pg, db))
                empty = startup(pg_db_url(args.pg, db), work, args.timeout, max(repeat, 3))
                drop_pg(args.pg, db)
            print(f"{engine}: empty store start-up {empty.wall:.2f} s wall, {empty.cpu:.2f} s CPU, "
                  f"{empty.rss_mb:.0f} MB", flush=True)
            for size in sizes:
                if engine == "sqlite":
                    cached = cache / f"store-{size_name(size)}-g{GENERATOR}-s{SCHEMA_HEAD}.db"
                    meta = cached.with_suffix(".json")
                    if cached.exists() and meta.exists():
                        target, took, built = Target(**json.loads(meta.read_text())), 0.0, "cached"
                    else:
                        target, took = build_sqlite(cached, size)
                        meta.write_text(json.dumps(target.__dict__, ensure_ascii=False))
                        built = f"built in {took:.1f} s"
                    path = work / "store.db"
                    shutil.copyfile(cached, path)
                    url = f"sqlite:///{path}"
                    db = ""
                else:
                    db = f"bench_store_{size_name(size).lower()}"
                    target, took, reused = build_pg(args.pg, db, size, reuse=args.keep_pg)
                    built = "kept" if reused else f"built in {took:.1f} s"
                    url = pg_db_url(args.pg, db)
                print(f"{engine} {size_name(size)}: store {built}; target deal {target.deal_id} "
                      f"({target.orders} orders)", flush=True)
                try:
                    start = startup(url, work, args.timeout, repeat)
                    print(f"  start-up {fmt_s(start, 'wall', args.timeout)} s wall, {start.cpu:.2f} s CPU, "
                          f"{start.rss_mb:.0f} MB", flush=True)
                    rd = leader(url, target, args.timeout, reads)
                    print(f"  leader reads: {rd}", flush=True)
                finally:
                    if engine == "sqlite":
                        for suffix in ("", "-wal", "-shm"):
                            Path(f"{path}{suffix}").unlink(missing_ok=True)
                    elif not args.keep_pg:
                        drop_pg(args.pg, db)
                results.append(Result(size, engine, built, start, empty, rd, target))
    print()
    print(table(results, args.timeout))
    print(f"\nStart-up: median of up to {repeat} runs (one when a run is over 5 s); (x) = at the kill. "
          f"Leader reads: an open deal of ~{TARGET_ROUND} orders, median of {reads}. Targets: start-up < 2 s "
          f"and RSS < 200 MB at 1M; tally/pickup/export < 50 ms at 1M.")


if __name__ == "__main__":
    main()
