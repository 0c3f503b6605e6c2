"""Breaker 7: a group followed across a chat key change (`group_former_chats`, migration 0018) in the
settlement and statistics, but not on the command line's `--group` (bot/usecases/history.py
chats_named gives the current chat key only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_retirement import CONFIG, ok


def test_deals_of_a_group_include_its_rounds_in_a_former_chat(capsys: Any, tmp_path: Path, sqlite_url: str) -> None:
    config = str(tmp_path / "tuan.toml")
    Path(config).write_text(CONFIG.format(url=sqlite_url), encoding="utf-8")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥")
    ok(capsys, config, "group", "add", "lake", "--platform", "fake", "--chat", "old", "--leaders", "li")
    ok(capsys, config, "product", "add", "1", "--name", "葡萄", "--price", "10")
    opened = ok(capsys, config, "deal", "open", "--group", "lake", "--products", "1")
    deal_id = opened.split()[2]
    ok(capsys, config, "group", "edit", "lake", "--chat", "new")
    assert deal_id in ok(capsys, config, "deals", "--all"), "the round exists"
    assert deal_id in ok(capsys, config, "deals", "--group", "lake", "--all")


def test_moving_a_group_with_an_open_round_is_refused_or_moves_the_round(capsys: Any, tmp_path: Path,
                                                                        sqlite_url: str) -> None:
    from bot.cli import main
    from bot.services.orders import OrderService
    from storage.sql import open_repository

    config = str(tmp_path / "tuan.toml")
    Path(config).write_text(CONFIG.format(url=sqlite_url), encoding="utf-8")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥")
    ok(capsys, config, "group", "add", "lake", "--platform", "fake", "--chat", "old", "--leaders", "li")
    ok(capsys, config, "product", "add", "1", "--name", "葡萄", "--price", "10")
    ok(capsys, config, "deal", "open", "--group", "lake", "--products", "1")
    code = main(["group", "edit", "lake", "--chat", "new", "--config", config])
    capsys.readouterr()
    repo = open_repository(sqlite_url)
    try:
        moved = OrderService(repo).deal_of("fake:new")
        assert code == 2 or (moved is not None and moved.status == "open")
    finally:
        repo.close()
