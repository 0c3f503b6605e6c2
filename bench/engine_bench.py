"""Engine benchmark: `tuan replay` end to end, each figure beside the same run's raw scan.

    python bench/engine_bench.py                 # every scenario (SQLite and PostgreSQL)
    python bench/engine_bench.py --quick         # smaller sizes, for a smoke run
    python bench/engine_bench.py --only a,one    # some scenarios (a, one, b-sqlite, b-pg)
    python bench/engine_bench.py --scaling       # (a) at 250..2,000 residents: CPU per line

Every scenario writes a JSONL transcript (docs/replay.md) and a TOML catalog, then runs
`tuan replay TRANSCRIPT --catalog CATALOG --json [--db URL]` as a subprocess, as a user runs it
(interpreter start, imports, store creation and migration included). Without --db the replay
keeps its store in memory (storage.memory); (a) and one are run that way, as a user runs them,
and again with `--db sqlite:///<fresh file>` so the SQL path stays in view; (b) is meant to
measure the databases and always passes --db. The child's CPU time
(user+sys), wall time and peak RSS come from os.wait4. Beside it, the same run measures the raw
scan of the same transcript in this process (read the file, JSON-decode every line, split every
message's text into lines and hash each line; the floor any reader must pay; the best of three)
and reports the replay's CPU time as a ratio to it.

Scenarios and targets:
  (a)   a 1,000-resident 接龙 copy chain in one chat (resident k copies the k-1 lines and appends
        one: about 500,000 lines): CPU time at most 3x the raw scan (no --db; the --db SQLite
        row beside it has no target);
  one   a 1-message replay: under 0.5 s wall (the median of 5 runs; no --db, and --db SQLite);
  (b)   100,000 short replies across 1,000 chats, on SQLite and on PostgreSQL: at least 5,000
        messages per CPU-second. On PostgreSQL the server backends serving the replay's
        connections (found by application_name, their /proc CPU sampled every 20 ms) are
        reported too, and a second msg/CPU-s counts replay + server;
  every scenario: peak RSS under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from machine_info import machine  # bench/, the script's folder, is on sys.path

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CATALOG_TOML = """\
[[items]]
code = "1"
name = "阳光玫瑰葡萄 2斤装"
unit = "盒"
price = "39.9"
aliases = ["葡萄", "阳光玫瑰"]

[[items]]
code = "2"
name = "赣南脐橙 5斤"
unit = "箱"
price = "45"
aliases = ["脐橙", "橙子"]

[[items]]
code = "3"
name = "土鸡蛋 30枚"
unit = "盒"
price = "28.8"
aliases = ["鸡蛋"]
"""
NAMES = ["王姐", "阿强", "李阿姨", "小陈", "Tom", "🌸Lily", "张叔", "刘阿姨", "钟予馨", "赵磊"]
GOODS = ["葡萄{}", "鸡蛋{}", "橙子{}箱", "葡萄{} 鸡蛋1", "1号{}份", "脐橙x{}", "鸡蛋{}盒"]
T0 = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
MB = 1024  # ru_maxrss is in KiB on Linux


def _msg(mid: str, chat: str, sender_id: str, sender: str, text: str, ts: datetime) -> dict[str, str]:
    return {"id": mid, "ts": ts.isoformat(), "chat": chat, "sender_id": sender_id, "sender": sender, "text": text}


def copy_chain(n: int) -> list[dict[str, str]]:
    """Resident k posts the 接龙 with k numbered lines (the k-1 before plus their own)."""
    rnd = random.Random(1)
    lines: list[str] = []
    out = []
    for k in range(1, n + 1):
        line = (f"{k}. {rnd.randint(1, 30)}栋{rnd.randint(101, 2804)} {rnd.choice(NAMES)}{k} "
                + rnd.choice(GOODS).format(rnd.randint(1, 3)))
        lines.append(line)
        text = "#接龙 今日团购\n例:3栋402 王姐 葡萄1\n" + "\n".join(lines)
        out.append(_msg(f"m{k}", "g1", f"u{k}", NAMES[k % len(NAMES)], text, T0 + timedelta(seconds=k)))
    return out


def short_replies(n: int, chats: int) -> list[dict[str, str]]:
    """`n` one-line orders (葡萄2, 鸡蛋1盒, ...) from 50 residents spread over `chats` chats."""
    rnd = random.Random(2)
    return [
        _msg(f"m{i}", f"g{i % chats}", f"u{rnd.randint(1, 50)}", rnd.choice(NAMES),
             rnd.choice(GOODS).format(rnd.randint(1, 3)), T0 + timedelta(milliseconds=i))
        for i in range(n)
    ]


def write_jsonl(path: Path, msgs: list[dict[str, str]]) -> int:
    """Write the transcript; returns the number of text lines in it."""
    with path.open("w", encoding="utf-8") as fh:
        for m in msgs:
            fh.write(json.dumps(m, ensure_ascii=False) + "\n")
    return sum(m["text"].count("\n") + 1 for m in msgs)


def raw_scan(path: Path) -> float:
    """CPU seconds to read the JSONL file, decode every line, split each text and hash every line."""
    t = time.process_time()
    n = 0
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            for line in json.loads(raw)["text"].split("\n"):
                n ^= hash(line)
    return time.process_time() - t


def tuan_cmd() -> list[str]:
    """$TUAN_CMD (e.g. another checkout's `python -m bot.cli`, for a before/after comparison), else
    `tuan` next to the running Python (the project's venv), else on PATH, else `python -m bot.cli`."""
    if os.environ.get("TUAN_CMD"):
        return shlex.split(os.environ["TUAN_CMD"])
    local = Path(sys.executable).parent / "tuan"
    if local.exists():
        return [str(local)]
    found = shutil.which("tuan")
    return [found] if found else [sys.executable, "-m", "bot.cli"]


def _proc_cpu(pid: int) -> float | None:
    """utime+stime of a live process in seconds, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerSampler(threading.Thread):
    """Samples the CPU time of the PostgreSQL backends whose application_name is `app`.

    A backend's last sample before it exits is kept, so up to one interval (20 ms) of each
    backend's CPU can be missed: the figure is a lower bound. None when no backend could be read
    (a server on another machine, or /proc not readable).
    """

    def __init__(self, admin_url: str, app: str) -> None:
        super().__init__(daemon=True)
        self.admin_url, self.app = admin_url, app
        self.cpu: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self.stop.is_set():
                pids = [r[0] for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (self.app,))]
                for pid in pids:
                    c = _proc_cpu(pid)
                    if c is not None:
                        self.cpu[pid] = c
                self.stop.wait(0.02)

    def total(self) -> float | None:
        return sum(self.cpu.values()) if self.cpu else None


@dataclass
class Row:
    key: str
    title: str
    messages: int
    lines: int
    target: str
    wall: float = 0.0
    cpu: float = 0.0
    raw: float = 0.0
    rss_mb: float = 0.0
    server_cpu: float | None = None
    orders: int = 0
    met: list[bool] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.cpu / self.raw if self.raw else float("inf")

    @property
    def per_cpu(self) -> float:
        return self.messages / self.cpu if self.cpu else float("inf")


def replay(transcript: Path, catalog: Path, db: str | None, out: Path) -> tuple[float, float, float]:
    """Run `tuan replay` once; returns (wall s, CPU s of the child, peak RSS MB of the child)."""
    cmd = tuan_cmd() + ["replay", str(transcript), "--catalog", str(catalog), "--json"]
    if db:
        cmd += ["--db", db]
    with out.open("w") as fh:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode() if p.stderr else ""
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}: {err}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / MB


def pg_schema(pg: str, app: str) -> tuple[str, str, str]:
    """Create a fresh schema; returns (replay URL, admin libpq URL, schema name).

    The replay's URL selects the schema with ``options=-csearch_path=...`` (as tests/conftest.py
    does) and names its connections with ``application_name`` so the server's CPU can be found.
    """
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(pg)
    admin = urlunsplit(parts._replace(scheme=parts.scheme.split("+")[0]))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    query = dict(parse_qsl(parts.query)) | {"options": f"-csearch_path={schema}", "application_name": app}
    return urlunsplit(parts._replace(query=urlencode(query))), admin, schema


def generate(kind: str, n: int, chats: int, path: Path) -> tuple[int, int]:
    """Write a transcript in a child process; returns (messages, text lines).

    The transcript is never held in this process: a child started with vfork reports the
    parent's peak RSS as its own (Linux keeps the larger of the two across exec), so this
    process stays small to leave ru_maxrss the replay's own.
    """
    out = subprocess.run([sys.executable, __file__, "--write", kind, str(n), str(chats), str(path)],
                         check=True, capture_output=True, text=True).stdout
    msgs, lines = out.split()
    return int(msgs), int(lines)


SQLITE = "sqlite"
"""A row's store: a fresh SQLite file per run (``--db sqlite:///...``), beside None (no --db: in
memory) and a PostgreSQL URL (a fresh schema)."""


def replay_sqlite(transcript: Path, catalog: Path, tmp: Path, out: Path) -> tuple[float, float, float]:
    """:func:`replay` with ``--db`` a new SQLite file (created and migrated by the replay), deleted after."""
    db = tmp / f"replay-{uuid.uuid4().hex[:8]}.db"
    try:
        return replay(transcript, catalog, f"sqlite:///{db}", out)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


def run_row(row: Row, spec: tuple[str, int, int], tmp: Path, catalog: Path, store: str | None,
            repeats: int = 1) -> Row:
    """Time the row's scenario on ``store`` (None: no --db; :data:`SQLITE`; a PostgreSQL URL)."""
    transcript = tmp / f"{row.key}.jsonl"
    row.messages, row.lines = generate(*spec, transcript)
    row.raw = min(raw_scan(transcript) for _ in range(3))
    out = tmp / f"{row.key}.out.json"
    if store is None or store == SQLITE:
        # repeats > 1 (a short run): the median of several, so one scheduling hiccup does not decide it
        runs = [replay(transcript, catalog, None, out) if store is None else replay_sqlite(transcript, catalog, tmp, out)
                for _ in range(repeats)]
        row.wall, row.cpu = (statistics.median(r[i] for r in runs) for i in (0, 1))
        row.rss_mb = max(r[2] for r in runs)
    else:
        app = f"tuan-bench-{uuid.uuid4().hex[:8]}"
        url, admin, schema = pg_schema(store, app)
        sampler = ServerSampler(admin, app)
        sampler.start()
        try:
            row.wall, row.cpu, row.rss_mb = replay(transcript, catalog, url, out)
        finally:
            time.sleep(0.05)
            sampler.stop.set()
            sampler.join()
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        row.server_cpu = sampler.total()
    row.orders = len(json.loads(out.read_text(encoding="utf-8"))["orders"])
    return row


def fmt_row(r: Row) -> str:
    met = "—" if not r.met else "yes" if all(r.met) else "NO"
    ratio = f"{r.ratio:.1f}×" if r.raw >= 0.001 else "—"  # one line: no raw scan to speak of
    return (f"| {r.title} | {r.messages:,} | {r.lines:,} | {r.wall:.2f} | {r.cpu:.2f} | {r.per_cpu:,.0f} | "
            f"{r.raw:.3f} | {ratio} | {r.rss_mb:.0f} | {r.target} | {met} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    ap.add_argument("--only", help="comma-separated scenarios: a, one, b-sqlite, b-pg")
    ap.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL URL for b-pg (a fresh schema per run)")
    ap.add_argument("--scaling", action="store_true", help="(a) at 250..2,000 residents: CPU per line")
    ap.add_argument("--write", nargs=4, metavar=("KIND", "N", "CHATS", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write:
        kind, n, chats, path = args.write
        msgs = copy_chain(int(n)) if kind == "chain" else short_replies(int(n), int(chats))
        print(len(msgs), write_jsonl(Path(path), msgs))
        return
    print(machine())
    print(f"command: {' '.join(tuan_cmd())} replay TRANSCRIPT --catalog CATALOG --json [--db URL]")
    with tempfile.TemporaryDirectory(prefix="tuan-bench-") as d:
        tmp = Path(d)
        catalog = tmp / "catalog.toml"
        catalog.write_text(CATALOG_TOML, encoding="utf-8")
        if args.scaling:
            print("| residents | lines | CPU s | raw-scan CPU s | ratio | µs CPU per line |")
            print("|---|---|---|---|---|---|")
            for n in (250, 500, 1000, 2000):
                r = run_row(Row("a", "", n, 0, ""), ("chain", n, 1), tmp, catalog, None)
                print(f"| {n:,} | {r.lines:,} | {r.cpu:.2f} | {r.raw:.3f} | {r.ratio:.1f}× | "
                      f"{r.cpu / r.lines * 1e6:.2f} |", flush=True)
            return
        residents = 200 if args.quick else 1000
        shorts, chats = (10_000, 100) if args.quick else (100_000, 1000)
        chain_title = f"(a) {residents:,}-resident copy chain, one chat"
        one_title = "1-message replay (median of 5 runs)"
        # scenario -> its rows: (row key, title, target or None (a row for comparison), transcript, store)
        plan: dict[str, list[tuple[str, str, str | None, tuple[str, int, int], str | None]]] = {
            "a": [("a", chain_title, "CPU ≤ 3× raw scan", ("chain", residents, 1), None),
                  ("a-sqlite", chain_title + ", --db SQLite", None, ("chain", residents, 1), SQLITE)],
            "one": [("one", one_title, "wall < 0.5 s", ("short", 1, 1), None),
                    ("one-sqlite", one_title + ", --db SQLite", None, ("short", 1, 1), SQLITE)],
            "b-sqlite": [("b-sqlite", f"(b) short replies, {chats:,} chats, SQLite", "≥ 5,000 msg/CPU-s",
                          ("short", shorts, chats), SQLITE)],
            "b-pg": [("b-pg", f"(b) short replies, {chats:,} chats, PostgreSQL", "≥ 5,000 msg/CPU-s",
                      ("short", shorts, chats), args.pg)],
        }
        keys = args.only.split(",") if args.only else list(plan)
        for k in keys:
            if k not in plan:
                ap.error(f"--only: unknown scenario {k!r} (one of {', '.join(plan)})")
        print("| scenario | messages | lines | wall s | CPU s | msg/CPU-s | raw-scan CPU s | ratio | "
              "peak RSS MB | target | met? |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        rows = []
        for k in keys:
            for key, title, target, spec, store in plan[k]:
                goal = "RSS < 300 MB" if target is None else target + "; RSS < 300 MB"
                r = run_row(Row(key, title, 0, 0, goal), spec, tmp, catalog, store, 5 if k == "one" else 1)
                if target is None:
                    pass
                elif k == "a":
                    r.met.append(r.ratio <= 3.0)
                elif k == "one":
                    r.met.append(r.wall < 0.5)
                else:
                    r.met.append(r.per_cpu >= 5000)
                r.met.append(r.rss_mb < 300)
                rows.append(r)
                print(fmt_row(r), flush=True)
        for r in rows:
            if r.key == "b-pg":
                if r.server_cpu is None:
                    print("PostgreSQL server CPU: not measured (backends not visible in /proc); "
                          "msg/CPU-s above counts the replay process only.")
                else:
                    both = r.cpu + r.server_cpu
                    print(f"PostgreSQL server backends: {r.server_cpu:.2f} CPU s (sampled every 20 ms, a lower "
                          f"bound); replay + server: {both:.2f} CPU s = {r.messages / both:,.0f} msg/CPU-s.")
        print("ratio = the replay's CPU s / the raw-scan CPU s of the same transcript in the same run.")


if __name__ == "__main__":
    main()
