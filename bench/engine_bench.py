"""Engine benchmark (issue 2): replay throughput and peak memory, printed as a table.

    python bench/engine_bench.py            # both scenarios, each in its own process
    python bench/engine_bench.py --quick    # smaller sizes, for a smoke run

(a) a 1,000-resident 接龙 copy chain in one chat: resident k copies the k-1 lines and appends
    one (about 500,000 lines in all), replayed end to end into a SQLite file store;
(b) 100,000 short replies across 1,000 chats, same pipeline.
Each scenario runs in a fresh subprocess so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.catalog import Catalog, Item  # noqa: E402
from bot.model import InboundMessage  # noqa: E402

CATALOG = Catalog(items=(
    Item("1", "阳光玫瑰葡萄 2斤装", "盒", aliases=("葡萄", "阳光玫瑰")),
    Item("2", "赣南脐橙 5斤", "箱", aliases=("脐橙", "橙子")),
    Item("3", "土鸡蛋 30枚", "盒", aliases=("鸡蛋",)),
))
NAMES = ["王姐", "阿强", "李阿姨", "小陈", "Tom", "🌸Lily", "张叔", "刘阿姨", "钟予馨", "赵磊"]
GOODS = ["葡萄{}", "鸡蛋{}", "橙子{}箱", "葡萄{} 鸡蛋1", "1号{}份", "脐橙x{}", "鸡蛋{}盒"]
T0 = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


def copy_chain(n: int) -> list[InboundMessage]:
    rnd = random.Random(1)
    lines: list[str] = []
    out = []
    for k in range(1, n + 1):
        line = f"{k}. {rnd.randint(1, 30)}栋{rnd.randint(101, 2804)} {rnd.choice(NAMES)}{k} " + rnd.choice(GOODS).format(rnd.randint(1, 3))
        lines.append(line)
        text = "#接龙 今日团购\n例:3栋402 王姐 葡萄1\n" + "\n".join(lines)
        out.append(InboundMessage("bench", "g1", f"m{k}", f"u{k}", NAMES[k % len(NAMES)], text, T0 + timedelta(seconds=k)))
    return out


def short_replies(n: int, chats: int) -> list[InboundMessage]:
    rnd = random.Random(2)
    return [
        InboundMessage("bench", f"g{i % chats}", f"m{i}", f"u{rnd.randint(1, 50)}", rnd.choice(NAMES),
                       rnd.choice(GOODS).format(rnd.randint(1, 3)), T0 + timedelta(milliseconds=i))
        for i in range(n)
    ]


def run_scenario(name: str, quick: bool, residents: int = 1000) -> dict[str, object]:
    from bot.replay import BATCH
    from bot.services.orders import OrderService
    from storage.sql import open_repository

    if name == "a":
        msgs = copy_chain(200 if quick else residents)
    else:
        msgs = short_replies(10_000 if quick else 100_000, 100 if quick else 1000)
    lines = sum(m.text.count("\n") + 1 for m in msgs)
    with tempfile.TemporaryDirectory() as tmp:
        repo = open_repository(f"sqlite:///{tmp}/bench.db")
        svc = OrderService(repo, catalog=CATALOG)
        t = time.perf_counter()
        orders = 0
        for i in range(0, len(msgs), BATCH):
            for o in svc.handle_many(msgs[i:i + BATCH]):
                orders += len(o.accepted)
        wall = time.perf_counter() - t
        repo.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"scenario": name, "messages": len(msgs), "lines": lines, "orders": orders, "wall_s": wall,
            "msg_per_s": len(msgs) / wall, "peak_rss_mb": rss_mb}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["a", "b"])
    ap.add_argument("--scaling", action="store_true", help="(a) at 250..2,000 residents: cost per line")
    ap.add_argument("--residents", type=int, default=1000, help=argparse.SUPPRESS)
    ap.add_argument("--child", choices=["a", "b"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_scenario(args.child, args.quick, args.residents)))
        return
    if args.scaling:
        print(f"{'residents':>10}{'lines':>10}{'wall s':>9}{'µs per line':>13}")
        for n in (250, 500, 1000, 2000):
            cmd = [sys.executable, __file__, "--child", "a", "--residents", str(n)]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            print(f"{n:>10}{r['lines']:>10}{r['wall_s']:>9.2f}{r['wall_s'] / r['lines'] * 1e6:>13.2f}")
        return
    rows = []
    for name in [args.only] if args.only else ["a", "b"]:
        cmd = [sys.executable, __file__, "--child", name] + (["--quick"] if args.quick else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite file store")
    print(f"{'scenario':<34}{'messages':>9}{'lines':>9}{'wall s':>8}{'msg/s':>9}{'peak RSS MB':>13}")
    titles = {"a": "(a) 1,000-resident copy chain", "b": "(b) short replies, 1,000 chats"}
    for r in rows:
        print(f"{titles[r['scenario']]:<34}{r['messages']:>9}{r['lines']:>9}{r['wall_s']:>8.2f}"
              f"{r['msg_per_s']:>9.0f}{r['peak_rss_mb']:>13.0f}")


if __name__ == "__main__":
    main()
