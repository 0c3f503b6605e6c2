"""The WeChat adapter's elected connection, in process, against the gateway: one adapter of two
connects; the holder that loses its lease closes its connection and the other connects; without a
lease (SQLite: one process) it connects at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from adapters.wechat import WechatAdapter, from_section
from bot.election import Lease
from storage.election import AdvisoryLease, lease_for
from tests.waiting import eventually
from tests.wechat.conftest import RecordingSink, fast_settings
from tests.wechat.gateway_proc import ROOM, Gateway


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[Engine]:
    engine = create_engine(pg_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def adapter(gateway: Gateway, wechaty_sdk: ModuleType) -> WechatAdapter:
    return WechatAdapter(from_section(fast_settings(gateway.endpoint), env={}), wechaty=wechaty_sdk)


async def test_without_a_lease_it_connects_at_once_and_delivers(gateway: Gateway, wechaty_sdk: ModuleType) -> None:
    one = adapter(gateway, wechaty_sdk)
    asked: list[str] = []
    one.elect_connection(lambda role: asked.append(role) or None, 0.2)
    try:
        await one.start(RecordingSink())  # returns once logged in
        assert one.connected and one.delivers_here and asked == [one.role]
        assert await one.send_text(ROOM, "开团啦")
        assert [s["text"] for s in await gateway.said()] == ["开团啦"]
    finally:
        await one.stop()


async def test_one_of_two_connects_and_a_holder_that_loses_its_lease_hands_over(
        gateway: Gateway, wechaty_sdk: ModuleType, pg_engine: Engine) -> None:
    leases: dict[int, Lease | None] = {}

    def lease_of(n: int, role: str) -> Lease | None:
        leases[n] = lease_for(pg_engine, role)
        return leases[n]

    pair = [adapter(gateway, wechaty_sdk) for _ in range(2)]
    for n, a in enumerate(pair):
        a.elect_connection(lambda role, n=n: lease_of(n, role), 0.2)  # type: ignore[misc]
    try:
        for a in pair:
            await a.start(RecordingSink())  # returns at once: the elected one connects
        holder = await eventually(lambda: next((a for a in pair if a.connected), None), 10, what="one connects")
        other = pair[1 - pair.index(holder)]
        assert holder.delivers_here and not other.delivers_here and not other.connected
        assert await other.send_file(ROOM, "a.txt", b"x") is False  # a follower sends nothing itself
        lost = leases[pair.index(holder)]
        assert isinstance(lost, AdvisoryLease) and lost._conn is not None
        pid = lost._conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        grab = lease_for(pg_engine, holder.role)  # the test takes the role as soon as it is free
        assert grab is not None
        with pg_engine.connect() as conn:  # the holder's database session ends: its lease is lost
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # the holder notices at its next check (0.2 s), so the lease goes to the test or to the other
        took = await eventually(lambda: "test" if grab.try_acquire() else "other" if other.delivers_here else "",
                                5, interval=0.05, what="the lease is taken again")
        if took == "test":  # nobody holds the connection now; once the test lets go, the other takes it
            await eventually(lambda: not holder.connected and not other.connected, 10,
                             what="the former holder closes its connection")
            assert not holder.delivers_here and not other.delivers_here
            await holder.stop()
            grab.release()
        await eventually(lambda: other.connected and not holder.connected and not holder.delivers_here, 10,
                         what="the holder closes its connection and the other connects")
        assert await other.send_text(ROOM, "接龙继续")
        assert [s["text"] for s in await gateway.said()] == ["接龙继续"]
    finally:
        for a in pair:
            await a.stop()
