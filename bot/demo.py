"""`tuan demo`: a scripted day of one group, in accelerated time, through the real pipeline.

Script lines are typed into the console adapter (as a person would), so they go console →
dispatcher → OrderService → store; the scheduled jobs (deal card, reminder, cutoff, pickup)
are fired through the scheduler's own job runner at their times on the demo's clock. The night
after the cutoff is skipped; the next afternoon (arrival, verifications, who has not picked up)
plays at the same speed.

A reader that stops early (``tuan demo | head``) ends the day: the console sees its output closed
(:attr:`adapters.console.ConsoleAdapter.reader_gone`), the demo shuts down as at the end of the
script and :func:`play` raises :class:`BrokenPipeError` (``tuan`` exits 141: bot/cli.py ``main``).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time as walltime
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from adapters.console import ConsoleAdapter, LineSource, format_said, print_line
from bot import messages as m
from bot.cli_run import DEFAULT_SPEED  # the CLI's default: `tuan --help` does not import the demo
from bot.config import AppConfig, ConfigError, StoreConfig, config_from_dict
from bot.context import Core
from bot.demo_script import Script, build_script, demo_config
from bot.dispatch import Dispatcher
from bot.runtime import open_store
from bot.scheduler import BotScheduler, job_specs
from bot.services.orders import OrderService


class SimClock:
    """The demo's time: it jumps to each event's time of day."""

    def __init__(self, day: date, config: AppConfig) -> None:
        self.day, self.tz = day, config.bot.tz
        self.now = datetime.combine(day, time(7, 59), self.tz)

    def __call__(self) -> datetime:
        return self.now

    def at(self, hm: tuple[int, int], day: int = 0) -> datetime:
        """(hour, minute) of the demo's day, or of ``day`` days later."""
        return datetime.combine(self.day + timedelta(days=day), time(*hm), self.tz)


@dataclass(frozen=True, slots=True)
class DemoResult:
    script: Script
    got: dict[str, dict[str, int]]  # resident → item code → qty, from the store
    messages: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.got == self.script.expected()


def _lines(script: Script, clock: SimClock, speed: float, sched: BotScheduler, code_of: Callable[[str], Awaitable[str]],
           write: Callable[[str], None], counter: list[int]) -> LineSource:
    events = iter(script.events)
    job_ids = {s.kind: s.id for s in sched.specs.values()}
    day = [0]

    async def next_line() -> str | None:
        for event in events:
            when = clock.at(event.at, event.day)
            if event.day != day[0]:  # the night is skipped, not slept through
                day[0] = event.day
                write(m.DEMO_NEXT_DAY)
            else:
                await asyncio.sleep(max(0.0, (when - clock.now).total_seconds() / speed))
            clock.now = when
            if event.job:
                write(f"[{when:%H:%M}] ⏱ {m.DEMO_JOB[event.job]}")
                await sched.fire(job_ids[event.job])
                continue
            counter[0] += 1
            text = event.text.replace("{code}", await code_of(event.code_of)) if event.code_of else event.text
            write(f"[{when:%H:%M}] {format_said(event.who, text)}")
            return f"{event.who}: {_escape(text)}"
        return None

    return next_line


def _escape(text: str) -> str:
    return text.replace("\n", "\\n")


def _code_reader(core: Core, chat_key: str) -> Callable[[str], Awaitable[str]]:
    """A resident's pickup code in the group's current deal, as their /my shows it ("" when none)."""
    from adapters.console import sender_id_of
    from bot.leaderday_commands import leaderday_of

    async def code_of(who: str) -> str:
        day = leaderday_of(core)
        async with core.lock:
            current = core.current(chat_key)
            mine = day.mine(current[0], chat_key, sender_id_of(who)) if day and current else None
        return mine[1].pickup_code if mine else ""

    return code_of


async def play(*, speed: float = DEFAULT_SPEED, seed: int = 2026, db_url: str | None = None,
               write: Callable[[str], None] = print_line) -> DemoResult:
    """Play the day (see the module); the residents' orders as the store has them at the end.

    Raises :class:`BrokenPipeError` once the demo has shut down when ``write`` found its reader gone.
    """
    started = walltime.monotonic()
    with tempfile.TemporaryDirectory(prefix="tuan-demo-") as tmp:
        config = config_from_dict(demo_config(), "<demo>", env={})
        config = replace(config, store=StoreConfig(url=db_url or f"sqlite:///{tmp}/demo.db"))
        script = build_script(seed)
        clock = SimClock(datetime.now(config.bot.tz).date(), config)
        repo = open_store(config)
        try:
            core = Core(service=OrderService(repo), config=config, clock=clock)
            async with core.lock:
                core.open_configured_deals()
            sched = BotScheduler(core, job_specs(config))
            done, counter = asyncio.Event(), [0]
            reader = _code_reader(core, config.groups[0].chat_key)
            console = ConsoleAdapter(config.console, lines=_lines(script, clock, speed, sched, reader, write, counter),
                                     write=write, clock=clock, on_eof=done.set, echo=False,
                                     banner=False)
            core.adapters[console.name] = console
            dispatcher = Dispatcher(core)
            write(m.DEMO_TITLE.format(title=config.deals[0].title, speed=speed))
            await console.start(dispatcher)
            await done.wait()
            await console.stop()
            await dispatcher.drain()
            await sched.stop()
            if console.reader_gone:
                raise BrokenPipeError("the demo's reader went away")
            deal = core.service.deal_of(config.groups[0].chat_key)
            got: dict[str, dict[str, int]] = {}
            for row in core.service.tally(deal.id).rows if deal else ():
                mine = got.setdefault(row.sender_name, {})
                mine[row.item_code] = mine.get(row.item_code, 0) + row.qty
        finally:
            repo.close()
    got = {who: dict(sorted(items.items())) for who, items in got.items()}
    return DemoResult(script, got, counter[0], walltime.monotonic() - started)


def main(speed: float = DEFAULT_SPEED, seed: int = 2026, db_url: str | None = None) -> int:
    if speed <= 0:
        print("tuan: --speed must be greater than 0", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(play(speed=speed, seed=seed, db_url=db_url))
    except ConfigError as e:
        print(f"tuan: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(m.DEMO_DONE.format(residents=len(result.script.residents()), messages=result.messages,
                             seconds=result.seconds))
    if not result.ok:
        print(m.DEMO_MISMATCH, file=sys.stderr)
        print(f"expected {result.script.expected()}\ngot      {result.got}", file=sys.stderr)
        return 1
    print(m.DEMO_MATCH)
    return 0
