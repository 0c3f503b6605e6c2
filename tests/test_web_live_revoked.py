"""An open live stream (server-sent events) stops serving a viewer who may no longer see it:
signed out elsewhere, password changed, account removed (its id given to a new account, too), or a
leader who lost the group."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from bot.web import auth
from tests.web_support import GA, PASSWORDS, Served, World, world


@pytest.fixture
def site(tmp_path) -> Iterator[tuple[World, Served]]:  # type: ignore[no-untyped-def]
    w = world(tmp_path)
    with Served(w, poll=0.05) as served:
        yield w, served
    w.repo.close()


OPEN: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def signed_in(served: Served, who: str) -> httpx.Client:
    c = httpx.Client(base_url=served.url, follow_redirects=False, timeout=10)
    OPEN.append(c)
    page = c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    r = c.post("/login", data={"name": who, "password": PASSWORDS[who], "csrf": token.group(1)})
    assert r.status_code == 303, r.text
    return c


def events_until_end(c: httpx.Client, path: str, change: Callable[[], None], *, within: float = 8.0) -> list[str]:
    """The stream's event names: read the first, then ``change()``, then read until the stream ends
    (or ``within`` seconds pass: then the names so far, and the stream is dropped)."""
    names: list[str] = []
    deadline = time.monotonic() + within
    with c.stream("GET", path, timeout=within) as r:
        assert r.status_code == 200
        try:
            for line in r.iter_lines():
                if line.startswith("event: "):
                    names.append(line.removeprefix("event: "))
                    if len(names) == 1:
                        change()
                if time.monotonic() > deadline:
                    break
        except httpx.ReadTimeout:
            names.append("(still open)")
    return names


@pytest.mark.parametrize("how", ["signed out elsewhere", "new password", "removed", "removed, its id reused"])
def test_a_revoked_account_s_stream_ends_with_gone(site: tuple[World, Served], how: str) -> None:
    w, served = site
    c = signed_in(served, "leadera")
    engine = w.repo.engine

    def revoke() -> None:
        if how.startswith("removed"):
            auth.remove_user(engine, "leadera")
            if how.endswith("reused"):  # SQLite gives the next account the removed one's id
                auth.add_user(engine, "newop", "operator", "new-operator-pw")
        elif how == "new password":
            auth.change_password(engine, "leadera", "another-password-1")
        else:
            auth.end_sessions(engine, _uid(engine, "leadera"))

    started = time.monotonic()
    names = events_until_end(c, f"/events/deals/{w.deals[GA]}", revoke)
    assert names[0] == "counts" and names[-1] == "gone", names
    assert time.monotonic() - started < 5  # re-checked every 5 polls (0.25 s here), not at the next ping
    assert c.get("/api/today").status_code == 401  # and the stream's reconnect is refused


def test_a_stream_of_a_viewer_still_allowed_goes_on(site: tuple[World, Served]) -> None:
    w, served = site
    c = signed_in(served, "leadera")
    other = signed_in(served, "leaderb")
    names = events_until_end(c, f"/events/deals/{w.deals[GA]}",
                             lambda: auth.end_sessions(w.repo.engine, _uid(w.repo.engine, "leaderb")), within=1.5)
    assert names == ["counts", "(still open)"]  # leaderb's sign-out is not leadera's
    assert other.get("/api/today").status_code == 401


def test_the_today_stream_ends_when_the_viewer_is_signed_out(site: tuple[World, Served]) -> None:
    w, served = site
    c = signed_in(served, "op")
    names = events_until_end(c, "/events/today", lambda: auth.end_sessions(w.repo.engine, _uid(w.repo.engine, "op")))
    assert names[0] == "counts" and names[-1] == "gone", names


def _uid(engine, name: str) -> int:  # type: ignore[no-untyped-def]
    from storage import web as store

    with engine.connect() as conn:
        user = store.user_named(conn, name)
    assert user is not None
    return user.id
