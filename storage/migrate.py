"""Alembic, driven from code: no alembic.ini, the scripts ship inside the ``storage`` package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).resolve().with_name("migrations")

# Serialises concurrent upgrades of one PostgreSQL database (two processes starting at once).
_PG_LOCK_KEY = 0x7475616E  # "tuan"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts (``url`` only for standalone use)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in one transaction (DDL included, on both databases)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
