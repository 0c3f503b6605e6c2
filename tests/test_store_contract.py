"""The store contract (bot.ports.Repository), run on the in-process store (storage.memory), in-memory
SQLite, SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

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
    Repository,
)
from storage import SqlRepository, open_repository
from storage.engine import make_engine
from storage.memory import MemoryRepository
from storage.migrate import alembic_config, current_revision, upgrade
from storage.models import DEALS, MESSAGES, METADATA
from tests.stores import memory_store

# What a refused commit may raise: the memory store's own checks, or the database's.
STORE_ERRORS = (ValueError, KeyError, SQLAlchemyError)
CST = timezone(timedelta(hours=8))
T0 = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=CST)
CHAT = "telegram:-100"
OTHER = "wechat:room2"
URL_FIXTURES = {"sqlite": "sqlite_url", "postgresql": "pg_url"}


@dataclass
class Open:
    """What the store holds of the open deals among d1..d3 and of the two chats (test view)."""

    deals: list[DealRow]
    chats: list[ChatRow]
    entries: list[EntryRow]
    lines: list[LineRow]
    messages: list[MessageRow]


def load_open(store: Repository) -> Open:
    with store.transaction() as tx:
        snaps = [s for d in ("d1", "d2", "d3") if (s := tx.load_deal(d)) is not None and s.deal.status == "open"]
    chats = [c for k in sorted((CHAT, OTHER)) if (c := store.get_chat(k)) is not None]
    return Open([s.deal for s in snaps], chats, [e for s in snaps for e in s.entries],
                [ln for s in snaps for ln in s.lines], [m for s in snaps for m in s.messages])


@pytest.fixture(params=["process", "memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[Repository]:
    if request.param == "process":
        repo: Repository = MemoryRepository()
    elif request.param == "memory":
        repo = memory_store()
    else:
        repo = open_repository(request.getfixturevalue(URL_FIXTURES[request.param]))
    yield repo
    repo.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request: pytest.FixtureRequest) -> Iterator[SqlRepository]:
    repo = open_repository(request.getfixturevalue(URL_FIXTURES[request.param]))
    yield repo
    repo.close()


# --- rows ---------------------------------------------------------------------------------------

def item(code: str, price: str, position: int, **kw: Any) -> ItemRow:
    return ItemRow(code=code, name=kw.get("name", f"商品{code}"), unit=kw.get("unit", "份"), price=Decimal(price),
                   aliases=kw.get("aliases", ()), stock=kw.get("stock"), position=position)


def deal(deal_id: str = "d1", status: str = "open", **kw: Any) -> DealRow:
    items = kw.pop("items", [item("A", "12.30", 0)])
    return DealRow(id=deal_id, title=kw.pop("title", "周六水果团"), status=status, cutoff=kw.pop("cutoff", None),
                   max_qty=kw.pop("max_qty", None), created_at=kw.pop("created_at", T0), items=items, **kw)


def chat(key: str = CHAT, deal_id: str | None = "d1") -> ChatRow:
    platform, _, external = key.partition(":")
    return ChatRow(chat_key=key, platform=platform, external_id=external, title=f"群{external}", deal_id=deal_id)


def message(seq: int, key: str = CHAT, **kw: Any) -> MessageRow:
    fields: dict[str, Any] = dict(message_id=str(1000 + seq), sender_id="u1", sender_name="小王",
                                  text=f"接龙\n{seq}. 3-101 苹果2", ts=T0 + timedelta(seconds=seq), is_admin=False,
                                  edit_of=None, recall_of=None, kind="order", deal_id="d1")
    return MessageRow(seq=seq, chat_key=key, **(fields | kw))


def entry(entry_id: int, seq: int, deal_id: str = "d1", key: str = CHAT, **kw: Any) -> EntryRow:
    fields: dict[str, Any] = dict(sender_id="u1", sender_name="小王", label="3-101", item_code="A", qty=2,
                                  kind="entry", message_id=str(1000 + seq))
    return EntryRow(id=entry_id, deal_id=deal_id, chat_key=key, seq=seq, **(fields | kw))


def line(line_id: int, seq: int, key: str = CHAT, deal_id: str | None = "d1", **kw: Any) -> LineRow:
    fields: dict[str, Any] = dict(text_key=f"3-101 苹果{line_id}", number=str(line_id), label="3-101",
                                  owner_id="u1", message_id=str(1000 + seq))
    return LineRow(id=line_id, chat_key=key, seq=seq, deal_id=deal_id, **(fields | kw))


def notice(seq: int, key: str = CHAT, kind: str = "unclear", reason: str = "ambiguous_item") -> NoticeRow:
    return NoticeRow(chat_key=key, message_id=str(1000 + seq), seq=seq, kind=kind, reason=reason)


def effect(seq: int, n: int = 0, key: str = CHAT, **kw: Any) -> OutboxRow:
    fields: dict[str, Any] = dict(kind="react", target=str(1000 + seq), text="✅", mention_id=None, mention_name=None,
                                  created_at=T0 + timedelta(seconds=seq))
    return OutboxRow(seq=seq, n=n, chat_key=key, **(fields | kw))


LATER = T0 + timedelta(days=1)


def opened(store: Repository) -> None:
    """A store with deal d1 bound to CHAT."""
    store.commit(Changeset(deals=[deal()], chats=[chat()]))


def state(store: Repository) -> tuple[Any, ...]:
    """Everything observable through the port, to compare before and after a failed commit."""
    return (load_open(store), store.get_deal("d1"), store.get_deal("d2"), store.deal_entries("d1"),
            store.notices(), store.is_processed("telegram", "1"), store.is_processed("telegram", "2"),
            store.pending_effects(LATER))


def stored_texts(store: Repository) -> dict[int, str]:
    """Message texts by seq: the port never reads them back, so look inside."""
    if isinstance(store, MemoryRepository):
        return store.message_texts()
    assert isinstance(store, SqlRepository)
    with store.engine.connect() as conn:
        return {seq: txt for seq, txt in conn.execute(select(MESSAGES.c.seq, MESSAGES.c.text))}


# --- round trips --------------------------------------------------------------------------------

def test_empty_store(store: Repository) -> None:
    assert load_open(store) == Open([], [], [], [], [])
    assert store.get_deal("d1") is None
    assert store.deal_entries("d1") == []
    assert store.notices() == []
    assert not store.is_processed("telegram", "1")


def test_round_trip_of_every_row(store: Repository) -> None:
    items = [
        item("B", "0.05", 1, aliases=("香蕉", "蕉"), stock=40),
        item("A", "12.30", 0, aliases=("苹果",), unit="斤"),
        item("C", "99999999.99", 2, stock=0),
    ]
    d1 = deal(items=items, cutoff=T0 + timedelta(days=1), max_qty=5, source=f"post:{CHAT}:77")
    m1 = message(1)
    m2 = message(2, is_admin=True, edit_of="1001", recall_of="999", kind="change", text="")
    lines = [line(1, 1), line(2, 2, number=None, alive=False, replaced_by=1)]
    entries = [entry(1, 1), entry(2, 2, qty=-1, kind="sub", line_id=2, superseded_seq=3, removed=True)]
    store.commit(Changeset(message=m1, deals=[d1], chats=[chat(), chat(OTHER, None)], lines_added=lines[:1],
                           entries_added=entries[:1], notices=[notice(1)], processed=[("telegram", "1")]))
    store.commit(Changeset(message=m2, lines_added=lines[1:], entries_added=entries[1:]))

    snap = load_open(store)
    assert snap.deals == [replace(d1, items=[items[1], items[0], items[2]])]
    got = snap.deals[0]
    assert [str(i.price) for i in got.items] == ["12.30", "0.05", "99999999.99"]
    assert all(isinstance(i.price, Decimal) and isinstance(i.aliases, tuple) for i in got.items)
    assert got.items[1].aliases == ("香蕉", "蕉") and got.items[0].stock is None
    assert snap.chats == [chat(), chat(OTHER, None)]
    assert snap.entries == entries
    assert snap.lines == lines
    assert snap.messages == [replace(m1, text=""), replace(m2, text="")]
    stamps = [got.created_at, got.cutoff, *(m.ts for m in snap.messages)]
    assert all(t is not None and t.utcoffset() == timedelta(0) for t in stamps)
    assert got.created_at == T0 and snap.messages[0].ts == m1.ts
    assert stored_texts(store) == {1: m1.text, 2: ""}
    assert store.get_deal("d1") == snap.deals[0]
    assert store.notices() == [notice(1)]
    assert store.is_processed("telegram", "1") and not store.is_processed("telegram", "2")
    assert not store.is_processed("wechat", "1")


def test_rows_are_copied_in_and_out(store: Repository) -> None:
    d1 = deal()
    e1 = entry(1, 1)
    store.commit(Changeset(message=message(1), deals=[d1], chats=[chat()], entries_added=[e1]))
    d1.title, d1.items[0].name, e1.qty = "changed", "changed", 99
    store.deal_entries("d1")[0].qty = 42
    got = store.get_deal("d1")
    assert got is not None
    got.items.clear()
    assert store.get_deal("d1") == deal()
    assert store.deal_entries("d1") == [entry(1, 1)]


def test_empty_changeset_changes_nothing(store: Repository) -> None:
    store.commit(Changeset())
    store.commit_many([Changeset(), Changeset()])
    store.commit_many([])
    assert load_open(store) == Open([], [], [], [], [])


# --- updates ------------------------------------------------------------------------------------

def test_entry_and_line_updates(store: Repository) -> None:
    opened(store)
    store.commit(Changeset(message=message(1), lines_added=[line(1, 1)], entries_added=[entry(1, 1), entry(2, 1)]))
    store.commit(Changeset(message=message(2), lines_added=[line(2, 2)],
                           lines_updated=[replace(line(1, 1), alive=False, replaced_by=2)],
                           entries_updated=[replace(entry(1, 1), superseded_seq=2), replace(entry(2, 1), removed=True)]))
    snap = load_open(store)
    assert [(e.id, e.superseded_seq, e.removed) for e in snap.entries] == [(1, 2, False), (2, None, True)]
    assert [(ln.id, ln.alive, ln.replaced_by) for ln in snap.lines] == [(1, False, 2), (2, True, None)]
    store.commit(Changeset(message=message(3, kind="undo"), lines_updated=[line(1, 1)],
                           entries_updated=[entry(1, 1)]))
    snap = load_open(store)
    assert [(e.id, e.superseded_seq, e.removed) for e in snap.entries] == [(1, None, False), (2, None, True)]
    assert [(ln.id, ln.alive, ln.replaced_by) for ln in snap.lines] == [(1, True, None), (2, True, None)]


def test_an_update_changes_only_its_flags(store: Repository) -> None:
    opened(store)
    store.commit(Changeset(message=message(1), lines_added=[line(1, 1)], entries_added=[entry(1, 1)]))
    store.commit(Changeset(lines_updated=[replace(line(1, 1), label="other", alive=False)],
                           entries_updated=[replace(entry(1, 1), qty=7, removed=True)]))
    assert load_open(store).lines == [replace(line(1, 1), alive=False)]
    assert store.deal_entries("d1") == [replace(entry(1, 1), removed=True)]


def test_deal_row_is_its_full_new_state(store: Repository) -> None:
    opened(store)
    cutoff = datetime(2025, 3, 2, 20, 0, tzinfo=CST)
    new_items = [item("X", "8.00", 0), item("A", "11.00", 1)]
    store.commit(Changeset(deals=[deal(cutoff=cutoff, max_qty=3, items=new_items, title="改")]))
    assert store.get_deal("d1") == deal(cutoff=cutoff, max_qty=3, items=new_items, title="改")
    store.commit(Changeset(deals=[deal(status="closed", items=new_items)]))
    got = store.get_deal("d1")
    assert got is not None and got.status == "closed" and got.cutoff is None


def test_chat_rebinds_to_another_deal(store: Repository) -> None:
    opened(store)
    store.commit(Changeset(deals=[deal("d2", created_at=T0 + timedelta(hours=1))], chats=[chat(deal_id="d2")]))
    snap = load_open(store)
    assert snap.chats == [chat(deal_id="d2")]
    assert [d.id for d in snap.deals] == ["d1", "d2"]


# --- reads --------------------------------------------------------------------------------------

def test_load_open_leaves_out_closed_deals(store: Repository) -> None:
    store.commit(Changeset(deals=[deal("d1"), deal("d2", status="closed")],
                           chats=[chat(CHAT, "d1"), chat(OTHER, "d2")]))
    store.commit_many([
        Changeset(message=message(1, CHAT), lines_added=[line(1, 1, CHAT)], entries_added=[entry(1, 1, "d1", CHAT)]),
        Changeset(message=message(2, OTHER, deal_id="d2"), lines_added=[line(2, 2, OTHER, "d2"), line(3, 2, CHAT, "d2")],
                  entries_added=[entry(2, 2, "d2", OTHER)]),
    ])  # line 3: posted in CHAT during the closed deal d2, so no longer seen
    snap = load_open(store)
    assert [d.id for d in snap.deals] == ["d1"]
    assert [c.chat_key for c in snap.chats] == [CHAT, OTHER]
    assert [e.id for e in snap.entries] == [1]
    assert [ln.id for ln in snap.lines] == [1]
    assert [m.seq for m in snap.messages] == [1]
    assert store.get_deal("d2") == deal("d2", status="closed")
    assert store.deal_entries("d2") == [entry(2, 2, "d2", OTHER)]


def test_deal_entries_lists_every_row_in_id_order(store: Repository) -> None:
    store.commit(Changeset(deals=[deal("d1"), deal("d2")], chats=[chat()]))
    rows = [entry(3, 1), entry(1, 1, removed=True), entry(2, 1, superseded_seq=5), entry(4, 1, "d2")]
    store.commit(Changeset(message=message(1), entries_added=rows))
    assert store.deal_entries("d1") == [rows[1], rows[2], rows[0]]
    assert store.deal_entries("d2") == [rows[3]]
    assert store.deal_entries("nope") == []


def test_notices_filter_by_chat_in_commit_order(store: Repository) -> None:
    opened(store)
    store.commit(Changeset(message=message(1, CHAT), notices=[notice(1, CHAT), notice(1, CHAT, "refused", "sold_out")]))
    store.commit(Changeset(message=message(2, OTHER), notices=[notice(2, OTHER)]))
    store.commit(Changeset(message=message(3, CHAT), notices=[notice(3, CHAT)]))
    every = [notice(1, CHAT), notice(1, CHAT, "refused", "sold_out"), notice(2, OTHER), notice(3, CHAT)]
    assert store.notices() == every
    assert store.notices([CHAT]) == [every[0], every[1], every[3]]
    assert store.notices([OTHER, "x:y"]) == [every[2]]
    assert store.notices([]) == []


def test_is_processed(store: Repository) -> None:
    store.commit(Changeset(processed=[("telegram", "1"), ("wechat", "abc")]))
    assert store.is_processed("telegram", "1") and store.is_processed("wechat", "abc")
    assert not store.is_processed("telegram", "abc") and not store.is_processed("wechat", "1")


# --- atomicity ----------------------------------------------------------------------------------

def busy_changeset() -> Changeset:
    """A changeset that touches every table (valid on its own, after ``opened`` and message 1)."""
    return Changeset(
        message=message(2), deals=[deal(status="closed"), deal("d2")], chats=[chat(OTHER, "d2")],
        entries_added=[entry(2, 2)], entries_updated=[replace(entry(1, 1), removed=True)],
        lines_added=[line(2, 2)], lines_updated=[replace(line(1, 1), alive=False)],
        notices=[notice(2)], processed=[("telegram", "2")], outbox=[effect(2), effect(2, 1, kind="reply")],
    )


def seeded(store: Repository) -> None:
    opened(store)
    store.commit(Changeset(message=message(1), entries_added=[entry(1, 1)], lines_added=[line(1, 1)],
                           notices=[notice(1)], processed=[("telegram", "1")], outbox=[effect(1)]))


BROKEN = {
    "duplicate processed delivery": lambda cs: cs.processed.append(("telegram", "1")),
    "processed twice in one changeset": lambda cs: cs.processed.append(("telegram", "2")),
    "duplicate message seq": lambda cs: setattr(cs, "message", message(1)),
    "duplicate entry id": lambda cs: cs.entries_added.append(entry(1, 2)),
    "duplicate line id": lambda cs: cs.lines_added.append(line(2, 2)),
    "entry of an unknown deal": lambda cs: cs.entries_added.append(entry(9, 2, "nope")),
    "chat bound to an unknown deal": lambda cs: cs.chats.append(chat("x:y", "nope")),
    "update of an unknown entry": lambda cs: cs.entries_updated.append(entry(99, 2)),
    "update of an unknown line": lambda cs: cs.lines_updated.append(line(99, 2)),
    "duplicate item code": lambda cs: cs.deals[1].items.append(item("A", "1.00", 5)),
    "price with 3 decimals": lambda cs: cs.deals[1].items.append(item("Z", "1.005", 5)),
    "naive datetime": lambda cs: setattr(cs, "message", message(2, ts=datetime(2025, 3, 1, 9, 0))),
    "duplicate outbox key": lambda cs: cs.outbox.append(effect(1)),
    "outbox key twice in one changeset": lambda cs: cs.outbox.append(effect(2, 1)),
    "naive outbox time": lambda cs: cs.outbox.append(effect(2, 2, created_at=datetime(2025, 3, 1, 9, 0))),
}


def test_the_busy_changeset_is_valid(store: Repository) -> None:
    seeded(store)
    store.commit(busy_changeset())
    snap = load_open(store)
    assert [d.id for d in snap.deals] == ["d2"]
    assert [c.chat_key for c in snap.chats] == [CHAT, OTHER]
    assert store.deal_entries("d1") == [replace(entry(1, 1), removed=True), entry(2, 2)]
    assert snap.lines == [] and snap.messages == []  # CHAT's deal is closed; OTHER has none yet
    assert store.notices() == [notice(1), notice(2)]
    assert store.is_processed("telegram", "2")
    assert store.pending_effects(LATER) == [effect(1), effect(2), effect(2, 1, kind="reply")]


@pytest.mark.parametrize("breakage", list(BROKEN))
def test_a_failing_commit_writes_nothing(store: Repository, breakage: str) -> None:
    seeded(store)
    before, texts = state(store), stored_texts(store)
    cs = busy_changeset()
    BROKEN[breakage](cs)
    with pytest.raises(STORE_ERRORS):
        store.commit(cs)
    assert state(store) == before
    assert stored_texts(store) == texts


def test_commit_many_is_one_transaction(store: Repository) -> None:
    seeded(store)
    before = state(store)
    batch = [Changeset(message=message(2), entries_added=[entry(2, 2)]),
             Changeset(message=message(3), processed=[("telegram", "1")])]
    with pytest.raises(STORE_ERRORS):
        store.commit_many(batch)
    assert state(store) == before


def test_commit_many_applies_in_order(store: Repository) -> None:
    store.commit_many([
        Changeset(deals=[deal()], chats=[chat()]),
        Changeset(message=message(1), entries_added=[entry(1, 1)], lines_added=[line(1, 1)],
                  processed=[("telegram", "1")]),
        Changeset(message=message(2), entries_updated=[replace(entry(1, 1), superseded_seq=2)],
                  entries_added=[entry(2, 2, kind="set")], lines_updated=[replace(line(1, 1), alive=False)]),
        Changeset(message=message(3), entries_updated=[entry(1, 1)], lines_updated=[line(1, 1)],
                  notices=[notice(3)]),
        Changeset(deals=[deal(title="last wins")], processed=[("telegram", "2")]),
    ])
    snap = load_open(store)
    assert snap.deals == [deal(title="last wins")]
    assert snap.entries == [entry(1, 1), entry(2, 2, kind="set")]
    assert snap.lines == [line(1, 1)]
    assert [m.seq for m in snap.messages] == [1, 2, 3]
    assert store.notices() == [notice(3)]
    assert store.is_processed("telegram", "1") and store.is_processed("telegram", "2")


# --- the outbox ---------------------------------------------------------------------------------

def test_outbox_rows_are_written_with_their_message(store: Repository) -> None:
    opened(store)
    ask = effect(1, 1, kind="reply", text="您要的是脐橙还是血橙?", mention_id="u1", mention_name="小王 🌸")
    store.commit(Changeset(message=message(1), entries_added=[entry(1, 1)], outbox=[effect(1), ask]))
    store.commit_many([Changeset(message=message(2), outbox=[effect(2, kind="digest", target=None, text="")]),
                       Changeset(message=message(3))])
    got = store.pending_effects(LATER)
    assert got == [effect(1), ask, effect(2, kind="digest", target=None, text="")]
    assert all(r.created_at.utcoffset() == timedelta(0) for r in got)
    assert store.pending_effects(T0 + timedelta(seconds=2)) == [effect(1), ask]  # created strictly before
    assert store.pending_effects(T0) == []


def test_delivered_outbox_rows_are_gone_once_and_for_all(store: Repository) -> None:
    opened(store)
    store.commit(Changeset(message=message(1), outbox=[effect(1), effect(1, 1, kind="reply")]))
    store.commit(Changeset(message=message(2), outbox=[effect(2)]))
    store.effects_delivered([(1, 0), (2, 0)])
    assert store.pending_effects(LATER) == [effect(1, 1, kind="reply")]
    store.effects_delivered([(1, 0), (7, 3)])  # delivered twice, or never written: no error
    store.effects_delivered([])
    assert store.pending_effects(LATER) == [effect(1, 1, kind="reply")]
    store.effects_delivered([(1, 1)])
    assert store.pending_effects(LATER) == []
    with pytest.raises(STORE_ERRORS):  # a key is never reused, even after its row was delivered
        store.commit(Changeset(message=message(1), outbox=[effect(1)]))


def test_a_sweep_claims_only_rows_whose_lease_ended(store: Repository) -> None:
    opened(store)
    held = dict(claimed_by="A", claimed_until=T0 + timedelta(seconds=60))
    store.commit(Changeset(message=message(1), outbox=[effect(1, **held), effect(1, 1, kind="reply", **held)]))
    store.commit(Changeset(message=message(2), outbox=[effect(2, key=OTHER)]))  # nobody holds it (from before leases)
    store.commit(Changeset(message=message(3), outbox=[effect(3, key=OTHER, claimed_by="B",
                                                              claimed_until=T0 + timedelta(seconds=90))]))
    until = T0 + timedelta(seconds=100)
    assert store.claim_effects("C", until, now=T0 + timedelta(seconds=30), limit=10) == [
        effect(2, key=OTHER, claimed_by="C", claimed_until=until)]
    got = store.claim_effects("C", until, now=T0 + timedelta(seconds=61), limit=10)  # A's lease ended, B's holds
    assert got == [effect(1, claimed_by="C", claimed_until=until),
                   effect(1, 1, kind="reply", claimed_by="C", claimed_until=until)]
    assert store.claim_effects("D", until, now=T0 + timedelta(seconds=61), limit=10) == []  # C holds them now
    assert [(r.seq, r.claimed_by) for r in store.pending_effects(LATER)] == [(1, "C"), (1, "C"), (2, "C"), (3, "B")]
    # in (seq, n) order, ``limit`` at a time; an ended lease of one's own is claimed again too
    later = T0 + timedelta(seconds=200)
    assert [(r.seq, r.n) for r in store.claim_effects("C", later, now=T0 + timedelta(seconds=150), limit=2)] == [
        (1, 0), (1, 1)]


def test_a_sweep_leaves_the_rows_of_the_platforms_it_skips(store: Repository) -> None:
    """A worker that does not hold a WeChat account's connection claims no row of a ``wechat:`` chat
    (only the platform itself: ``wechatx:`` is not ``wechat:``; ``_`` in a platform is no wildcard)."""
    opened(store)
    keys = [OTHER, "wechatx:room3", "wexchat:room4", CHAT]
    store.commit(Changeset(message=message(1), outbox=[effect(1, n, key=k) for n, k in enumerate(keys)]))
    until, now = T0 + timedelta(seconds=100), T0 + timedelta(seconds=30)
    got = store.claim_effects("follower", until, now=now, limit=10, skip=["wechat", "we_chat"])
    assert [r.chat_key for r in got] == keys[1:]
    assert store.claim_effects("follower", until, now=now, limit=10, skip=["wechat"]) == []  # it holds the rest
    got = store.claim_effects("holder", until, now=now, limit=10)
    assert [(r.chat_key, r.claimed_by) for r in got] == [(OTHER, "holder")]


def test_a_chats_row_waits_while_an_earlier_one_of_that_chat_is_held(store: Repository) -> None:
    opened(store)
    t10, t60 = T0 + timedelta(seconds=10), T0 + timedelta(seconds=60)
    store.commit(Changeset(message=message(1), outbox=[effect(1, claimed_by="A", claimed_until=t60)]))
    store.commit(Changeset(message=message(2), outbox=[effect(2, claimed_by="D", claimed_until=t10),
                                                       effect(2, 1, key=OTHER, claimed_by="D", claimed_until=t10)]))
    until = T0 + timedelta(seconds=100)
    got = store.claim_effects("C", until, now=T0 + timedelta(seconds=30), limit=10)
    assert [(r.seq, r.n) for r in got] == [(2, 1)]  # (2, 0) would overtake (1, 0), still A's
    got = store.claim_effects("C", until, now=T0 + timedelta(seconds=61), limit=10)
    assert [(r.seq, r.n) for r in got] == [(1, 0), (2, 0)]


def test_a_takeover_claims_every_other_workers_row(store: Repository) -> None:
    opened(store)
    until = T0 + timedelta(seconds=60)
    store.commit(Changeset(message=message(1), outbox=[effect(1, claimed_by="old", claimed_until=until)]))
    store.commit(Changeset(message=message(2), outbox=[effect(2, claimed_by="me", claimed_until=until)]))
    got = store.claim_effects("me", until, now=T0, limit=10, takeover=True)
    assert got == [effect(1, claimed_by="me", claimed_until=until)]  # not the row "me" committed itself


def test_a_holder_extends_and_deletes_only_the_rows_it_still_holds(store: Repository) -> None:
    opened(store)
    t60, t90 = T0 + timedelta(seconds=60), T0 + timedelta(seconds=90)
    store.commit(Changeset(message=message(1), outbox=[effect(1, claimed_by="A", claimed_until=t60),
                                                       effect(1, 1, kind="reply", claimed_by="A", claimed_until=t60)]))
    [taken] = store.claim_effects("B", t90, now=T0 + timedelta(seconds=61), limit=1)  # A stalled past its lease
    assert (taken.seq, taken.n) == (1, 0)
    store.extend_claims("A", [(1, 0), (1, 1)], T0 + timedelta(seconds=120))
    assert [(r.claimed_by, r.claimed_until) for r in store.pending_effects(LATER)] == [
        ("B", t90), ("A", T0 + timedelta(seconds=120))]
    store.effects_delivered([(1, 0), (1, 1)], "A")  # A's slow delivery ends: it deletes only its own
    assert store.pending_effects(LATER) == [effect(1, claimed_by="B", claimed_until=t90)]
    store.effects_delivered([(1, 0)], "B")
    assert store.pending_effects(LATER) == []


def test_pending_effects_needs_an_aware_time(store: Repository) -> None:
    with pytest.raises(ValueError):
        store.pending_effects(datetime(2025, 3, 1, 9, 0))


# --- migrations ---------------------------------------------------------------------------------

def test_upgrade_from_0004_keeps_the_data_and_adds_the_outbox(request: pytest.FixtureRequest,
                                                              sql_kind: str) -> None:
    url = request.getfixturevalue(URL_FIXTURES[sql_kind])
    engine = make_engine(url)
    try:
        upgrade(engine, "0004")
        assert current_revision(engine) == "0004"
        with engine.begin() as conn:
            assert not sa_inspect(conn).has_table("outbox")
            conn.execute(DEALS.insert().values(id="d1", title="周六水果团", status="open", cutoff=None, max_qty=None,
                                               created_at=T0, source="config", max_line_qty=None))
        upgrade(engine)
        assert current_revision(engine) == ScriptDirectory.from_config(alembic_config()).get_current_head()
        repo = SqlRepository(engine)
        assert repo.get_deal("d1") == deal(items=[], source="config")
        repo.commit(Changeset(message=message(1), outbox=[effect(1)]))
        assert repo.pending_effects(LATER) == [effect(1)]
    finally:
        engine.dispose()


def test_schema_is_built_by_alembic_and_matches_the_models(sql_store: SqlRepository) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with sql_store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, METADATA) == []


def test_opening_again_is_a_no_op(sql_store: SqlRepository) -> None:
    url = sql_store.engine.url.render_as_string(hide_password=False)
    opened(sql_store)
    again = open_repository(url)
    try:
        assert again.get_deal("d1") == deal()
    finally:
        again.close()


def test_sqlite_pragmas(sqlite_url: str) -> None:
    repo = open_repository(sqlite_url)
    try:
        with repo.engine.connect() as conn:
            pragma = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in
                      ("journal_mode", "synchronous", "foreign_keys")}
        assert pragma == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1}
    finally:
        repo.close()


def test_in_memory_sqlite_keeps_its_data() -> None:
    repo = open_repository("sqlite://")
    try:
        opened(repo)
        assert repo.get_deal("d1") == deal()
        assert load_open(repo).chats == [chat()]
    finally:
        repo.close()


def test_claim_mark_is_once_only(store: Repository) -> None:
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert store.claim_mark("reminder:g1@2026-11-25T20:30", at) is True
    assert store.claim_mark("reminder:g1@2026-11-25T20:30", at) is False
    assert store.claim_mark("reminder:g1@2026-11-26T20:30", at) is True


def test_claim_mark_survives_reopening(sqlite_url: str) -> None:
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    first = open_repository(sqlite_url)
    assert first.claim_mark("cutoff:g1@slot", at)
    first.close()
    again = open_repository(sqlite_url)
    assert not again.claim_mark("cutoff:g1@slot", at)
    again.close()
