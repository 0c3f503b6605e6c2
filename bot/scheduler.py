"""Scheduled posts (deal card, reminder, cutoff, pickup notice) on APScheduler 3 in the bot's event loop.

Jobs are plain async functions of (core, chat key, text). Each run claims a "sent" mark for its
(job id, slot) first, so a slot is posted at most once even if the job fires again (a restart
inside the misfire grace time, a second scheduler). Marks are kept by a :class:`SentMarks`:
:class:`StoreMarks` in the store (what ``tuan run`` uses), :class:`MemoryMarks` for tests and the demo.

Several workers on one store: given a ``lease`` (:mod:`storage.election`), the scheduler runs its
jobs only while this worker holds it (one worker at a time, elected by :class:`bot.election.Elector`).
A follower's APScheduler is started paused; when it takes over, a slot that came while nobody led
runs then if it is within the misfire grace time (``coalesce``: once, however many were missed),
and the sent marks keep it from running twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from apscheduler.triggers.base import BaseTrigger

from bot import commands
from bot import messages as m
from bot.config import AppConfig, schedule_id_base
from bot.context import Core
from bot.crontab import crontab_trigger
from bot.election import DEFAULT_RETRY_SECONDS, Elector, Lease
from bot.ports import Repository
from bot.render import households

log = logging.getLogger(__name__)

GRACE_SECONDS = 60


class SentMarks(Protocol):
    def claim(self, key: str) -> bool:
        """Record ``key`` as sent; False when it already was (then the job must not post)."""
        ...


class MemoryMarks:
    def __init__(self) -> None:
        self.keys: set[str] = set()

    def claim(self, key: str) -> bool:
        if key in self.keys:
            return False
        self.keys.add(key)
        return True


class StoreMarks:
    """Marks in the store (``sent_marks``): a slot goes out once across restarts and processes."""

    def __init__(self, repo: Repository, clock: Callable[[], datetime]) -> None:
        self.repo, self.clock = repo, clock

    def claim(self, key: str) -> bool:
        return self.repo.claim_mark(key, self.clock())


@dataclass(frozen=True, slots=True)
class JobSpec:
    id: str
    chat_key: str
    kind: str
    cron: str
    text: str = ""
    second: int = 0  # within the minute


def job_specs(config: AppConfig) -> list[JobSpec]:
    """One job per ``[[schedules]]`` entry, with an id that stays the same across restarts."""
    specs: list[JobSpec] = []
    for s in config.schedules:
        group = config.group(s.group)
        assert group is not None  # checked when the config was read
        base = schedule_id_base(s.group, s.kind, s.cron, s.second)
        job_id, n = base, 1
        while any(j.id == job_id for j in specs):
            n += 1
            job_id = f"{base}#{n}"
        specs.append(JobSpec(job_id, group.chat_key, s.kind, s.cron, s.text, s.second))
    return specs


async def deal_card_job(core: Core, chat_key: str, text: str) -> bool:
    if text:
        await core.send(chat_key, text)
    return await commands.post_deal_card(core, chat_key)


async def reminder_job(core: Core, chat_key: str, text: str) -> bool:
    async with core.lock:
        current = core.current(chat_key)
        if current is None or current[3]:
            return False
        count = len(households(core.service.tally(current[0], chat_key), current[1]))
    await core.send(chat_key, f"{text or m.REMINDER_DEFAULT}\n{m.REMINDER_COUNT.format(n=count)}")
    return True


async def cutoff_job(core: Core, chat_key: str, text: str) -> bool:
    closed = await commands.close_deal(core, chat_key, by=("scheduler", "定时截单"))
    if closed and text:
        await core.send(chat_key, text)
    return closed


async def pickup_job(core: Core, chat_key: str, text: str) -> bool:
    return await commands.post_pickup(core, chat_key, header=text or m.PICKUP_DEFAULT)


async def unpicked_job(core: Core, chat_key: str, text: str) -> bool:
    from bot.pickup_commands import unpicked_reminder

    return await unpicked_reminder(core, chat_key, text)


async def purchase_job(core: Core, chat_key: str, text: str) -> bool:
    from bot.purchase_job import send_purchase_order

    return await send_purchase_order(core, chat_key, text)


JOBS: dict[str, Callable[[Core, str, str], Awaitable[bool]]] = {
    "deal_card": deal_card_job, "reminder": reminder_job, "cutoff": cutoff_job, "pickup": pickup_job,
    "unpicked": unpicked_job, "purchase": purchase_job,
}


def slot_of(trigger: BaseTrigger, now: datetime, grace: float) -> datetime:
    """The scheduled time this run belongs to: the first fire time at or after ``now - grace``."""
    slot = trigger.get_next_fire_time(None, now - timedelta(seconds=grace))
    return slot if slot is not None and slot <= now else now  # fired by hand off its schedule


class BotScheduler:
    """The APScheduler 3 ``AsyncIOScheduler`` with our jobs; ``fire`` runs one now (tests, the demo).

    Without ``lease`` the jobs run from :meth:`start` on (one process). With one, they run only
    while the lease is held: a :class:`bot.election.Elector` tries it every ``retry`` seconds and
    pauses the scheduler when it is lost (a job already running finishes: its slot is claimed).
    """

    def __init__(self, core: Core, specs: list[JobSpec], *, marks: SentMarks | None = None,
                 grace: float = GRACE_SECONDS, lease: Lease | None = None,
                 retry: float = DEFAULT_RETRY_SECONDS) -> None:
        self.core, self.marks, self.grace = core, marks or MemoryMarks(), grace
        tz = core.config.bot.tz
        self.specs = {s.id: s for s in specs}
        self.triggers = {s.id: crontab_trigger(s.cron, tz, s.second) for s in specs}
        self.scheduler = AsyncIOScheduler(
            timezone=tz, job_defaults={"coalesce": True, "misfire_grace_time": int(grace), "max_instances": 1},
        )
        for s in specs:
            self.scheduler.add_job(self.fire, self.triggers[s.id], args=[s.id], id=s.id, name=s.id,
                                   replace_existing=True)
        self._running: set[asyncio.Task[bool]] = set()
        self.elector = None if lease is None else Elector(
            lease, on_elected=self._lead, on_deposed=self._follow, retry=retry, role="scheduler")

    @property
    def leading(self) -> bool:
        """True while this scheduler's jobs run (always, without a lease, once started)."""
        return self.scheduler.state == STATE_RUNNING

    def start(self) -> None:
        """Start the scheduler on the running loop (paused until elected, when there is a lease)."""
        self.scheduler.start(paused=self.elector is not None)
        if self.elector is not None:
            self.elector.start()

    def _lead(self) -> None:
        """Elected: run the jobs, first the slots that came within the grace time while nobody led.

        A follower's paused APScheduler still has those slots as its jobs' next run times; a worker
        that started after one (or became leader long after starting) gets it back here. Either way
        the sent marks skip a slot the former leader posted.
        """
        since = datetime.now(self.scheduler.timezone) - timedelta(seconds=self.grace)
        for job in self.scheduler.get_jobs():
            # the first slot that still counts: a missed one runs at the resume, a later one when due;
            # older ones are dropped here (APScheduler would only log each as missed)
            first = self.triggers[job.id].get_next_fire_time(None, since)
            if first is not None:
                job.modify(next_run_time=first)
        if self.scheduler.state == STATE_PAUSED:
            self.scheduler.resume()  # slots within the grace time run now (coalesced), the rest when due

    def _follow(self) -> None:
        if self.scheduler.state == STATE_RUNNING:
            self.scheduler.pause()

    async def fire(self, job_id: str) -> bool:
        """Run a job for the current slot unless that slot was already posted; True when it posted."""
        task = asyncio.create_task(self._run(job_id))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def _run(self, job_id: str) -> bool:
        spec = self.specs[job_id]
        slot = slot_of(self.triggers[job_id], self.core.now(), self.grace)
        if not self.marks.claim(f"{job_id}@{slot.isoformat()}"):
            log.info("%s already ran for %s", job_id, slot)
            return False
        try:
            return await JOBS[spec.kind](self.core, spec.chat_key, spec.text)
        except Exception:
            log.exception("scheduled job %s failed", job_id)
            return False

    async def stop(self) -> None:
        """Stop firing, let running jobs finish, shut the scheduler down, give up the lease."""
        if self.elector is not None:
            await self.elector.halt()
        if self.scheduler.running:
            self.scheduler.pause()
        await asyncio.gather(*self._running, return_exceptions=True)
        if self.elector is not None:
            await self.elector.release()  # only now: a successor cannot overlap a job of ours
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
