"""`tuan leader remove` and `tuan group remove`: a retirement, never a deletion (SQLite and PostgreSQL).

What is refused (and the one line saying why), what a retired leader or group stops doing (leading,
new rounds, schedules), that it can be undone (`edit --active`), how it shows in the lists and the
audit, and that a past period still settles: a retired leader keeps the commission of the rounds
opened before they retired and earns nothing on later ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, update

from adapters.fake import sender_id_of
from bot.catalog import Catalog, Item
from bot.cli import main
from bot.model import InboundMessage
from bot.permissions import Caller, Permissions
from bot.runtime import read_config
from bot.services.orders import OrderService
from bot.usecases.leaderday import Actor, LeaderDay
from bot.usecases.platform_data import StoreDirectory
from bot.usecases.schedules import scheduled_jobs
from bot.usecases.settlement import Period, settlement
from bot.usecases.settlement_files import group_rows
from storage.models import AUDIT, DEALS, LEADER_TERMS, LEADERS
from storage.operators import SqlOperatorStore
from storage.platform import SqlPlatformStore
from storage.sql import SqlRepository, open_repository

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal
GRAPE = Item("1", "葡萄", "盒", D("10"))

CONFIG = """
[store]
url = "{url}"
[bot]
timezone = "Asia/Shanghai"
leaders = ["boss"]
[[groups]]
id = "home"
platform = "fake"
chat = "home"
title = "幸福里"
leaders = ["团长"]
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def cfg(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    path = tmp_path / "tuan.toml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return str(path), url


@pytest.fixture
def repo(cfg: tuple[str, str]) -> Iterator[SqlRepository]:
    opened = open_repository(cfg[1])
    yield opened
    opened.close()


def tuan(capsys: Any, config: str, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--config", config])
    out, err = capsys.readouterr()
    return code, out, err


def ok(capsys: Any, config: str, *args: str) -> str:
    code, out, err = tuan(capsys, config, *args)
    assert (code, err) == (0, ""), (args, out, err)
    return out


def audit_rows(url: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [(r.action, r.detail) for r in conn.execute(select(AUDIT).order_by(AUDIT.c.id))]
    finally:
        engine.dispose()


def leads(repo: SqlRepository, config: str, who: str, chat: str, *, admin: bool = False) -> bool:
    """Whether ``who`` (a fake account) leads ``chat`` as the bot decides, the store read afresh."""
    import asyncio

    perms = Permissions(read_config(config), {}, directory=StoreDirectory(SqlPlatformStore(repo.engine)))
    loop = asyncio.new_event_loop()  # not asyncio.run: that would unset the loop the async tests left current
    try:
        return loop.run_until_complete(perms.leads(Caller("fake", who, f"fake:{chat}", admin_here=admin),
                                                   f"fake:{chat}"))
    finally:
        loop.close()


def test_removing_a_leader_retires_them_refusing_what_would_orphan(capsys: Any, cfg: tuple[str, str],
                                                                  repo: SqlRepository) -> None:
    config, url = cfg
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--account", "fake:w1", "--rate", "8%")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥", "--account", "fake:l1", "--upline", "wang")
    for args, says in [
        (("wang",), "tuan: leader wang is the upline of li: give them another upline or none first "
                    "(tuan leader edit li --upline none)\n"),
        (("fake:团长",), "tuan: leader fake:团长 comes from tuan.toml: remove it there\n"),
        (("nobody",), "tuan: no leader 'nobody' (tuan leader list)\n"),
    ]:
        assert tuan(capsys, config, "leader", "remove", *args) == (2, "", says)
    ok(capsys, config, "leader", "edit", "li", "--upline", "none")
    assert tuan(capsys, config, "leader", "remove", "wang") == (2, "", (
        "tuan: leader wang is the only leader of group park: give it another leader first "
        "(tuan group edit park --leaders ...) or remove the group\n"))
    ok(capsys, config, "group", "edit", "park", "--leaders", "wang,li")
    assert leads(repo, config, "w1", "park")
    out = ok(capsys, config, "leader", "remove", "wang")
    assert out.startswith("leader wang: retired (王姐; leads nothing from now, earns on rounds opened before ")
    assert ok(capsys, config, "leader", "remove", "wang") == \
        "leader wang: retired already (tuan leader edit wang --active to undo)\n"
    assert [a for a, _d in audit_rows(url)].count("leader.remove") == 1

    # a retired leader leads nothing, shows in the lists, and cannot be an upline or take groups
    assert not leads(repo, config, "w1", "park") and leads(repo, config, "l1", "park")
    listed = {r["id"]: r for r in json.loads(ok(capsys, config, "leader", "list", "--json"))}
    assert listed["wang"]["retired_at"] is not None and listed["li"]["retired_at"] is None
    assert listed["wang"]["groups"] == ["park"] and listed["wang"]["rate"] == "0.08"  # kept for the history
    assert "retired" in ok(capsys, config, "leader", "list").splitlines()[0]
    groups = {g["id"]: g for g in json.loads(ok(capsys, config, "groups", "--json"))["groups"]}
    assert groups["park"]["leaders"] == ["李哥"]
    for args, says in [
        (("leader", "edit", "li", "--upline", "wang"), "tuan: wang is retired and cannot be an upline "
                                                       "(tuan leader edit wang --active)\n"),
        (("group", "edit", "home", "--leaders", "wang"), "tuan: leader wang is retired (tuan leader edit wang --active)\n"),
        (("leader", "add", "wang", "--name", "x"), "tuan: leader wang exists already (tuan leader edit wang --active: "
                                                   "it is retired)\n"),
        (("leader", "add", "zhou", "--name", "周", "--account", "fake:w1"),
         "tuan: --account fake:w1 belongs to leader wang already (tuan leader edit wang --account ... to move it)\n"),
    ]:
        assert tuan(capsys, config, *args) == (2, "", says)

    # the groups a retired leader led are kept (their past rounds settle by them)
    assert ok(capsys, config, "group", "edit", "park", "--leaders", "li") == "group park: nothing changed\n"
    assert tuan(capsys, config, "leader", "edit", "wang", "--groups", "home") == (2, "", (
        "tuan: leader wang is retired: the groups they led are kept for the settlement of their past rounds "
        "(tuan leader edit wang --active --groups ...)\n"))
    assert json.loads(ok(capsys, config, "leader", "list", "--json"))[-1]["groups"] == ["park"]
    # undone: leads again, audited
    out = ok(capsys, config, "leader", "edit", "wang", "--active")
    assert out.startswith("leader wang: reinstated (retired since ")
    assert leads(repo, config, "w1", "park")
    assert audit_rows(url)[-1][0] == "leader.edit" and "reinstated" in audit_rows(url)[-1][1]


def test_a_retired_upline_blocks_reinstating_the_downline_until_cleared(capsys: Any, cfg: tuple[str, str]) -> None:
    config, _url = cfg
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥", "--upline", "wang")
    ok(capsys, config, "leader", "remove", "li")
    ok(capsys, config, "leader", "remove", "wang")  # its only downline is retired: nothing orphaned
    assert tuan(capsys, config, "leader", "edit", "li", "--active") == (2, "", (
        "tuan: leader li's upline wang is retired: reinstate wang first (tuan leader edit wang --active) "
        "or add --upline none\n"))
    assert "reinstated" in ok(capsys, config, "leader", "edit", "li", "--active", "--upline", "none")


def _order(service: OrderService, chat: str, who: str, text: str, n: list[int]) -> None:
    n[0] += 1
    service.handle(InboundMessage("fake", chat, f"m{n[0]}", sender_id_of(who), who, text, datetime.now(UTC)))


def test_removing_a_group_waits_for_its_rounds_then_stops_new_ones(capsys: Any, cfg: tuple[str, str],
                                                                   repo: SqlRepository) -> None:
    config, url = cfg
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--account", "fake:w1")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang")
    ok(capsys, config, "schedule", "add", "--group", "park", "--kind", "reminder", "--time", "20:00")
    ok(capsys, config, "product", "add", "1", "--name", "葡萄", "--price", "10")
    assert tuan(capsys, config, "group", "remove", "home") == (2, "", "tuan: group home comes from tuan.toml: "
                                                                      "remove it there\n")
    opened = ok(capsys, config, "deal", "open", "--group", "park", "--products", "1")
    service = OrderService(repo)
    deal = service.deal_of("fake:park")
    assert deal is not None and deal.id in opened
    code, out, err = tuan(capsys, config, "group", "remove", "park")
    assert (code, out) == (2, "") and err == f"tuan: group park has an open round {deal.id} ({deal.title}): " \
                                             f"close it first (/close in the chat)\n"
    _order(service, "park", "张三", "张三 葡萄2", [0])
    service.close_deal(deal.id)
    code, _, err = tuan(capsys, config, "group", "remove", "park")
    assert code == 2 and err == (f"tuan: group park's round {deal.id} ({deal.title}) still has 1 households to pick "
                                 f"up and 1 to pay: finish it first (/unpicked, /unpaid)\n")
    day, actor = LeaderDay(repo), Actor("fake:park", "w1", "王姐")
    assert day.mark_paid(deal.id, actor, datetime.now(UTC), "张三").status == "ok"
    assert "0 to pay" in tuan(capsys, config, "group", "remove", "park")[2]
    assert day.verify(deal.id, actor, datetime.now(UTC), query="张三").status == "ok"
    assert leads(repo, config, "w1", "park")

    out = ok(capsys, config, "group", "remove", "park")
    assert out == "group park: retired (fake:park 'park'; no new rounds, nobody leads it)\n"
    assert audit_rows(url)[-1] == ("group.remove", out.strip())
    # nobody leads its chat, chat admins and operators included; other groups are unchanged
    assert not leads(repo, config, "w1", "park") and not leads(repo, config, "w1", "park", admin=True)
    assert not leads(repo, config, "boss", "park") and leads(repo, config, "boss", "home")
    for args, says in [
        (("deal", "open", "--group", "park", "--products", "1"),
         "tuan: group park is retired (tuan group edit park --active to serve it again)\n"),
        (("deal", "copy", deal.id), "tuan: group park is retired (tuan group edit park --active to serve it again)\n"),
        (("schedule", "add", "--group", "park", "--kind", "cutoff", "--time", "21:00"),
         "tuan: group park is retired (tuan group edit park --active)\n"),
        (("leader", "add", "li", "--name", "李哥", "--groups", "park"),
         "tuan: group park is retired (tuan group edit park --active)\n"),
    ]:
        assert tuan(capsys, config, *args) == (2, "", says)
    store = SqlOperatorStore(repo.engine)
    app = read_config(config)
    assert [j.chat_key for j in scheduled_jobs(store, app, datetime.now(UTC))] == []  # park's reminder is kept
    groups = {g["id"]: g for g in json.loads(ok(capsys, config, "groups", "--json"))["groups"]}
    assert groups["park"]["retired_at"] is not None and groups["home"]["retired_at"] is None
    # its history stays: the round, its orders and marks are readable
    assert service.repo.get_deal(deal.id) is not None
    assert [h.name for h, _m in day.unpicked(deal.id, "fake:park")] == []

    assert "reinstated" in ok(capsys, config, "group", "edit", "park", "--active")
    assert leads(repo, config, "w1", "park")
    assert [j.chat_key for j in scheduled_jobs(store, app, datetime.now(UTC))] == ["fake:park"]


def test_a_retired_leader_keeps_the_commission_of_rounds_opened_before(capsys: Any, cfg: tuple[str, str],
                                                                      repo: SqlRepository) -> None:
    """park is led by wang (8%) and li (5%); wang retires on 11-10. Round 1 (11-02): 张三 葡萄2 = 20,
    shared: wang 10 × 0.08 = 0.80, li 10 × 0.05 = 0.50. Round 2 (11-20): 李四 葡萄3 = 30, li's alone:
    1.50. November: wang 0.80, li 2.00 (without the retirement wang would have 25 × 0.08 = 2.00)."""
    config, _url = cfg
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--rate", "8%")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥", "--rate", "5%")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang,li")
    service, n = OrderService(repo), [0]
    for day, who, text in ((datetime(2026, 11, 2, 9, tzinfo=TZ), "张三", "张三 葡萄2"),
                           (datetime(2026, 11, 20, 9, tzinfo=TZ), "李四", "李四 葡萄3")):
        deal_id = service.open_deal(Catalog(items=(GRAPE,), title="团"), ["fake:park"], title="团")
        _order(service, "park", who, text, n)
        with repo.engine.begin() as conn:
            conn.execute(update(DEALS).where(DEALS.c.id == deal_id).values(created_at=day))
    ok(capsys, config, "leader", "remove", "wang")
    with repo.engine.begin() as conn:
        conn.execute(update(LEADERS).where(LEADERS.c.id == "wang").values(retired_at=datetime(2026, 11, 10, tzinfo=TZ)))
    app = read_config(config)
    rows = SqlOperatorStore(repo.engine).load()
    nov = settlement(service, app, rows, Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert {ln.leader_id: (ln.sales, ln.commission, ln.groups) for ln in nov.lines if ln.sales} == {
        "wang": (D("10.00"), D("0.80"), ("park",)), "li": (D("40.00"), D("2.00"), ("park",))}
    assert nov.sales == D("50") and nov.commission == D("2.80")
    assert [r[:3] for r in group_rows(nov, rows) if r[0] == "park"] == [["park", "park", "li,wang"]]
    only = settlement(service, app, rows, Period(date(2026, 11, 1), date(2026, 11, 30)), leader="wang")
    assert [(ln.leader_id, ln.commission) for ln in only.lines] == [("wang", D("0.80"))]
    dec = settlement(service, app, rows, Period(date(2026, 12, 1), date(2026, 12, 31)))
    assert [ln.leader_id for ln in dec.lines] == ["fake:团长", "li"]  # wang retired: nothing of December is theirs


def test_a_retirement_and_a_rate_change_in_one_month_each_settle_by_the_round(
        capsys: Any, cfg: tuple[str, str], repo: SqlRepository) -> None:
    """As above, and li's rate goes from 5% to 10% on 11-15 (between the rounds). Round 1 (11-02):
    wang 10 × 0.08 = 0.80, li 10 × 0.05 = 0.50 (li's rate of then); round 2 (11-20): li alone,
    30 × 0.10 = 3.00. November: wang 0.80, li 3.50; the line shows li's rate at the month's end."""
    config, _url = cfg
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--rate", "8%")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥", "--rate", "5%")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang,li")
    with repo.engine.begin() as conn:  # the terms given at `leader add` took effect on 11-01
        conn.execute(update(LEADER_TERMS).values(since=datetime(2026, 11, 1, tzinfo=TZ)))
    service, n = OrderService(repo), [0]
    for day, who, text in ((datetime(2026, 11, 2, 9, tzinfo=TZ), "张三", "张三 葡萄2"),
                           (datetime(2026, 11, 20, 9, tzinfo=TZ), "李四", "李四 葡萄3")):
        deal_id = service.open_deal(Catalog(items=(GRAPE,), title="团"), ["fake:park"], title="团")
        _order(service, "park", who, text, n)
        with repo.engine.begin() as conn:
            conn.execute(update(DEALS).where(DEALS.c.id == deal_id).values(created_at=day))
    ok(capsys, config, "leader", "edit", "li", "--rate", "10%")
    ok(capsys, config, "leader", "remove", "wang")
    with repo.engine.begin() as conn:
        conn.execute(update(LEADER_TERMS).where(LEADER_TERMS.c.leader_id == "li",
                                                LEADER_TERMS.c.since > datetime(2026, 11, 2, tzinfo=TZ))
                     .values(since=datetime(2026, 11, 15, tzinfo=TZ)))
        conn.execute(update(LEADERS).where(LEADERS.c.id == "wang").values(retired_at=datetime(2026, 11, 10, tzinfo=TZ)))
    app = read_config(config)
    rows = SqlOperatorStore(repo.engine).load()
    nov = settlement(service, app, rows, Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert {ln.leader_id: (ln.sales, ln.rate, ln.commission) for ln in nov.lines if ln.sales} == {
        "wang": (D("10.00"), D("0.08"), D("0.80")), "li": (D("40.00"), D("0.1"), D("3.50"))}
    assert nov.commission == D("4.30")


async def test_in_a_retired_groups_chat_no_round_opens_and_orders_are_refused(capsys: Any, cfg: tuple[str, str],
                                                                             repo: SqlRepository) -> None:
    from adapters.base import Capabilities
    from adapters.fake import FakeAdapter
    from bot import messages as m
    from bot.context import Core
    from bot.dispatch import Dispatcher

    config, _url = cfg
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--account", f"fake:{sender_id_of('王姐')}")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang")
    ok(capsys, config, "group", "remove", "park")  # no round ever: nothing owed
    core = Core(service=OrderService(repo), config=read_config(config), clock=lambda: datetime.now(UTC),
                directory=StoreDirectory(SqlPlatformStore(repo.engine)))
    chat = FakeAdapter("fake", Capabilities(reactions=True))
    core.adapters["fake"] = chat
    dispatcher = Dispatcher(core)
    await chat.start(dispatcher)
    post = "#接龙 周五团\n1. 阳光玫瑰葡萄 29.9元/盒\n2、赣南脐橙 ¥25.8"
    for who, admin in (("王姐", False), ("群主", True)):  # its leader, and the chat's admin
        await chat.push(post, sender=who, chat_id="park", is_admin=admin)
        assert all(s.text != m.DEAL_RECOGNISED.format(n=2, items="1号阳光玫瑰葡萄、2号赣南脐橙")
                   for s in chat.pop_all())
    assert core.service.deal_of("fake:park") is None
    await chat.push("#接龙\n1. 3栋402 张三 葡萄2", sender="张三", chat_id="park")
    assert [s.text for s in chat.pop_all()] == [m.REFUSED_NO_DEAL]
    # a retired leader is answered as a resident: no earnings of a row that is no longer theirs
    ok(capsys, config, "leader", "add", "li", "--name", "李哥", "--account", f"fake:{sender_id_of('李哥')}",
       "--groups", "home")
    ok(capsys, config, "leader", "add", "boss", "--name", "老板", "--role", "operator",
       "--account", f"fake:{sender_id_of('老板')}")
    core.directory.forget()  # type: ignore[union-attr]  # (a running bot reads its leaders again within 5 s)
    await chat.push("/收益", sender="李哥", chat_id="dm-li", is_private=True)
    assert chat.pop_all()[-1].text.startswith("💰")
    ok(capsys, config, "leader", "remove", "li")
    ok(capsys, config, "leader", "remove", "boss")
    core.directory.forget()  # type: ignore[union-attr]
    await chat.push("/收益", sender="李哥", chat_id="dm-li", is_private=True)
    await chat.push("/结算", sender="老板", chat_id="dm-boss", is_private=True)
    assert [s.text for s in chat.pop_all()] == [m.PRIVATE_NO_GROUP, m.PRIVATE_NO_GROUP]
    await dispatcher.drain()


def test_on_the_web_a_retired_leader_or_group_is_led_by_nobody(capsys: Any, cfg: tuple[str, str],
                                                               repo: SqlRepository) -> None:
    from bot.web.auth import add_user, viewer_of

    config, _url = cfg
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐")
    ok(capsys, config, "leader", "add", "li", "--name", "李哥")
    for gid in ("park", "lake"):
        ok(capsys, config, "group", "add", gid, "--platform", "fake", "--chat", gid, "--leaders", "wang,li")
    uid = add_user(repo.engine, "wang-web", "leader", "correct horse battery", "wang")

    def seen() -> frozenset[str] | None:
        viewer = viewer_of(repo.engine, uid)
        assert viewer is not None
        return viewer.chat_keys

    assert seen() == {"fake:park", "fake:lake"}
    ok(capsys, config, "group", "remove", "lake")
    assert seen() == {"fake:park"}
    ok(capsys, config, "leader", "remove", "wang")
    assert seen() == frozenset()
    ok(capsys, config, "leader", "edit", "wang", "--active")
    assert seen() == {"fake:park"}


def test_the_web_offers_no_new_round_for_a_retired_group(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from bot.web import texts as t
    from storage.models import GROUPS
    from tests.test_web_http import client, csrf
    from tests.web_support import GA, GB, world

    w = world(tmp_path)
    try:
        with w.repo.engine.begin() as conn:
            conn.execute(update(GROUPS).where(GROUPS.c.chat_key == GB).values(retired_at=datetime.now(UTC)))
        c: TestClient = client(w, "op")
        page = c.get("/compose").text
        assert f'value="{GA}"' in page and f'value="{GB}"' not in page
        before = w.service.deal_of(GB)
        r = c.post(f"/deals/{w.deals[GB]}/copy", data={"chat_key": GB, "csrf": csrf(c)})
        assert r.status_code == 303 and t.GROUP_RETIRED in c.get(r.headers["location"]).text
        assert w.service.deal_of(GB) == before  # no round opened
    finally:
        w.repo.close()
