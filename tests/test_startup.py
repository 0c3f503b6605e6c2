"""`tuan` start-up imports only what each subcommand needs (issue 11 item 6)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.pool import NullPool

from storage.engine import make_engine
from storage.migrate import SCHEMA_HEAD, alembic_config, current_revision, upgrade
from storage.sql import open_repository


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
    assert "alembic" not in first  # an empty database gets the newest schema from the models
    again = _modules_after(code)
    assert "alembic" not in again and "alembic.command" not in again


def test_a_store_behind_is_migrated_by_alembic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 't.db'}"
    engine = make_engine(url)
    upgrade(engine, "0003")
    engine.dispose()
    code = f"from storage.sql import open_repository\nopen_repository({url!r}).close()"
    assert "alembic.command" in _modules_after(code)
    engine = make_engine(url)
    assert current_revision(engine) == SCHEMA_HEAD
    engine.dispose()


def _schema(url: str) -> dict[str, object]:
    """Every table's columns, keys, indexes and constraints as the database reports them."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ins = inspect(conn)
            out: dict[str, object] = {}
            for t in sorted(ins.get_table_names()):
                out[t] = (
                    [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in ins.get_columns(t)],
                    ins.get_pk_constraint(t),
                    sorted(map(repr, ins.get_foreign_keys(t))),
                    sorted(map(repr, ins.get_indexes(t))),
                    sorted(map(repr, ins.get_unique_constraints(t))),
                )
            out["version"] = conn.execute(text("SELECT version_num FROM alembic_version")).all()
            return out
    finally:
        engine.dispose()


def _migrate_with_alembic(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


def test_an_empty_sqlite_store_gets_the_schema_the_migrations_build(tmp_path) -> None:  # type: ignore[no-untyped-def]
    by_alembic, by_models = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'm.db'}"
    _migrate_with_alembic(by_alembic)
    open_repository(by_models).close()
    assert _schema(by_models) == _schema(by_alembic)
    assert _schema(by_models)["version"] == [(SCHEMA_HEAD,)]


@pytest.fixture
def second_pg_url(pg_server: str) -> Iterator[str]:
    """A second fresh schema, as the ``pg_url`` fixture makes one."""
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(pg_server, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(pg_server).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_an_empty_postgresql_store_gets_the_schema_the_migrations_build(pg_url: str, second_pg_url: str) -> None:
    _migrate_with_alembic(pg_url)
    open_repository(second_pg_url).close()
    assert _schema(second_pg_url) == _schema(pg_url)


def test_opening_a_store_imports_no_orm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 't.db'}"
    code = f"import bot.replay\nfrom storage.sql import open_repository\nopen_repository({url!r}).close()"
    _modules_after(code)  # the first open migrates
    assert "sqlalchemy.orm" not in _modules_after(code)


def _replay_modules(tmp_path, *db: str) -> set[str]:  # type: ignore[no-untyped-def]
    """The modules loaded by `tuan replay` of a one-message transcript (the JSON printed first)."""
    transcript, catalog = tmp_path / "t.jsonl", tmp_path / "c.toml"
    transcript.write_text('{"id": "m1", "ts": "2026-11-25T19:00:00+08:00", "chat": "g", "sender_id": "u1", '
                          '"sender": "王姐", "text": "葡萄2"}\n', encoding="utf-8")
    catalog.write_text('[[items]]\ncode = "1"\nname = "葡萄"\nunit = "盒"\nprice = "39.9"\n', encoding="utf-8")
    out = _modules_after(f"import bot.cli\nbot.cli.main(['replay', {str(transcript)!r}, '--catalog', "
                         f"{str(catalog)!r}, '--json', *{list(db)!r}])")
    assert '"qty":' in out  # the JSON went to stdout too: an order was taken, so it was written
    return out


def test_a_sqlite_replay_loads_neither_orm_nor_postgresql(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mods = _replay_modules(tmp_path, "--db", f"sqlite:///{tmp_path / 'r.db'}")
    assert "storage.sql" in mods  # --db: the SQL store
    for heavy in ("sqlalchemy.orm", "sqlalchemy.dialects.postgresql", "psycopg", "alembic"):
        assert heavy not in mods, heavy


def test_a_replay_without_db_imports_no_sqlalchemy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mods = _replay_modules(tmp_path)
    assert "storage.memory" in mods
    assert [m for m in mods if m.split(".")[0] in ("sqlalchemy", "alembic", "psycopg") or m == "storage.sql"] == []
