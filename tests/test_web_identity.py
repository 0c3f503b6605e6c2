"""Who a session is and which household a button means: a session cookie names one account (never
the next one to get its id), every household action acts on exactly the household its form names
(a neighbour's ``帮邻居…`` household included), 撤销 is offered to the account that verified, the
sign-in limits keep bounded keys, and forwarded headers are believed from configured proxies only."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.usecases.leaderday import Actor
from bot.web import auth
from bot.web.app import create_app
from storage import web as store
from tests.test_web_http import client, csrf
from tests.web_support import GA, GB, PASSWORDS, World, world


@pytest.fixture
def w(tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    w = world(tmp_path)
    yield w
    w.repo.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def both(request, tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    w = world(tmp_path, url=url)
    yield w
    w.repo.close()


def _uid(w: World, name: str) -> int:
    with w.repo.engine.connect() as conn:
        user = store.user_named(conn, name)
    assert user is not None
    return user.id


def _kept(c: TestClient, w: World) -> TestClient:
    """A new browser holding a copy of ``c``'s cookie."""
    copy = TestClient(create_app(w.ctx), follow_redirects=False)
    for name, value in c.cookies.items():
        copy.cookies.set(name, value)
    return copy


# --- a session is one account ----------------------------------------------------------------------

def test_a_removed_account_s_cookie_is_refused_by_a_new_account_of_the_same_name(both: World) -> None:
    w = both
    b = client(w, "leaderb")
    old_id = _uid(w, "leaderb")
    auth.remove_user(w.repo.engine, "leaderb")
    auth.add_user(w.repo.engine, "leaderb", "leader", "a-new-password-1", "fake:lb")
    if w.repo.engine.dialect.name == "sqlite":
        assert _uid(w, "leaderb") == old_id  # the same id, name, role and epoch 0: only the account differs
    assert _kept(b, w).get("/api/today").status_code == 401
    assert b.get("/").status_code == 303  # and the old browser is sent to sign in
    fresh = TestClient(create_app(w.ctx), follow_redirects=False)
    r = fresh.post("/login", data={"name": "leaderb", "password": "a-new-password-1", "csrf": csrf(fresh, "/login")})
    assert r.status_code == 303 and fresh.get("/api/today").status_code == 200


def test_a_removed_account_s_sign_out_does_not_end_the_next_account_s_sessions(w: World) -> None:
    b = client(w, "leaderb")
    auth.remove_user(w.repo.engine, "leaderb")
    auth.add_user(w.repo.engine, "newop", "operator", "new-operator-pw")
    new = TestClient(create_app(w.ctx), follow_redirects=False)
    assert new.post("/login", data={"name": "newop", "password": "new-operator-pw",
                                    "csrf": csrf(new, "/login")}).status_code == 303
    token = csrf(b, "/login")  # the old session's own token: the sign-in page does not check the viewer
    assert b.post("/logout", data={"csrf": token}).status_code == 303
    assert new.get("/api/today").status_code == 200


def test_a_session_key_differs_for_every_change_of_the_account(w: World) -> None:
    with w.repo.engine.connect() as conn:
        user = store.user_named(conn, "leadera")
    assert user is not None
    key = auth.session_key(user)
    assert re.fullmatch(r"[0-9a-f]{32}", key) and auth.session_key(dataclasses.replace(user)) == key
    for changed in (dataclasses.replace(user, id=user.id + 1), dataclasses.replace(user, name="leaderx"),
                    dataclasses.replace(user, created_at=user.created_at + timedelta(microseconds=1)),
                    dataclasses.replace(user, session_epoch=user.session_epoch + 1)):
        assert auth.session_key(changed) != key
    assert auth.session_viewer(w.repo.engine, user.id, key) is not None
    for uid, bad in ((user.id, ""), (user.id, "0" * 32), (str(user.id), key), (True, key), (None, key), (user.id, 7)):
        assert auth.session_viewer(w.repo.engine, uid, bad) is None


# --- a household's buttons act on that household ------------------------------------------------------

def _neighbours(w: World) -> str:
    """Five households in A: 王姐 and two neighbours she ordered for, 李哥, and 陈奶奶 whom 孙阿姨
    (no order of her own) ordered for; every one of them has grapes (item 1)."""
    w.order(GA, "王姐", "帮邻居6栋101刘奶奶 葡萄2")
    w.order(GA, "王姐", "帮邻居6栋102张爷爷 葡萄1")
    w.order(GA, "李哥", "5栋101 李哥 葡萄1")
    w.order(GA, "孙阿姨", "帮邻居7栋301陈奶奶 葡萄1")
    return w.deals[GA]


def _rows(html: str) -> dict[str, str]:
    rows = dict(re.findall(r'<tr data-household="([^"]*)">(.*?)</tr>', html, re.S))
    assert rows, html[:300]
    return rows


def _form(row: str, action: str) -> dict[str, str]:
    form = re.search(rf'action="[^"]*/{action}[^"]*"[^>]*>(.*?)</form>', row, re.S)
    assert form is not None, row
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))


def _expected(w: World, deal: str) -> dict[str, tuple[str, str]]:
    """The household key of each row label, from the leader's-day use cases (not from the page)."""
    homes = w.ctx.leader_day().households(deal, GA)
    by_label = {h.label: h.key for h in homes}
    assert len(by_label) == len(homes) == 5
    return by_label


@pytest.mark.parametrize("action", ["verify", "paid"])
def test_every_row_s_button_marks_exactly_its_household(w: World, action: str) -> None:
    deal = _neighbours(w)
    expected = _expected(w, deal)
    leader = client(w, "leadera")
    done: set[tuple[str, str]] = set()
    for label, key in expected.items():
        row = _rows(leader.get(f"/deals/{deal}/households").text)[label]
        assert leader.post(f"/deals/{deal}/{action}", data=_form(row, action)).status_code == 303
        done.add(key)
        marks = w.ctx.leader_day().marks_for_deal(deal)
        marked = {k for k, mk in marks.items() if k[0] == GA and (mk.picked if action == "verify" else mk.paid)}
        assert marked == done, label


def test_every_row_s_undo_unverifies_exactly_its_household(w: World) -> None:
    deal = _neighbours(w)
    expected = _expected(w, deal)
    day, now = w.ctx.leader_day(), datetime.now(UTC)
    for key in expected.values():
        assert day.verify(deal, Actor(GA, "web:leadera", "leadera"), now, key=key[1]).status == "ok"
    leader = client(w, "leadera")
    left = set(expected.values())
    for label, key in expected.items():
        row = _rows(leader.get(f"/deals/{deal}/households").text)[label]
        assert leader.post(f"/deals/{deal}/unverify", data=_form(row, "unverify")).status_code == 303
        left.discard(key)
        picked = {k for k, mk in w.ctx.leader_day().marks_for_deal(deal).items() if k[0] == GA and mk.picked}
        assert picked == left, label


def test_unverify_by_the_household_alone_undoes_that_household(w: World) -> None:
    deal = _neighbours(w)
    leader = client(w, "leadera")
    neighbour = f"{GA}|u-王姐/6栋101刘奶奶"
    for who in (neighbour, f"{GA}|u-王姐"):
        leader.post(f"/deals/{deal}/verify", data={"household": who, "csrf": csrf(leader)})
    leader.post(f"/deals/{deal}/unverify", data={"household": neighbour, "csrf": csrf(leader)})
    picked = {k for k, mk in w.ctx.leader_day().marks_for_deal(deal).items() if mk.picked}
    assert picked == {(GA, "u-王姐")}


def test_every_refund_option_refunds_exactly_its_household(w: World) -> None:
    deal = _neighbours(w)
    expected = _expected(w, deal)
    leader = client(w, "leadera")
    options = dict((label, value) for value, label in
                   re.findall(r'<option value="([^"]+)">\d+\. ([^<]+)</option>', leader.get(f"/deals/{deal}").text))
    assert set(expected) <= set(options)
    refunded: dict[tuple[str, str], Decimal] = {}
    for label, key in expected.items():
        leader.post(f"/deals/{deal}/refund", data={"household": options[label], "item": "1", "qty": "1",
                                                   "reason": "坏果", "csrf": csrf(leader)})
        refunded[key] = Decimal("29.90")
        marks = w.ctx.leader_day().marks_for_deal(deal)
        got = {k: mk.refund_amount for k, mk in marks.items() if k[0] == GA and mk.refund_amount}
        assert got == refunded, label


def test_a_resident_s_sender_id_names_her_own_household_never_a_neighbour_s(w: World) -> None:
    deal = _neighbours(w)
    leader = client(w, "leadera")
    for sender in ("u-孙阿姨", "u-王姐"):  # 孙阿姨 has no household of her own: nothing is marked for her
        leader.post(f"/deals/{deal}/paid", data={"chat_key": GA, "sender_id": sender, "csrf": csrf(leader)})
    paid = {k for k, mk in w.ctx.leader_day().marks_for_deal(deal).items() if mk.paid}
    assert paid == {(GA, "u-王姐")}


def test_a_neighbour_s_household_of_another_group_is_refused(w: World) -> None:
    deal = _neighbours(w)
    b = client(w, "leaderb")
    for action in ("verify", "paid", "unverify"):
        r = b.post(f"/deals/{deal}/{action}", data={"household": f"{GA}|u-王姐/6栋101刘奶奶", "csrf": csrf(b)})
        assert r.status_code == 403, action
    r = b.post(f"/deals/{deal}/refund", data={"household": f"{GA}|u-王姐/6栋101刘奶奶", "item": "1", "qty": "1",
                                              "csrf": csrf(b)})
    assert r.status_code == 403
    marks = w.ctx.leader_day().marks_for_deal(deal)
    assert not any(mk.picked or mk.paid or mk.refund_amount for mk in marks.values())


# --- 撤销 is the verifier's, by id ---------------------------------------------------------------------

def test_undo_is_offered_to_the_account_that_verified_not_to_a_namesake(w: World) -> None:
    deal = w.deals[GA]
    day = w.ctx.leader_day()
    # a chat leader whose display name is the web account's name verifies 王姐 in the chat
    assert day.verify(deal, Actor(GA, "u-chat-leader", "leadera"), datetime.now(UTC), key="u-王姐").status == "ok"
    leader = client(w, "leadera")
    rows = _rows(leader.get(f"/deals/{deal}/households").text)
    assert "已取 · leadera" in rows["3栋402 王姐"] and "/unverify" not in rows["3栋402 王姐"]
    leader.post(f"/deals/{deal}/verify", data={"household": f"{GA}|u-李哥", "csrf": csrf(leader)})
    rows = _rows(leader.get(f"/deals/{deal}/households").text)
    assert "/unverify" in rows["5栋101 李哥"]
    assert "/unverify" not in _rows(client(w, "op").get(f"/deals/{deal}/households").text)["5栋101 李哥"]


# --- the sign-in limits' keys -----------------------------------------------------------------------

def test_a_long_submitted_name_is_kept_as_a_bounded_key_and_still_limited(w: World) -> None:
    from bot.web.core import LOGIN_KEY_CHARS, LOGIN_LIMIT_PAIR

    app = create_app(w.ctx)
    c = TestClient(app, follow_redirects=False)
    token = csrf(c, "/login")
    name = "猜" * 20_000
    codes = [c.post("/login", data={"name": name, "password": "wrong-password", "csrf": token}).status_code
             for _ in range(LOGIN_LIMIT_PAIR + 1)]
    assert codes == [401] * LOGIN_LIMIT_PAIR + [429]
    web = app.state.web
    keys = [*web.by_name._fails, *web.by_pair._fails]
    assert keys and max(len(k) for k in web.by_name._fails) <= LOGIN_KEY_CHARS
    assert max(len(k.partition("\n")[0]) for k in web.by_pair._fails) <= LOGIN_KEY_CHARS
    assert c.post("/login", data={"name": "op", "password": PASSWORDS["op"], "csrf": token}).status_code == 303


# --- forwarded headers ----------------------------------------------------------------------------

def _seen_through(w: World, proxies: tuple[str, ...], peer: str) -> tuple[str, str]:
    """(client address, scheme) the app sees behind ``bot.web.serve.server`` for a request from
    ``peer`` carrying ``X-Forwarded-For: 203.0.113.9`` and ``X-Forwarded-Proto: https``."""
    from bot.web.serve import server

    config = dataclasses.replace(w.config, web=dataclasses.replace(w.config.web, trusted_proxies=proxies))
    srv = server(config, w.repo, w.service, None, listen="127.0.0.1:8080")
    seen: list[tuple[str, str]] = []

    async def probe(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append((scope["client"][0], scope["scheme"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    srv.config.app = probe
    srv.config.load()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "", "client": (peer, 5000),
             "server": ("127.0.0.1", 8080),
             "headers": [(b"x-forwarded-for", b"203.0.113.9"), (b"x-forwarded-proto", b"https")]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    # a loop of its own, not asyncio.run: that would drop the test session's loop (left unclosed)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(srv.config.loaded_app(scope, receive, send))
    finally:
        loop.close()
    return seen[0]


def test_forwarded_headers_are_believed_from_configured_proxies_only(w: World) -> None:
    assert _seen_through(w, (), "127.0.0.1") == ("127.0.0.1", "http")  # default: no proxy trusted, not even local
    assert _seen_through(w, ("127.0.0.1",), "127.0.0.1") == ("203.0.113.9", "https")
    assert _seen_through(w, ("10.0.0.0/8",), "10.1.2.3") == ("203.0.113.9", "https")
    assert _seen_through(w, ("10.0.0.0/8",), "127.0.0.1") == ("127.0.0.1", "http")


def test_trusted_proxies_config() -> None:
    from bot.config import ConfigError, config_from_dict

    assert config_from_dict({}, "t.toml", env={}).web.trusted_proxies == ()
    cfg = config_from_dict({"web": {"trusted_proxies": ["127.0.0.1", "10.0.0.0/8", "::1"]}}, "t.toml", env={})
    assert cfg.web.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    for bad in (["*"], ["localhost"], "127.0.0.1", ["10.0.0.0/33"]):
        with pytest.raises(ConfigError, match=r"web\.trusted_proxies"):
            config_from_dict({"web": {"trusted_proxies": bad}}, "t.toml", env={})


def test_a_leader_b_row_form_in_group_b_names_its_own_chat(w: World) -> None:
    """The households table of B's deal, as B's leader sees it, posts B's chat key."""
    b = client(w, "leaderb")
    row = _rows(b.get(f"/deals/{w.deals[GB]}/households").text)["1栋101 赵姨"]
    assert _form(row, "verify")["household"] == f"{GB}|u-赵姨"
