"""A group's chat key that changes under an open round takes the round along (storage/platform.py):
left behind, the round would stay in the old chat and the group's new chat would have none
(orders refused, /close finds nothing). Both ways a chat key changes: `tuan group edit --chat`
and tuan.toml's import (a Telegram group upgraded to a supergroup gets a new chat id)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.services.orders import OrderService
from storage.platform import SqlPlatformStore
from storage.sql import open_repository
from tests.test_retirement import CONFIG, ok


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def _where(url: str, group_id: str, old: str) -> tuple[str, str | None, str | None]:
    """(the group's chat key, the id of the open round of that chat, the id of the old chat's round)."""
    repo = open_repository(url)
    try:
        key = SqlPlatformStore(repo.engine).load().groups[group_id].chat_key
        service = OrderService(repo)
        now, before = service.deal_of(key), service.deal_of(old)
        return key, now.id if now is not None and now.status == "open" else None, before.id if before else None
    finally:
        repo.close()


def test_group_edit_chat_takes_the_open_round_to_the_new_chat(capsys: Any, tmp_path: Path, store_url: str) -> None:
    config = str(tmp_path / "tuan.toml")
    Path(config).write_text(CONFIG.format(url=store_url), encoding="utf-8")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥")
    ok(capsys, config, "group", "add", "lake", "--platform", "fake", "--chat", "old", "--leaders", "li")
    ok(capsys, config, "product", "add", "1", "--name", "葡萄", "--price", "10")
    deal_id = ok(capsys, config, "deal", "open", "--group", "lake", "--products", "1").split()[2]
    ok(capsys, config, "group", "edit", "lake", "--chat", "new")
    assert _where(store_url, "lake", "fake:old") == ("fake:new", deal_id, None)
    assert deal_id in ok(capsys, config, "deals", "--group", "lake")
    # a group without an open round just moves
    ok(capsys, config, "group", "add", "hill", "--platform", "fake", "--chat", "h1", "--leaders", "li")
    ok(capsys, config, "group", "edit", "hill", "--chat", "h2")
    assert _where(store_url, "hill", "fake:h1") == ("fake:h2", None, None)


def test_a_tuan_toml_chat_change_takes_the_open_round_along(capsys: Any, tmp_path: Path, store_url: str) -> None:
    config = tmp_path / "tuan.toml"
    config.write_text(CONFIG.format(url=store_url), encoding="utf-8")
    ok(capsys, str(config), "product", "add", "1", "--name", "葡萄", "--price", "10")
    deal_id = ok(capsys, str(config), "deal", "open", "--group", "home", "--products", "1").split()[2]
    config.write_text(CONFIG.format(url=store_url).replace('chat = "home"', 'chat = "home2"'), encoding="utf-8")
    ok(capsys, str(config), "product", "list")  # a command that imports tuan.toml first
    assert _where(store_url, "home", "fake:home") == ("fake:home2", deal_id, None)


def test_a_copy_of_a_round_opens_in_its_group_s_chat_now(capsys: Any, tmp_path: Path, store_url: str) -> None:
    """lake's round in chat a closes; lake moves to b and hill takes a. `tuan deal copy` opens the
    copy for lake, in b — not in a, hill's chat now (its orders would be settled to hill)."""
    config = str(tmp_path / "tuan.toml")
    Path(config).write_text(CONFIG.format(url=store_url), encoding="utf-8")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥")
    ok(capsys, config, "group", "add", "lake", "--platform", "fake", "--chat", "a", "--leaders", "li")
    ok(capsys, config, "product", "add", "1", "--name", "葡萄", "--price", "10")
    deal_id = ok(capsys, config, "deal", "open", "--group", "lake", "--products", "1").split()[2]
    repo = open_repository(store_url)
    try:
        OrderService(repo).close_deal(deal_id)
    finally:
        repo.close()
    ok(capsys, config, "group", "edit", "lake", "--chat", "b")
    ok(capsys, config, "group", "add", "hill", "--platform", "fake", "--chat", "a", "--leaders", "li")
    new_id = ok(capsys, config, "deal", "copy", deal_id).split()[1].rstrip(":")
    assert _where(store_url, "lake", "fake:a") == ("fake:b", new_id, deal_id)
