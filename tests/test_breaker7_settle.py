"""Breaker 7: settlement "by the leaders of when a round opened" (retirement, migration 0017/0018).

Checked by hand in Decimal: 葡萄 10 元/盒; 张三 葡萄2 = 20 元 on a round opened 11-02, 李四 葡萄3 = 30 元
on one opened 11-20.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bot.catalog import Catalog
from bot.runtime import read_config
from bot.services.orders import OrderService
from bot.usecases.settlement import Period, settlement
from storage.models import DEALS, LEADER_TERMS, LEADERS
from storage.operators import SqlOperatorStore
from storage.sql import open_repository
from tests.test_retirement import CONFIG, GRAPE, TZ, _order, ok

D = Decimal


def _setup(tmp_path: Path, sqlite_url: str) -> str:
    path = tmp_path / "tuan.toml"
    path.write_text(CONFIG.format(url=sqlite_url), encoding="utf-8")
    return str(path)


def _rounds(service: OrderService, rounds: list[tuple[datetime, str, str]]) -> None:
    n = [0]
    for day, who, text in rounds:
        deal_id = service.open_deal(Catalog(items=(GRAPE,), title="团"), ["fake:park"], title="团")
        _order(service, "park", who, text, n)
        service.close_deal(deal_id)
        with service.repo.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(update(DEALS).where(DEALS.c.id == deal_id).values(created_at=day))


def _november(service: OrderService, config: str) -> dict[str, Decimal]:
    rows = SqlOperatorStore(service.repo.engine).load()  # type: ignore[attr-defined]
    nov = settlement(service, read_config(config), rows, Period(date(2026, 11, 1), date(2026, 11, 30)))
    return {ln.leader_id: ln.commission for ln in nov.lines if ln.commission}


def test_handing_a_group_over_keeps_the_past_rounds_with_who_led_them(capsys: Any, tmp_path: Path,
                                                                     sqlite_url: str) -> None:
    """wang (8%) leads park; round 1 (11-02) 20 元 → wang 1.60. On 11-30 park is given to li (5%).
    November still owes wang 1.60 and li nothing (li led no round of it)."""
    config = _setup(tmp_path, sqlite_url)
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--rate", "8%")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥", "--rate", "5%", "--groups", "home")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang")
    repo = open_repository(sqlite_url)
    try:
        service = OrderService(repo)
        _rounds(service, [(datetime(2026, 11, 2, 9, tzinfo=TZ), "张三", "张三 葡萄2")])
        assert _november(service, config) == {"wang": D("1.60")}
        ok(capsys, config, "group", "edit", "park", "--leaders", "li")
        assert _november(service, config) == {"wang": D("1.60")}
    finally:
        repo.close()


def test_reinstating_does_not_pay_for_the_rounds_opened_while_retired(capsys: Any, tmp_path: Path,
                                                                     sqlite_url: str) -> None:
    """park: wang (8%) and li (5%). wang retires 11-10; round 2 (11-20, 30 元) is li's alone: 1.50;
    round 1 (11-02, 20 元) shared: wang 0.80, li 0.50. wang reinstated on 11-30: November unchanged
    (wang 0.80, li 2.00) — otherwise wang gets 0.80 + 1.20 = 2.00 and li 0.50 + 0.75 = 1.25."""
    config = _setup(tmp_path, sqlite_url)
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--rate", "8%")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥", "--rate", "5%")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang,li")
    repo = open_repository(sqlite_url)
    try:
        with repo.engine.begin() as conn:
            conn.execute(update(LEADER_TERMS).values(since=datetime(2026, 11, 1, tzinfo=TZ)))
        service = OrderService(repo)
        _rounds(service, [(datetime(2026, 11, 2, 9, tzinfo=TZ), "张三", "张三 葡萄2"),
                          (datetime(2026, 11, 20, 9, tzinfo=TZ), "李四", "李四 葡萄3")])
        ok(capsys, config, "leader", "remove", "wang")
        with repo.engine.begin() as conn:
            conn.execute(update(LEADERS).where(LEADERS.c.id == "wang")
                         .values(retired_at=datetime(2026, 11, 10, tzinfo=TZ)))
        assert _november(service, config) == {"wang": D("0.80"), "li": D("2.00")}
        ok(capsys, config, "leader", "edit", "wang", "--active")
        assert _november(service, config) == {"wang": D("0.80"), "li": D("2.00")}
    finally:
        repo.close()


def test_a_role_change_keeps_the_commission_earned_before_it(capsys: Any, tmp_path: Path, sqlite_url: str) -> None:
    """wang (8%) leads park; round 1 (11-02) 20 元 → wang 1.60. On 11-30 wang becomes an operator:
    November still owes wang 1.60 (they led round 1 as a leader)."""
    config = _setup(tmp_path, sqlite_url)
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--rate", "8%")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang")
    repo = open_repository(sqlite_url)
    try:
        service = OrderService(repo)
        _rounds(service, [(datetime(2026, 11, 2, 9, tzinfo=TZ), "张三", "张三 葡萄2")])
        assert _november(service, config) == {"wang": D("1.60")}
        ok(capsys, config, "leader", "edit", "wang", "--role", "operator")
        assert _november(service, config) == {"wang": D("1.60")}
    finally:
        repo.close()


def test_a_co_leader_added_later_takes_no_share_of_earlier_rounds(capsys: Any, tmp_path: Path,
                                                                 sqlite_url: str) -> None:
    """wang (8%) leads park alone; round 1 (11-02) 20 元 → wang 1.60. On 11-30 zhou (8%) is added to
    park: November still owes wang 1.60, zhou nothing (not 0.80 each)."""
    config = _setup(tmp_path, sqlite_url)
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--rate", "8%")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang")
    repo = open_repository(sqlite_url)
    try:
        service = OrderService(repo)
        _rounds(service, [(datetime(2026, 11, 2, 9, tzinfo=TZ), "张三", "张三 葡萄2")])
        assert _november(service, config) == {"wang": D("1.60")}
        ok(capsys, config, "leader", "add", "zhou", "--name", "周哥", "--rate", "8%", "--groups", "park")
        assert _november(service, config) == {"wang": D("1.60")}
    finally:
        repo.close()
