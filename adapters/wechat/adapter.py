"""The WeChat adapter: room messages in through a wechaty puppet service, replies out with ``say``.

Runs inside the bot's event loop beside the other adapters and the scheduler. A
:class:`~adapters.wechat.supervisor.Supervisor` keeps one :class:`Connection` to the puppet
service; when it fails or is lost the reason is logged and it is opened again with backoff,
while the rest of the bot keeps running. Messages are read and handed to the sink one at a
time, in the order the service sent them; while the store is unavailable the message in hand
is offered again (and those after it wait), so none is lost to an outage. See docs/wechat.md.

With several workers on one PostgreSQL store only one holds the account's connection (the elected
role ``wechat:<account>``, :meth:`WechatAdapter.elect_connection`); the others do not connect, and
what they would say in a WeChat chat goes through the outbox to the holder (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

from adapters.base import Capabilities, Sink
from adapters.wechat import compat, convert, logs
from adapters.wechat.config import WechatConfigError, WechatSettings, from_section
from adapters.wechat.connection import Connection
from adapters.wechat.supervisor import Backoff, Supervisor, describe
from bot.election import Elector, Lease
from bot.model import Card, InboundMessage, Mention
from bot.ports import StoreUnavailable

log = logging.getLogger(__name__)

STOP_WAIT = 10.0  # seconds stop() lets the message being handled finish


class WechatUnavailable(ConnectionError):
    """No logged-in connection to the puppet service (after waiting ``send_wait`` seconds)."""


class WechatAdapter:
    """:class:`adapters.base.Adapter` for WeChat groups (rooms) through a wechaty puppet service."""

    name = convert.PLATFORM
    # files: the puppet's file message (a wechaty FileBox); direct: a contact id is a conversation too
    capabilities = Capabilities(buttons=False, reactions=False, edits=False, images=False, files=True,
                                mentions=True, direct=True)

    def __init__(self, settings: WechatSettings, *, wechaty: ModuleType | None = None) -> None:
        self.settings = settings
        self._wechaty = wechaty
        self._sink: Sink | None = None
        self._conn: Connection | None = None
        self._queue: asyncio.Queue[tuple[Connection, str] | None] = asyncio.Queue()
        self._stopping = False
        self._stop = asyncio.Event()  # set with _stopping: wakes a retry that is waiting
        self._supervisor: Supervisor | None = None
        self._supervising: asyncio.Task[None] | None = None  # the supervisor's run, while connecting
        self._disconnecting: asyncio.Task[None] | None = None  # a deposed holder closing its connection
        self._tasks: list[asyncio.Task[None]] = []
        self._leases: Callable[[str], Lease | None] | None = None
        self._election_retry = 5.0
        self._elector: Elector | None = None
        self._elected = False  # connects only while holding the lease (not on SQLite)
        self._rooms_seen: set[str] = set()
        self._local_ids = itertools.count(1)

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._conn.ready

    @property
    def role(self) -> str:
        """The elected role of the account's connection: ``wechat:<account>`` (:attr:`WechatSettings.account`)."""
        return f"wechat:{self.settings.account}"

    @property
    def delivers_here(self) -> bool:
        """Whether this worker holds the account's connection, and so sends to its chats: always
        without an election (one process on SQLite), else while elected (:func:`bot.context.delivers_here`)."""
        return not self._elected or self._elector is not None and self._elector.leading

    def elect_connection(self, leases: Callable[[str], Lease | None], retry: float) -> None:
        """Connect only while elected (call before :meth:`start`): ``leases(role)`` gives the lease of
        :attr:`role` on the shared store (None: no election, this process connects at once), tried
        every ``retry`` seconds (``[store] election_retry_seconds``). A puppet service serves one
        stream per account, so exactly one worker connects; when it dies its lease ends and another
        worker connects within ``retry`` seconds of that (docs/scaling.md)."""
        self._leases, self._election_retry = leases, retry

    async def start(self, sink: Sink) -> None:
        """Start connecting; return once logged in, or after ``start_wait`` s (it keeps trying).

        Elected (:meth:`elect_connection`, a lease given): return at once; the connection is opened
        whenever this worker holds the lease, and closed when it loses it.
        """
        s = self.settings
        if self._wechaty is None:
            self._wechaty = compat.load()
        logs.tame_sdk_loggers([s.token])
        self._sink = sink
        self._tasks = [asyncio.create_task(self._read_loop(), name="wechat-reader")]
        lease = self._leases(self.role) if self._leases is not None else None
        if lease is not None:
            self._elected = True
            self._elector = Elector(lease, on_elected=self._on_elected, on_deposed=self._on_deposed,
                                    retry=self._election_retry, role=self.role)
            self._elector.start()
            log.info("wechat: connecting to %s only while this worker holds the %s lease", s.endpoint, self.role)
            return
        supervisor = self._connect()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(supervisor.up.wait(), s.start_wait)
        if not self.connected:
            log.warning("wechat: not logged in to %s after %.0f s; going on, and still trying",
                        s.endpoint, s.start_wait)

    def _connect(self) -> Supervisor:
        """Start the supervisor that keeps the connection open (until :meth:`_disconnect`)."""
        s = self.settings
        backoff = Backoff(initial=s.reconnect_initial, maximum=max(s.reconnect_max, s.reconnect_initial))
        self._supervisor = supervisor = Supervisor(f"wechat {s.endpoint}", self._attempt, backoff)
        self._supervising = asyncio.create_task(supervisor.run(), name="wechat-supervisor")
        return supervisor

    def _on_elected(self) -> None:
        if self._stopping:
            return
        closing = self._disconnecting
        if closing is None or closing.done():
            self._connect()
        else:  # the former connection first closes: one stream per account, even within a worker
            self._disconnecting = asyncio.ensure_future(self._connect_after(closing))

    async def _connect_after(self, closing: asyncio.Future[None]) -> None:
        await asyncio.gather(closing, return_exceptions=True)
        if self._elector is not None and self._elector.leading and not self._stopping:
            self._connect()

    def _on_deposed(self) -> None:
        """The lease was lost (or the elector stops): no reconnecting; the messages already received
        are handled (up to ``STOP_WAIT`` s), then the connection closes."""
        supervisor, task = self._supervisor, self._supervising
        self._supervisor = self._supervising = None
        if supervisor is None or task is None:
            return
        if not self._stopping:
            log.warning("wechat: %s is no longer this worker's; closing its connection", self.role)
        previous = self._disconnecting
        self._disconnecting = asyncio.ensure_future(self._disconnect(supervisor, task, previous))

    async def _disconnect(self, supervisor: Supervisor, task: asyncio.Task[None],
                          previous: asyncio.Future[None] | None) -> None:
        supervisor.stop()
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), STOP_WAIT)
        task.cancel()  # the attempt's own cleanup closes the connection
        await asyncio.gather(task, return_exceptions=True)

    async def stop(self) -> None:
        """Stop receiving, let the message being handed to the core finish, then disconnect (and,
        when elected, give the lease up once the connection is closed)."""
        self._stopping = True
        self._stop.set()
        if self._elector is not None:
            await self._elector.halt()  # no more tries; the connection is closed below
        if self._supervisor is not None:
            self._supervisor.stop()
        if self._supervising is not None:
            self._tasks.append(self._supervising)
            self._supervising = None
        dropped = 0
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()
            dropped += 1
        if dropped:
            log.warning("wechat: %d message(s) received while stopping were not handled", dropped)
        self._queue.put_nowait(None)
        reader = self._tasks[0] if self._tasks else None
        if reader is not None:
            done, _ = await asyncio.wait({reader}, timeout=STOP_WAIT)
            if not done:
                reader.cancel()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._disconnecting is not None:
            await asyncio.gather(self._disconnecting, return_exceptions=True)
            self._disconnecting = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        if self._elector is not None:
            await self._elector.release()
            self._elector = None

    # --- the connection ---

    async def _attempt(self, supervisor: Supervisor) -> None:
        assert self._wechaty is not None
        conn = Connection(self.settings, self._wechaty, on_message=self._enqueue,
                          on_login=lambda c: self._logged_in(c, supervisor))
        self._conn = conn  # before open(): the login event may arrive while it runs
        try:
            try:
                await conn.open()
            except Exception as exc:
                raise ConnectionError(logs.redact(describe(exc), [self.settings.token])) from None
            if conn.logged_in.is_set():
                self._logged_in(conn, supervisor)
            else:
                log.info("wechat: connected to %s, waiting for the account to log in", self.settings.endpoint)
            await conn.serve()
        finally:
            if self._conn is conn:
                self._conn = None
            await conn.close()

    def _logged_in(self, conn: Connection, supervisor: Supervisor) -> None:
        log.info("wechat: logged in as %s at %s", conn.self_id, self.settings.endpoint)
        supervisor.mark_up()

    def _enqueue(self, conn: Connection, message_id: str) -> None:
        if not self._stopping:
            self._queue.put_nowait((conn, message_id))

    # --- inbound ---

    def serves(self, room_id: str, topic: str) -> bool:
        rooms = self.settings.rooms
        return not rooms or room_id in rooms or topic in rooms

    async def _read_loop(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if item is None:  # stop()
                    return
                await self._take(*item)
            finally:
                self._queue.task_done()  # a deposed holder waits for the messages in hand (_disconnect)

    async def _take(self, conn: Connection, message_id: str) -> None:
        try:
            msgs = await self._read(conn, message_id)
        except Exception:
            log.exception("wechat: message %s could not be read; skipped", message_id)
            return
        await self._hand_over(message_id, msgs)

    async def _hand_over(self, message_id: str, msgs: list[InboundMessage]) -> None:
        """Give the sink each of a WeChat message's inbound messages, in order.

        While the store is unavailable the one in hand is offered again after a wait (the
        reconnect backoff), however long that takes, and the messages after it wait their turn;
        the puppet service does not deliver a message twice, so giving up would lose it. Only
        stopping ends the wait (logged). Other failures are logged and the next one goes on.
        """
        assert self._sink is not None
        backoff = Backoff(initial=self.settings.reconnect_initial,
                          maximum=max(self.settings.reconnect_max, self.settings.reconnect_initial))
        failures = 0
        pending = list(msgs)
        while pending:
            try:
                await self._sink.on_message(pending[0])
            except StoreUnavailable as exc:
                failures += 1
                if self._stopping:
                    log.error("wechat: message %s was not handled (stopping while the store is unavailable: %s)",
                              message_id, exc)
                    return
                log.log(logging.WARNING if failures == 1 else logging.INFO,
                        "wechat: message %s kept for when the store is back (%s, attempt %d)",
                        message_id, exc, failures)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), backoff.delay(failures))
                continue
            except Exception:
                log.exception("wechat: message %s was not handled", message_id)
            pending.pop(0)
            failures = 0

    async def _read(self, conn: Connection, message_id: str) -> list[InboundMessage]:
        """The inbound messages one WeChat message makes (none when it is not for the bot)."""
        raw = await conn.read(message_id)
        if not raw.room_id:
            return []
        served = self.serves(raw.room_id, raw.room_topic)
        if raw.room_id not in self._rooms_seen:
            self._rooms_seen.add(raw.room_id)
            log.info("wechat: room %s (%s) %s", raw.room_id, raw.room_topic,
                     "served" if served else "is not in [wechat] rooms: its messages are ignored")
        if not served:
            return []
        source = f"wechat:{conn.self_id}"
        return list(convert.to_inbound(raw, self_id=conn.self_id, source=source))

    # --- outbound ---

    async def _live(self) -> Connection:
        if not self.delivers_here:
            raise WechatUnavailable(f"{self.role} is held by another worker; it sends to this account's chats")
        conn = self._conn
        if conn is not None and conn.ready:
            return conn
        if self._supervisor is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._supervisor.up.wait(), self.settings.send_wait)
        conn = self._conn
        if conn is None or not conn.ready:
            raise WechatUnavailable(f"not logged in to the puppet service at {self.settings.endpoint}")
        return conn

    async def send_text(self, chat_id: str, text: str, *, reply_to: str | None = None,
                        mention: Mention | None = None, preformatted: bool = False) -> str | None:
        """Say ``text`` in the room; with ``mention``, it starts with ``@name`` and mentions them."""
        conn = await self._live()
        if mention is not None:
            text = convert.mention_prefix(mention.name) + text
        sent = await conn.send_text(chat_id, text, [mention.user_id] if mention else [])
        # A failed send raises; a puppet that gives no message id still delivered it: a local id
        # tells the core so (it is never used to edit or react: WeChat has neither).
        return sent or f"wechat-local-{next(self._local_ids)}"

    async def send_mentioning(self, chat_id: str, text: str, mentions: Sequence[Mention]) -> str | None:
        """:class:`adapters.base.MentionsMany`: each ``@name `` in ``text`` becomes WeChat's
        ``@name\u2005`` and the message mentions those members."""
        conn = await self._live()
        text = convert.mark_mentions(text, [m.name for m in mentions])
        sent = await conn.send_text(chat_id, text, [m.user_id for m in mentions])
        return sent or f"wechat-local-{next(self._local_ids)}"

    async def send_card(self, chat_id: str, card: Card) -> str | None:
        return await self.send_text(chat_id, card.text)

    async def edit_text(self, chat_id: str, message_id: str, text: str, card: Card | None = None) -> bool:
        return False

    async def react(self, chat_id: str, message_id: str, emoji: str) -> bool:
        return False

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> bool:
        """Send ``data`` as a file message (then ``caption`` as text) to a room or a contact.

        False when the puppet refused it (e.g. it cannot send files), so the core falls back to
        text; False as well on a worker that does not hold the account's connection (a file cannot
        go through the outbox; the text can: :meth:`bot.context.Core.send` relays it); raises
        :class:`WechatUnavailable` while not logged in, like :meth:`send_text`.
        """
        if not self.delivers_here:
            log.info("wechat: file %s to %s not sent: %s is held by another worker", filename, chat_id, self.role)
            return False
        conn = await self._live()
        try:
            await conn.send_file(chat_id, filename, data)
        except Exception as exc:
            log.warning("wechat: file %s to %s not sent: %s", filename, chat_id,
                        logs.redact(describe(exc), [self.settings.token]))
            return False
        if caption:
            await conn.send_text(chat_id, caption, [])
        return True


def create(section: Mapping[str, Any] | object, app_config: object = None) -> WechatAdapter:
    """Build the adapter from the ``[wechat]`` config table (or the app config's ``wechat`` dataclass)."""
    settings = from_section(section)
    if importlib.util.find_spec("wechaty") is None:
        raise WechatConfigError("[wechat] is enabled but the wechaty package is not installed "
                                "(pip install 'tuan-bot[wechat]')")
    return WechatAdapter(settings)
