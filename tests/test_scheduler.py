"""Scheduled jobs post once per slot, through the real AsyncIOScheduler too."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.base import Capabilities
from bot import messages as m
from bot.config import config_from_dict
from bot.leaderday_commands import leaderday_of
from bot.scheduler import BotScheduler, MemoryMarks, StoreMarks, job_specs
from tests.pipeline import Pipeline, config_dict, make_pipeline

TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def scheduled_config() -> dict:
    data = config_dict()
    data["schedules"] = [
        {"group": "home", "kind": "deal_card", "time": "08:00"},
        {"group": "home", "kind": "reminder", "time": "20:00", "text": "⏰ 还有1小时截单"},
        {"group": "home", "kind": "cutoff", "cron": "0 21 * * *"},
        {"group": "home", "kind": "pickup", "time": "21:30"},
    ]
    return data


async def pipeline_at(now: datetime) -> tuple[Pipeline, BotScheduler, Clock]:
    config = config_from_dict(scheduled_config(), "test.toml", env={})
    p = await make_pipeline(Capabilities(reactions=True), config=config)
    clock = Clock(now)
    p.core.clock = clock
    return p, BotScheduler(p.core, job_specs(config)), clock


def test_job_ids_are_stable() -> None:
    config = config_from_dict(scheduled_config(), "test.toml", env={})
    ids = [s.id for s in job_specs(config)]
    assert ids == ["home:deal_card:0_8_*_*_*", "home:reminder:0_20_*_*_*", "home:cutoff:0_21_*_*_*",
                   "home:pickup:30_21_*_*_*"]
    assert ids == [s.id for s in job_specs(config)]


async def test_reminder_posts_once_per_slot() -> None:
    p, sched, clock = await pipeline_at(datetime(2026, 11, 26, 20, 0, 1, tzinfo=TZ))
    await p.chat.push("葡萄2", sender="王姐")
    p.chat.pop_all()
    job = "home:reminder:0_20_*_*_*"
    assert await sched.fire(job) is True
    assert p.chat.pop().text == "⏰ 还有1小时截单\n" + m.REMINDER_COUNT.format(n=1)
    clock.now += timedelta(seconds=30)
    assert await sched.fire(job) is False  # same 20:00 slot
    assert p.chat.pop_all() == []
    clock.now += timedelta(days=1)
    assert await sched.fire(job) is True
    await p.close()


async def test_same_slot_not_posted_again_by_a_restarted_scheduler() -> None:
    p, sched, clock = await pipeline_at(datetime(2026, 11, 26, 8, 0, 5, tzinfo=TZ))
    marks = MemoryMarks()  # what a persistent store would keep across the restart
    first = BotScheduler(p.core, list(sched.specs.values()), marks=marks)
    again = BotScheduler(p.core, list(sched.specs.values()), marks=marks)
    assert await first.fire("home:deal_card:0_8_*_*_*") is True
    assert await again.fire("home:deal_card:0_8_*_*_*") is False
    assert [s.kind for s in p.chat.pop_all()] == ["card"]
    await p.close()


async def test_store_marks_hold_across_a_restart_of_the_store(tmp_path: Path) -> None:
    from storage.sql import open_repository

    p, sched, clock = await pipeline_at(datetime(2026, 11, 26, 20, 0, 5, tzinfo=TZ))
    url = f"sqlite:///{tmp_path / 'marks.db'}"
    repo = open_repository(url)
    first = BotScheduler(p.core, list(sched.specs.values()), marks=StoreMarks(repo, clock))
    assert await first.fire("home:reminder:0_20_*_*_*") is True
    repo.close()
    reopened = open_repository(url)  # the process restarted inside the misfire grace time
    again = BotScheduler(p.core, list(sched.specs.values()), marks=StoreMarks(reopened, clock))
    assert await again.fire("home:reminder:0_20_*_*_*") is False
    assert len(p.chat.pop_all()) == 1
    clock.now += timedelta(days=1)
    assert await again.fire("home:reminder:0_20_*_*_*") is True
    reopened.close()
    await p.close()


async def test_cutoff_closes_the_deal_and_posts_the_final_tally() -> None:
    p, sched, clock = await pipeline_at(datetime(2026, 11, 26, 21, 0, 0, tzinfo=TZ))
    await p.chat.push("葡萄2", sender="王姐")
    p.chat.pop_all()
    assert await sched.fire("home:cutoff:0_21_*_*_*") is True
    final = p.chat.pop().text
    assert final.startswith(m.CLOSED) and "2盒" in final
    deal = p.core.service.deal_of("fake:g1")
    assert deal is not None and deal.status == "closed"
    day = leaderday_of(p.core)
    assert day is not None
    assert [(r["action"], r["actor_id"], r["chat_key"]) for r in day.audit(deal.id)] == [
        ("close", "scheduler", "fake:g1")]  # the cutoff is recorded, committed with the close
    await p.chat.push("葡萄1", sender="阿强")
    assert p.chat.pop().text == m.REFUSED_AFTER_CUTOFF
    clock.now += timedelta(minutes=30)
    assert await sched.fire("home:pickup:30_21_*_*_*") is True
    assert "王姐:葡萄2盒 ¥59.80" in p.chat.pop().text
    clock.now = clock.now.replace(day=27, hour=8, minute=0)
    assert await sched.fire("home:deal_card:0_8_*_*_*") is True  # a new round opens
    assert p.chat.pop().kind == "card"
    deal = p.core.service.deal_of("fake:g1")
    assert deal is not None and deal.status == "open"
    await p.close()


async def test_the_real_scheduler_fires_a_job_once() -> None:
    p, sched, clock = await pipeline_at(datetime(2026, 11, 26, 20, 0, 2, tzinfo=TZ))
    job = "home:reminder:0_20_*_*_*"
    sched.start()
    for _ in range(2):  # the same slot twice (e.g. a second scheduler): one post
        sched.scheduler.modify_job(job, next_run_time=datetime.now(TZ))
        for _ in range(100):
            await asyncio.sleep(0.01)
            if not sched._running and sched.scheduler.get_job(job).next_run_time > datetime.now(TZ):
                break
    await sched.stop()
    assert [s.text.splitlines()[0] for s in p.chat.pop_all()] == ["⏰ 还有1小时截单"]
    assert not sched.scheduler.running
    await p.close()
