"""The dashboard over plain HTTP (Starlette's TestClient): sign-in, CSRF, the login rate limit, and
the permission matrix: every route × (operator, leader of A, leader of B, anonymous)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from bot.usecases.platform_data import deal_catalog
from bot.web.app import create_app
from storage import web as store
from tests.web_support import GA, GB, PASSWORDS, World, world


@pytest.fixture
def w(tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    w = world(tmp_path)
    yield w
    w.repo.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def both(request, tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """The world on a SQLite file, and on PostgreSQL (a fresh schema)."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    w = world(tmp_path, url=url)
    yield w
    w.repo.close()


def client(w: World, who: str | None = None) -> TestClient:
    c = TestClient(create_app(w.ctx), follow_redirects=False)
    if who is not None:
        r = c.post("/login", data={"name": who, "password": PASSWORDS[who], "csrf": csrf(c, "/login")})
        assert r.status_code == 303, r.text
    return c


def csrf(c: TestClient, path: str = "/") -> str:
    page = c.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


def test_sign_in_sets_a_signed_httponly_lax_cookie_and_a_wrong_password_is_refused(w: World) -> None:
    c = TestClient(create_app(w.ctx), follow_redirects=False)
    token = csrf(c, "/login")
    bad = c.post("/login", data={"name": "op", "password": "nope-nope", "csrf": token})
    assert bad.status_code == 401 and "账号或密码错误" in bad.text
    ok = c.post("/login", data={"name": "op", "password": PASSWORDS["op"], "csrf": token})
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "secure" not in cookie.lower()
    assert c.get("/").status_code == 200
    assert "幸福里A群" in c.get("/").text and "公园里B群" in c.get("/").text
    with w.repo.engine.connect() as conn:
        hashed = store.user_named(conn, "op").password_hash  # type: ignore[union-attr]
    assert hashed.startswith("$argon2id$") and PASSWORDS["op"] not in hashed


def test_over_https_the_cookie_is_secure(w: World) -> None:
    c = TestClient(create_app(w.ctx), base_url="https://testserver", follow_redirects=False)
    r = c.post("/login", data={"name": "op", "password": PASSWORDS["op"], "csrf": csrf(c, "/login")})
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(w: World) -> None:
    c = client(w, "op")
    deal = w.deals[GA]
    for data in ({"chat_key": GA, "sender_id": "u-王姐"}, {"chat_key": GA, "sender_id": "u-王姐", "csrf": "forged"}):
        r = c.post(f"/deals/{deal}/verify", data=data)
        assert r.status_code == 403 and "页面已过期" in r.text
    assert w.ctx.leader_day().audit(deal) == []
    anon = TestClient(create_app(w.ctx), follow_redirects=False)
    assert anon.post("/login", data={"name": "op", "password": PASSWORDS["op"]}).status_code == 403


def _login(c: TestClient, token: str, name: str, password: str) -> int:
    return c.post("/login", data={"name": name, "password": password, "csrf": token}).status_code


def test_login_rate_limit_per_account_and_address_per_address_and_per_account(w: World) -> None:
    from bot.web import core

    assert core.LOGIN_LIMIT_PAIR < core.LOGIN_LIMIT_IP < core.LOGIN_LIMIT_NAME
    app = create_app(w.ctx)
    c = TestClient(app, follow_redirects=False)
    token = csrf(c, "/login")
    for _ in range(core.LOGIN_LIMIT_PAIR):
        assert _login(c, token, "op", "wrong-pw!") == 401
    r = c.post("/login", data={"name": "op", "password": PASSWORDS["op"], "csrf": token})
    assert r.status_code == 429 and "登录失败次数过多" in r.text  # even the right password, for now
    # the owner on another address is not locked out by a stranger's wrong passwords
    owner = TestClient(app, follow_redirects=False, client=("10.0.0.9", 5000))
    assert _login(owner, csrf(owner, "/login"), "op", PASSWORDS["op"]) == 303
    # (smaller limits on this app, the same rule: argon2 makes each failure cost ~0.1 s)
    web = app.state.web
    web.by_ip.limit, web.by_name.limit = 4, 6
    # one address trying many names is limited
    c2 = TestClient(app, follow_redirects=False, client=("10.0.0.2", 5000))
    t2 = csrf(c2, "/login")
    for n in range(4):
        assert _login(c2, t2, f"x{n}", "wrong-pw!") == 401
    assert _login(c2, t2, "leadera", PASSWORDS["leadera"]) == 429
    # one account guessed from many addresses is limited, for every address
    for n in range(6):
        cn = TestClient(app, follow_redirects=False, client=(f"10.1.{n}.1", 5000))
        assert _login(cn, csrf(cn, "/login"), "leaderb", "wrong-pw!") == 401
    late = TestClient(app, follow_redirects=False, client=("10.9.9.9", 5000))
    assert _login(late, csrf(late, "/login"), "leaderb", PASSWORDS["leaderb"]) == 429


def routes(w: World, deal: str) -> list[tuple[str, str, dict[str, str] | None]]:
    """(method, path, form) of every route about group ``deal``'s deal, and the general pages."""
    return [
        ("GET", f"/deals/{deal}", None),
        ("GET", f"/deals/{deal}/households", None),
        ("GET", f"/api/deals/{deal}", None),
        ("GET", f"/events/deals/{deal}?once=1", None),
        ("GET", f"/deals/{deal}/export.xlsx", None),
        ("GET", f"/deals/{deal}/export.csv", None),
        ("GET", f"/deals/{deal}/export.pdf", None),
        ("POST", f"/deals/{deal}/verify", {"code": "0000"}),
        ("POST", f"/deals/{deal}/paid", {"sender_id": "nobody"}),
        ("POST", f"/deals/{deal}/refund", {"sender_id": "nobody", "item": "1号", "qty": "1"}),
        ("POST", f"/deals/{deal}/short", {"item": "9", "delivered": "1"}),
        ("POST", f"/deals/{deal}/unverify", {"code": "0000"}),
        ("POST", f"/deals/{deal}/copy", {}),
    ]


GENERAL = [("GET", "/", None), ("GET", "/api/today", None), ("GET", "/events/today?once=1", None),
           ("GET", "/products", None), ("GET", "/compose", None), ("GET", "/schedules", None),
           ("GET", "/audit", None), ("GET", "/stock", None), ("GET", "/stock.csv", None),
           ("GET", "/settle", None), ("GET", "/settle.xlsx", None), ("GET", "/settle.csv", None),
           ("GET", "/stats", None), ("GET", "/stats.png", None)]
OPERATORS = [("GET", "/purchase", None), ("GET", "/purchase.xlsx", None), ("GET", "/purchase.csv", None),
             ("POST", "/import/products", {})]
"""Operators only: a leader gets 403 (the import without a file: 400 for an operator)."""


def call(c: TestClient, method: str, path: str, form: dict[str, str] | None) -> int:
    if method == "GET":
        return c.get(path).status_code
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
    return c.post(path, data={**(form or {}), "csrf": token.group(1) if token else ""}).status_code


@pytest.mark.parametrize("who", ["op", "leadera", "leaderb", None])
def test_permission_matrix(w: World, who: str | None) -> None:
    c = client(w, who)
    a, b = w.deals[GA], w.deals[GB]
    for method, path, form in GENERAL:
        code = call(c, method, path, form)
        if who is None:
            assert code in (303, 401), (path, code)
        else:
            assert code == 200, (who, path, code)
    for method, path, form in OPERATORS:
        code = call(c, method, path, form)
        expected = {None: (303, 401), "op": (200, 400)}.get(who, (403,))
        assert code in expected, (who, path, code)
    for group, deal in ((GA, a), (GB, b)):
        allowed = who == "op" or (who == "leadera" and group == GA) or (who == "leaderb" and group == GB)
        for method, path, form in routes(w, deal):
            if path.endswith("/copy"):
                continue  # opening a round: below, once per case (a copy of an open round is refused)
            code = call(c, method, path, form)
            if who is None:
                assert code in (303, 401), (path, code)
            elif allowed:
                assert code in (200, 303), (who, path, code)
            else:
                assert code == 403, (who, path, code)
    assert call(c, "GET", "/deals/dnosuchdeal", None) in ((303,) if who is None else (404,))
    # a leader cannot act on another group's household through its own deal's URL either
    if who == "leadera":
        r = c.post(f"/deals/{a}/verify", data={"chat_key": GB, "sender_id": "u-赵姨", "csrf": csrf(c)})
        assert r.status_code == 403
        r = c.post("/compose", data={"group": GB, "pick": "grape", "action": "publish", "csrf": csrf(c)})
        assert r.status_code == 403
        assert c.post("/products/grape", data={"name": "x", "price": "1", "csrf": csrf(c)}).status_code == 403


def test_a_leader_sees_only_their_groups_on_today_audit_and_schedules(both: World) -> None:
    c = client(both, "leadera")
    today = c.get("/api/today").json()
    assert [g["chat_key"] for g in today] == [GA]
    assert today[0]["deal"]["households"] == 2 and today[0]["deal"]["amount"] == "91.80"  # 2×29.9 + 32
    page = c.get("/schedules").text
    assert "幸福里A群" in page and "公园里B群" not in page
    op = client(both, "op")
    op.post(f"/deals/{both.deals[GB]}/paid", data={"chat_key": GB, "sender_id": "u-赵姨", "csrf": csrf(op)})
    assert "u-赵姨" not in c.get("/audit").text and "paid" not in c.get("/audit").text
    assert "paid" in op.get("/audit").text


def test_the_days_stocking_list_counts_only_the_viewers_groups(w: World) -> None:
    # the day the deals were opened, not "today": midnight in Shanghai may pass between the two
    deal = w.service.deal_of(GA)
    assert deal is not None
    day = deal.created_at.astimezone(w.config.bot.tz).date()
    a = client(w, "leadera").get(f"/stock.csv?date={day}").content.decode("utf-8-sig").splitlines()
    assert a[0] == "商品,规格,数量,单价,金额"
    assert a[1:] == ["阳光玫瑰葡萄,盒,2,29.90,59.80", "土鸡蛋,盒,1,32.00,32.00", "合计,,3,,91.80"]
    every = client(w, "op").get(f"/stock.csv?date={day}").content.decode("utf-8-sig").splitlines()
    assert every[1] == "阳光玫瑰葡萄,盒,3,29.90,89.70"  # B's 赵姨 too
    assert client(w, "op").get("/stock?date=2026-13-01").status_code == 400


def test_actions_call_the_leaders_day_and_are_audited_and_exports_agree(both: World) -> None:
    c = client(both, "leadera")
    deal = both.deals[GA]
    token = csrf(c)
    r = c.post(f"/deals/{deal}/verify", data={"chat_key": GA, "sender_id": "u-王姐", "csrf": token})
    assert r.status_code == 303
    r = c.post(f"/deals/{deal}/paid", data={"chat_key": GA, "sender_id": "u-李哥", "amount": "", "csrf": token})
    r = c.post(f"/deals/{deal}/refund", data={"household": f"{GA}|u-王姐", "item": "1", "qty": "1",
                                              "reason": "坏果", "csrf": token})
    page = c.get(f"/deals/{deal}").text
    assert "已取 · leadera" in page and "已付 ¥32.00" in page and "¥29.90" in page
    actions = [(r["action"], r["actor_id"]) for r in both.ctx.leader_day().audit(deal)]
    assert actions == [("verify", "web:leadera"), ("paid", "web:leadera"), ("refund", "web:leadera")]
    again = c.post(f"/deals/{deal}/verify", data={"chat_key": GA, "sender_id": "u-王姐", "csrf": token})
    assert again.status_code == 303 and "已经核销" in c.get(f"/deals/{deal}").text
    # undone within 10 minutes (the button shows for the one who verified), then verified again
    code_w = both.ctx.leader_day().marks_for_deal(deal)[(GA, "u-王姐")].pickup_code
    c.post(f"/deals/{deal}/unverify", data={"chat_key": GA, "code": code_w, "csrf": token})
    assert "已撤销 3栋402 王姐 的核销" in c.get(f"/deals/{deal}").text
    c.post(f"/deals/{deal}/verify", data={"chat_key": GA, "sender_id": "u-王姐", "csrf": token})
    # by pickup code, without naming the group: the code finds the household among the viewer's groups
    code = both.ctx.leader_day().marks_for_deal(deal)[(GA, "u-李哥")].pickup_code
    c.post(f"/deals/{deal}/verify", data={"code": code, "csrf": token})
    assert "已核销 5栋101 李哥" in c.get(f"/deals/{deal}").text
    # a short delivery (refused while the round takes orders, then after the cutoff): 王姐 ordered 2,
    # 1 refunded, none delivered: only the 1 she still wants is refunded
    c.post(f"/deals/{deal}/short", data={"item": "1", "delivered": "0", "csrf": token})
    assert "本期还在接龙" in c.get(f"/deals/{deal}").text
    both.service.close_deal(deal)
    c.post(f"/deals/{deal}/short", data={"item": "1", "delivered": "0", "csrf": token})
    assert "已记录缺货：阳光玫瑰葡萄 到货 0（共订 2），1 户退款 ¥29.90" in c.get(f"/deals/{deal}").text
    assert [r["action"] for r in both.ctx.leader_day().audit(deal)] == [
        "verify", "paid", "refund", "unverify", "verify", "verify", "short"]
    wb = load_workbook(io.BytesIO(c.get(f"/deals/{deal}/export.xlsx").content))
    assert wb.sheetnames[:3] == ["订单明细", "备货单", "分拣单"]
    text = "\n".join(",".join(str(v) for v in row if v is not None) for row in wb["订单明细"].iter_rows(values_only=True))
    assert "王姐" in text and "李哥" in text and "赵姨" not in text
    csv = c.get(f"/deals/{deal}/export.csv").content.decode("utf-8-sig")
    assert "王姐" in csv and "赵姨" not in csv


def test_a_bad_or_too_large_amount_in_the_web_is_refused_and_nothing_recorded(w: World) -> None:
    c = client(w, "leadera")
    deal = w.deals[GA]
    token = csrf(c)
    for amount, said in [("-5", "金额不对"), ("99999999999", "金额不对"), ("NaN", "金额不对"),
                         ("5980", "退款金额超过了")]:
        c.post(f"/deals/{deal}/refund", data={"household": f"{GA}|u-王姐", "item": "1", "qty": "1",
                                              "reason": "坏果", "amount": amount, "csrf": token})
        assert said in c.get(f"/deals/{deal}").text, amount
    c.post(f"/deals/{deal}/paid", data={"chat_key": GA, "sender_id": "u-王姐", "amount": "1e11", "csrf": token})
    assert "金额不对" in c.get(f"/deals/{deal}").text
    mk = w.ctx.leader_day().marks_for_deal(deal)[(GA, "u-王姐")]
    assert mk.refund_amount == 0 and mk.paid_amount is None


def test_compose_previews_then_publishes_through_the_outbox(both: World) -> None:
    from sqlalchemy import select

    from storage.models import OUTBOX

    c = client(both, "op")
    token = csrf(c)
    form = {"group": GA, "pick": ["egg", "orange"], "stock_orange": "20", "title": "周一团",
            "cutoff": "2099-01-01T20:00", "csrf": token}
    preview = c.post("/compose", data={**form, "action": "preview"})
    assert preview.status_code == 200 and "周一团" in preview.text and "2号 赣南脐橙" in preview.text
    busy = c.post("/compose", data={**form, "action": "publish"})
    assert busy.status_code == 409 and "还有进行中的团购" in busy.text  # A's round is still open
    both.service.close_deal(both.deals[GA])
    done = c.post("/compose", data={**form, "action": "publish"})
    assert done.status_code == 303
    new = done.headers["location"].rsplit("/", 1)[1]
    assert both.service.deal_of(GA).id == new  # type: ignore[union-attr]
    with both.repo.engine.connect() as conn:
        rows = conn.execute(select(OUTBOX.c.chat_key, OUTBOX.c.kind, OUTBOX.c.text)).all()
    assert [tuple(r) for r in rows] == [(GA, "card", new)]
    assert any(r["action"] == "publish" for r in both.ctx.leader_day().audit(new))


async def test_a_published_round_s_card_is_posted_by_a_running_bot_s_sweeper(w: World) -> None:
    """The web writes the card into the outbox; a bot (another process, here a Dispatcher on the same
    store with the fake platform) delivers it: the deal card with its buttons, in group A only."""
    from datetime import UTC, datetime

    from adapters.fake import FakeAdapter
    from bot.context import Core
    from bot.dispatch import Dispatcher
    from bot.services.orders import OrderService

    w.service.close_deal(w.deals[GA])
    c = client(w, "op")
    r = c.post("/compose", data={"group": GA, "pick": ["grape"], "stock_grape": "30", "title": "周二团",
                                 "action": "publish", "csrf": csrf(c)})
    assert r.status_code == 303
    new = r.headers["location"].rsplit("/", 1)[1]
    chat = FakeAdapter(chat_id="ga")
    core = Core(service=OrderService(w.repo), config=w.config, clock=lambda: datetime.now(UTC))
    core.adapters["fake"] = chat
    bot = Dispatcher(core)
    await bot.sweep(takeover=True)
    await bot.drain()
    cards = [s for s in chat.sent if s.kind == "card"]
    assert len(cards) == 1 and cards[0].chat_id == "ga" and "周二团" in cards[0].text and "剩30" in cards[0].text
    assert core.card_deals["fake:ga"] == new
    await Dispatcher(core).sweep(takeover=True)
    assert len([s for s in chat.sent if s.kind == "card"]) == 1  # delivered once: the row is gone


def test_web_config_keys() -> None:
    from bot.config import ConfigError, config_from_dict

    cfg = config_from_dict({"web": {"enabled": True, "listen": "0.0.0.0:9000", "secure_cookies": True}}, "t.toml",
                           env={"TUAN_WEB_SECRET": "from-env"})
    assert (cfg.web.enabled, cfg.web.listen, cfg.web.secret, cfg.web.secure_cookies) == (True, "0.0.0.0:9000",
                                                                                         "from-env", True)
    assert config_from_dict({}, "t.toml", env={}).web.enabled is False
    for bad, key in (({"listen": "8080"}, "web.listen"), ({"listen": "h:99999"}, "web.listen"),
                     ({"enabled": "yes"}, "web.enabled"), ({"port": 1}, "web.port")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            config_from_dict({"web": bad}, "t.toml", env={})


def test_secure_cookies_always_secure(w: World) -> None:
    import dataclasses

    config = dataclasses.replace(w.config, web=dataclasses.replace(w.config.web, secure_cookies=True))
    ctx = dataclasses.replace(w.ctx, config=config)
    c = TestClient(create_app(ctx), follow_redirects=False)
    r = c.post("/login", data={"name": "op", "password": PASSWORDS["op"], "csrf": csrf(c, "/login")})
    assert "secure" in r.headers["set-cookie"].lower()


def test_a_section_added_later_joins_the_menu_and_its_checks(w: World) -> None:
    """The seam for settlement / purchase orders / statistics pages: a module adds a Section."""
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bot.web import app as web_app

    async def later(request: Request) -> PlainTextResponse:
        viewer = await web_app.operator_only(request)
        return PlainTextResponse(f"later page for {viewer.name}")

    section = web_app.Section("以后", "/later", (Route("/later", later),), operator_only=True)
    web_app.add_section(section)
    try:
        op, leader = client(w, "op"), client(w, "leadera")
        assert 'href="/later"' in op.get("/").text and 'href="/later"' not in leader.get("/").text
        assert op.get("/later").text == "later page for op"
        assert leader.get("/later").status_code == 403
        assert client(w).get("/later").status_code == 303
    finally:
        web_app.SECTIONS.remove(section)


def test_a_round_of_two_groups_operator_sees_all_a_leader_only_theirs(w: World) -> None:
    from storage.platform import SqlPlatformStore

    for key in (GA, GB):
        w.service.close_deal(w.deals[key])
    catalog = deal_catalog(SqlPlatformStore(w.repo.engine).load(), [("grape", 10)], title="两群团", cutoff=None)
    deal = w.service.open_deal(catalog, [GA, GB], title="两群团", source="test")
    w.order(GA, "王姐", "3栋402 王姐 葡萄2")
    w.order(GB, "赵姨", "1栋101 赵姨 葡萄1")
    op = client(w, "op")
    page = op.get(f"/deals/{deal}").text
    assert "3栋402 王姐" in page and "1栋101 赵姨" in page and "全部" in page
    leader = client(w, "leadera")
    page = leader.get(f"/deals/{deal}").text
    assert "3栋402 王姐" in page and "1栋101 赵姨" not in page
    assert leader.get(f"/deals/{deal}?group={GB}").status_code == 403
    summary = leader.get(f"/api/deals/{deal}").json()
    assert summary["households"] == 1 and summary["items"][0]["qty"] == 2 and summary["items"][0]["left"] == 7
    # the operator verifies B's household by its code from the page of both groups (no group named)
    code = w.ctx.leader_day().marks_for_deal(deal)[(GB, "u-赵姨")].pickup_code
    op.post(f"/deals/{deal}/verify", data={"code": code, "csrf": csrf(op)})
    assert "已核销 1栋101 赵姨" in op.get(f"/deals/{deal}").text
    # the leader of A cannot verify it by code: B is not theirs, so the code finds nothing
    leader.post(f"/deals/{deal}/verify", data={"code": code, "csrf": csrf(leader)})
    assert "没有找到这户" in leader.get(f"/deals/{deal}").text
