"""A past period settles as it was (SQLite and PostgreSQL): the leaders' terms in force when each
round opened (bot/usecases/terms_history.py), a group's rounds under a former chat key
(bot/usecases/group_chats.py: settlement, `tuan stats`, purchase routes), a neighbour's (proxy)
household's refunds and short deliveries netted from a per-unit commission, and the migration 0018.
Figures by hand in the comments; 鸡蛋 25.00/盒.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text, update

from adapters.fake import sender_id_of
from bot.catalog import Catalog, Item
from bot.cli import main
from bot.model import InboundMessage
from bot.runtime import read_config
from bot.services.orders import OrderService
from bot.usecases.leaderday import Actor, LeaderDay
from bot.usecases.settlement import Period, settlement
from bot.usecases.stats import day_stats
from storage.engine import make_engine
from storage.migrate import SCHEMA_HEAD, current_revision, upgrade
from storage.models import DEALS, GROUP_FORMER_CHATS, LEADER_TERMS
from storage.operators import SqlOperatorStore
from storage.sql import SqlRepository, open_repository
from tests.leadership_dates import leaders_linked_since

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal
EGG = Item("1", "鸡蛋", "盒", D("25"))
NOV = Period(date(2026, 11, 1), date(2026, 11, 30))


class Store:
    """A store with no [[groups]] in tuan.toml; groups and leaders come from the CLI."""

    def __init__(self, tmp_path: Path, url: str, capsys: Any) -> None:
        self.cfg = tmp_path / "tuan.toml"
        self.cfg.write_text(f'[store]\nurl = "{url}"\n[bot]\ntimezone = "Asia/Shanghai"\n', encoding="utf-8")
        self.capsys = capsys
        self.repo: SqlRepository = open_repository(url)
        self.service = OrderService(self.repo)
        self.n = 0

    def cli(self, *args: str) -> str:
        code = main([*args, "--config", str(self.cfg)])
        out, err = self.capsys.readouterr()
        assert code == 0, err
        return out

    def round_(self, chats: list[str], day: datetime, orders: list[tuple[str, str, str]]) -> str:
        deal = self.service.open_deal(Catalog(items=(EGG,), title="团"), chats, title="团")
        for chat, who, words in orders:
            self.n += 1
            platform, _, chat_id = chat.partition(":")
            self.service.handle(InboundMessage(platform, chat_id, f"m{self.n}", sender_id_of(who), who, words,
                                               datetime.now(UTC)))
        with self.repo.engine.begin() as conn:
            conn.execute(update(DEALS).where(DEALS.c.id == deal).values(created_at=day))
        return deal

    def terms_since(self, day: datetime, *, after: datetime | None = None) -> None:
        """Date the terms changes recorded so far (those after ``after``) to ``day``: the CLI records
        them now, the month below happens earlier."""
        with self.repo.engine.begin() as conn:
            q = update(LEADER_TERMS).values(since=day)
            conn.execute(q if after is None else q.where(LEADER_TERMS.c.since > after))

    def leaders_since(self, day: datetime) -> None:
        """Date the groups' current leaders, linked by the CLI now, to ``day`` (the month below happens earlier)."""
        leaders_linked_since(self.repo.engine, day)

    def chats_changed_on(self, day: datetime) -> None:
        """Date the groups' chat key changes recorded so far to ``day`` (the CLI records them now)."""
        with self.repo.engine.begin() as conn:
            conn.execute(update(GROUP_FORMER_CHATS).values(until=day))

    def settle(self, period: Period = NOV) -> Any:
        rows = SqlOperatorStore(self.repo.engine).load()
        return settlement(self.service, read_config(str(self.cfg)), rows, period)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, capsys: Any) -> Iterator[Store]:
    s = Store(tmp_path, request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"), capsys)
    yield s
    s.repo.close()


def at(day: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=TZ)


# wang leads g1 at 10% and earns 10% of her downline li's commission; li leads g2 at 5%.
# Round A (11-02): g1 鸡蛋4 100.00, g2 鸡蛋2 50.00. On 11-05 wang's rate becomes 5% and her share
# 20%, li's rate 8%. Round B (11-09): g1 鸡蛋2 50.00, g2 鸡蛋4 100.00.
#   wang: A 100 × 10% = 10 + B 50 × 5% = 2.5 → 12.50; share: A 2.5 × 10% = 0.25 + B 8 × 20% = 1.6 → 1.85
#   li:   A 50 × 5% = 2.5 + B 100 × 8% = 8 → 10.50
# Only 11-01..11-04: wang 10.00 (share 0.25), li 2.50. A change on 12-01 changes none of it.
def test_each_round_is_settled_under_the_terms_in_force_when_it_opened(store: Store) -> None:
    s = store
    s.cli("group", "add", "g1", "--platform", "fake", "--chat", "g1", "--title", "一号群")
    s.cli("group", "add", "g2", "--platform", "fake", "--chat", "g2", "--title", "二号群")
    s.cli("leader", "add", "wang", "--name", "王姐", "--groups", "g1", "--rate", "10%", "--upline-share", "10%")
    s.cli("leader", "add", "li", "--name", "李哥", "--groups", "g2", "--rate", "5%", "--upline", "wang")
    s.terms_since(at(1, 10))
    s.leaders_since(at(1, 10))
    s.round_(["fake:g1", "fake:g2"], at(2), [("fake:g1", "李四", "李四 鸡蛋4"), ("fake:g2", "王五", "王五 鸡蛋2")])
    s.cli("leader", "edit", "wang", "--rate", "5%", "--upline-share", "20%")
    s.cli("leader", "edit", "li", "--rate", "8%")
    s.terms_since(at(5), after=at(2, 10))
    s.round_(["fake:g1", "fake:g2"], at(9), [("fake:g1", "李四", "李四 鸡蛋2"), ("fake:g2", "王五", "王五 鸡蛋4")])

    def lines(period: Period = NOV) -> dict[str, tuple[Any, ...]]:
        return {ln.leader_id: (ln.net, ln.commission, ln.upline_share, ln.due, ln.rate, ln.share_rate)
                for ln in s.settle(period).lines}

    november = {"wang": (D("150.00"), D("12.50"), D("1.85"), D("14.35"), D("0.05"), D("0.2")),
                "li": (D("150.00"), D("10.50"), D("0.00"), D("10.50"), D("0.08"), None)}
    assert lines() == november
    assert lines(Period(date(2026, 11, 1), date(2026, 11, 4))) == {
        "wang": (D("100.00"), D("10.00"), D("0.25"), D("10.25"), D("0.1"), D("0.1")),
        "li": (D("50.00"), D("2.50"), D("0.00"), D("2.50"), D("0.05"), None)}
    s.cli("leader", "edit", "wang", "--rate", "1%", "--upline-share", "none")
    s.cli("leader", "edit", "li", "--upline", "none")
    s.terms_since(at(1, 12), after=at(6))
    assert lines() == november
    # `tuan settle` prints the same month
    out = s.cli("settle", "--from", "2026-11-01", "--to", "2026-11-30")
    assert "14.35" in out and "10.50" in out, out


# g7 (fake:-777) runs round A on 11-02 (李 鸡蛋4, 100.00); its chat id changes on 11-05 (-100777); round B
# on 11-09 runs there (李 鸡蛋2, 50.00). Both are g7's: settlement 150.00 (王姐 10% → 15.00), `tuan
# stats` a day each, 李 a repeat buyer on 11-09 (same resident, another chat key).
def test_a_group_keeps_its_rounds_across_a_chat_key_change(store: Store) -> None:
    s = store
    s.cli("group", "add", "g7", "--platform", "fake", "--chat", "-777", "--title", "七号群")
    s.cli("leader", "add", "wang", "--name", "王姐", "--groups", "g7", "--rate", "10%")
    s.leaders_since(at(1, 10))
    s.round_(["fake:-777"], at(2), [("fake:-777", "李", "李 鸡蛋4")])
    s.cli("group", "edit", "g7", "--chat", "-100777")
    s.chats_changed_on(at(5))
    s.round_(["fake:-100777"], at(9), [("fake:-100777", "李", "李 鸡蛋2")])
    st = s.settle()
    (line,) = st.lines
    (g7,) = st.groups
    assert (line.sales, line.commission, len(g7.deals), g7.orders) == (D("150.00"), D("15.00"), 2, 2)
    stats = day_stats(s.service, read_config(str(s.cfg)), SqlOperatorStore(s.repo.engine).load(), NOV)
    assert [(x.day, x.group_id, x.orders, x.amount, x.repeat) for x in stats] == [
        (date(2026, 11, 2), "g7", 1, D("100"), 0), (date(2026, 11, 9), "g7", 1, D("50"), 1)]


# A [[groups]] entry of tuan.toml whose chat is changed there (the import, at the next command)
# keeps its round of the former chat: 李 鸡蛋4 (100.00) in fake:old, then the chat is fake:new.
def test_a_tuan_toml_group_whose_chat_changed_keeps_its_rounds(store: Store) -> None:
    s = store
    group = '[[groups]]\nid = "g1"\nplatform = "fake"\nchat = "{chat}"\ntitle = "一号群"\n'
    base = s.cfg.read_text(encoding="utf-8")
    s.cfg.write_text(base + group.format(chat="old"), encoding="utf-8")
    s.cli("leader", "add", "wang", "--name", "王姐", "--groups", "g1", "--rate", "10%")
    s.leaders_since(at(1, 10))
    s.round_(["fake:old"], at(2), [("fake:old", "李", "李 鸡蛋4")])
    s.cfg.write_text(base + group.format(chat="new"), encoding="utf-8")
    assert "fake:new" in s.cli("group", "list")  # imported
    s.chats_changed_on(at(5))
    (line,) = s.settle().lines
    assert (line.sales, line.commission, line.groups) == (D("100.00"), D("10.00"), ("g1",))


# Two groups swap chats (g1 fake:a ↔ g2 fake:b, tuan.toml-less, by way of a spare key): each keeps
# the round it ran before the swap (11-05); the round after it in fake:a is g2's: g1 100.00 (round A
# in fake:a), g2 25.00 (round A in fake:b) + 50.00.
def test_groups_that_swap_chats_keep_their_own_rounds(store: Store) -> None:
    s = store
    s.cli("group", "add", "g1", "--platform", "fake", "--chat", "a", "--title", "一号群")
    s.cli("group", "add", "g2", "--platform", "fake", "--chat", "b", "--title", "二号群")
    s.round_(["fake:a", "fake:b"], at(2), [("fake:a", "李", "李 鸡蛋4"), ("fake:b", "王", "王 鸡蛋1")])
    s.cli("group", "edit", "g1", "--chat", "spare")
    s.cli("group", "edit", "g2", "--chat", "a")
    s.cli("group", "edit", "g1", "--chat", "b")
    s.chats_changed_on(at(5))
    s.round_(["fake:a"], at(9), [("fake:a", "赵", "赵 鸡蛋2")])
    figures = {g.group_id: (g.sales, len(g.deals)) for g in s.settle().groups}
    assert figures == {"g1": (D("100.00"), 1), "g2": (D("75.00"), 2)}


# A round for delivery on 12-01 runs in g1's chat; then g1's chat id changes. `tuan purchase` still
# routes its goods to g1 (and its leader), not to the bare former chat key.
def test_the_purchase_routes_follow_a_group_whose_chat_changed(store: Store) -> None:
    import csv
    import io

    s = store
    s.cli("group", "add", "g1", "--platform", "fake", "--chat", "g1", "--title", "一号群")
    s.cli("leader", "add", "wang", "--name", "王姐", "--groups", "g1")
    s.cli("product", "add", "E1", "--name", "土鸡蛋", "--price", "32", "--unit", "盒", "--spec", "30枚",
          "--aliases", "鸡蛋")
    s.cli("deal", "open", "--group", "g1", "--products", "E1", "--delivery", "2099-12-01")
    s.service.handle(InboundMessage("fake", "g1", "p1", sender_id_of("李"), "李", "李 鸡蛋3", datetime.now(UTC)))
    s.cli("group", "edit", "g1", "--chat", "g1-super")
    out = s.cli("purchase", "--date", "2099-12-01", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    routes = rows[rows.index([]) + 2:]
    assert [r[1:3] + r[-1:] for r in routes] == [["g1 一号群", "王姐", "3"]], routes


# 王姐 (10%) on a variant paying 1.50/盒 (32.00): 张三 orders 2 for his neighbour (a household of its
# own) and 1 for himself, in either order; 1 box of 3 is delivered (/short 鸡蛋 1): 2 are refunded
# (64.00), from the neighbour's household in part or whole. One box kept: 1.50, whichever came first.
@pytest.mark.parametrize("proxy_first", [True, False])
def test_a_neighbour_s_short_units_earn_no_per_unit_commission(store: Store, proxy_first: bool) -> None:
    s = store
    s.cli("group", "add", "g1", "--platform", "fake", "--chat", "g1", "--title", "一号群")
    s.cli("leader", "add", "wang", "--name", "王姐", "--groups", "g1", "--rate", "10%")
    s.cli("product", "add", "E1", "--name", "土鸡蛋", "--price", "32", "--unit", "盒", "--spec", "30枚")
    s.cli("product", "variant", "E1", "30枚", "--price", "32", "--unit", "盒", "--commission", "1.50",
          "--aliases", "鸡蛋")
    s.cli("deal", "open", "--group", "g1", "--products", "E1", "--delivery", "2099-12-01")
    deal = s.service.deal_of("fake:g1")
    assert deal is not None
    words = ["帮邻居6栋101刘奶奶 鸡蛋2", "张三 鸡蛋1"]
    for n, w in enumerate(words if proxy_first else words[::-1]):
        s.service.handle(InboundMessage("fake", "g1", f"x{n}", sender_id_of("张三"), "张三", w, datetime.now(UTC)))
    s.service.close_deal(deal.id)  # a short delivery is recorded after the cutoff
    res = LeaderDay(s.repo).short(deal.id, Actor("fake:g1", "op", "王姐"), datetime.now(UTC), "鸡蛋", 1)
    assert sum(ln.short for ln in res.lines) == 2  # type: ignore[union-attr]
    today = deal.created_at.astimezone(TZ).date()  # the round's day: a month's last midnight may pass since
    (line,) = s.settle(Period(today.replace(day=1), today)).lines
    assert (line.sales, line.refunds, line.commission) == (D("96.00"), D("64.00"), D("1.50"))


# A store at 0016 with a leader at 8% (created 2026-10-01) upgrades: the leader's terms get a row
# from their created_at, so a round of September still settles at 8%, as before the upgrade.
@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_the_migration_records_each_leader_s_terms_from_their_creation(request: pytest.FixtureRequest,
                                                                       engine_name: str) -> None:
    url = request.getfixturevalue("sqlite_url" if engine_name == "sqlite" else "pg_url")
    engine = make_engine(url)
    try:
        upgrade(engine, "0016")
        created = "2026-10-01 00:00:00" + ("" if engine_name == "sqlite" else "+00")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO leaders (id, name, role, source, created_at, commission_rate, "
                              "upline_share) VALUES ('wang', '王姐', 'leader', 'cli', :at, '0.08', '0.1'), "
                              "('zhao', '赵姐', 'leader', 'cli', :at, NULL, NULL)"), {"at": created})
        upgrade(engine)
        assert current_revision(engine) == SCHEMA_HEAD
        from storage.operators import terms_history

        with engine.connect() as conn:
            history = terms_history(conn)
        rows = SqlOperatorStore(engine).load()
        assert list(history.changes) == ["wang"]
        ((since, terms),) = history.changes["wang"]
        assert since == datetime(2026, 10, 1, tzinfo=UTC) and (terms.rate, terms.upline_share) == (D("0.08"), D("0.1"))
        assert history.at(rows, "wang", datetime(2026, 9, 1, tzinfo=UTC)).rate == D("0.08")
        assert history.at(rows, "zhao", datetime(2026, 9, 1, tzinfo=UTC)).rate is None
    finally:
        engine.dispose()
