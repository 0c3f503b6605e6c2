"""Schedules' cron follows crontab(5), not APScheduler 3's Monday-first weekday numbers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.crontab import crontab_checked, crontab_trigger, crontab_weekdays

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 30, 0, 0, tzinfo=TZ)  # 2026-11-30 is a Monday
NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def fire_weekdays(expr: str, days: int = 14) -> list[str]:
    """Weekday names of every fire time in the two weeks from a Monday."""
    trigger = crontab_trigger(expr, TZ)
    out, prev, now = [], None, MONDAY
    end = MONDAY + timedelta(days=days)
    while True:
        nxt = trigger.get_next_fire_time(prev, now)
        if nxt is None or nxt >= end:
            return out
        out.append(NAMES[nxt.weekday()])
        prev, now = nxt, nxt + timedelta(seconds=1)


@pytest.mark.parametrize(("dow", "want"), [
    ("*", NAMES),
    ("0", ["sun"]),
    ("7", ["sun"]),
    ("1", ["mon"]),
    ("6", ["sat"]),
    ("1-5", ["mon", "tue", "wed", "thu", "fri"]),
    ("0-6", NAMES),
    ("1-7", NAMES),
    ("0,6", ["sat", "sun"]),
    ("6,7", ["sat", "sun"]),
    ("5-7", ["fri", "sat", "sun"]),
    ("*/2", ["tue", "thu", "sat", "sun"]),
    ("1-5/2", ["mon", "wed", "fri"]),
    ("mon-fri", ["mon", "tue", "wed", "thu", "fri"]),
    ("SUN", ["sun"]),
    ("sat,sun", ["sat", "sun"]),
    ("1,3,5", ["mon", "wed", "fri"]),
])
def test_every_weekday_form_fires_on_crontab_days(dow: str, want: list[str]) -> None:
    got = fire_weekdays(f"0 20 * * {dow}")
    assert got == [d for d in NAMES if d in want] * 2


def test_weekdays_at_the_right_wall_clock_time() -> None:
    trigger = crontab_trigger("30 21 * * 1-5", TZ)
    first = trigger.get_next_fire_time(None, MONDAY)
    assert first == datetime(2026, 11, 30, 21, 30, tzinfo=TZ)
    saturday = datetime(2026, 12, 5, 0, 0, tzinfo=TZ)
    assert trigger.get_next_fire_time(None, saturday) == datetime(2026, 12, 7, 21, 30, tzinfo=TZ)


def test_day_of_month_or_weekday_as_crontab_says() -> None:
    # crontab(5): "0 9 1 * 1" runs on the 1st of the month AND on every Monday.
    trigger = crontab_trigger("0 9 1 * 1", TZ)
    fires, prev, now = [], None, datetime(2026, 11, 28, tzinfo=TZ)
    for _ in range(4):
        prev = trigger.get_next_fire_time(prev, now)
        fires.append(prev.date().isoformat())
        now = prev + timedelta(seconds=1)
    assert fires == ["2026-11-30", "2026-12-01", "2026-12-07", "2026-12-14"]


def test_macros() -> None:
    assert fire_weekdays("@weekly") == ["sun", "sun"]
    assert len(fire_weekdays("@daily")) == 14


@pytest.mark.parametrize("bad", ["0 20 * *", "0 20 * * 8", "0 20 * * 5-1", "0 20 * * funday", "0 20 * * 1-"])
def test_bad_expressions_are_clear_errors(bad: str) -> None:
    with pytest.raises(ValueError):
        crontab_trigger(bad, TZ)


def test_weekday_field_translation() -> None:
    assert crontab_weekdays("1-5") == "mon,tue,wed,thu,fri"
    assert crontab_weekdays("0") == crontab_weekdays("7") == "sun"


def test_config_schedule_uses_crontab_weekdays(tmp_path) -> None:
    from bot.config import load_config
    from bot.scheduler import BotScheduler, job_specs  # noqa: F401

    cfg = tmp_path / "tuan.toml"
    cfg.write_text(
        '[bot]\ntimezone = "Asia/Shanghai"\n'
        '[[groups]]\nid = "g1"\nplatform = "console"\nchat = "c1"\n'
        '[[schedules]]\ngroup = "g1"\nkind = "reminder"\ncron = "0 20 * * 1-5"\ntext = "x"\n',
        encoding="utf-8",
    )
    config = load_config(cfg)
    (spec,) = job_specs(config)
    trigger = crontab_trigger(spec.cron, config.bot.tz)
    saturday = datetime(2026, 12, 5, 0, 0, tzinfo=TZ)
    assert trigger.get_next_fire_time(None, saturday).weekday() == 0  # Monday, not Saturday


def test_a_second_within_the_minute() -> None:
    at = MONDAY.replace(hour=20, minute=59, second=50)
    assert crontab_trigger("0 21 * * *", TZ, 30).get_next_fire_time(None, at) == MONDAY.replace(hour=21, second=30)
    assert crontab_trigger("0 21 * * *", TZ).get_next_fire_time(None, at) == MONDAY.replace(hour=21)
    both = crontab_trigger("0 21 1 * 1", TZ, 5)  # day of month and weekday: an OrTrigger of two
    assert both.get_next_fire_time(None, at) == MONDAY.replace(hour=21, second=5)


@pytest.mark.parametrize("never", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"])
def test_an_expression_that_never_fires_is_refused(never: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.config import ConfigError, load_config

    assert crontab_trigger(never, TZ).get_next_fire_time(None, datetime(2026, 1, 1, tzinfo=TZ)) is None
    with pytest.raises(ValueError, match="never fires"):
        crontab_checked(never, TZ)
    cfg = tmp_path / "tuan.toml"
    cfg.write_text('[[groups]]\nid = "g1"\nplatform = "console"\nchat = "c1"\n'
                   f'[[schedules]]\ngroup = "g1"\nkind = "reminder"\ncron = "{never}"\ntext = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="never fires"):
        load_config(cfg)


def test_a_rare_but_real_day_is_accepted() -> None:
    leap = crontab_checked("0 0 29 2 *", TZ).get_next_fire_time(None, datetime(2026, 3, 1, tzinfo=TZ))
    assert leap is not None and (leap.year, leap.month, leap.day) == (2028, 2, 29)
