"""The order service keeps all of a message or nothing of it, in the store and in memory.

Real stores: a private PostgreSQL cluster killed mid-session (its commit fails, and so does
reading the state back), and a SQLite file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.base import Capabilities
from bot.catalog import Catalog, Item
from bot.model import InboundMessage
from bot.ports import StoreUnavailable
from bot.services import apply
from bot.services.orders import OrderService
from storage.sql import open_repository
from tests.pgcluster import PgCluster
from tests.pipeline import make_pipeline

T0 = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
CATALOG = Catalog(items=(Item("1", "阳光玫瑰葡萄", "盒", aliases=("葡萄",)), Item("3", "土鸡蛋", "盒", aliases=("鸡蛋",))))


def message(n: int, sender: str, text: str) -> InboundMessage:
    return InboundMessage("t", "g1", f"m{n}", sender, sender, text, T0 + timedelta(minutes=n),
                          delivery=("t:bot", str(n)))


def test_store_down_for_commit_and_reload(pg_cluster: PgCluster) -> None:
    repo = open_repository(pg_cluster.url)
    try:
        svc = OrderService(repo, catalog=CATALOG)
        svc.handle(message(1, "u1", "#接龙\n1. 王姐 鸡蛋2"))
        pg_cluster.kill()
        with pytest.raises(StoreUnavailable):
            svc.handle(message(2, "u2", "#接龙\n1. 王姐 鸡蛋2\n2. 阿强 葡萄1"))
        with pytest.raises(StoreUnavailable):  # no uncommitted total is shown; nothing is, until the store is back
            svc.sender_totals("t:g1", "u2")
        with pytest.raises(StoreUnavailable):  # nor is it answered "duplicate" and so confirmed
            svc.handle(message(2, "u2", "#接龙\n1. 王姐 鸡蛋2\n2. 阿强 葡萄1"))
        pg_cluster.start()
        assert svc.sender_totals("t:g1", "u2") == {}
        assert not svc.is_processed("t:bot", "2")
        out = svc.handle(message(2, "u2", "#接龙\n1. 王姐 鸡蛋2\n2. 阿强 葡萄1"))  # the redelivery: taken, once
        assert out.kind != "duplicate" and [a.delta for a in out.accepted] == [1]
        assert svc.handle(message(2, "u2", "#接龙\n1. 王姐 鸡蛋2\n2. 阿强 葡萄1")).kind == "duplicate"
        fresh = OrderService(repo, catalog=CATALOG)
        assert fresh.sender_totals("t:g1", "u2") == {"1": 1} and fresh.sender_totals("t:g1", "u1") == {"3": 2}
    finally:
        repo.close()


def test_a_fault_while_applying_leaves_no_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = open_repository(f"sqlite:///{tmp_path / 'tuan.db'}")
    try:
        svc = OrderService(repo, catalog=CATALOG)
        svc.handle(message(1, "u1", "#接龙\n1. 王姐 鸡蛋2"))
        notices = apply.Work.notices

        def broken(self: apply.Work) -> None:  # fails after the message changed the live state
            raise RuntimeError("a bug")

        monkeypatch.setattr(apply.Work, "notices", broken)
        with pytest.raises(RuntimeError):
            svc.handle(message(2, "u2", "#接龙\n1. 王姐 鸡蛋2\n2. 阿强 葡萄1"))
        monkeypatch.setattr(apply.Work, "notices", notices)
        assert svc.sender_totals("t:g1", "u2") == {}  # not counted
        assert svc.tally(svc.deal_of("t:g1").id).totals == {"1": 0, "3": 2}  # type: ignore[union-attr]
        out = svc.handle(message(2, "u2", "#接龙\n1. 王姐 鸡蛋2\n2. 阿强 葡萄1"))  # not seen: taken again
        assert [a.delta for a in out.accepted] == [1]
        assert svc.sender_totals("t:g1", "u2") == {"1": 1}
    finally:
        repo.close()


async def test_a_committed_message_is_not_failed_by_its_reply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once committed, a message is acknowledged: a store failing just after costs the reply's wording only."""
    repo = open_repository(f"sqlite:///{tmp_path / 'tuan.db'}")
    p = await make_pipeline(Capabilities(reactions=True), repo=repo)
    try:
        def gone(deal_id: str) -> Catalog:
            raise StoreUnavailable("the store went away after the commit")

        monkeypatch.setattr(p.core.service, "catalog_of", gone)
        msg = await p.chat.push("葡萄2", sender="王姐")  # raises if the store failure reaches the adapter
        assert [(s.kind, s.message_id) for s in p.chat.pop_all()] == [("react", msg.message_id)]
        monkeypatch.undo()
        assert p.stored() == {"王姐": {"1": 2}}
    finally:
        await p.close()
        repo.close()
