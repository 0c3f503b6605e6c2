"""`tuan` start-up imports only what each subcommand needs (issue 11 item 6)."""

from __future__ import annotations

import subprocess
import sys

from alembic.script import ScriptDirectory

from storage.migrate import SCHEMA_HEAD, alembic_config


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True, timeout=60)
    return set(out.stdout.split())


def test_schema_head_names_the_newest_migration() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD


def test_the_argument_parser_imports_no_runtime() -> None:
    mods = _modules_after("import bot.cli\nbot.cli.build_parser().parse_args(['replay', 'x.jsonl'])")
    for heavy in ("prompt_toolkit", "apscheduler", "bot.demo", "bot.runtime", "alembic", "sqlalchemy", "jieba"):
        assert heavy not in mods, heavy


def test_an_up_to_date_store_opens_without_alembic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 't.db'}"
    code = f"from storage.sql import open_repository\nopen_repository({url!r}).close()"
    first = _modules_after(code)
    assert "alembic" in first  # an empty database is behind: migrated
    again = _modules_after(code)
    assert "alembic" not in again and "alembic.command" not in again


def test_opening_a_store_imports_no_orm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 't.db'}"
    code = f"import bot.replay\nfrom storage.sql import open_repository\nopen_repository({url!r}).close()"
    _modules_after(code)  # the first open migrates
    assert "sqlalchemy.orm" not in _modules_after(code)
