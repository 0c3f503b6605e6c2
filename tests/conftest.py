"""Shared fixtures."""

from __future__ import annotations

import asyncio
import gc
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


@pytest.fixture
def no_gc_pauses() -> Iterator[None]:
    """The cyclic garbage collector off for one test (on again after, with no collection forced).

    For tests that bound how long the event loop may stall (a tick every 50 ms, a send within its
    expiry): late in the suite the process holds millions of objects from earlier tests, and a
    full collection over them holds the GIL for up to about 0.7 s (seen in CI: a 0.73 s stall in
    tests/test_worker.py on a quiet machine). That pause is the test process's, not the product's
    scheduling, which is what those tests measure.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


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


# --- event loops ----------------------------------------------------------------------------------
# pytest-asyncio closes each test's loop without cancelling the tasks still pending on it; they would
# be destroyed later, at garbage collection, and reported then, often after the summary line ("Task
# was destroyed but it is pending!"). Here closing a loop first cancels and awaits what is left, as
# asyncio.run() does for the bot itself.

LEFTOVER_WAIT = 5.0  # seconds a closing loop gives its cancelled tasks to end


class TidyEventLoop(asyncio.SelectorEventLoop):
    """A loop whose close() cancels the tasks still pending and waits for them, as asyncio.run() does.

    Errors other than the cancellation that those tasks end with go to the loop's exception
    handler (logged), as with asyncio.run().
    """

    def close(self) -> None:
        if not self.is_closed() and not self.is_running():
            pending = [t for t in asyncio.all_tasks(self) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                self.run_until_complete(asyncio.wait(pending, timeout=LEFTOVER_WAIT))
            for task in pending:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    self.call_exception_handler({"message": "unhandled exception while the test's loop closed",
                                                 "exception": task.exception(), "task": task})
            self.run_until_complete(self.shutdown_asyncgens())
        super().close()


class TidyEventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """The default policy, with :class:`TidyEventLoop` loops."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return TidyEventLoop()


@pytest.fixture(scope="session")
def event_loop_policy() -> asyncio.AbstractEventLoopPolicy:
    """pytest-asyncio's hook for the loop policy: loops that end their leftover tasks when closed."""
    return TidyEventLoopPolicy()
