"""The dashboard's routes (Starlette). Pages are Jinja2 templates (bot/web/templates), live counts
come by server-sent events, and every POST carries the session's CSRF token.

Who may see what is checked in every handler through :func:`_viewer` (signed in) and
:func:`_deal_scope` (a deal of one of the viewer's groups): a leader asking for another group's
deal, export or action gets 403, an unknown deal 404.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import messages as m
from bot.usecases.leaderday import Actor, Result
from bot.web import auth, views
from bot.web import texts as t
from bot.web.views import WebContext
from bot.worker import locked_call

HERE = Path(__file__).resolve().parent
R = TypeVar("R")
LOGIN_LIMIT = (5, 300.0)  # failed sign-ins per account and per IP address, per seconds
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
SECTION_MODULES: tuple[str, ...] = ()
"""Modules imported by :func:`create_app` that add sections (e.g. "bot.web.settle")."""


def add_section(section: Section) -> None:
    """Add a page to the menu and its routes to every app created afterwards."""
    if all(s.path != section.path for s in SECTIONS):
        SECTIONS.append(section)


class Web:
    """The app's state: the context, the service's lock, the sign-in limits, the templates."""

    def __init__(self, ctx: WebContext, lock: asyncio.Lock | None, *, poll: float = POLL_SECONDS) -> None:
        self.ctx, self.lock, self.poll = ctx, lock, poll
        self.by_name = auth.RateLimit(*LOGIN_LIMIT)
        self.by_ip = auth.RateLimit(*LOGIN_LIMIT)
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
        raise HTTPException(403, t.CSRF_FAILED)
    return form


def _api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/events/"))


async def _viewer(request: Request) -> auth.Viewer:
    """The signed-in account as the store says now; else 401 (API) or a redirect to the sign-in page."""
    uid = request.session.get("uid")
    viewer = await asyncio.to_thread(auth.viewer_of, _web(request).ctx.engine, int(uid)) if uid else None
    if viewer is None:
        request.session.pop("uid", None)
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
    if web.by_name.blocked(name) or web.by_ip.blocked(ip):
        return web.page(request, "login.html", 429, error=t.LOGIN_LIMITED, name=name)
    user = await asyncio.to_thread(auth.check_password, web.ctx.engine, name, password)
    if user is None:
        web.by_name.fail(name)
        web.by_ip.fail(ip)
        return web.page(request, "login.html", 401, error=t.LOGIN_FAILED, name=name)
    web.by_name.clear(name)
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in account
    request.session.update(uid=user.id, csrf=auth.new_token(), sid=secrets.token_hex(8))
    return _back("/")


async def logout(request: Request) -> Response:
    await _form(request)
    request.session.clear()
    return _back("/login")


# --- today --------------------------------------------------------------------------------------------

def _page_no(request: Request) -> int:
    raw = request.query_params.get("page", "")
    return min(int(raw), 10_000) if raw.isdigit() else 0


async def today(request: Request) -> Response:
    viewer = await _viewer(request)
    web = _web(request)
    page = _page_no(request)
    _groups, pages = await asyncio.to_thread(views.today_groups, web.ctx, viewer.chat_keys, page)
    cards = await web.service(views.today, web.ctx, viewer.chat_keys, page)
    return web.page(request, "today.html", cards=cards, page_no=page, pages=pages)


async def today_api(request: Request) -> Response:
    viewer = await _viewer(request)
    web = _web(request)
    return JSONResponse(await web.service(views.today, web.ctx, viewer.chat_keys, _page_no(request)))


async def _stream(request: Request, version: Callable[[], Any], data: Callable[[], Any]) -> AsyncIterator[str]:
    """Server-sent events: ``counts`` with ``data()`` at once and whenever ``version()`` changes
    (polled every :data:`POLL_SECONDS`), a comment now and then to keep the connection; ``?once=1``
    ends after the first event (tests)."""
    web = _web(request)
    last: Any = object()
    quiet = 0.0
    once = request.query_params.get("once") == "1"
    while True:
        now = await asyncio.to_thread(version)
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


def _sse(gen: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(gen, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def today_events(request: Request) -> Response:
    viewer = await _viewer(request)
    ctx = _web(request).ctx
    page = _page_no(request)
    return _sse(_stream(request, lambda: views.today_versions(ctx, viewer.chat_keys, page),
                        lambda: views.today(ctx, viewer.chat_keys, page)))


# --- a deal ---------------------------------------------------------------------------------------------

async def deal(request: Request) -> Response:
    deal_id = request.path_params["deal_id"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    web = _web(request)
    page = await web.service(views.deal_page, web.ctx, deal_id, shown, visible)
    names = await asyncio.to_thread(views.titles, web.ctx, visible)
    return web.page(request, "deal.html", d=page, groups=names, shown=shown, query=_group_query(shown),
                    tz=web.ctx.config.bot.tz)


def _group_query(shown: str | None) -> str:
    from urllib.parse import urlencode

    return ("?" + urlencode({"group": shown})) if shown else ""


async def deal_households(request: Request) -> Response:
    deal_id = request.path_params["deal_id"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    web = _web(request)
    deal_row = await asyncio.to_thread(web.ctx.repo.get_deal, deal_id)
    rows = await web.service(views.household_rows, web.ctx, deal_id, shown, visible)
    html = web.env.get_template("households.html").render(d={"deal": deal_row, "households": rows},
                                                          csrf=_csrf(request), query=_group_query(shown), viewer=viewer,
                                                          tz=web.ctx.config.bot.tz, t=t)
    return HTMLResponse(html)


async def deal_api(request: Request) -> Response:
    deal_id = request.path_params["deal_id"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    web = _web(request)
    return JSONResponse(await web.service(views.summary, web.ctx, deal_id, shown))


async def deal_events(request: Request) -> Response:
    deal_id = request.path_params["deal_id"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    ctx = _web(request).ctx
    return _sse(_stream(request, lambda: views.deal_version(ctx, deal_id), lambda: views.summary(ctx, deal_id, shown)))


async def deal_export(request: Request) -> Response:
    deal_id, fmt = request.path_params["deal_id"], request.path_params["fmt"]
    if fmt not in ("xlsx", "csv"):
        raise HTTPException(404, t.NOT_FOUND)
    viewer, visible, shown = await _deal_scope(request, deal_id)
    web = _web(request)
    data = await web.service(views.export, web.ctx, deal_id, shown, visible, fmt)
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="tuan-{deal_id}.{fmt}"'})


def _money(text: str) -> Decimal | None:
    text = text.strip().lstrip("¥").removesuffix("元")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")) or value > Decimal("1e9"):
        raise ValueError(text)
    return value


def _said(res: Result, ok: str, **values: Any) -> tuple[str, bool]:
    if res.status != "ok":
        names = "、".join(h.label for h in res.candidates)
        return t.RESULT.get(res.status, res.status) + (f"：{names}" if names else ""), False
    h = res.household
    return ok.format(label=h.label if h else "", code=res.marks.pickup_code if res.marks else "", **values), True


async def deal_action(request: Request) -> Response:
    """POST /deals/{id}/{verify|paid|refund|short}: the leader's-day use cases, for a household of a
    chat the viewer sees (``household`` "chat|sender", or ``chat_key`` and ``sender_id``, or a pickup
    ``code`` for verify); ``short``: the supplier delivered ``delivered`` of ``item`` (the group's
    households are filled first come first served, the rest refunded)."""
    deal_id, action = request.path_params["deal_id"], request.path_params["action"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    form = await _form(request)
    web = _web(request)
    back = f"/deals/{deal_id}{_group_query(shown)}"
    chat_key, _, sender = str(form.get("household") or "").partition("|")
    chat_key = chat_key or str(form.get("chat_key") or shown or "")
    sender = sender or str(form.get("sender_id") or "")
    code = str(form.get("code") or "").strip()
    if not chat_key and action in ("verify", "unverify") and code:  # a pickup code is unique in the round: any of the viewer's groups
        chats = visible
    elif not chat_key and len(visible) == 1:
        chats = visible
    else:
        chats = [chat_key]
    if any(k not in visible for k in chats):
        raise HTTPException(403, t.FORBIDDEN)
    actor = Actor(chats[0], viewer.actor_id, viewer.name)
    now = datetime.now(UTC)
    day = web.ctx.leader_day()
    try:
        if action == "verify":
            for key in chats:
                actor = Actor(key, viewer.actor_id, viewer.name)
                res = await asyncio.to_thread(day.verify, deal_id, actor, now, code=code,
                                              sender_id="" if code else sender)
                if res.status != "none":
                    break
            text, ok = _said(res, t.VERIFIED)
        elif action == "paid":
            amount = _money(str(form.get("amount") or ""))
            res = await asyncio.to_thread(day.mark_paid, deal_id, actor, now, "", amount, sender_id=sender)
            text, ok = _said(res, t.PAID, amount=views.money(res.amount))
        elif action == "refund":
            amount = _money(str(form.get("amount") or ""))
            qty = int(str(form.get("qty") or "0"))
            res = await asyncio.to_thread(day.refund, deal_id, actor, now, "", str(form.get("item") or ""), qty,
                                          str(form.get("reason") or "").strip()[:200], amount, sender_id=sender)
            text, ok = _said(res, t.REFUNDED, amount=views.money(res.amount))
        elif action == "unverify":
            if not code:
                raise HTTPException(400, t.RESULT["none"])
            res = await asyncio.to_thread(day.unverify, deal_id, actor, now, code=code)
            text, ok = _said(res, t.UNVERIFIED)
        elif action == "short":
            from bot.usecases.leaderday import ShortResult

            delivered = int(str(form.get("delivered") or "-1"))
            got = await asyncio.to_thread(day.short, deal_id, actor, now, str(form.get("item") or ""), delivered)
            if isinstance(got, ShortResult):
                text, ok = t.SHORTED.format(item=got.item.name, delivered=got.delivered, ordered=got.ordered,
                                            n=len(got.lines), amount=views.money(got.refunded)), True
            else:
                text, ok = _said(got, "")
        else:
            raise HTTPException(404, t.NOT_FOUND)
    except ValueError as e:
        text, ok = t.BAD_AMOUNT.format(text=e), False
    _flash(request, text, ok)
    return _back(back)


async def deal_copy(request: Request) -> Response:
    """POST /deals/{id}/copy: open the round again (same items, prices, stock; no cutoff) for one of
    the viewer's groups, and post its card there (the outbox)."""
    from bot.usecases.history import RoundStillOpen, UnknownGroup, copy_round

    deal_id = request.path_params["deal_id"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    form = await _form(request)
    chat_key = str(form.get("chat_key") or shown or "")
    if chat_key and chat_key not in visible:
        raise HTTPException(403, t.FORBIDDEN)
    web = _web(request)
    targets = [chat_key] if chat_key else visible
    try:
        new_ids = []
        for key in targets:
            new_ids.append(await web.service(copy_round, web.ctx.service, web.ctx.engine, web.ctx.config, deal_id,
                                             key, announce=True))
    except (RoundStillOpen, UnknownGroup) as e:
        _flash(request, t.STILL_OPEN.format(group=str(e).split(" has ")[0]), False)
        return _back(f"/deals/{deal_id}")
    names = await asyncio.to_thread(views.titles, web.ctx, targets)
    for key, new_id in zip(targets, new_ids, strict=True):
        await _audit(request, viewer, "publish", key, new_id, f"copy of {deal_id}")
    _flash(request, t.COPIED.format(groups="、".join(names.values())))
    return _back(f"/deals/{new_ids[0]}")


# --- products, compose, schedules, audit ---------------------------------------------------------------

async def products(request: Request) -> Response:
    await _viewer(request)
    web = _web(request)
    rows, owned = await asyncio.to_thread(_products, web.ctx)
    return web.page(request, "products.html", products=rows, owned=owned)


def _products(ctx: WebContext) -> tuple[list[Any], set[str]]:
    from bot.usecases.platform_data import config_products
    from storage.platform import SqlPlatformStore

    rows = SqlPlatformStore(ctx.engine).load()
    key = lambda p: (not p.id.isdigit(), int(p.id) if p.id.isdigit() else 0, p.id)  # noqa: E731
    return sorted(rows.products.values(), key=key), {pid for _d, _c, pid in config_products(ctx.config)}


def _aliases(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a.strip() for a in raw.replace("，", ",").split(",") if a.strip()))


async def product_save(request: Request) -> Response:
    """POST /products (add, ``code`` in the form) or /products/{code} (edit): operators only, the
    same use cases as `tuan product add|edit`."""
    from bot.money import MoneyError, parse_price
    from bot.usecases.platform_data import PlatformDataError, ProductRow, changed_product, new_product
    from storage.platform import SqlPlatformStore

    viewer = await _operator(request)
    form = await _form(request)
    web = _web(request)
    code = str(request.path_params.get("code") or form.get("code") or "").strip()
    name = str(form.get("name") or "").strip()
    now = datetime.now(UTC)
    try:
        price = parse_price(str(form.get("price") or ""))
        if not code or not name:
            raise PlatformDataError("编号和名称不能为空")
        fields = dict(name=name, price=price, unit=str(form.get("unit") or "").strip(),
                      aliases=_aliases(str(form.get("aliases") or "")), spec=str(form.get("spec") or "").strip(),
                      supplier=str(form.get("supplier") or "").strip() or None)
        store = SqlPlatformStore(web.ctx.engine)
        if "code" in request.path_params:
            active = form.get("active") == "1"
            done = await asyncio.to_thread(store.update, lambda rows: changed_product(
                rows, web.ctx.config, code, now, **fields, active=active))
        else:
            product = ProductRow(id=code, updated_at=now, **fields)  # type: ignore[arg-type]
            done = await asyncio.to_thread(store.update, lambda rows: new_product(rows, web.ctx.config, product))
    except (MoneyError, PlatformDataError) as e:
        _flash(request, str(e), False)
        return _back("/products")
    if done.said:
        await _audit(request, viewer, "product", "web", None, "; ".join(done.said))
    _flash(request, t.PRODUCT_SAVED.format(code=code))
    return _back("/products")


async def compose(request: Request) -> Response:
    viewer = await _viewer(request)
    web = _web(request)
    return web.page(request, "compose.html", **await asyncio.to_thread(_compose_data, web.ctx, viewer))


def _compose_data(ctx: WebContext, viewer: auth.Viewer) -> dict[str, Any]:
    from bot.usecases.history import list_rounds
    from storage.history import reading

    groups = views.groups_seen(ctx, viewer.chat_keys)
    rows, _owned = _products(ctx)
    with reading(ctx.engine) as conn:
        rounds = list_rounds(conn, ctx.config, days=30, limit=COPY_ROUNDS) if viewer.operator else [
            r for key in sorted(viewer.chat_keys or ()) for r in list_rounds(conn, ctx.config, group=key, days=30,
                                                                            limit=5)]
    rounds = [r for r in rounds if any(viewer.sees(g.chat_key) for g in r.groups)]
    return {"groups": groups, "products": [p for p in rows if p.active], "rounds": rounds}


async def compose_post(request: Request) -> Response:
    """POST /compose: ``action`` "preview" (the card as residents will see it) or "publish" (open the
    deal for the chosen groups and post its card through the outbox)."""
    from bot.render import deal_card
    from bot.usecases.platform_data import PlatformDataError, deal_catalog
    from storage.platform import SqlPlatformStore

    viewer = await _viewer(request)
    form = await _form(request)
    web = _web(request)
    data = await asyncio.to_thread(_compose_data, web.ctx, viewer)
    keys = [str(k) for k in form.getlist("group")]
    if any(not viewer.sees(k) for k in keys) or any(k not in {g["chat_key"] for g in data["groups"]} for k in keys):
        raise HTTPException(403, t.FORBIDDEN)
    picks: list[tuple[str, int | None]] = []
    error = ""
    for code in (str(c) for c in form.getlist("pick")):
        raw = str(form.get(f"stock_{code}") or "").strip()
        if raw and (not raw.isdigit() or int(raw) > 1_000_000_000):
            error = f"库存不对：{raw}"
        picks.append((code, int(raw) if raw.isdigit() else None))
    group = next((g for g in data["groups"] if keys and g["chat_key"] == keys[0]), None)
    tz = ZoneInfo(group["timezone"]) if group else web.ctx.config.bot.tz
    local = datetime.now(tz)
    title = str(form.get("title") or "").strip()[:60] or m.CLI_DEAL_TITLE.format(month=local.month, day=local.day)
    cutoff = None
    raw_cut = str(form.get("cutoff") or "").strip()
    if raw_cut:
        try:
            cutoff = datetime.fromisoformat(raw_cut).replace(tzinfo=tz)
        except ValueError:
            error = f"截单时间不对：{raw_cut}"
        else:
            if cutoff <= datetime.now(UTC):
                error = f"截单时间已过：{raw_cut}"
    if not keys:
        error = error or t.NO_GROUP_CHOSEN
    if not picks:
        error = error or t.NO_PRODUCT_CHOSEN
    card = ""
    catalog = None
    if not error:
        try:
            rows = await asyncio.to_thread(SqlPlatformStore(web.ctx.engine).load)
            catalog = deal_catalog(rows, picks, title=title, cutoff=cutoff)
        except PlatformDataError as e:
            error = str(e)
        else:
            when = cutoff.strftime("%m月%d日 %H:%M") if cutoff else ""
            card = deal_card(catalog, title=title, cutoff=when).text
    action = form.get("action")
    if error or action != "publish" or catalog is None:
        return web.page(request, "compose.html", 400 if error else 200, error=error, card=card, chosen=keys,
                        picked=dict(picks), title=title, cutoff=raw_cut, **data)

    def publish() -> str:
        for key in keys:
            current = web.ctx.service.deal_of(key)
            if current is not None and current.status == "open":
                raise PlatformDataError(t.STILL_OPEN.format(group=views.titles(web.ctx, [key])[key]))
        return web.ctx.service.open_deal(catalog, keys, title=title, source="web", announce=True)

    try:
        deal_id = await web.service(publish)
    except PlatformDataError as e:
        return web.page(request, "compose.html", 409, error=str(e), card=card, chosen=keys, picked=dict(picks),
                        title=title, cutoff=raw_cut, **data)
    names = await asyncio.to_thread(views.titles, web.ctx, keys)
    for key in keys:
        await _audit(request, viewer, "publish", key, deal_id,
                     f"title={title} items=" + ",".join(f"{c}:{s if s is not None else '-'}" for c, s in picks))
    _flash(request, t.PUBLISHED.format(title=title, groups="、".join(names.values())))
    return _back(f"/deals/{deal_id}")


def _day(request: Request) -> Any:
    from datetime import date

    raw = request.query_params.get("date", "")
    try:
        return date.fromisoformat(raw) if raw else datetime.now(_web(request).ctx.config.bot.tz).date()
    except ValueError:
        raise HTTPException(400, f"日期不对：{raw}") from None


async def stock(request: Request) -> Response:
    """The stocking list (备货单) of every round opened on ``?date=`` (default today) in the viewer's
    groups, as `tuan stock --date` makes it; ``/stock.csv`` downloads it."""
    from bot.export import stock_csv
    from bot.usecases.lists import day_stock

    viewer = await _viewer(request)
    web = _web(request)
    day = _day(request)
    keys = None if viewer.chat_keys is None else sorted(viewer.chat_keys)
    ids, lines = await web.service(day_stock, web.ctx.service, web.ctx.config, day, keys)
    if request.url.path.endswith(".csv"):
        return Response(stock_csv(lines), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="tuan-stock-{day.isoformat()}.csv"'})
    return web.page(request, "stock.html", day=day, deals=ids, stock=lines)


async def schedules(request: Request) -> Response:
    from bot.crontab import crontab_trigger

    viewer = await _viewer(request)
    web = _web(request)
    config = web.ctx.config
    tz = config.bot.tz
    now = datetime.now(tz)
    rows = []
    for s in config.schedules:
        group = config.group(s.group)
        if group is None or not viewer.sees(group.chat_key):
            continue
        nxt = crontab_trigger(s.cron, tz).get_next_fire_time(None, now)
        rows.append({"group": group.title or group.id, "kind": s.kind, "cron": s.cron, "text": s.text,
                     "next": nxt.strftime("%m-%d %H:%M") if nxt else "-"})
    return web.page(request, "schedules.html", schedules=rows)


async def audit_page(request: Request) -> Response:
    from storage import web as store

    viewer = await _viewer(request)
    web = _web(request)
    before = request.query_params.get("before")

    def read() -> list[dict[str, Any]]:
        with web.ctx.engine.connect() as conn:
            keys = None if viewer.chat_keys is None else sorted(viewer.chat_keys)
            return store.audit_page(conn, chat_keys=keys, before=int(before) if before and before.isdigit() else None)

    rows = await asyncio.to_thread(read)
    return web.page(request, "audit.html", rows=rows, tz=web.ctx.config.bot.tz)


# --- errors and the app -----------------------------------------------------------------------------------

async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (301, 302, 303, 307):
        return RedirectResponse(exc.headers["Location"] if exc.headers else "/", status_code=exc.status_code)
    if _api(request):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return _web(request).page(request, "error.html", exc.status_code, message=exc.detail)


class _Headers:
    """Security headers on every response, and the session cookie Secure when served over https
    (or always, ``[web] secure_cookies``)."""

    def __init__(self, app: ASGIApp, secret: str, secure: bool) -> None:
        kw: dict[str, Any] = dict(secret_key=secret, session_cookie="tuan_session", same_site="lax",
                                  max_age=12 * 3600)
        self.plain = SessionMiddleware(app, https_only=secure, **kw)
        self.tls = SessionMiddleware(app, https_only=True, **kw)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.plain(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.extend((k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items())
            await send(message)

        inner = self.tls if scope.get("scheme") == "https" else self.plain
        await inner(scope, receive, with_headers)  # type: ignore[arg-type]


def create_app(ctx: WebContext, lock: asyncio.Lock | None = None, *, poll: float = POLL_SECONDS) -> Starlette:
    """The dashboard app on ``ctx``; ``lock``: the lock the order service's calls hold (the bot's
    own when it runs in `tuan run`; a new one otherwise)."""
    routes: list[BaseRoute] = [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", today),
        Route("/api/today", today_api),
        Route("/events/today", today_events),
        Route("/deals/{deal_id}", deal),
        Route("/deals/{deal_id}/households", deal_households),
        Route("/api/deals/{deal_id}", deal_api),
        Route("/events/deals/{deal_id}", deal_events),
        Route("/deals/{deal_id}/export.{fmt}", deal_export),
        Route("/deals/{deal_id}/copy", deal_copy, methods=["POST"]),
        Route("/deals/{deal_id}/{action}", deal_action, methods=["POST"]),
        Route("/products", products, methods=["GET"]),
        Route("/products", product_save, methods=["POST"]),
        Route("/products/{code}", product_save, methods=["POST"]),
        Route("/compose", compose, methods=["GET"]),
        Route("/compose", compose_post, methods=["POST"]),
        Route("/schedules", schedules),
        Route("/stock", stock),
        Route("/stock.csv", stock),
        Route("/audit", audit_page),
    ]
    import importlib

    for module in SECTION_MODULES:
        importlib.import_module(module)
    routes += [r for sec in SECTIONS for r in sec.routes]
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    secret = ctx.config.web.secret or secrets.token_urlsafe(32)
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error},
                    middleware=[Middleware(_Headers, secret=secret, secure=ctx.config.web.secure_cookies)])
    app.state.web = Web(ctx, lock, poll=poll)
    return app


# The names a page module of its own uses (see :class:`Section`).
signed_in = _viewer
operator_only = _operator
deal_scope = _deal_scope
checked_form = _form
record = _audit
