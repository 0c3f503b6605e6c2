"""Breaker 7: a group followed across a chat key change (`group_former_chats`, migration 0018) in the
settlement and statistics, but not on the command line's `--group` (bot/usecases/history.py
chats_named gives the current chat key only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_retirement import CONFIG, ok


@pytest.mark.xfail(strict=True, reason="tuan deals --group G after `group edit G --chat` omits G's rounds in its "
                                       "former chat (an open one included)")
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
