"""The dashboard app (Starlette): the routes of every page, sign-in, "today", errors, security headers
and the session cookie. Pages are Jinja2 templates (bot/web/templates); live counts come by
server-sent events; every POST carries the session's CSRF token.

Who may see what is checked in every handler through :func:`bot.web.core._viewer` (signed in) and
:func:`bot.web.core._deal_scope` (a deal of one of the viewer's groups): a leader asking for another
group's deal, export or action gets 403, an unknown deal 404. A deal's pages are in
:mod:`bot.web.deals`, the library and platform pages in :mod:`bot.web.pages`.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.web import deals, pages, views
from bot.web.core import (
    HERE,
    POLL_SECONDS,
    SECTION_MODULES,
    SECTIONS,
    SECURITY_HEADERS,
    Section,
    Web,
    _api,
    _page_no,
    _sse,
    _stream,
    _viewer,
    _web,
    add_section,
    checked_form,
    deal_scope,
    login,
    login_page,
    logout,
    operator_only,
    record,
    signed_in,
)
from bot.web.views import WebContext

# --- today --------------------------------------------------------------------------------------------

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


async def today_events(request: Request) -> Response:
    viewer = await _viewer(request)
    ctx = _web(request).ctx
    page = _page_no(request)
    return _sse(_stream(request, lambda: views.today_versions(ctx, viewer.chat_keys, page),
                        lambda: views.today(ctx, viewer.chat_keys, page),
                        lambda now: now.chat_keys == viewer.chat_keys))


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
        Route("/deals/{deal_id}", deals.deal),
        Route("/deals/{deal_id}/households", deals.deal_households),
        Route("/api/deals/{deal_id}", deals.deal_api),
        Route("/events/deals/{deal_id}", deals.deal_events),
        Route("/deals/{deal_id}/export.{fmt}", deals.deal_export),
        Route("/deals/{deal_id}/copy", deals.deal_copy, methods=["POST"]),
        Route("/deals/{deal_id}/{action}", deals.deal_action, methods=["POST"]),
        Route("/products", pages.products, methods=["GET"]),
        Route("/products", pages.product_save, methods=["POST"]),
        Route("/import/products", pages.product_import, methods=["POST"]),
        Route("/products/{code}", pages.product_save, methods=["POST"]),
        Route("/compose", pages.compose, methods=["GET"]),
        Route("/compose", pages.compose_post, methods=["POST"]),
        Route("/schedules", pages.schedules),
        Route("/stock", pages.stock),
        Route("/stock.csv", pages.stock),
        Route("/audit", pages.audit_page),
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


__all__ = ["SECTIONS", "Section", "add_section", "checked_form", "create_app", "deal_scope", "operator_only", "record",
           "signed_in"]
