"""Schedules as store data: tuan.toml's ``[[schedules]]`` imported (source "config", their job ids
kept), `tuan schedule add|remove`, and the jobs `tuan run` schedules (:func:`scheduled_jobs`).

Pure functions of :class:`bot.usecases.operators.OperatorRows` returning
:class:`bot.usecases.operators.OperatorChanges` (audit lines included), as the other operator use cases.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.config import AppConfig, schedule_id_base
from bot.usecases.operators import (
    CLI,
    SCHEDULE_KINDS,
    Audited,
    OperatorChanges,
    OperatorError,
    OperatorRows,
    OperatorStore,
    ScheduleRow,
)
from bot.usecases.platform_data import CONFIG

if TYPE_CHECKING:
    from bot.scheduler import JobSpec

log = logging.getLogger(__name__)


def config_schedules(config: AppConfig, now: datetime) -> list[ScheduleRow]:
    """tuan.toml's ``[[schedules]]`` as rows, with the job ids :func:`bot.scheduler.job_specs` gives."""
    from bot.scheduler import job_specs

    return [ScheduleRow(spec.id, s.group, s.kind, s.cron, s.second, s.text, CONFIG, n, now)
            for n, (spec, s) in enumerate(zip(job_specs(config), config.schedules, strict=True))]


def import_schedules(rows: OperatorRows, config: AppConfig, now: datetime) -> OperatorChanges:
    """tuan.toml's schedules into the store: added, changed, and those gone from tuan.toml removed;
    schedules added with `tuan schedule add` are left alone. Idempotent."""
    ch = OperatorChanges()
    wanted = {s.id: s for s in config_schedules(config, now)}
    for sid, was in sorted(rows.schedules.items()):
        if was.source == CONFIG and sid not in wanted:
            ch.schedules_deleted.append(sid)
            ch.audit.append(Audited("schedule.remove", f"schedule {sid}: removed (no longer in {config.source})"))
    for sid, new in wanted.items():
        old = rows.schedules.get(sid)
        if old is None:
            ch.schedules.append(new)
            ch.audit.append(Audited("schedule.add", f"schedule {sid}: added from {config.source}"))
        elif replace(old, created_at=new.created_at) != new:
            ch.schedules.append(replace(new, created_at=old.created_at))
            ch.audit.append(Audited("schedule.edit", f"schedule {sid}: changed in {config.source}"))
    return ch


_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def cron_key(cron: str) -> str:
    """A crontab expression compared with another: single spaces, numbers without leading zeros,
    lower case ("00 07 * * MON" and "0 7 * * mon" are one)."""
    return " ".join(re.sub(r"\d+", lambda m: str(int(m.group(0))), f) for f in cron.lower().split())


def add_schedule(rows: OperatorRows, config: AppConfig, *, group_id: str, kind: str, cron: str | None = None,
                 at: str | None = None, text: str = "", now: datetime) -> OperatorChanges:
    """A new schedule of a group: ``cron`` (crontab) or ``at`` ("HH:MM[:SS]", daily), in the bot's
    time zone. Its id is "<group>:<kind>:<cron>" (with "#n" when taken). Raises :class:`OperatorError`,
    also for a schedule the group has already (same kind, :func:`cron_key`, second and text)."""
    from bot.crontab import crontab_checked

    if group_id not in rows.platform.groups:
        known = ", ".join(sorted(rows.platform.groups)) or "none"
        raise OperatorError(f"no group {group_id!r} (groups: {known})")
    if rows.platform.groups[group_id].retired_at is not None:
        raise OperatorError(f"group {group_id} is retired (tuan group edit {group_id} --active)")
    if kind not in SCHEDULE_KINDS:
        raise OperatorError(f"--kind {kind!r}: one of {', '.join(SCHEDULE_KINDS)}")
    if (cron is None) == (at is None):
        raise OperatorError('give --cron "0 20 * * *" or --time 20:00 (one of them)')
    second = 0
    if at is not None:
        hit = _TIME.fullmatch(at.strip())
        if hit is None:
            raise OperatorError(f'--time {at!r}: write "HH:MM" or "HH:MM:SS"')
        cron, second = f"{int(hit.group(2))} {int(hit.group(1))} * * *", int(hit.group(3) or 0)
    assert cron is not None
    try:
        crontab_checked(cron, config.bot.tz)
    except ValueError as e:
        raise OperatorError(f"--cron {cron!r} is not a valid crontab expression ({e})") from None
    same = next((s for s in sorted(rows.schedules.values(), key=lambda s: s.id)
                 if (s.group_id, s.kind, cron_key(s.cron), s.second, s.text.strip())
                 == (group_id, kind, cron_key(cron), second, text.strip())), None)
    if same is not None:
        raise OperatorError(f"schedule {same.id} does that already (the same {kind} of {group_id} at "
                            f"{same.cron!r}); remove it first or change the time or text")
    base = schedule_id_base(group_id, kind, cron, second)
    sid, n = base, 1
    while sid in rows.schedules:
        n += 1
        sid = f"{base}#{n}"
    position = max((s.position for s in rows.schedules.values()), default=-1) + 1
    row = ScheduleRow(sid, group_id, kind, " ".join(cron.split()), second, text, CLI, position, now)
    ch = OperatorChanges(schedules=[row])
    ch.audit.append(Audited("schedule.add", f"schedule {sid}: added ({kind} of {group_id} at {row.cron!r}"
                                            + (f" +{second}s" if second else "") + ")"))
    return ch


def remove_schedule(rows: OperatorRows, schedule_id: str) -> OperatorChanges:
    """Remove a schedule added here; one from tuan.toml is removed there. Raises :class:`OperatorError`."""
    old = rows.schedules.get(schedule_id)
    if old is None:
        raise OperatorError(f"no schedule {schedule_id!r} (tuan schedule list)")
    if old.source == CONFIG:
        raise OperatorError(f"schedule {schedule_id} comes from tuan.toml: remove it there")
    ch = OperatorChanges(schedules_deleted=[schedule_id])
    ch.audit.append(Audited("schedule.remove", f"schedule {schedule_id}: removed ({old.kind} of {old.group_id})"))
    return ch


def scheduled_jobs(store: OperatorStore, config: AppConfig, now: datetime) -> list[JobSpec]:
    """The scheduler's jobs at start-up: tuan.toml's schedules imported into the store (each change
    audited, actor "config"), then every schedule of the store whose group the store knows and
    has not retired, in order. A schedule of tuan.toml keeps the job id it always had (its sent marks still count).
    Raises :class:`bot.ports.StoreUnavailable` when the store cannot serve."""
    from bot.scheduler import JobSpec

    store.update(lambda rows: import_schedules(rows, config, now), actor=("config", config.source))
    rows = store.load()
    specs = []
    for s in sorted(rows.schedules.values(), key=lambda s: (s.position, s.id)):
        group = rows.platform.groups.get(s.group_id)
        if group is None:
            log.warning("schedule %s: no group %s in the store; not scheduled", s.id, s.group_id)
            continue
        if group.retired_at is not None:
            log.info("schedule %s: group %s is retired; not scheduled", s.id, s.group_id)
            continue
        specs.append(JobSpec(s.id, group.chat_key, s.kind, s.cron, s.text, s.second))
    return specs
