"""A store made at the previous revision (0005, today's main) upgrades to the newest without loss.

The store is built by Alembic at revision 0005 and filled through raw SQL as the code of that
revision wrote it (two rounds of a group, one closed and one open, chats, messages, entries,
lines, notices, outbox, sent marks, delivery marks), then opened with ``open_repository``, which
upgrades it. Checked on SQLite and PostgreSQL: every row of every old table is still there with
the same values, and the new columns are right (storage/migrations/versions/0006_store_truth.py):
each deal at version 0 with no ``closed_at``, ``deal_chats`` read from the chats, entries and
lines, each message tagged with its deal, and the id blocks above every existing id.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, inspect, text

from storage.engine import make_engine
from storage.migrate import SCHEMA_HEAD, current_revision, upgrade
from storage.models import ID_BLOCK_SIZE
from storage.sql import open_repository

PREVIOUS = "0005"
CLOSED, OPEN, GONE = "d1closed", "d2open", "d9gone"  # GONE: a deal id some lines name, not in `deals`
A, B, C, D = "telegram:-1001", "wechat:r2@chatroom", "telegram:-1003", "telegram:-1004"
# A: the group of both rounds (now bound to the open one); B: bound to the open round, no orders yet;
# C: took part in the closed round by a list line only, now bound to nothing; D: no chats row.

OLD_TABLES = ("deals", "deal_items", "chats", "messages", "entries", "lines", "notices",
              "processed_deliveries", "sent_marks", "outbox")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def ts(conn: Connection, when: str) -> str:
    """A UTC instant as the previous revision's code stored it (SQLite: naive UTC text, as SQLAlchemy
    writes it; PostgreSQL: timestamptz)."""
    return f"{when}.000000" if conn.dialect.name == "sqlite" else f"{when}+00"


def fill(conn: Connection) -> None:
    """Rows as revision 0005's code wrote them: ids counted in the process, no deal on messages."""

    def rows(sql: str, params: list[dict[str, Any]]) -> None:
        conn.execute(text(sql), params)

    rows("INSERT INTO deals (id, title, status, cutoff, max_qty, created_at, source, max_line_qty) "
         "VALUES (:id, :title, :status, :cutoff, :max_qty, :created_at, :source, :mlq)", [
             {"id": CLOSED, "title": "水果团", "status": "closed", "cutoff": ts(conn, "2026-11-27 13:00:00"),
              "max_qty": 10, "created_at": ts(conn, "2026-11-27 00:00:00"), "source": "config", "mlq": None},
             {"id": OPEN, "title": "水果团", "status": "open", "cutoff": None, "max_qty": None,
              "created_at": ts(conn, "2026-11-28 00:00:00"), "source": f"post:{A}:m90", "mlq": 50},
         ])
    rows("INSERT INTO deal_items (deal_id, code, name, unit, price, aliases, stock, position) "
         "VALUES (:deal, :code, :name, :unit, :price, :aliases, :stock, :pos)", [
             {"deal": CLOSED, "code": "1", "name": "阳光玫瑰葡萄 2斤装", "unit": "盒", "price": "29.90",
              "aliases": '["葡萄"]', "stock": None, "pos": 0},
             {"deal": CLOSED, "code": "2", "name": "土鸡蛋 30枚", "unit": "盒", "price": "32.00",
              "aliases": '["鸡蛋"]', "stock": 60, "pos": 1},
             {"deal": OPEN, "code": "1", "name": "赣南脐橙 5斤", "unit": "箱", "price": "25.80",
              "aliases": '["脐橙", "橙子"]', "stock": 40, "pos": 0},
             {"deal": OPEN, "code": "2", "name": "血橙 3斤", "unit": "箱", "price": "22.00",
              "aliases": "[]", "stock": None, "pos": 1},
         ])
    rows("INSERT INTO chats (chat_key, platform, external_id, title, deal_id) "
         "VALUES (:key, :platform, :ext, :title, :deal)", [
             {"key": A, "platform": "telegram", "ext": "-1001", "title": "幸福里 团购群", "deal": OPEN},
             {"key": B, "platform": "wechat", "ext": "r2@chatroom", "title": "二期群", "deal": OPEN},
             {"key": C, "platform": "telegram", "ext": "-1003", "title": "", "deal": None},
         ])
    msg = ("INSERT INTO messages (seq, chat_key, message_id, sender_id, sender_name, text, ts, is_admin, "
           "edit_of, recall_of, kind) VALUES (:seq, :chat, :mid, :sid, :name, :text, :ts, :admin, :edit, "
           ":recall, :kind)")

    def m(seq: int, chat: str, text_: str, kind: str, *, admin: bool = False, edit: str | None = None,
          recall: str | None = None) -> dict[str, Any]:
        return {"seq": seq, "chat": chat, "mid": f"m{seq}", "sid": f"u{seq % 3}", "name": f"王姐{seq % 3}",
                "text": text_, "ts": ts(conn, f"2026-11-2{7 if seq < 5 else 8} 0{seq}:00:00"), "admin": admin,
                "edit": edit, "recall": recall, "kind": kind}

    rows(msg, [
        m(1, A, "#接龙\n1. 3栋402 王姐 葡萄2", "order"),      # entries + a line of the closed round
        m(2, A, "#接龙\n1. 3栋402 王姐 葡萄2\n2. 5栋101 李哥", "list"),  # a line of the closed round only
        m(3, C, "1. 9栋1003 袁姐 鸡蛋1", "list"),               # a line of the closed round, chat C
        m(4, A, "谢谢团长", "ignored"),                        # nothing: the chat's deal now (open)
        m(5, A, "脐橙2", "order"),                            # an entry of the open round
        m(6, B, "/tally", "ignored", admin=True),             # nothing: chat B's deal (open)
        m(7, D, "你好", "ignored"),                           # no chats row: no deal
        m(8, A, "脐橙改成3", "change", edit="m5"),              # an entry of the open round
        m(9, A, "", "undo", recall="m1"),                    # nothing: the chat's deal now
    ])
    entry = ("INSERT INTO entries (id, deal_id, chat_key, sender_id, sender_name, label, item_code, qty, kind, "
             "message_id, seq, line_id, superseded_seq, removed) VALUES (:id, :deal, :chat, :sid, :name, "
             ":label, :code, :qty, :kind, :mid, :seq, :line, :sup, :removed)")

    def e(id_: int, deal: str, seq: int, code: str, qty: int, kind: str = "entry", *, line: int | None = None,
          sup: int | None = None, removed: bool = False) -> dict[str, Any]:
        return {"id": id_, "deal": deal, "chat": A, "sid": f"u{seq % 3}", "name": f"王姐{seq % 3}",
                "label": "3栋402 王姐", "code": code, "qty": qty, "kind": kind, "mid": f"m{seq}", "seq": seq,
                "line": line, "sup": sup, "removed": removed}

    rows(entry, [
        e(1, CLOSED, 1, "1", 2, line=1, removed=True),
        e(2, CLOSED, 1, "2", 1, line=1),
        e(3000, OPEN, 5, "1", 2, sup=8),  # the highest id of all: the id blocks start above it
        e(2001, OPEN, 8, "1", 3, "set"),
    ])
    line = ("INSERT INTO lines (id, chat_key, text_key, number, label, owner_id, message_id, seq, alive, "
            "replaced_by, deal_id) VALUES (:id, :chat, :key, :num, :label, :owner, :mid, :seq, :alive, "
            ":rep, :deal)")
    rows(line, [
        {"id": 1, "chat": A, "key": "1. 3栋402 王姐 葡萄2", "num": "1", "label": "3栋402 王姐", "owner": "u1",
         "mid": "m1", "seq": 1, "alive": False, "rep": 2, "deal": CLOSED},
        {"id": 2, "chat": A, "key": "2. 5栋101 李哥", "num": "2", "label": "5栋101 李哥", "owner": "u2",
         "mid": "m2", "seq": 2, "alive": True, "rep": None, "deal": CLOSED},
        {"id": 3, "chat": C, "key": "1. 9栋1003 袁姐 鸡蛋1", "num": "1", "label": "9栋1003 袁姐", "owner": "u0",
         "mid": "m3", "seq": 3, "alive": True, "rep": None, "deal": CLOSED},
        {"id": 2900, "chat": A, "key": "旧行", "num": None, "label": "旧行", "owner": "u0",  # before 0003
         "mid": "m0", "seq": 98, "alive": True, "rep": None, "deal": None},
        {"id": 2901, "chat": D, "key": "1. 无名", "num": "1", "label": "无名", "owner": "u0",  # a deal not kept
         "mid": "m99", "seq": 99, "alive": True, "rep": None, "deal": GONE},
    ])
    rows("INSERT INTO notices (chat_key, message_id, seq, kind, reason) VALUES (:chat, :mid, :seq, :kind, :r)",
         [{"chat": A, "mid": "m5", "seq": 5, "kind": "unclear", "r": "ambiguous item: 橙"}])
    rows("INSERT INTO processed_deliveries (source, update_id) VALUES (:s, :u)",
         [{"s": "telegram", "u": "1001"}, {"s": "telegram", "u": "1002"}])
    rows("INSERT INTO sent_marks (key, at) VALUES (:k, :at)",
         [{"k": "deal_card:home:2026-11-28", "at": ts(conn, "2026-11-28 00:00:00")},
          {"k": "cutoff:home:2026-11-27", "at": ts(conn, "2026-11-27 13:00:00")}])
    rows("INSERT INTO outbox (seq, n, chat_key, kind, target, text, mention_id, mention_name, created_at) "
         "VALUES (:seq, :n, :chat, :kind, :target, :text, :mid, :mname, :at)", [
             {"seq": 8, "n": 0, "chat": A, "kind": "react", "target": "m8", "text": "✅", "mid": None,
              "mname": None, "at": ts(conn, "2026-11-28 08:00:01")},
             {"seq": 8, "n": 1, "chat": A, "kind": "reply", "target": "m8", "text": "已改为 脐橙3", "mid": "u2",
              "mname": "王姐2", "at": ts(conn, "2026-11-28 08:00:01")},
         ])


def dump(engine: Engine, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the old tables (only ``columns`` when given), ordered by primary key."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        ins = inspect(conn)
        for table in OLD_TABLES:
            cols = columns[table] if columns else [c["name"] for c in ins.get_columns(table)]
            keys = ins.get_pk_constraint(table)["constrained_columns"]
            out[table] = [tuple(r) for r in conn.execute(text(
                f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(keys)}"))]
    return out


def test_a_store_of_the_previous_revision_upgrades_without_loss(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine, PREVIOUS)
        assert current_revision(engine) == PREVIOUS
        with engine.begin() as conn:
            fill(conn)
        with engine.connect() as conn:
            old_columns = {t: [c["name"] for c in inspect(conn).get_columns(t)] for t in OLD_TABLES}
        assert "version" not in old_columns["deals"] and "deal_id" not in old_columns["messages"]
        before = dump(engine)
    finally:
        engine.dispose()
    assert sum(map(len, before.values())) == 2 + 4 + 3 + 9 + 4 + 5 + 1 + 2 + 2 + 2

    repo = open_repository(url)  # upgrades to the newest revision
    try:
        engine = repo.engine
        assert current_revision(engine) == SCHEMA_HEAD
        assert dump(engine, old_columns) == before  # every old row, every old value

        with engine.connect() as conn:
            deals = conn.execute(text("SELECT id, status, version, closed_at FROM deals ORDER BY id")).all()
            assert [tuple(d) for d in deals] == [(CLOSED, "closed", 0, None), (OPEN, "open", 0, None)]
            assert set(conn.execute(text("SELECT deal_id, chat_key FROM deal_chats")).all()) == {
                (CLOSED, A), (CLOSED, C), (OPEN, A), (OPEN, B)}
            tagged: dict[int, str | None] = dict(conn.execute(text("SELECT seq, deal_id FROM messages")).all())
            assert tagged == {1: CLOSED, 2: CLOSED, 3: CLOSED, 4: OPEN, 5: OPEN, 6: OPEN, 7: None, 8: OPEN,
                              9: OPEN}
            top = conn.execute(text(
                "SELECT max(m) FROM (SELECT max(seq) AS m FROM messages UNION ALL SELECT max(id) FROM entries "
                "UNION ALL SELECT max(id) FROM lines) AS t")).scalar()
            assert top == 3000
            if conn.dialect.name == "postgresql":
                block = conn.execute(text("SELECT nextval('tuan_id_blocks')")).scalar()
            else:
                block = conn.execute(text("SELECT next_block FROM id_blocks WHERE name = 'ids'")).scalar()
            assert block is not None and block * ID_BLOCK_SIZE > top
            assert block == top // ID_BLOCK_SIZE + 1  # and not wastefully far above

        # The migrated rows read back through the store as the service sees them.
        deal = repo.get_deal(OPEN)
        assert deal is not None and deal.status == "open" and deal.version == 0 and deal.max_line_qty == 50
        assert [(i.code, i.price, i.aliases, i.stock) for i in deal.items] == [
            ("1", Decimal("25.80"), ("脐橙", "橙子"), 40), ("2", Decimal("22.00"), (), None)]
        closed = repo.get_deal(CLOSED)
        assert closed is not None and closed.cutoff is not None and closed.cutoff.utcoffset() is not None
        assert [(e.id, e.removed, e.superseded_seq) for e in repo.deal_entries(CLOSED)] == [
            (1, True, None), (2, False, None)]
        assert repo.claim_mark("deal_card:home:2026-11-28", deal.created_at) is False  # the mark survived
    finally:
        repo.close()
