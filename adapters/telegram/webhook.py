"""Webhook mode: a small tornado server that answers Telegram only after the update was handled.

Why not PTB's own ``Updater.start_webhook`` (python-telegram-bot 22, ``telegram/ext/_utils/
webhookhandler.py``): its handler sets 200 and puts the update on ``update_queue`` before anything
handled it, so an update a dying worker had not committed would be lost; it answers a body that is
not JSON with a 500 (the ``json.loads`` error is not caught) and a ``Content-Type`` other than
exactly ``application/json`` with a 403; and ``start_webhook`` always calls setWebhook, inventing
``http://listen:port/path`` when no URL is given, which is wrong for one of many workers behind a
load balancer. Tornado is what PTB itself uses, so it is installed anyway.

Answers: 403 for a missing or wrong secret token and 400 for a body that is not an update, both
before anything is handed on (nothing is stored); 200 once the update is committed or deliberately
skipped; 500 when it failed (Telegram sends it again, possibly to another worker: the store's
delivery marks make that a no-op); 503 while the worker is stopping.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Bot, Update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20  # bytes; Telegram's updates are a few kB

Deliver = Callable[[Update], Awaitable[bool]]


class _UpdateHandler(tornado.web.RequestHandler):
    def initialize(self, server: WebhookServer) -> None:
        self._server = server
        self._bot = server.bot
        self._deliver = server.deliver
        self._secret = server.secret

    async def post(self) -> None:
        if self._server.closing:
            self.set_status(503)  # stopping: Telegram (or the balancer) offers it again elsewhere
            return
        self._server.busy += 1
        try:
            await self._post()
        finally:
            self._server.busy -= 1
            if not self._server.busy:
                self._server.idle.set()

    async def _post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not self._secret or not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.warning("webhook call without the right secret token from %s", self.request.remote_ip)
            self.set_status(403)
            return
        try:
            body = json.loads(self.request.body)
        except ValueError:
            body = None
        if not isinstance(body, dict) or type(body.get("update_id")) is not int:  # bool is no id
            log.warning("webhook body is not an update; dropped")
            self.set_status(400)
            return
        try:
            update = Update.de_json(body, self._bot)
        except Exception:
            # Telegram redelivers whatever is not answered 2xx; this one could never be handled.
            log.exception("webhook update this bot cannot read; skipped: %.500r", body)
            self.set_status(200)
            return
        # 500 until handled: while the store is down, Telegram keeps the update and offers it again.
        self.set_status(200 if await self._deliver(update) else 500)


class WebhookServer:
    """Serves ``path``; each POST is handed to ``deliver``, answered by what it returned (see above)."""

    def __init__(self, bot: Bot, deliver: Deliver, *, path: str, secret: str) -> None:
        self.bot = bot
        self.deliver = deliver
        self.secret = secret
        self.closing = False
        self.busy = 0  # requests being handled
        self.idle = asyncio.Event()
        self.idle.set()
        app = tornado.web.Application([(path, _UpdateHandler, {"server": self})])
        self._server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_BODY)
        self._sockets: list[socket.socket] = []

    def listen(self, address: str, port: int) -> int:
        """Start listening; returns the bound port (useful with port 0)."""
        self._sockets = tornado.netutil.bind_sockets(port, address)
        self._server.add_sockets(self._sockets)
        return int(self._sockets[0].getsockname()[1])

    def close(self) -> None:
        """Accept no more connections, and answer new requests on open ones with 503."""
        self.closing = True
        self._server.stop()

    async def stop(self, timeout: float = 5.0) -> None:
        """:meth:`close`, let the requests in hand write their answers (up to ``timeout`` s), close connections."""
        self.close()
        if self.busy:
            self.idle.clear()
            try:
                await asyncio.wait_for(self.idle.wait(), timeout)
            except TimeoutError:
                log.warning("webhook: %d requests still unanswered at stop; Telegram sends them again", self.busy)
        await self._server.close_all_connections()
