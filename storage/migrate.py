"""Alembic, driven from code: no alembic.ini, the scripts ship inside the ``storage`` package.

Alembic is imported only when an existing schema is behind: opening an up-to-date store (every
start of ``tuan replay`` on a reused database, every restart of the bot) costs one query, and an
empty database gets the newest schema from the tables in :mod:`storage.models` in one
transaction, stamped at :data:`SCHEMA_HEAD` (Alembic's "building an up-to-date database from
scratch" recipe; tests/test_startup.py checks both paths build the same schema).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
SCHEMA_HEAD = "0020"
"""The newest migration's revision (tests check it against the scripts)."""

# Serialises concurrent upgrades of one PostgreSQL database (two processes starting at once).
_PG_LOCK_KEY = 0x7475616E  # "tuan"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts (``url`` only for standalone use)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in one transaction (DDL included, on both databases)."""
    newest = revision in ("head", SCHEMA_HEAD)
    if newest and current_revision(engine) == SCHEMA_HEAD:
        return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        if newest and not inspect(conn).get_table_names():
            create_newest(conn)
            return
        from alembic import command

        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def create_newest(conn: Connection) -> None:
    """Build the newest schema in an empty database and stamp it :data:`SCHEMA_HEAD`, without Alembic.

    ``alembic_version`` is created as Alembic creates it (``version_num`` VARCHAR(32), primary
    key ``alembic_version_pkc``), so later migrations run from here as from a migrated store.
    """
    from storage.models import ID_BLOCKS, METADATA

    METADATA.create_all(conn)
    conn.execute(ID_BLOCKS.insert().values(name="ids", next_block=1))
    version = Table("alembic_version", MetaData(), Column("version_num", String(32), nullable=False),
                    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
    version.create(conn)
    conn.execute(version.insert().values(version_num=SCHEMA_HEAD))


def current_revision(engine: Engine) -> str | None:
    """The schema's revision (``alembic_version``), or None for an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
