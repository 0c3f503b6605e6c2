"""Every store command opens the store one way (bot/cli_store.py) and says what went wrong in one
line on stderr, with the same exit status: 2 for a broken configuration or a store that cannot be
opened, 1 for a store that fails in the middle of a command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.cli import main
from bot.cli_store import Failed, one_line
from bot.config import ConfigError
from bot.ports import StoreUnavailable
from bot.usecases.operators import OperatorError

COMMANDS = [  # one of each module's: platform, operators, settle, products, history, leader's day, web
    ["groups"], ["leader", "list"], ["settle", "--from", "2026-11-01", "--to", "2026-11-30"],
    ["product", "variants", "1"], ["deals"], ["marks", "--deal", "x"], ["user", "list"],
]


@pytest.mark.parametrize("content, says", [
    ("[store\n", "not valid TOML"),
    ('[store]\nurl = "postgresql+psycopg://tuan:s3cret-pw@127.0.0.1:1/x"\n', "`store.url` cannot be opened"),
])
def test_a_broken_config_or_a_dead_store_is_one_line_and_status_2(tmp_path: Path, capsys: Any, content: str,
                                                                 says: str) -> None:
    path = tmp_path / "tuan.toml"
    path.write_text(content, encoding="utf-8")
    for args in COMMANDS:
        code = main([*args, "--config", str(path)])
        out, err = capsys.readouterr()
        assert code == 2 and out == "", args
        assert err.startswith("tuan: ") and err.count("\n") == 1 and says in err, (args, err)
        assert "s3cret-pw" not in err


def test_what_a_command_raises_is_said_as_one_line_with_its_status() -> None:
    assert one_line(Failed("no such deal")) == ("no such deal", 2)
    assert one_line(Failed("busy", 1)) == ("busy", 1)
    assert one_line(ConfigError("tuan.toml: bad")) == ("tuan.toml: bad", 2)
    assert one_line(OperatorError("no leader 'x'")) == ("no leader 'x'", 2)
    assert one_line(StoreUnavailable("the database cannot be used\ndetails")) == ("the database cannot be used", 1)
    dead = OperationalError("SELECT 1", {}, Exception("server closed the connection\nunexpectedly"))
    assert one_line(dead) == ("the store failed: server closed the connection", 1)
    assert one_line(KeyError("a bug")) is None  # keeps its traceback
