"""Breaker 8: settlement by leadership history (migration 0019, storage/leadership.py).

Checked by hand in Decimal: 葡萄 10 元/盒; 张三 葡萄2 = 20 元 on a round opened 11-02.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.runtime import import_platform_data, read_config
from bot.services.orders import OrderService
from storage.sql import open_repository
from tests.test_breaker7_settle import _november, _rounds, _setup
from tests.test_retirement import TZ, ok

D = Decimal


def test_a_leader_given_a_leaderless_group_earns_nothing_of_its_earlier_rounds(capsys: Any, tmp_path: Path,
                                                                             sqlite_url: str) -> None:
    """park is added with no leader; round 1 (11-02, 20 元) opens led by no one. wang (8%) is then
    given park: November owes no one anything (a deal no leader led earns no one), not wang 1.60."""
    config = _setup(tmp_path, sqlite_url)
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--rate", "8%")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park")
    repo = open_repository(sqlite_url)
    try:
        service = OrderService(repo)
        _rounds(service, [(datetime(2026, 11, 2, 9, tzinfo=TZ), "张三", "张三 葡萄2")])
        assert _november(service, config) == {}
        ok(capsys, config, "group", "edit", "park", "--leaders", "wang")
        assert _november(service, config) == {}
    finally:
        repo.close()


TOML = """
[store]
url = "{url}"
[bot]
timezone = "Asia/Shanghai"
leaders = ["boss"]
[[groups]]
id = "park"
platform = "fake"
chat = "park"
title = "公园"
leaders = [{leaders}]
"""


def test_a_config_leader_dropped_from_tuan_toml_keeps_the_shared_past(capsys: Any, tmp_path: Path,
                                                                   sqlite_url: str) -> None:
    """park is led by 王姐 and 李哥 (tuan.toml, 10% each); round 1 (11-02, 20 元): 1.00 each. 李哥 is
    dropped from tuan.toml and the bot restarts (import): 王姐 is still owed 1.00, not 2.00."""
    path = tmp_path / "tuan.toml"
    path.write_text(TOML.format(url=sqlite_url, leaders='"王姐", "李哥"'), encoding="utf-8")
    config = str(path)
    repo = open_repository(sqlite_url)
    try:
        import_platform_data(repo, read_config(config))
        ok(capsys, config, "leader", "edit", "fake:王姐", "--rate", "10%")
        ok(capsys, config, "leader", "edit", "fake:李哥", "--rate", "10%")
        service = OrderService(repo)
        _rounds(service, [(datetime(2026, 11, 2, 9, tzinfo=TZ), "张三", "张三 葡萄2")])
        assert _november(service, config) == {"fake:王姐": D("1.00"), "fake:李哥": D("1.00")}
        path.write_text(TOML.format(url=sqlite_url, leaders='"王姐"'), encoding="utf-8")
        import_platform_data(repo, read_config(config))
        assert _november(service, config).get("fake:王姐") == D("1.00")
    finally:
        repo.close()


CLI_TOML = """
[store]
url = "{url}"
[bot]
timezone = "Asia/Shanghai"
"""


def test_a_group_whose_chat_tuan_toml_takes_keeps_its_past_rounds(capsys: Any, tmp_path: Path,
                                                                  sqlite_url: str) -> None:
    """old (CLI, chat fake:park) is led by wang (8%); round 1 (11-02, 20 元) runs there: wang 1.60.
    tuan.toml then names group park, chat park, led by 李哥 (10%): old is retired without a chat
    (not deleted), and its round stays wang's: November owes wang 1.60 and 李哥 nothing."""
    path = tmp_path / "tuan.toml"
    path.write_text(CLI_TOML.format(url=sqlite_url), encoding="utf-8")
    config = str(path)
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--rate", "8%")
    ok(capsys, config, "group", "add", "old", "--platform", "fake", "--chat", "park", "--leaders", "wang")
    repo = open_repository(sqlite_url)
    try:
        service = OrderService(repo)
        _rounds(service, [(datetime(2026, 11, 2, 9, tzinfo=TZ), "张三", "张三 葡萄2")])
        assert _november(service, config) == {"wang": D("1.60")}
        path.write_text(TOML.format(url=sqlite_url, leaders='"李哥"'), encoding="utf-8")
        import_platform_data(repo, read_config(config))
        ok(capsys, config, "leader", "edit", "fake:李哥", "--rate", "10%")
        assert _november(service, config).get("wang") == D("1.60")
        assert not _november(service, config).get("fake:李哥")
        out = ok(capsys, config, "group", "list")
        assert "old" in out and "park" in out
    finally:
        repo.close()
