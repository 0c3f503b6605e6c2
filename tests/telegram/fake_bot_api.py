"""A fake Telegram Bot API server on 127.0.0.1 (aiohttp), for tests and the benchmark.

It speaks the real wire format (PTB posts form fields, JSON-encoded where structured, and
multipart for files), records every call, and lets a test inject updates. ``getUpdates`` keeps
the real semantics: an update is forgotten only once a later poll's ``offset`` passes it, and a
poll with nothing new waits up to ``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from telegram.constants import ReactionEmoji

JSON_FIELDS = {"reply_markup", "reaction", "allowed_updates", "reply_parameters", "entities", "caption_entities"}
REACTIONS = {e.value for e in ReactionEmoji}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.perf_counter() on arrival
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    ok: bool | None = None  # None while being answered; then whether it succeeded
    status: int | None = None  # the HTTP status answered


@dataclass
class Outage:
    """Calls of ``methods`` (every method but getMe/getUpdates when empty) fail until ``until`` (monotonic)."""

    until: float
    failure: Failure
    methods: frozenset[str]
    chats: frozenset[str]  # only calls for these chat ids; every chat when empty

    def hits(self, method: str, params: dict[str, Any]) -> bool:
        if time.monotonic() >= self.until or (self.chats and str(params.get("chat_id")) not in self.chats):
            return False
        return method in self.methods if self.methods else method not in ("getme", "getupdates")


@dataclass
class Failure:
    code: int
    description: str
    retry_after: int | None = None


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


class FakeBotApi:
    def __init__(self, token: str = "123456:TEST-TOKEN", username: str = "TuanBot") -> None:
        self.token = token
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Tuan",
                         "username": username, "can_join_groups": True,
                         "can_read_all_group_messages": True, "supports_inline_queries": False}
        self.calls: list[Call] = []
        self._by_method: dict[str, list[Call]] = {}  # lower-case method -> its calls
        self.updates: list[dict[str, Any]] = []  # not yet confirmed
        self.offsets: list[int] = []  # every offset a poll came with
        self.delivered: Counter[int] = Counter()  # update id -> how often a poll returned it
        self.admins: dict[int, list[dict[str, Any]]] = {}
        self.no_reactions: set[int] = set()  # chats where reactions are off
        self.bot_messages: dict[tuple[int, int], dict[str, Any]] = {}  # current state of what the bot sent
        self.user_messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.webhook: dict[str, Any] = {}
        self.chats: dict[int, dict[str, Any]] = {}  # chat objects of known chats, by id
        self._failures: dict[str, list[Failure]] = {}
        self._outages: list[Outage] = []
        self._stalls: dict[str, float] = {}  # method -> seconds to wait after doing it, before answering
        self._answered: set[str] = set()
        self._update_ids = itertools.count(1000)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._changed = asyncio.Event()
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.exclusive_polling = False  # answer a getUpdates beside another one 409 Conflict, as Telegram does
        self.polling = 0  # getUpdates requests in hand now
        self.most_polling = 0  # ... at most, so far
        self.conflicts = 0  # getUpdates answered 409
        self.closing = False
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> FakeBotApi:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._route)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self.closing = True
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # -- test controls ---------------------------------------------------------------------
    def message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def inject(self, fields: dict[str, Any]) -> int:
        """Queue an update (``fields`` without ``update_id``); returns its update id."""
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **fields})
        self._new_update.set()
        return update_id

    def fail(self, method: str, code: int, description: str, times: int = 1, retry_after: int | None = None) -> None:
        """Make the next ``times`` calls of ``method`` fail (429 + retry_after → RetryAfter, 502 → NetworkError)."""
        self._failures.setdefault(method.lower(), []).extend([Failure(code, description, retry_after)] * times)

    def outage(self, seconds: float, code: int, description: str, *, retry_after: int | None = None,
               methods: tuple[str, ...] = (), chats: tuple[int, ...] = ()) -> None:
        """For the next ``seconds``, answer every call of ``methods`` (all but getMe and getUpdates when
        none are named) for ``chats`` (all when none) with ``code``: 429 with ``retry_after`` as
        Telegram's flood limit, 5xx as its outages. The first outage that applies answers."""
        self._outages.append(Outage(time.monotonic() + seconds, Failure(code, description, retry_after),
                                    frozenset(m.lower() for m in methods), frozenset(str(c) for c in chats)))

    def stall(self, method: str, seconds: float) -> None:
        """Do calls of ``method`` at once but answer only ``seconds`` later (a client's read timeout
        then hides a success); 0 turns it off."""
        self._stalls[method.lower()] = seconds

    def delivered_calls(self, method: str) -> list[Call]:
        """The calls of ``method`` that succeeded (what Telegram did, not what was tried)."""
        return [c for c in self.calls_to(method) if c.ok]

    def set_admins(self, chat_id: int, users: list[dict[str, Any]]) -> None:
        self.admins[chat_id] = [
            {"status": "creator" if n == 0 else "administrator", "user": u, "is_anonymous": False,
             **({} if n == 0 else _ADMIN_RIGHTS)}
            for n, u in enumerate(users)
        ]

    def bot_says(self, chat_id: int, text: str, reply_markup: dict[str, Any] | None = None) -> int:
        """A message the bot sent earlier (e.g. a deal card from before a restart); returns its id."""
        return int(self._message(chat_id, text, {"reply_markup": reply_markup})["message_id"])

    def calls_to(self, method: str) -> list[Call]:
        return self._by_method.get(method.lower(), [])

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [c.params["text"] for c in self.calls_to("sendMessage")
                if chat_id is None or int(c.params["chat_id"]) == chat_id]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``condition()`` holds (checked after every call); TimeoutError otherwise."""
        async def waiting() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()
        await asyncio.wait_for(waiting(), timeout)

    @property
    def confirmed(self) -> int:
        """The highest offset a poll confirmed (updates below it are gone)."""
        return max(self.offsets, default=0)

    # -- the API ---------------------------------------------------------------------------
    async def _route(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, files = await _read_params(request)
        call = Call(method, params, time.perf_counter(), files)
        self.calls.append(call)
        self._by_method.setdefault(method.lower(), []).append(call)
        self._changed.set()
        pending = self._failures.get(method.lower())
        try:
            outage = next((o for o in self._outages if o.hits(method.lower(), params)), None)
            if outage is not None:
                failure = outage.failure
                raise ApiError(failure.code, failure.description, failure.retry_after)
            if pending:
                failure = pending.pop(0)
                raise ApiError(failure.code, failure.description, failure.retry_after)
            handler = getattr(self, "_api_" + method.lower(), None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params, files)
        except ApiError as exc:
            call.ok, call.status = False, exc.code
            self._changed.set()
            body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            return web.json_response(body, status=exc.code)
        call.ok, call.status = True, 200
        self._changed.set()
        if self._stalls.get(method.lower()):
            await asyncio.sleep(self._stalls[method.lower()])
        return web.json_response({"ok": True, "result": result})

    async def _api_getme(self, p: dict[str, Any], f: Any) -> Any:
        return self.bot_user

    async def _api_deletewebhook(self, p: dict[str, Any], f: Any) -> Any:
        self.webhook = {}
        return True

    async def _api_setwebhook(self, p: dict[str, Any], f: Any) -> Any:
        self.webhook = dict(p)
        return True

    async def _api_getwebhookinfo(self, p: dict[str, Any], f: Any) -> Any:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    async def _api_getupdates(self, p: dict[str, Any], f: Any) -> Any:
        if self.exclusive_polling and self.polling:
            self.conflicts += 1
            raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only one bot "
                                "instance is running")
        self.polling += 1
        self.most_polling = max(self.most_polling, self.polling)
        try:
            return await self._get_updates(p)
        finally:
            self.polling -= 1

    async def _get_updates(self, p: dict[str, Any]) -> Any:
        offset = int(p.get("offset", 0))
        limit = int(p.get("limit", 100))
        deadline = time.monotonic() + float(p.get("timeout", 0))
        if offset:
            self.offsets.append(offset)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        while True:
            ready = [u for u in self.updates if u["update_id"] >= offset][:limit]
            left = deadline - time.monotonic()
            if ready or left <= 0 or self.closing:
                self.delivered.update(u["update_id"] for u in ready)
                return ready
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), left)
            except TimeoutError:
                pass

    def _message(self, chat_id: int, text: str | None, p: dict[str, Any], **extra: Any) -> dict[str, Any]:
        mid = self.message_id(chat_id)
        msg: dict[str, Any] = {"message_id": mid, "date": int(time.time()), "from": self.bot_user,
                               "chat": self.chats.get(chat_id) or _chat(chat_id), **extra}
        if text is not None:
            msg["text"] = text
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        self.bot_messages[(chat_id, mid)] = msg
        return msg

    async def _api_sendmessage(self, p: dict[str, Any], f: Any) -> Any:
        return self._message(int(p["chat_id"]), p["text"], p)

    async def _api_senddocument(self, p: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> Any:
        name, data = files.get("document", ("", b""))
        if not data:
            raise ApiError(400, "Bad Request: there is no document in the request")
        return self._message(int(p["chat_id"]), None, p, caption=p.get("caption", ""),
                             document={"file_id": f"doc{len(data)}", "file_unique_id": "u", "file_name": name})

    async def _api_editmessagetext(self, p: dict[str, Any], f: Any) -> Any:
        key = (int(p["chat_id"]), int(p["message_id"]))
        msg = self.bot_messages.get(key)
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if msg.get("text") == p["text"] and msg.get("reply_markup") == p.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        msg["text"] = p["text"]
        msg.pop("reply_markup", None)
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        msg["edit_date"] = int(time.time())
        return msg

    async def _api_setmessagereaction(self, p: dict[str, Any], f: Any) -> Any:
        chat_id = int(p["chat_id"])
        for reaction in p.get("reaction") or []:
            if chat_id in self.no_reactions or reaction.get("emoji") not in REACTIONS:
                raise ApiError(400, "Bad Request: REACTION_INVALID")
        return True

    async def _api_answercallbackquery(self, p: dict[str, Any], f: Any) -> Any:
        if p["callback_query_id"] in self._answered:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self._answered.add(p["callback_query_id"])
        return True

    async def _api_getchatadministrators(self, p: dict[str, Any], f: Any) -> Any:
        chat_id = int(p["chat_id"])
        if chat_id > 0:
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        return self.admins.get(chat_id, [])


_ADMIN_RIGHTS = {k: True for k in (
    "can_be_edited", "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
    "can_delete_stories", "can_pin_messages")}


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "User"}
    return {"id": chat_id, "type": "supergroup", "title": "Group"}


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if request.content_type == "application/json":
        return dict(await request.json()), files
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = (value.filename, value.file.read())
        elif key in JSON_FIELDS:
            params[key] = json.loads(value)
        else:
            params[key] = value
    for key, value in list(params.items()):  # "attach://<name>" points at a multipart field
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
            files[key] = files.pop(value[9:])
    return params, files
