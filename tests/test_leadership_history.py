"""Who led a round is read as it was when the round opened (migration 0019, storage/leadership.py,
bot/usecases/terms_history.py): the group's leaders then, each one's role and retirement then.

Checked by hand in Decimal: 葡萄 10 元/盒; 张三 葡萄2 = 20 元 on a round opened 11-02; at 8% that
is 1.60 元.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.usecases.operators import OperatorRows, Terms
from bot.usecases.platform_data import LEADER, OPERATOR, LeaderRow, PlatformRows
from bot.usecases.settlement import DealFigures, GroupFigures, Period, leaders_of, settle
from bot.usecases.terms_history import Standing, TermsHistory
from storage.models import GROUP_LEADER_SETS, LEADER_STANDING
from storage.operators import terms_history
from storage.sql import open_repository
from tests.test_breaker7_settle import _november, _rounds, _setup
from tests.test_retirement import TZ, ok

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def _rows() -> OperatorRows:
    """Now: wang and li lead g (10% each); zhou (10%) is an operator leading nothing."""
    def leader(lid: str, role: str, groups: frozenset[str]) -> LeaderRow:
        return LeaderRow(lid, lid, role, "cli", T0, groups=groups)

    platform = PlatformRows(leaders={"wang": leader("wang", LEADER, frozenset({"g"})),
                                     "li": leader("li", LEADER, frozenset({"g"})),
                                     "zhou": leader("zhou", OPERATOR, frozenset())})
    return OperatorRows(platform=platform, terms={lid: Terms(D("0.1")) for lid in ("wang", "li", "zhou")})


def _figures() -> GroupFigures:
    """g: a round of 100 元 opened on day 1, another of 100 元 on day 3."""
    deals = (DealFigures("d1", _day(1), D("100"), D("0")), DealFigures("d3", _day(3), D("100"), D("0")))
    return GroupFigures("g", "g", "fake:g", ("d1", "d3"), 2, D("200"), D("0"), (), deals)


# Until day 2 g was led by wang and zhou (a leader then); on day 2 zhou became an operator and left
# g, and li joined it. Round 1: wang 5.00, zhou 5.00; round 3: wang 5.00, li 5.00.
HISTORY = TermsHistory.of((), standing=[("zhou", T0, Standing(LEADER, None)), ("zhou", _day(2), Standing(OPERATOR, None))],
                          members=[("g", T0, frozenset({"wang", "zhou"})), ("g", _day(2), frozenset({"wang", "li"}))])


def test_a_round_is_shared_by_the_leaders_of_its_group_when_it_opened() -> None:
    rows = _rows()
    assert leaders_of(rows, "g", _day(1), HISTORY) == ["wang", "zhou"]
    assert leaders_of(rows, "g", _day(3), HISTORY) == ["li", "wang"]
    assert leaders_of(rows, "g", _day(-5), HISTORY) == ["wang", "zhou"]  # before the first change: the first
    s = settle([_figures()], rows, Period(date(2026, 11, 1), date(2026, 11, 30)), history=HISTORY)
    assert {ln.leader_id: ln.commission for ln in s.lines} == {"wang": D("10.00"), "zhou": D("5.00"), "li": D("5.00")}
    assert s.commission == D("20.00")


def test_without_a_history_today_s_leaders_share_every_round() -> None:
    rows = _rows()
    assert leaders_of(rows, "g", _day(1)) == ["li", "wang"]
    s = settle([_figures()], rows, Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert {ln.leader_id: ln.commission for ln in s.lines} == {"wang": D("10.00"), "li": D("10.00")}


def test_a_leader_retired_then_or_now_takes_no_share() -> None:
    """A retirement recorded in the history (day 2..3) and today's (since day 5)."""
    rows = _rows()
    rows.platform.leaders["li"] = LeaderRow("li", "li", LEADER, "cli", T0, groups=frozenset({"g"}),
                                            retired_at=_day(5))
    history = TermsHistory.of((), standing=[("wang", _day(2), Standing(LEADER, _day(2))),
                                            ("wang", _day(4), Standing(LEADER, None))])
    assert [leaders_of(rows, "g", _day(n), history) for n in (1, 3, 4, 5)] == [
        ["li", "wang"], ["li"], ["li", "wang"], ["wang"]]
    assert leaders_of(rows, "g", None, history) == ["wang"]  # now


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def test_leaving_a_group_and_a_later_leader_keep_the_past_with_who_led_it(capsys: Any, tmp_path: Path,
                                                                          url: str) -> None:
    """wang (8%) leads park; round 1 (11-02) 20 元 → 1.60. wang then leaves park (leader edit
    --groups) and li (5%) joins it (leader edit --groups): November still owes wang 1.60, li nothing."""
    config = _setup(tmp_path, url)
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--rate", "8%")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥", "--rate", "5%")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang")
    repo = open_repository(url)
    try:
        from bot.services.orders import OrderService

        service = OrderService(repo)
        _rounds(service, [(datetime(2026, 11, 2, 9, tzinfo=TZ), "张三", "张三 葡萄2")])
        ok(capsys, config, "leader", "edit", "wang", "--groups", "home")
        ok(capsys, config, "leader", "edit", "li", "--groups", "park")
        assert _november(service, config) == {"wang": D("1.60")}
        with repo.engine.connect() as conn:
            sets = [ids for _since, ids in terms_history(conn).members["park"]]
        assert sets == [frozenset({"wang"}), frozenset(), frozenset({"li"})]
    finally:
        repo.close()


def test_a_store_without_rows_records_what_its_first_change_replaces(capsys: Any, tmp_path: Path, url: str) -> None:
    """A store upgraded to 0019 has no history rows: the first change of park's leaders and of
    wang's role records the state it replaces just before it, so the earlier round stays wang's."""
    config = _setup(tmp_path, url)
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--rate", "8%")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥", "--rate", "5%")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang")
    repo = open_repository(url)
    try:
        from bot.services.orders import OrderService

        service = OrderService(repo)
        _rounds(service, [(datetime(2026, 11, 2, 9, tzinfo=TZ), "张三", "张三 葡萄2")])
        with repo.engine.begin() as conn:
            conn.execute(delete(GROUP_LEADER_SETS))
            conn.execute(delete(LEADER_STANDING))
        ok(capsys, config, "group", "edit", "park", "--leaders", "li")
        ok(capsys, config, "leader", "edit", "wang", "--role", "operator")
        assert _november(service, config) == {"wang": D("1.60")}
        with repo.engine.connect() as conn:
            roles = list(conn.execute(select(LEADER_STANDING.c.role).where(LEADER_STANDING.c.leader_id == "wang")
                                      .order_by(LEADER_STANDING.c.since)).scalars())
        assert roles == [LEADER, OPERATOR]
    finally:
        repo.close()
