"""Webhook mode: a small tornado server that answers Telegram only after the update was handled.

PTB's built-in webhook server answers 200 before handling; here a failed update gets a 500 so
Telegram delivers it again. ``max_connections`` (1 by default) keeps a chat's updates in order.
"""

from __future__ import annotations

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

Deliver = Callable[[Update], Awaitable[bool]]


class _UpdateHandler(tornado.web.RequestHandler):
    def initialize(self, bot: Bot, deliver: Deliver, secret: str) -> None:
        self._bot = bot
        self._deliver = deliver
        self._secret = secret

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.warning("webhook call without the right secret token from %s", self.request.remote_ip)
            self.set_status(403)
            return
        try:
            body = json.loads(self.request.body)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
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
    def __init__(self, bot: Bot, deliver: Deliver, *, path: str, secret: str) -> None:
        app = tornado.web.Application([(path, _UpdateHandler, {"bot": bot, "deliver": deliver, "secret": secret})])
        self._server = tornado.httpserver.HTTPServer(app)
        self._sockets: list[socket.socket] = []

    def listen(self, address: str, port: int) -> int:
        """Start listening; returns the bound port (useful with port 0)."""
        self._sockets = tornado.netutil.bind_sockets(port, address)
        self._server.add_sockets(self._sockets)
        return int(self._sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self._server.stop()
        await self._server.close_all_connections()
