"""Real `tuan run` processes: the scheduler's holder killed before a cutoff (PostgreSQL), and a second
process refused on a SQLite file."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from bot import messages as m
from tests.workers import BANNER, Worker, worker_config

TZ = ZoneInfo("Asia/Shanghai")
TAKEOVER_LIMIT = 30.0  # seconds from the holder's death to the cutoff's post
LEAD_TIME = 16.0  # seconds from writing the config to the cutoff: time for two workers to start


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh database ``sched_<hex>`` on the test server (dropped afterwards, connections and all)."""
    name = f"sched_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(pg_server).set(database="postgres"), poolclass=NullPool,
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def scheduler_holders(url: str) -> list[str]:
    """The application names of the sessions holding the scheduler's lease (``tuan scheduler pid N``)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'tuan scheduler %'"
            )).scalars())
    finally:
        engine.dispose()


def test_the_scheduler_moves_to_the_survivor_when_its_holder_is_killed_before_the_cutoff(
        pg_database: str, tmp_path: Path) -> None:
    cutoff = (datetime.now(TZ) + timedelta(seconds=LEAD_TIME)).replace(microsecond=0)
    config = worker_config(tmp_path / "tuan.toml", pg_database, cutoff=cutoff.strftime("%H:%M:%S"))
    first = Worker(config, "first")
    second: Worker | None = None
    try:
        first.wait_for(lambda: scheduler_holders(pg_database) == [f"tuan scheduler pid {first.pid}"], 20,
                       "the first worker holds the scheduler's lease")
        second = Worker(config, "second")
        second.wait_for(lambda: second.lines(BANNER), 20, "the second worker is up")
        assert scheduler_holders(pg_database) == [f"tuan scheduler pid {first.pid}"]
        kill_at = cutoff - timedelta(seconds=1)
        if datetime.now(TZ) >= kill_at:
            pytest.fail(f"the workers took more than {LEAD_TIME - 1:g} s to start; the cutoff came first")
        time.sleep((kill_at - datetime.now(TZ)).total_seconds())
        first.kill()
        killed = time.monotonic()
        second.wait_for(lambda: second.lines(m.CLOSED), TAKEOVER_LIMIT + 2, "the survivor posts the cutoff")
        posted = second.lines(m.CLOSED)[0][0]
        assert posted - killed <= TAKEOVER_LIMIT
        assert scheduler_holders(pg_database) == [f"tuan scheduler pid {second.pid}"]
        time.sleep(1.0)  # nothing more is coming
        assert len(second.lines(m.CLOSED)) == 1
        assert first.lines(m.CLOSED) == []
        engine = create_engine(pg_database, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                marks = conn.execute(text("SELECT key FROM sent_marks")).scalars().all()
        finally:
            engine.dispose()
        # the id carries "+Ns" only when the second is not 0 (schedule_id_base); written out here
        seconds = f"+{cutoff.second}s" if cutoff.second else ""
        assert marks == [f"home:cutoff:{cutoff.minute}_{cutoff.hour}_*_*_*{seconds}@{cutoff.isoformat()}"]
        assert second.stop() == 0
        assert len(second.lines(m.CLOSED)) == 1
    finally:
        for worker in (first, second):
            if worker is not None:
                worker.stop()


def test_a_second_run_on_one_sqlite_file_refuses_to_start(tmp_path: Path) -> None:
    db = tmp_path / "tuan.db"
    config = worker_config(tmp_path / "tuan.toml", f"sqlite:///{db}")
    first = Worker(config, "first")
    try:
        first.wait_for(lambda: first.lines(BANNER), 20, "the first worker is up")
        second = Worker(config, "second")
        assert second.proc.wait(20) == 2
        second.stop()
        errors = [line for _, line in second.err]
        assert errors == [f"tuan: the store {db} is in use by another tuan process (pid {first.pid}); "
                          "SQLite serves one process — use PostgreSQL for several workers"]
        assert second.out == []
        first.kill()  # the kernel drops a dead holder's lock
        third = Worker(config, "third")
        third.wait_for(lambda: third.lines(BANNER), 20, "a new worker starts once the holder is gone")
        assert third.stop() == 0
    finally:
        first.stop()
