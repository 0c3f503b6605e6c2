"""One connection to a wechaty puppet service: channel, event stream, liveness, and the RPCs we use.

Built on python-wechaty's ``PuppetService`` (its event parsing and RPC wrappers), with our own
gRPC channel: ``PuppetService.start()`` would first look the endpoint up with a blocking
telnet probe (and, without an endpoint, over HTTP at a discovery service), then call ``Stop``
on the service, which stops the remote puppet. We probe with asyncio, authenticate both ways
a service may check (the ``authorization: Wechaty <token>`` header, and the token as the HTTP/2
``:authority`` that older services and python-wechaty use), open the event stream, then call
``Start``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
import time
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

from adapters.wechat import convert
from adapters.wechat.config import WechatSettings

log = logging.getLogger(__name__)

NAME_TTL = 600.0  # seconds a member's display name is reused before asking again
ABANDONED_WAIT = 1.0  # seconds close() waits for abandoned calls to end once the channel is closed


class Connection:
    """``on_message(connection, message_id)`` and ``on_login(connection)`` are called synchronously.

    ``on_login`` is called once the connection is open and the account logged in (whichever
    comes last; the caller calls it after :meth:`open` when the login came first).
    """

    def __init__(self, settings: WechatSettings, wechaty: ModuleType, *,
                 on_message: Callable[[Connection, str], None],
                 on_login: Callable[[Connection], None]) -> None:
        self.settings = settings
        self._wechaty = wechaty
        self._on_message = on_message
        self._on_login = on_login
        self.puppet: Any = None
        self.self_id = ""
        self.logged_in = asyncio.Event()
        self.opened = False  # open() has returned: the service accepted us and started
        self._channel: Any = None
        self._stream: asyncio.Task[None] | None = None
        self._abandoned: set[asyncio.Task[Any]] = set()  # cancelled calls not yet ended
        self._rooms: dict[str, Any] = {}
        self._names: dict[tuple[str, str], tuple[str, float]] = {}

    @property
    def endpoint(self) -> str:
        return self.settings.endpoint

    async def open(self) -> None:
        """Connect, authenticate and start the event stream; raises if any of it fails."""
        from grpclib.client import Channel
        from grpclib.config import Configuration
        from wechaty_grpc.wechaty import PuppetStub
        from wechaty_puppet import PuppetOptions

        s = self.settings
        host, port = s.host_port
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), s.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"puppet service {s.endpoint} unreachable ({type(exc).__name__}: {exc})") from None
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

        bot = self._wechaty.Wechaty(self._wechaty.WechatyOptions(puppet_options=PuppetOptions(end_point=s.endpoint)))
        await bot.init_puppet()
        self.puppet = bot.puppet
        config = Configuration(ssl_target_name_override=s.tls_server_name or None)
        self._channel = Channel(host, port, ssl=self._ssl_context(), config=config)
        if not s.tls:
            self._channel._authority = s.token
        stub = PuppetStub(self._channel, metadata={"authorization": f"Wechaty {s.token}"})
        self.puppet.channel, self.puppet._puppet_stub = self._channel, stub
        for event, listener in (("login", self._login), ("logout", self._logout), ("message", self._message),
                                ("scan", self._scan), ("error", self._error), ("room-topic", self._room_changed),
                                ("room-join", self._room_changed), ("room-leave", self._room_changed)):
            self.puppet.on(event, listener)
        self._stream = asyncio.create_task(self.puppet._listen_for_event(), name=f"wechat-events {s.endpoint}")
        await asyncio.wait_for(stub.start(), s.connect_timeout)
        self.opened = True

    @property
    def ready(self) -> bool:
        """Open and logged in: messages can be sent."""
        return self.opened and self.logged_in.is_set()

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.settings.tls:
            return None
        ctx = ssl.create_default_context(cafile=self.settings.tls_ca_file or None)
        ctx.set_alpn_protocols(["h2"])
        return ctx

    async def serve(self) -> None:
        """Return when the event stream ends; raise when it fails or a liveness ping does."""
        assert self._stream is not None and self.puppet is not None
        s = self.settings
        started = time.monotonic()
        warned = False
        while True:
            done, _ = await asyncio.wait({self._stream}, timeout=s.ping_interval)
            if done:
                self._stream.result()  # raises what ended the stream
                return
            await self._ping()
            if not self.logged_in.is_set() and not warned and time.monotonic() - started > s.login_timeout:
                warned = True
                log.error("wechat: connected to %s but no WeChat account has logged in after %.0f s; "
                          "log the account in on the puppet service (scan its QR code)", s.endpoint, s.login_timeout)

    async def _ping(self) -> None:
        """A ``Ding`` answered within ``ping_timeout``, else TimeoutError.

        The call runs as its own task and is abandoned, not awaited, when late or when the
        wait is cancelled (the adapter stops): cancelling a call on a connection whose peer has
        stopped answering can itself wait. :meth:`close` collects abandoned calls.
        """
        ding = asyncio.create_task(self.puppet.puppet_stub.ding(data="tuan"),
                                   name=f"wechat-ping {self.endpoint}")
        try:
            done, _ = await asyncio.wait({ding}, timeout=self.settings.ping_timeout)
        except BaseException:
            self._abandon(ding)
            raise
        if not done:
            self._abandon(ding)
            raise TimeoutError(f"no answer to a ping within {self.settings.ping_timeout:.1f} s")
        ding.result()

    def _abandon(self, task: asyncio.Task[Any]) -> None:
        """Cancel a task without waiting for it; its outcome is retrieved when it ends (see close())."""
        task.cancel()
        task.add_done_callback(_retrieve)
        if not task.done():
            self._abandoned.add(task)
            task.add_done_callback(self._abandoned.discard)

    async def close(self) -> None:
        try:
            if self._stream is not None:
                self._stream.cancel()
                done, _ = await asyncio.wait({self._stream}, timeout=1.0)
                if done:
                    with contextlib.suppress(BaseException):  # retrieve the error that ended it
                        self._stream.result()
                else:
                    self._abandon(self._stream)
        finally:
            if self._channel is not None:
                self._channel.close()
                self._channel = None
            self.logged_in.clear()
            self.opened = False
        if self._abandoned:  # with the channel closed, their calls end
            await asyncio.wait(set(self._abandoned), timeout=ABANDONED_WAIT)

    # --- events (called by the puppet's emitter) ---

    def _login(self, payload: Any) -> None:
        self.self_id = payload.contact_id
        self.logged_in.set()
        if self.opened:
            self._on_login(self)

    def _logout(self, payload: Any) -> None:
        self.logged_in.clear()
        log.error("wechat: account %s logged out of %s (%s); waiting for it to log in again",
                  payload.contact_id, self.endpoint, payload.data or "no reason given")

    def _message(self, payload: Any) -> None:
        self._on_message(self, payload.message_id)

    def _scan(self, payload: Any) -> None:
        log.warning("wechat: the puppet service asks for a QR scan to log in (status %s); QR code data: %s",
                    getattr(payload.status, "name", payload.status), payload.qrcode or "(none)")

    def _error(self, payload: Any) -> None:
        log.warning("wechat: puppet service error: %s", getattr(payload, "data", payload))

    def _room_changed(self, payload: Any) -> None:
        room_id = getattr(payload, "room_id", None)
        self._rooms.pop(room_id or "", None)

    # --- reading and sending ---

    async def room(self, room_id: str) -> Any:
        """The room's payload (topic, owner_id, admin_ids), cached until the room changes."""
        if room_id not in self._rooms:
            self._rooms[room_id] = await self.puppet.room_payload(room_id)
        return self._rooms[room_id]

    async def member_name(self, room_id: str, contact_id: str) -> str:
        """The name the room shows for a member: their room alias (群昵称), else their WeChat name."""
        key = (room_id, contact_id)
        cached = self._names.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        member = await self.puppet.room_member_payload(room_id, contact_id)
        name = (member.room_alias or member.name or "").strip()
        if not name:
            contact = await self.puppet.contact_payload(contact_id)
            name = (contact.alias or contact.name or "").strip()
        self._names[key] = (name, time.monotonic() + NAME_TTL)
        return name

    async def read(self, message_id: str) -> convert.RawMessage:
        # The stub, not PuppetService.message_payload: its type mapping fails on types it does not know.
        p = await self.puppet.puppet_stub.message_payload(id=message_id)
        topic, name, admin = "", "", False
        if p.room_id:
            room = await self.room(p.room_id)
            topic = room.topic
            admin = p.from_id == room.owner_id or p.from_id in room.admin_ids
            if p.from_id and p.from_id != self.self_id:
                name = await self.member_name(p.room_id, p.from_id)
        return convert.RawMessage(
            id=p.id or message_id, kind=convert.kind_of(int(p.type)), text=p.text or "", talker_id=p.from_id,
            talker_name=name, room_id=p.room_id, room_topic=topic, timestamp=float(p.timestamp or time.time()),
            mention_ids=tuple(p.mention_ids), talker_is_room_admin=admin,
        )

    async def send_text(self, conversation_id: str, text: str, mention_ids: list[str]) -> str:
        return str(await self.puppet.message_send_text(conversation_id, text, mention_ids or None) or "")

    async def send_file(self, conversation_id: str, filename: str, data: bytes) -> str:
        """Send ``data`` named ``filename`` as the puppet's file message (a base64 FileBox).

        The SDK's ``FileBox.to_json_str`` reads its own deprecated ``mimeType`` property, which calls
        the deprecated ``Logger.warn``: that one warning is silenced while serialising, and the
        JSON goes to the stub as ``PuppetService.message_send_file`` would send it.
        """
        from wechaty_puppet import FileBox

        box = FileBox.from_base64(base64.b64encode(data), name=filename)
        sdk_log = logging.getLogger("FileBox")
        level = sdk_log.level
        sdk_log.setLevel(logging.ERROR)  # its "mimeType will be deprecated" warning, on every file
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="The 'warn' method is deprecated",
                                        category=DeprecationWarning)
                payload = box.to_json_str()
        finally:
            sdk_log.setLevel(level)
        response = await self.puppet.puppet_stub.message_send_file(conversation_id=conversation_id, filebox=payload)
        return str(getattr(response, "id", "") or "")


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark an abandoned task's outcome as seen, so asyncio does not report it when it is collected."""
    if not task.cancelled():
        task.exception()
