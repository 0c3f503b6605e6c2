"""What every page of the dashboard shares: the app's state (:class:`Web`), the menu's sections,
sessions and CSRF tokens, who is signed in and which deals they may see, the audit of web writes,
server-sent event streams. A page module (bot/web/deals.py, pages.py, or a later one) builds on these.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute

from bot.web import auth, params, views
from bot.web import texts as t
from bot.web.views import WebContext
from bot.worker import locked_call

HERE = Path(__file__).resolve().parent
R = TypeVar("R")
LOGIN_WINDOW = 300.0  # seconds
LOGIN_LIMIT_PAIR = 5
"""Failed sign-ins of one account from one IP address in :data:`LOGIN_WINDOW`: the guesser is stopped."""
LOGIN_LIMIT_IP = 20
"""Failed sign-ins from one IP address, whatever the names (one client trying many accounts)."""
LOGIN_LIMIT_NAME = 50
"""Failed sign-ins of one account from every address together (a guess spread over many addresses).
Higher than the pair's, so that one stranger's wrong passwords do not lock the owner out."""
LOGIN_KEY_CHARS = 64
"""The most of a submitted account name the sign-in limits keep as a key (a name of any length
costs no more memory than this; longer names share their first characters' counters)."""
POLL_SECONDS = 1.0  # how often a live page's stream looks at its deals' versions
PING_SECONDS = 15.0
COPY_ROUNDS = 12  # compose: the newest rounds offered to copy (each is counted: households, amount)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True, slots=True)
class Section:
    """A page of the dashboard in the menu: ``label`` (Chinese), ``path``, its ``routes``; shown to
    operators only when ``operator_only``. Later pages (settlement, purchase orders, statistics) are
    modules of their own that call :func:`add_section` at import, their handlers asking
    :func:`signed_in` / :func:`operator_only` / :func:`deal_scope` and checking forms with
    :func:`checked_form`, as the pages here do (docs/web.md, "Adding a page")."""

    label: str
    path: str
    routes: tuple[BaseRoute, ...] = ()
    operator_only: bool = False


SECTIONS: list[Section] = [
    Section(t.NAV["today"], "/"), Section(t.NAV["compose"], "/compose"), Section(t.NAV["products"], "/products"),
    Section(t.NAV["stock"], "/stock"), Section(t.NAV["schedules"], "/schedules"), Section(t.NAV["audit"], "/audit"),
]
SECTION_MODULES: tuple[str, ...] = ("bot.web.reports",)
"""Modules imported by :func:`create_app` that add sections (e.g. "bot.web.settle")."""


def add_section(section: Section) -> None:
    """Add a page to the menu and its routes to every app created afterwards."""
    if all(s.path != section.path for s in SECTIONS):
        SECTIONS.append(section)


class Web:
    """The app's state: the context, the service's lock, the sign-in limits, the templates."""

    def __init__(self, ctx: WebContext, lock: asyncio.Lock | None, *, poll: float = POLL_SECONDS) -> None:
        self.ctx, self.lock, self.poll = ctx, lock, poll
        self.recheck = min(RECHECK_SECONDS, 5 * poll)  # a test's fast poll re-checks fast too
        self.by_pair = auth.RateLimit(LOGIN_LIMIT_PAIR, LOGIN_WINDOW)
        self.by_ip = auth.RateLimit(LOGIN_LIMIT_IP, LOGIN_WINDOW)
        self.by_name = auth.RateLimit(LOGIN_LIMIT_NAME, LOGIN_WINDOW)
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
        self.env.globals.update(t=t)

    async def service(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """``fn`` in a worker thread, holding the order service's lock (one call at a time)."""
        if self.lock is None:
            self.lock = asyncio.Lock()
        return await locked_call(self.lock, fn, *args, **kwargs)

    def page(self, request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        session = request.scope.get("session", {})
        flash = session.pop("flash", None) if isinstance(session, dict) else None
        viewer = request.scope.get("viewer")
        nav = [sec for sec in SECTIONS if viewer is not None and (viewer.operator or not sec.operator_only)]
        html = self.env.get_template(template).render(request=request, csrf=_csrf(request), flash=flash,
                                                      viewer=viewer, nav=nav, **values)
        return HTMLResponse(html, status_code=status)


def _web(request: Request) -> Web:
    return request.app.state.web  # type: ignore[no-any-return]


# --- sessions, CSRF, who is signed in ---------------------------------------------------------------

def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = auth.new_token()
    return str(token)


async def _form(request: Request) -> FormData:
    """The POST's form, once its CSRF token (field ``csrf`` or header ``X-CSRF-Token``) matches the session's."""
    form = await request.form()
    sent = form.get("csrf") or request.headers.get("x-csrf-token")
    if not auth.same_token(str(sent or ""), request.session.get("csrf")):
        await form.close()  # an uploaded file's spooled copy
        raise HTTPException(403, t.CSRF_FAILED)
    return form


def _api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/events/"))


async def _viewer(request: Request) -> auth.Viewer:
    """The signed-in account as the store says now; else 401 (API) or a redirect to the sign-in page."""
    session = request.session
    viewer = await asyncio.to_thread(auth.session_viewer, _web(request).ctx.engine, session.get("uid"),
                                     session.get("key"))
    if viewer is None:  # gone, another account now, signed out (or a new password) since this session signed in
        request.session.clear()
        if _api(request) or request.method != "GET":
            raise HTTPException(401, t.LOGIN)
        raise HTTPException(303, headers={"Location": "/login"})
    request.scope["viewer"] = viewer
    return viewer


async def _operator(request: Request) -> auth.Viewer:
    viewer = await _viewer(request)
    if not viewer.operator:
        raise HTTPException(403, t.OPERATOR_ONLY)
    return viewer


async def _deal_scope(request: Request, deal_id: str) -> tuple[auth.Viewer, list[str], str | None]:
    """(viewer, the deal's chats it sees, the chat shown: ``?group=``, else every chat when it sees
    them all, else its first). 404: no such deal; 403: none of its groups is the viewer's, or
    ``group`` is not one of them."""
    viewer = await _viewer(request)
    keys = await asyncio.to_thread(views.deal_keys, _web(request).ctx, deal_id)
    if keys is None:
        raise HTTPException(404, t.NOT_FOUND)
    visible = viewer.visible(keys)
    if not visible and not (viewer.operator and not keys):
        raise HTTPException(403, t.FORBIDDEN)
    wanted = request.query_params.get("group") or None
    if wanted is not None and wanted not in visible:
        raise HTTPException(403, t.FORBIDDEN)
    if wanted is None and len(visible) < len(keys):
        wanted = visible[0]
    return viewer, visible, wanted


async def _audit(request: Request, viewer: auth.Viewer, action: str, chat_key: str, deal_id: str | None,
                 detail: str) -> None:
    from storage import web as store

    def write() -> None:
        with _web(request).ctx.engine.begin() as conn:
            store.add_audit(conn, at=datetime.now(UTC), actor_id=viewer.actor_id, actor_name=viewer.name,
                            action=action, chat_key=chat_key, deal_id=deal_id, detail=detail)

    await asyncio.to_thread(write)


def _flash(request: Request, text: str, ok: bool = True) -> None:
    request.session["flash"] = {"text": text, "ok": ok}


def _back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# --- sign-in ----------------------------------------------------------------------------------------

async def login_page(request: Request) -> Response:
    return _web(request).page(request, "login.html")


async def login(request: Request) -> Response:
    web = _web(request)
    form = await _form(request)
    name, password = str(form.get("name") or "").strip(), str(form.get("password") or "")
    ip = request.client.host if request.client else "-"
    key = name[:LOGIN_KEY_CHARS]
    pair = f"{key}\n{ip}"
    if web.by_pair.blocked(pair) or web.by_ip.blocked(ip) or web.by_name.blocked(key):
        return web.page(request, "login.html", 429, error=t.LOGIN_LIMITED, name=key)
    user = await asyncio.to_thread(auth.check_password, web.ctx.engine, name, password)
    if user is None:
        web.by_pair.fail(pair)
        web.by_ip.fail(ip)
        web.by_name.fail(key)
        return web.page(request, "login.html", 401, error=t.LOGIN_FAILED, name=key)
    web.by_pair.clear(pair)
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in account
    request.session.update(uid=user.id, key=auth.session_key(user), csrf=auth.new_token(), sid=secrets.token_hex(8))
    return _back("/")


async def logout(request: Request) -> Response:
    """POST /logout: ends the account's sessions on the server too (:func:`bot.web.auth.end_sessions`:
    a copy of the cookie kept from before is refused, on every device of the account)."""
    await _form(request)
    viewer = await asyncio.to_thread(auth.session_viewer, _web(request).ctx.engine, request.session.get("uid"),
                                     request.session.get("key"))
    if viewer is not None:
        await asyncio.to_thread(auth.end_sessions, _web(request).ctx.engine, viewer.user_id)
    request.session.clear()
    return _back("/login")


MAX_PAGE = 10_000
"""The last page number ``?page=`` may name (pages count from 0)."""


def _page_no(request: Request) -> int:
    """``?page=`` (default 0); HTTP 400 when it is not a whole number from 0 to :data:`MAX_PAGE`."""
    raw = request.query_params.get("page", "")
    return params.whole(raw, "页码", 0, MAX_PAGE) if raw else 0


RECHECK_SECONDS = 5.0
"""How often an open live stream asks the store whether its viewer may still see it (at most; also
before every update it sends)."""


async def _stream(request: Request, version: Callable[[], Any], data: Callable[[], Any],
                  allowed: Callable[[auth.Viewer], bool]) -> AsyncIterator[str]:
    """Server-sent events: ``counts`` with ``data()`` at once and whenever ``version()`` changes
    (polled every :data:`POLL_SECONDS`), a comment now and then to keep the connection; ``?once=1``
    ends after the first event (tests).

    A stream outlives the request that checked its viewer, so the viewer is checked again before
    every ``counts`` event and at least every :data:`RECHECK_SECONDS`: the account as the store says
    now, the session's key (:func:`bot.web.auth.session_key`: signed out, new password, removed,
    another account under a reused id) and ``allowed(viewer)`` (the groups the page shows are still
    the viewer's). When that fails the stream sends ``gone`` and ends, and
    the page reloads (to the sign-in page, or a refusal).
    """
    web = _web(request)
    last: Any = object()
    quiet = since_check = 0.0
    once = request.query_params.get("once") == "1"
    uid, key = request.session.get("uid"), request.session.get("key")

    async def still_allowed() -> bool:
        viewer = await asyncio.to_thread(auth.session_viewer, web.ctx.engine, uid, key)
        return viewer is not None and allowed(viewer)

    while True:
        now = await asyncio.to_thread(version)
        if now != last or since_check >= web.recheck:
            if not await still_allowed():
                yield "event: gone\ndata: {}\n\n"
                return
            since_check = 0.0
        if now != last:
            last = now
            payload = await web.service(data)
            yield f"event: counts\ndata: {json.dumps(payload, ensure_ascii=False, default=str)}\n\n"
            quiet = 0.0
            if once:
                return
        elif quiet >= PING_SECONDS:
            yield ": ping\n\n"
            quiet = 0.0
        if await request.is_disconnected():
            return
        await asyncio.sleep(web.poll)
        quiet += web.poll
        since_check += web.poll


def _sse(gen: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(gen, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _group_query(shown: str | None) -> str:
    from urllib.parse import urlencode

    return ("?" + urlencode({"group": shown})) if shown else ""


# The names a page module of its own uses (see :class:`Section`).
signed_in = _viewer
operator_only = _operator
deal_scope = _deal_scope
checked_form = _form
record = _audit
