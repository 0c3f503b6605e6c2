"""Shared fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from tests import pgcluster

# --- store ------------------------------------------------------------------------------------
# PostgreSQL runs on every dev machine and in CI (trust auth). Each test gets its own schema,
# so several test runs can share the database at once. Outside CI an unreachable server skips
# the PostgreSQL tests; with CI set it fails them.

PG_URL = os.environ.get("TUAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL URL, once it is known to answer."""
    engine = create_engine(PG_URL, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return PG_URL
    except Exception as exc:
        problem = f"PostgreSQL unreachable at {PG_URL}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()
    if os.environ.get("CI"):
        pytest.fail(f"{problem} (CI requires it; TUAN_TEST_PG_URL overrides the URL)", pytrace=False)
    pytest.skip(problem)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A URL whose connections use a fresh, empty schema (dropped afterwards)."""
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


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    """A URL of a SQLite file database in the test's temporary directory."""
    return f"sqlite:///{os.path.join(tmp_path, 'tuan.db')}"


@pytest.fixture
def pg_cluster() -> Iterator[pgcluster.PgCluster]:
    """A private PostgreSQL cluster, started; the test may ``kill()`` and ``start()`` it at will."""
    why = pgcluster.available()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"a private PostgreSQL cluster cannot run here: {why}", pytrace=False)
        pytest.skip(why)
    cluster = pgcluster.PgCluster().init()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
