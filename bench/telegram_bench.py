"""Telegram adapter benchmark (issue 4): messages/s and arrival → acknowledgement latency.

    python bench/telegram_bench.py            # full sizes
    python bench/telegram_bench.py --quick    # smaller sizes, for a smoke run

Everything runs in one process and one event loop: the fake Bot API server (aiohttp on
127.0.0.1, tests/telegram/fake_bot_api.py), PTB 22 over real HTTP, the adapter, and, for the
"full" rows, the real dispatcher and OrderService on a SQLite file store. A message "arrives"
when it is injected into the fake server; it is "acknowledged" when the bot's
setMessageReaction call reaches the fake server.

(a) a burst of orders, all queued at once, full pipeline;
(b) the same burst with a sink that only reacts: the PTB + HTTP + adapter ceiling;
(c) orders arriving steadily at 100/s, full pipeline: the latency a resident sees;
(d) (a) with the flood limiter on at its defaults (30 calls/s overall): reactions are paced.

"msg per CPU-s" divides by the process's CPU time (server and bot together): on a shared
machine it says what one free core would do, where msg/s depends on the neighbours.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import telegram  # noqa: E402

from adapters.telegram import TelegramAdapter  # noqa: E402
from bot.model import ButtonPress, InboundMessage  # noqa: E402
from storage.sql import open_repository  # noqa: E402
from tests.telegram.conftest import config_for  # noqa: E402
from tests.telegram.fake_bot_api import FakeBotApi  # noqa: E402
from tests.telegram.stack import CHAT_ID, build  # noqa: E402
from tests.telegram.updates import Chat, residents  # noqa: E402

Row = tuple[str, int, float, float, float, float, float]  # scenario, n, wall s, msg/s, msg/CPU-s, p50, p95 ms
Result = tuple[float, float, list[float]]  # wall s, CPU s, latencies


class AckSink:
    """A core that only acknowledges: every message gets its reaction."""

    def __init__(self) -> None:
        self.adapter: TelegramAdapter | None = None

    async def on_message(self, msg: InboundMessage) -> None:
        assert self.adapter is not None
        await self.adapter.react(msg.chat_id, msg.message_id, "✅")

    async def on_press(self, press: ButtonPress) -> str:
        return ""


def latencies(api: FakeBotApi, arrived: dict[int, float]) -> list[float]:
    acked = {int(c.params["message_id"]): c.at for c in api.calls_to("setMessageReaction")}
    return [acked[mid] - t for mid, t in arrived.items() if mid in acked]


async def play(api: FakeBotApi, n: int, rate: float | None) -> Result:
    """Inject ``n`` orders (all at once, or ``rate`` a second); wait for every reaction."""
    group = Chat(api, CHAT_ID)
    arrived: dict[int, float] = {}
    cpu = time.process_time()
    started = time.perf_counter()
    for k, who in enumerate(residents(n)):
        if rate is not None:
            await asyncio.sleep(max(0.0, started + k / rate - time.perf_counter()))
        mid = group.say(who, f"葡萄{k % 3 + 1}")
        arrived[mid] = time.perf_counter()
    await api.wait_for(lambda: len(api.calls_to("setMessageReaction")) >= n, timeout=600)
    wall = max(c.at for c in api.calls_to("setMessageReaction")) - started
    return wall, time.process_time() - cpu, latencies(api, arrived)


async def scenario(n: int, *, full: bool, rate: float | None = None, limiter: bool = False) -> Result:
    api = await FakeBotApi().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if full:
                repo = open_repository(f"sqlite:///{os.path.join(tmp, 'tuan.db')}")
                stack = build(repo, api.base_url, api.token, rate_limit=limiter)
                start: Callable[[], Awaitable[object]] = stack.start
                stop: Callable[[], Awaitable[None]] = stack.stop
            else:
                sink = AckSink()
                adapter = sink.adapter = TelegramAdapter(config_for(api))
                start, stop = (lambda: adapter.start(sink)), adapter.stop
            await start()
            try:
                return await play(api, n, rate)
            finally:
                await stop()
                if full:
                    repo.close()
    finally:
        await api.stop()


def row(name: str, n: int, result: Result) -> Row:
    wall, cpu, lat = result
    cuts = statistics.quantiles(lat, n=100)
    return name, n, wall, n / wall, n / cpu, cuts[49] * 1000, cuts[94] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    burst, steady, limited = (300, 200, 90) if quick else (2000, 1000, 300)
    load = os.getloadavg()
    rows = [
        row("(a) burst, full pipeline (SQLite)", burst, asyncio.run(scenario(burst, full=True))),
        row("(b) burst, adapter + ack-only sink", burst, asyncio.run(scenario(burst, full=False))),
        row("(c) steady 100/s, full pipeline", steady, asyncio.run(scenario(steady, full=True, rate=100))),
        row("(d) burst, flood limiter on (30/s)", limited, asyncio.run(scenario(limited, full=True, limiter=True))),
    ]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"python-telegram-bot {telegram.__version__}, {platform.system()} {platform.release()}")
    print(f"load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    print()
    print("| scenario | messages | wall s | msg/s | msg per CPU-s | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, n, wall, rate, per_cpu, p50, p95 in rows:
        print(f"| {name} | {n:,} | {wall:.2f} | {rate:,.0f} | {per_cpu:,.0f} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
