"""What the in-process store (storage.memory) must do beyond the shared store contract
(tests/test_store_contract.py): roll back a whole transaction, refuse what a database refuses,
and serve several order services at once as a shared SQL store does (deal_changes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from bot.catalog import Catalog, Item
from bot.model import InboundMessage
from bot.ports import (
    Changeset,
    ChatRow,
    DealRow,
    EntryRow,
    ItemRow,
    LineRow,
    MessageRow,
    NoticeRow,
    OutboxRow,
)
from bot.services.orders import OrderService
from storage.memory import MemoryRepository
from storage.sql import open_repository

T0 = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
CHAT = "replay:g1"


def deal(items: list[ItemRow] | None = None, **kw: object) -> DealRow:
    fields: dict[str, object] = dict(id="d1", title="周六水果团", status="open", cutoff=None, max_qty=None,
                                     created_at=T0)
    grapes = [ItemRow("1", "葡萄", "盒", Decimal("39.90"), ("葡萄",), None, 0)]
    return DealRow(items=items if items is not None else grapes, **(fields | kw))  # type: ignore[arg-type]


def message(seq: int, text: str = "葡萄2", **kw: object) -> MessageRow:
    fields: dict[str, object] = dict(chat_key=CHAT, message_id=f"m{seq}", sender_id="u1", sender_name="王姐",
                                     text=text, ts=T0 + timedelta(seconds=seq), is_admin=False, edit_of=None,
                                     recall_of=None, kind="order", deal_id="d1")
    return MessageRow(seq=seq, **(fields | kw))  # type: ignore[arg-type]


def entry(entry_id: int, seq: int, **kw: object) -> EntryRow:
    fields: dict[str, object] = dict(deal_id="d1", chat_key=CHAT, sender_id="u1", sender_name="王姐", label="",
                                     item_code="1", qty=2, kind="entry", message_id=f"m{seq}")
    return EntryRow(id=entry_id, seq=seq, **(fields | kw))  # type: ignore[arg-type]


def everything(repo: MemoryRepository) -> tuple[object, ...]:
    """What the port shows of the store (and the message texts inside it)."""
    with repo.transaction() as tx:
        snap = tx.load_deal("d1")
        seen = tx.seen_message(CHAT, "m1")
        undealt = tx.undealt_lines(CHAT)
    return (snap, seen, undealt, repo.get_chat(CHAT), repo.get_deal("d1"), repo.deal_entries("d1"), repo.notices(),
            repo.pending_effects(T0 + timedelta(days=1)), repo.is_processed("telegram", "1"), repo.message_texts(),
            repo.audit(), repo.chats_with_deal())


def test_a_transaction_that_raises_leaves_nothing_behind() -> None:
    repo = MemoryRepository()
    repo.commit(Changeset(deals=[deal()], chats=[ChatRow(CHAT, "replay", "g1", "", "d1")]))
    before = everything(repo)
    with repo.transaction() as tx:
        first_block = tx.next_block()
    with pytest.raises(RuntimeError, match="the service failed"), repo.transaction() as tx:
        assert tx.next_block() == first_block + 1
        tx.add_chat(ChatRow("replay:g2", "replay", "g2", "", "d1"))
        tx.add_deal(deal(id="d2"))  # type: ignore[arg-type]
        tx.write([Changeset(
            message=message(1), entries_added=[entry(1, 1)],
            lines_added=[LineRow(1, CHAT, "3栋402 葡萄2", "1", "3栋402", "u1", "m1", 1),
                         LineRow(2, CHAT, "无团时的一行", None, "", "u1", "m1", 1, deal_id=None)],
            notices=[NoticeRow(CHAT, "m1", 1, "unclear", "ambiguous_item")], processed=[("telegram", "1")],
            outbox=[OutboxRow(1, 0, CHAT, "react", "m1", "✅", None, None, T0)], versions={"d1": 1},
        )])
        tx.add_audit(at=T0, actor_id="lead", actor_name="团长", action="close", chat_key=CHAT, deal_id="d1", detail="")
        tx.write([Changeset(entries_updated=[entry(1, 1, removed=True)], deals=[deal(title="改")], versions={"d1": 2})])
        assert tx.seen_message(CHAT, "m1") is not None and tx.chat("replay:g2") is not None
        raise RuntimeError("the service failed")
    assert everything(repo) == before
    assert repo.get_deal("d2") is None and repo.get_chat("replay:g2") is None
    with repo.transaction() as tx:
        assert tx.next_block() == first_block + 1  # the block taken in the failed transaction is taken again


def test_a_refused_write_takes_back_what_it_wrote_before_the_refusal() -> None:
    repo = MemoryRepository()
    repo.commit(Changeset(deals=[deal()]))
    with repo.transaction() as tx:
        with pytest.raises(KeyError, match="unknown entries ids: \\[99\\]"):
            tx.write([Changeset(message=message(1), entries_added=[entry(1, 1)], entries_updated=[entry(99, 1)])])
        assert tx.seen_message(CHAT, "m1") is None  # the statement failed whole; the transaction goes on
        tx.write([Changeset(message=message(2))])
    assert repo.message_texts() == {2: "葡萄2"} and repo.deal_entries("d1") == []


def test_a_transaction_inside_a_transaction_is_refused() -> None:
    repo = MemoryRepository()
    with pytest.raises(RuntimeError, match="already open"), repo.transaction(), repo.transaction():
        pass
    with repo.transaction() as tx:  # and the store is usable after
        assert tx.next_block() == 1


def test_another_thread_waits_for_the_transaction() -> None:
    repo = MemoryRepository()
    order: list[str] = []
    inside = threading.Event()

    def other() -> None:
        inside.wait()
        with repo.transaction():
            order.append("other")

    t = threading.Thread(target=other)
    t.start()
    with repo.transaction():
        inside.set()
        t.join(0.2)
        order.append("first")
    t.join()
    assert order == ["first", "other"]


UNSTORABLE = {
    "NUL in a message's text": lambda: Changeset(message=message(1, "葡萄2\x00")),
    "a lone surrogate in a message's text": lambda: Changeset(message=message(1, "葡萄2\ud800")),
    "a lone surrogate in a sender's name": lambda: Changeset(message=message(1, sender_name="王\udc00")),
    "a lone surrogate in an entry's label": lambda: Changeset(message=message(1),
                                                               entries_added=[entry(1, 1, label="3栋\ud800")]),
    "a lone surrogate in an alias": lambda: Changeset(deals=[deal([ItemRow("1", "葡萄", "盒", Decimal("1.00"),
                                                                           ("葡\ud800",), None, 0)])]),
    "a lone surrogate in an edit's target": lambda: Changeset(message=message(1, edit_of="m\ud800")),
    "None for a NOT NULL column": lambda: Changeset(message=message(1, kind=None)),
    "a naive time": lambda: Changeset(message=message(1, ts=datetime(2026, 11, 25, 19, 0))),
    "a price with three places": lambda: Changeset(deals=[deal([ItemRow("1", "葡萄", "盒", Decimal("1.005"), (),
                                                                        None, 0)])]),
}


@pytest.mark.parametrize("what", list(UNSTORABLE))
def test_what_a_database_cannot_store_is_refused_and_nothing_is_written(what: str, tmp_path: Path) -> None:
    repo = MemoryRepository()
    repo.commit(Changeset(deals=[deal(title="旧")]))
    before = everything(repo)
    with pytest.raises(ValueError):
        repo.commit(UNSTORABLE[what]())
    assert everything(repo) == before
    if "NUL" not in what:  # SQLite refuses the same (PostgreSQL refuses NUL too; SQLite keeps it)
        sql = open_repository(f"sqlite:///{tmp_path / 's.db'}")
        try:
            sql.commit(Changeset(deals=[deal(title="旧")]))
            with pytest.raises((ValueError, SQLAlchemyError, UnicodeEncodeError)):
                sql.commit(UNSTORABLE[what]())
        finally:
            sql.close()


# --- two order services on one store: deal_changes ------------------------------------------------------------------

CATALOG = Catalog(items=(Item("1", "阳光玫瑰葡萄", "盒", Decimal("39.9"), ("葡萄",), None),
                         Item("2", "赣南脐橙", "箱", Decimal("45"), ("脐橙", "橙子"), 5)))
TEXTS = ["葡萄2", "脐橙1", "+1", "改成3", "取消", "3栋402 王姐 葡萄1", "橙子2", "减1", "葡萄1 脐橙1"]


def chat_messages(n: int) -> Iterator[InboundMessage]:
    lines: list[str] = []
    for i in range(1, n + 1):
        sender = f"u{i % 5}"
        if i % 4 == 0:
            lines.append(f"{len(lines) + 1}. {i}栋{100 + i} 住户{i} 葡萄{1 + i % 3}")
            text = "#接龙\n" + "\n".join(lines)
        else:
            text = TEXTS[i % len(TEXTS)]
        edit = f"m{i - 3}" if i % 7 == 0 and i > 3 else None
        yield InboundMessage(platform="replay", chat_id=f"g{i % 2}", message_id=f"m{i}", sender_id=sender,
                             sender_name=f"住户{i % 5}", text=text, ts=T0 + timedelta(seconds=i), edit_of=edit,
                             recall_of=f"m{i - 5}" if i % 11 == 0 else None)


def two_services(repo_a: object, repo_b: object) -> tuple[list[EntryRow], list[str]]:
    """Two services (as two processes would) taking turns on one store; the deal's rows and outcomes."""
    a = OrderService(repo_a, catalog=CATALOG)  # type: ignore[arg-type]
    b = OrderService(repo_b, catalog=CATALOG)  # type: ignore[arg-type]
    kinds = []
    for n, msg in enumerate(chat_messages(60)):
        o = (a if (n // 3) % 2 == 0 else b).handle(msg)
        kinds.append(f"{o.kind}:{[p.replay_reason() for p in o.unclear]}:{[p.replay_reason() for p in o.refused]}")
    assert a.shared_deal is not None
    return a.repo.deal_entries(a.shared_deal), kinds


def test_two_services_on_one_memory_store_agree_with_two_on_one_sqlite_file(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    memory = MemoryRepository()
    caught_up: list[int] = []
    real = type(memory._store).snapshot

    def counting(self, deal_id, since):  # type: ignore[no-untyped-def]
        if since is not None:
            caught_up.append(since)
        return real(self, deal_id, since)

    monkeypatch.setattr(type(memory._store), "snapshot", counting)
    got = two_services(memory, memory)
    url = f"sqlite:///{tmp_path / 'two.db'}"
    sql_a, sql_b = open_repository(url), open_repository(url)
    try:
        want = two_services(sql_a, sql_b)
    finally:
        sql_a.close()
        sql_b.close()
    assert caught_up  # the services caught up with each other's writes (deal_changes), not only loaded
    assert got == want
    assert any(e.removed or e.superseded_seq for e in got[0])  # edits and withdrawals were in it
