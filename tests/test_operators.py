"""`tuan leader|group|schedule`: operators' changes, their audit rows, the two-tier rule, and the
schedules the bot runs from the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from bot.cli import main
from bot.runtime import read_config
from bot.usecases.schedules import scheduled_jobs
from storage.models import AUDIT
from storage.operators import SqlOperatorStore

CONFIG = """
[store]
url = "{url}"
[console]
chat = "console"
[[groups]]
id = "home"
platform = "console"
chat = "console"
title = "幸福里"
leaders = ["团长"]
[[schedules]]
group = "home"
kind = "reminder"
time = "20:00"
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    path = tmp_path / "tuan.toml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return str(path), url


def tuan(capsys: Any, config: str, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--config", config])
    out, err = capsys.readouterr()
    return code, out, err


def audit_rows(url: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [(r.action, r.detail) for r in conn.execute(select(AUDIT).order_by(AUDIT.c.id))]
    finally:
        engine.dispose()


def test_leaders_groups_schedules_with_tiers_and_audit(capsys: Any, setup: tuple[str, str]) -> None:
    cfg, url = setup
    assert tuan(capsys, cfg, "leader", "add", "wang", "--name", "王姐", "--account", "telegram:111",
                "--groups", "home", "--rate", "8%", "--upline-share", "0.1")[0] == 0
    assert tuan(capsys, cfg, "group", "add", "park", "--platform", "console", "--chat", "park", "--title", "阳光",
                "--points", "东门,西门")[0] == 0
    code, out, err = tuan(capsys, cfg, "leader", "add", "li", "--name", "李哥", "--upline", "wang",
                          "--rate", "0.05", "--groups", "park")
    assert (code, err) == (0, "") and "upline wang" in out
    # a third tier: li's upline has none, but li already has an upline, so li cannot recruit
    code, out, err = tuan(capsys, cfg, "leader", "add", "zhao", "--name", "赵", "--upline", "li")
    assert code == 2 and out == "" and err == (
        "tuan: li cannot recruit: their upline is wang, and a third tier is not allowed (at most two tiers)\n")
    code, _, err = tuan(capsys, cfg, "leader", "edit", "wang", "--upline", "li")
    assert code == 2 and "cycle" in err
    assert tuan(capsys, cfg, "leader", "add", "sun", "--name", "孙")[0] == 0
    code, _, err = tuan(capsys, cfg, "leader", "edit", "wang", "--upline", "sun")
    assert code == 2 and err == ("tuan: wang cannot have an upline: they recruited li, which would make a "
                                 "third tier (at most two tiers)\n")
    for args, says in [
        (("leader", "edit", "nobody", "--rate", "7"), "tuan: no leader 'nobody' (tuan leader list)\n"),
        (("leader", "edit", "wang", "--role", "operator"),
         "tuan: wang recruited li and cannot become an operator (an upline must be a leader)\n"),
        (("leader", "edit", "wang", "--rate", "1.5"), "tuan: --rate '1.5' must be at least 0 and below 1 (100%)\n"),
        (("leader", "add", "wang", "--name", "x"), "tuan: leader wang exists already (tuan leader edit wang)\n"),
        (("leader", "add", "x1", "--name", "x", "--groups", "nope"), "tuan: no group 'nope' (groups: home, park)\n"),
        (("group", "edit", "home", "--title", "x"),
         "tuan: group home comes from tuan.toml: change it there (here: --leaders)\n"),
        (("group", "add", "p2", "--platform", "console", "--chat", "park"), "tuan: chat console:park is group park already\n"),
        (("schedule", "add", "--group", "park", "--kind", "cutoff", "--time", "25:00"),
         "tuan: --time '25:00': write \"HH:MM\" or \"HH:MM:SS\"\n"),
        (("schedule", "add", "--group", "park", "--kind", "cutoff", "--cron", "0 21 31 2 *"),
         "tuan: --cron '0 21 31 2 *' is not a valid crontab expression ('0 21 31 2 *' never fires (no month has "
         "that day))\n"),
        (("schedule", "remove", "home:reminder:0_20_*_*_*"),
         "tuan: schedule home:reminder:0_20_*_*_* comes from tuan.toml: remove it there\n"),
    ]:
        code, out, err = tuan(capsys, cfg, *args)
        assert (code, out, err) == (2, "", says), args
    assert tuan(capsys, cfg, "leader", "edit", "console:团长", "--rate", "0.06")[0] == 0  # terms of a tuan.toml leader
    code, _, err = tuan(capsys, cfg, "leader", "edit", "console:团长", "--name", "x")
    assert code == 2 and "comes from tuan.toml" in err
    assert tuan(capsys, cfg, "group", "edit", "park", "--leaders", "li,sun", "--title", "阳光花园")[0] == 0
    code, out, _ = tuan(capsys, cfg, "schedule", "add", "--group", "park", "--kind", "cutoff", "--time", "21:00")
    assert out == "schedule park:cutoff:0_21_*_*_*: added (cutoff of park at '0 21 * * *')\n"
    leaders = {r["id"]: r for r in json.loads(tuan(capsys, cfg, "leader", "list", "--json")[1])}
    assert (leaders["wang"]["rate"], leaders["wang"]["upline_share"], leaders["wang"]["downlines"]) == ("0.08", "0.1", ["li"])
    assert (leaders["li"]["upline"], leaders["li"]["groups"], leaders["sun"]["groups"]) == ("wang", ["park"], ["park"])
    assert leaders["console:团长"]["rate"] == "0.06"
    groups = {g["id"]: g for g in json.loads(tuan(capsys, cfg, "group", "list", "--json")[1])["groups"]}
    assert groups["park"]["title"] == "阳光花园" and groups["park"]["pickup_points"] == ["东门", "西门"]

    audited = audit_rows(url)
    assert audited[:2] == [("config.import", "group home: added (console:console '幸福里')"),
                           ("config.import", "leader console:团长: added (leader, leads home)")]
    actions = [a for a, _ in audited[2:]]
    assert actions == ["schedule.add", "leader.add", "group.add", "leader.add", "leader.add", "leader.edit",
                       "group.edit", "schedule.add"]
    # the bot's jobs: tuan.toml's with its old id, then the one added here
    config = read_config(cfg)
    engine = create_engine(url)
    try:
        jobs = scheduled_jobs(SqlOperatorStore(engine), config, datetime.now(UTC))
    finally:
        engine.dispose()
    assert [(j.id, j.chat_key, j.kind, j.cron) for j in jobs] == [
        ("home:reminder:0_20_*_*_*", "console:console", "reminder", "0 20 * * *"),
        ("park:cutoff:0_21_*_*_*", "console:park", "cutoff", "0 21 * * *")]
    assert tuan(capsys, cfg, "schedule", "remove", "park:cutoff:0_21_*_*_*")[0] == 0
    # tuan.toml without its schedule: the import removes it (audited), the CLI's stay
    Path(cfg).write_text(CONFIG.format(url=url).split("[[schedules]]")[0], encoding="utf-8")
    code, out, _ = tuan(capsys, cfg, "schedule", "list", "--json")
    assert code == 0 and json.loads(out) == []
    assert audit_rows(url)[-1][0] == "schedule.remove"


def test_product_changes_from_the_command_line_are_audited(capsys: Any, setup: tuple[str, str]) -> None:
    cfg, url = setup
    assert tuan(capsys, cfg, "product", "add", "grape", "--name", "巨峰葡萄", "--price", "15.5")[0] == 0
    assert tuan(capsys, cfg, "product", "edit", "grape", "--price", "14")[0] == 0
    assert [a for a, _ in audit_rows(url)][-2:] == ["product.add", "product.edit"]


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_a_store_of_0009_keeps_its_leaders_through_0010(request: pytest.FixtureRequest, engine_name: str) -> None:
    """Migration 0010: leaders keep their rows (no terms), ``schedules`` is new and empty."""
    from sqlalchemy import inspect, text

    from storage.engine import make_engine
    from storage.migrate import SCHEMA_HEAD, current_revision, upgrade

    url = request.getfixturevalue("sqlite_url" if engine_name == "sqlite" else "pg_url")
    engine = make_engine(url)
    try:
        upgrade(engine, "0009")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO leaders (id, name, role, source, created_at) "
                              "VALUES ('wang', '王姐', 'leader', 'cli', CURRENT_TIMESTAMP)"))
        assert "schedules" not in inspect(engine).get_table_names()
        upgrade(engine)
        assert current_revision(engine) == SCHEMA_HEAD
        rows = SqlOperatorStore(engine).load()
        assert rows.platform.leaders["wang"].name == "王姐" and rows.terms == {} and rows.schedules == {}
    finally:
        engine.dispose()
