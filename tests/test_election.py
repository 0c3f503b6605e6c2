"""One scheduler among the workers of one PostgreSQL store: advisory-lock leases and the paused follower."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from adapters.base import Capabilities
from bot.scheduler import BotScheduler, JobSpec, StoreMarks
from storage.election import AdvisoryLease, application_name, lease_for, lock_key
from storage.migrate import _PG_LOCK_KEY
from storage.sql import open_repository
from tests.pipeline import make_pipeline
from tests.waiting import eventually

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    repo = open_repository(pg_url)
    try:
        yield repo.engine
    finally:
        repo.close()


def lease(engine: Engine) -> AdvisoryLease:
    found = lease_for(engine, "scheduler")
    assert isinstance(found, AdvisoryLease)
    return found


def terminate(url: str, lease: AdvisoryLease) -> None:
    """End ``lease``'s database session from outside (as a server restart or a DBA would)."""
    assert lease._conn is not None
    pid = lease._conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(url, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        admin.dispose()


def test_lock_keys_differ_by_role_and_schema_and_from_the_migration_lock() -> None:
    keys = {lock_key(role, schema) for role in ("scheduler", "poller") for schema in ("public", "tenant2")}
    assert len(keys) == 4 and _PG_LOCK_KEY not in keys
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert lock_key("scheduler", "public") == lock_key("scheduler", "public")


def test_sqlite_has_no_lease(sqlite_url: str) -> None:
    repo = open_repository(sqlite_url)
    try:
        assert lease_for(repo.engine, "scheduler") is None
    finally:
        repo.close()


def test_one_holder_at_a_time_and_release_hands_over(pg_engine: Engine) -> None:
    a, b = lease(pg_engine), lease(pg_engine)
    try:
        assert a.try_acquire() is True
        assert a.try_acquire() is True  # already ours
        assert b.try_acquire() is False
        assert a.still_held() and not b.still_held()
        a.release()
        assert a.still_held() is False
        assert b.try_acquire() is True
        assert a.try_acquire() is False
    finally:
        a.release()
        b.release()


def test_a_lost_session_loses_the_lease_and_frees_it(pg_url: str, pg_engine: Engine) -> None:
    a, b = lease(pg_engine), lease(pg_engine)
    try:
        assert a.try_acquire()
        with pg_engine.connect() as conn:
            names = conn.execute(text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = :lo"), {"lo": a.key & 0xFFFFFFFF}
            ).scalars().all()
        assert names == [application_name("scheduler")]
        terminate(pg_url, a)
        assert a.still_held() is False
        assert b.try_acquire() is True
        assert a.try_acquire() is False  # a new session, but b holds it now
    finally:
        a.release()
        b.release()


async def test_a_follower_runs_the_slot_missed_while_nobody_led_once_on_takeover(
        pg_url: str, pg_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    p = await make_pipeline(Capabilities(reactions=True))
    p.core.clock = lambda: datetime.now(TZ)
    marks = StoreMarks(open_repository(pg_url), p.core.now)
    due = datetime.now(TZ) + timedelta(seconds=2)
    spec = JobSpec("home:reminder:every_minute", "fake:g1", "reminder", "* * * * *", "⏰ 提醒", second=due.second)
    holder = lease(pg_engine)  # another worker, leading
    assert holder.try_acquire()
    follower = BotScheduler(p.core, [spec], marks=marks, lease=lease(pg_engine), retry=0.2)
    other = BotScheduler(p.core, [spec], marks=marks, lease=lease(pg_engine), retry=0.2)
    try:
        follower.start()
        await asyncio.sleep(0.5)
        assert not follower.leading
        await asyncio.sleep((due - datetime.now(TZ)).total_seconds() + 1.0)  # the slot passes: nobody runs it
        assert p.chat.pop_all() == []
        holder.release()  # the holder dies before the slot ran
        await eventually(lambda: follower.leading, 5, what="the follower takes over")
        await eventually(lambda: p.chat.sent, 5, what="the missed slot runs on takeover")
        assert [s.text.splitlines()[0] for s in p.chat.pop_all()] == ["⏰ 提醒"]
        # a second worker that fires the same slot (its own misfire) posts nothing
        assert await other.fire(spec.id) is False
        # the leader's session is cut: it steps down; then one of the two leads again
        other.start()
        await asyncio.sleep(0.5)
        assert follower.leading and not other.leading
        assert follower.elector is not None and isinstance(follower.elector.lease, AdvisoryLease)
        terminate(pg_url, follower.elector.lease)
        await eventually(lambda: "scheduler: lease lost" in caplog.text, 5, what="the leader notices")
        await eventually(lambda: follower.leading or other.leading, 5, what="a worker takes over")
        assert not (follower.leading and other.leading)
    finally:
        with contextlib.suppress(Exception):
            holder.release()
        await follower.stop()
        await other.stop()
        marks.repo.close()
        await p.close()
    assert p.chat.pop_all() == []


async def test_a_worker_elected_after_a_slot_it_never_saw_runs_it_within_the_grace_once(
        pg_url: str, pg_engine: Engine) -> None:
    p = await make_pipeline(Capabilities(reactions=True))
    p.core.clock = lambda: datetime.now(TZ)
    marks = StoreMarks(open_repository(pg_url), p.core.now)
    slot = datetime.now(TZ) - timedelta(seconds=3)  # nobody was leading (or running) then
    spec = JobSpec("home:reminder:every_minute", "fake:g1", "reminder", "* * * * *", "⏰ 提醒", second=slot.second)
    late = BotScheduler(p.core, [spec], marks=marks, lease=lease(pg_engine), retry=0.2)
    again = BotScheduler(p.core, [spec], marks=marks, lease=lease(pg_engine), retry=0.2)
    try:
        late.start()
        await eventually(lambda: p.chat.sent, 5, what="the slot 3 s ago runs at the election")
        assert [s.text.splitlines()[0] for s in p.chat.pop_all()] == ["⏰ 提醒"]
        await late.stop()  # a restart of the worker, still within the grace time
        again.start()
        await eventually(lambda: again.leading, 5, what="the restarted worker leads")
        await asyncio.sleep(0.5)
        assert p.chat.pop_all() == []  # the mark says the slot went out
    finally:
        await late.stop()
        await again.stop()
        marks.repo.close()
        await p.close()


def test_a_wechat_accounts_role_is_named_by_its_token_never_showing_it() -> None:
    from adapters.wechat.config import from_section

    def account(endpoint: str, token: str) -> str:
        return from_section({"endpoint": endpoint, "token": token}, env={}).account

    one = account("127.0.0.1:8788", "puppet_service_token_1")
    assert one == account("puppet.internal:8788", "puppet_service_token_1")  # one service, named two ways
    assert one != account("127.0.0.1:8788", "puppet_service_token_2")
    assert len(one) == 12 and "token" not in one


async def test_one_worker_holds_a_wechat_accounts_connection_and_another_takes_it_when_its_session_dies(
        pg_engine: Engine, pg_url: str) -> None:
    from adapters.wechat.config import from_section
    from bot.election import Elector

    role = f"wechat:{from_section({'endpoint': '127.0.0.1:8788', 'token': 'tok'}, env={}).account}"
    leases = [lease_for(pg_engine, role) for _ in range(2)]
    assert all(isinstance(x, AdvisoryLease) for x in leases)
    events: list[tuple[str, int]] = []
    electors = [Elector(x, on_elected=lambda i=i: events.append(("up", i)),  # type: ignore[arg-type, misc]
                        on_deposed=lambda i=i: events.append(("down", i)), retry=0.2, role=role)
                for i, x in enumerate(leases)]
    for e in electors:
        e.start()
    try:
        await eventually(lambda: any(e.leading for e in electors), 5, what="one is elected")
        await asyncio.sleep(1.0)  # five more tries each: still one
        [winner] = [i for i, e in enumerate(electors) if e.leading]
        other = 1 - winner
        assert events == [("up", winner)]
        names = holders(pg_engine, role)
        assert names == [application_name(role)]  # the role, not the token, shows in pg_stat_activity
        winning = leases[winner]
        assert isinstance(winning, AdvisoryLease)
        terminate(pg_url, winning)  # its session ends, as when the worker is SIGKILLed
        await eventually(lambda: electors[other].leading and not electors[winner].leading, 5,
                         what="the other takes the connection; the former holder steps down")
        assert sorted(events) == sorted([("up", winner), ("down", winner), ("up", other)])
        await asyncio.sleep(1.0)
        assert [e.leading for e in electors].count(True) == 1 and len(events) == 3  # it does not come back
    finally:
        for e in electors:
            await e.stop()


def holders(engine: Engine, role: str) -> list[str]:
    """The application names of the sessions holding ``role``'s advisory lock."""
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE :name"),
            {"name": f"tuan {role} %"}).scalars())
