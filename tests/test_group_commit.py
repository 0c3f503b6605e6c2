"""Group commit (``OrderService.handle_batch``): several queued messages in one transaction give what
handling them one transaction each gives; a batch that fails is never seen, its messages go again
one by one (issue 10)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.catalog import Catalog, Item
from bot.services.orders import OrderService
from storage.models import MESSAGES
from storage.sql import SqlRepository, open_repository
from tests.many_workers import ack_effects, message

CATALOG = Catalog(items=(Item("1", "土鸡蛋 30枚", "盒", Decimal("19.9"), aliases=("鸡蛋",), stock=9),
                         Item("2", "脐橙", "箱", Decimal("39"), aliases=("脐橙",))), max_qty=5)
TEXTS = ["鸡蛋2", "脐橙1", "鸡蛋改成3", "鸡蛋1 脐橙2", "不要了", "脐橙+1", "鸡蛋4", "你好", "鸡蛋2"]


def jobs() -> list[tuple[str, str, str, str]]:
    """Messages in three chats of two deals, some senders writing twice, one message redelivered."""
    out = [(f"g{k % 3}", f"m{k}", f"u{k % 4}", TEXTS[k % len(TEXTS)]) for k in range(30)]
    out.insert(12, out[5])  # a redelivery inside a batch
    return out


def stores(tmp_path: Path, name: str) -> SqlRepository:
    return open_repository(f"sqlite:///{tmp_path / name}")


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[OrderService, OrderService]]:
    a, b = stores(tmp_path, "a.db"), stores(tmp_path, "b.db")
    svcs = OrderService(a), OrderService(b)
    for svc in svcs:
        svc.open_deal(CATALOG, ["t:g0", "t:g1"], title="一")
        svc.open_deal(CATALOG, ["t:g2"], title="二")
    yield svcs
    a.close()
    b.close()


def summary(outs: list) -> list[tuple]:  # type: ignore[type-arg]
    return [(o.chat_key, o.message_id, o.kind, o.accepted, o.refused, o.unclear, o.totals,
             [(e.kind, e.target, e.text) for e in o.effects]) for o in outs]


def outbox(svc: OrderService) -> list[tuple[str, str, str | None, str]]:
    later = datetime(2100, 1, 1, tzinfo=UTC)
    return [(r.chat_key, r.kind, r.target, r.text) for r in svc.repo.pending_effects(later)]


def tallies(svc: OrderService) -> list[object]:
    out = []
    for ck in ("t:g0", "t:g2"):
        deal = svc.deal_of(ck)
        assert deal is not None
        t = svc.tally(deal.id)
        out.append((sorted(t.rows, key=repr), t.totals))
    return out


def test_a_batch_is_what_one_transaction_each_gives(two: tuple[OrderService, OrderService]) -> None:
    one, batched = two
    msgs = [message(j, n) for n, j in enumerate(jobs())]
    singly = [one.handle(m, ack_effects) for m in msgs]
    grouped = [o for k in range(0, len(msgs), 7) for o in batched.handle_batch(msgs[k:k + 7], ack_effects)]
    assert summary(grouped) == summary(singly)
    assert "duplicate" in {o.kind for o in grouped} and "sold_out" in {p.code for o in grouped for p in o.refused}
    assert tallies(batched) == tallies(one)
    assert outbox(batched) == outbox(one)


def test_a_failed_batch_leaves_nothing_and_its_messages_go_one_by_one(
        two: tuple[OrderService, OrderService], monkeypatch: pytest.MonkeyPatch) -> None:
    one, batched = two
    msgs = [message(j, n) for n, j in enumerate(jobs())]
    singly = [one.handle(m, ack_effects) for m in msgs]
    real = OrderService._process
    calls = {"n": 0}

    def flaky(self: OrderService, u, msg):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 5:  # the fifth message of the first batch: the batch's transaction fails
            raise RuntimeError("a message that breaks its batch")
        return real(self, u, msg)

    monkeypatch.setattr(OrderService, "_process", flaky)
    grouped = batched.handle_batch(msgs[:10], ack_effects) + batched.handle_batch(msgs[10:], ack_effects)
    assert calls["n"] == 5 + 10 + (len(msgs) - 10)  # the first batch: 5 tried, then 10 one by one
    assert summary(grouped) == summary(singly)
    assert tallies(batched) == tallies(one)
    assert outbox(batched) == outbox(one)


def test_a_batch_on_postgresql_stores_what_one_transaction_each_gives(tmp_path: Path, pg_url: str) -> None:
    """PostgreSQL writes a batch's rows one statement per table (arrays, storage/writer.py): the
    messages, entries, lines and outbox rows it stores are those of one transaction each on SQLite
    (NULLs, times, flags and Chinese text included), read back by a fresh service."""
    one, pg = stores(tmp_path, "one.db"), open_repository(pg_url)
    try:
        single, batched = OrderService(one), OrderService(pg)
        for svc in (single, batched):
            svc.open_deal(CATALOG, ["t:g0", "t:g1"], title="一")
            svc.open_deal(CATALOG, ["t:g2"], title="二")
        msgs = [message(j, n) for n, j in enumerate(jobs())]
        singly = [single.handle(m, ack_effects) for m in msgs]
        grouped = [o for k in range(0, len(msgs), 9) for o in batched.handle_batch(msgs[k:k + 9], ack_effects)]
        assert summary(grouped) == summary(singly)
        fresh = OrderService(pg)
        assert tallies(fresh) == tallies(single)
        assert outbox(fresh) == outbox(single)
        later = datetime(2100, 1, 1, tzinfo=UTC)
        assert [(r.created_at.tzinfo is not None, r.mention_name) for r in pg.pending_effects(later)] == \
            [(True, r.mention_name) for r in one.pending_effects(later)]
        cols = [c for c in MESSAGES.c if c.name not in ("seq", "touched", "deal_id")]  # ids: their own

        def stored(repo: SqlRepository) -> list[tuple[object, ...]]:
            with repo.engine.connect() as conn:
                return sorted(tuple(r) for r in conn.execute(select(*cols)))

        assert stored(pg) == stored(one) and len(stored(pg)) == len(msgs) - 1  # one redelivery
    finally:
        one.close()
        pg.close()


def test_a_batch_follows_a_chat_another_worker_moved_to_a_new_round(tmp_path: Path) -> None:
    """Worker A knows chats g0..g2 in one deal; worker B (same store) writes the deal and moves g0
    to a new round. A's next batch renews its hints in one read and puts g0's order in the new
    round, the others' in the old one."""
    path = tmp_path / "shared.db"
    ra, rb = open_repository(f"sqlite:///{path}"), open_repository(f"sqlite:///{path}")
    try:
        a, b = OrderService(ra), OrderService(rb)
        old = a.open_deal(CATALOG, ["t:g0", "t:g1", "t:g2"], title="一")
        other = a.open_deal(CATALOG, ["t:g3"], title="另")  # a batch over two deals locks them up front
        a.handle_batch([message((f"g{k}", f"w{k}", f"u{k}", "鸡蛋1"), k) for k in range(4)], ack_effects)
        b.handle(message(("g1", "b1", "u9", "脐橙1"), 10), ack_effects)  # B writes the deal: A's copy is stale
        new = b.open_deal(CATALOG, ["t:g0"], title="二")
        reads: list[list[str]] = []
        real = ra.transaction

        @contextlib.contextmanager
        def spying():  # type: ignore[no-untyped-def]
            with real() as tx:
                chats = tx.chats

                def counted(keys):  # type: ignore[no-untyped-def]
                    reads.append(list(keys))
                    return chats(keys)

                tx.chats = counted  # type: ignore[method-assign]
                yield tx

        ra.transaction = spying  # type: ignore[method-assign]
        outs = a.handle_batch([message((f"g{k}", f"x{k}", f"v{k}", "鸡蛋2"), 20 + k) for k in range(4)], ack_effects)
        ra.transaction = real  # type: ignore[method-assign]
        assert [o.deal_id for o in outs] == [new, old, old, other]
        assert reads == [["t:g0", "t:g1", "t:g2"]], "the moved deal's chats read again, together"
        fresh = OrderService(ra)
        assert fresh.tally(new).totals == {"1": 2, "2": 0}
        assert fresh.tally(old).totals == {"1": 3 + 4, "2": 1}
    finally:
        ra.close()
        rb.close()
