"""Crontab expressions as people write them, turned into APScheduler 3 triggers.

APScheduler 3's ``CronTrigger.from_crontab`` counts weekdays from Monday = 0, so the crontab line
``0 20 * * 1-5`` (Monday to Friday in crontab(5)) fires Tuesday to Saturday there (APScheduler
issue 286, fixed only in 4.x). This module reads the fifth field by crontab(5)'s rules instead:
``0`` and ``7`` are Sunday, ``1-5`` Monday to Friday, names ``sun``…``sat``, lists, ranges and
steps; and, as crontab(5) says, when both day of month and day of week are restricted, the job
runs on either (APScheduler alone would need both).
"""

from __future__ import annotations

import re
from datetime import tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

# crontab(5) numbering: 0 = Sunday … 6 = Saturday, 7 = Sunday again.
_CRON_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# APScheduler 3 day names in its own order (Monday first); names are unambiguous in both.
_APS_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_ITEM = re.compile(r"^(?P<range>\*|(?P<a>[0-9a-z]+)(?:-(?P<b>[0-9a-z]+))?)(?:/(?P<step>\d+))?$")


def _day_number(token: str, expr: str) -> int:
    if token.isdigit():
        n = int(token)
        if 0 <= n <= 7:
            return n
    elif token[:3] in _CRON_DAY_NAMES and len(token) == 3:
        return _CRON_DAY_NAMES.index(token)
    raise ValueError(f"day of week {token!r} in {expr!r} is not 0-7 or sun-sat")


def crontab_weekdays(field: str, expr: str = "") -> str:
    """The crontab(5) day-of-week field ``field`` as an APScheduler 3 ``day_of_week`` value.

    ``"1-5"`` → ``"mon,tue,wed,thu,fri"``, ``"0"`` and ``"7"`` → ``"sun"``, ``"*"`` → ``"*"``,
    ``"*/2"`` → Sunday, Tuesday, Thursday, Saturday. Raises ValueError naming the bad part.
    """
    field = field.strip().lower()
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for item in field.split(","):
        m = _ITEM.match(item)
        if m is None:
            raise ValueError(f"day of week {item!r} in {expr or field!r} is not crontab syntax")
        step = int(m.group("step") or 1)
        if step < 1:
            raise ValueError(f"step 0 in day of week {item!r}")
        if m.group("range") == "*":
            lo, hi = 0, 6
        else:
            lo = _day_number(m.group("a"), expr or field)
            hi = _day_number(m.group("b"), expr or field) if m.group("b") else (lo if m.group("step") is None else 6)
            if hi < lo:
                raise ValueError(f"day-of-week range {item!r} in {expr or field!r} runs backwards")
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return ",".join(name for name in _APS_ORDER if _CRON_DAY_NAMES.index(name) in days)


def crontab_trigger(expr: str, timezone: tzinfo | str, second: int = 0) -> BaseTrigger:
    """A trigger firing exactly when crontab(5) would run ``expr`` (five fields or an ``@daily`` macro).

    Times are wall-clock times in ``timezone``; ``second`` (0-59) delays each run within its minute. Returns a ``CronTrigger``, or an ``OrTrigger`` of
    two when both day of month and day of week are restricted (crontab runs on either).
    Raises ValueError for a malformed expression (the message names the part).
    """
    text = _MACROS.get(expr.strip().lower(), expr)
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"{expr!r} has {len(fields)} fields; crontab needs 5 (minute hour day month weekday)")
    minute, hour, day, month, weekday = fields
    dow = crontab_weekdays(weekday, expr)

    def cron(day_field: str, dow_field: str) -> CronTrigger:
        return CronTrigger(second=second, minute=minute, hour=hour, day=day_field, month=month,
                           day_of_week=dow_field, timezone=timezone)

    if day not in ("*", "?") and weekday not in ("*", "?"):
        return OrTrigger([cron(day, "*"), cron("*", dow)])
    return cron(day, dow)


def crontab_checked(expr: str, timezone: tzinfo | str, second: int = 0) -> BaseTrigger:
    """:func:`crontab_trigger`, refusing an expression that never fires (``0 0 31 2 *``: no
    February has a 31st; crontab(5) accepts it and the job silently never runs).

    Raises ValueError for a malformed expression or one with no time to fire from now on (APScheduler
    searches the calendar: about 0.1 s for an impossible date).
    """
    from datetime import UTC, datetime

    trigger = crontab_trigger(expr, timezone, second)
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        raise ValueError(f"{expr!r} never fires (no month has that day)")
    return trigger
