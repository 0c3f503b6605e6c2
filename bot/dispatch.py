"""The core's side of every adapter (:class:`adapters.base.Sink`): commands, orders, and how the bot answers.

Reply policy, so that a busy group is never flooded:
- unclear → one question to the resident, mentioning them; refused → the reason, mentioning them;
- accepted → a ✅ reaction where the platform has reactions, else the current 接龙 list at most
  once every ``digest_minutes`` per chat (a burst of orders ends in one list showing them all);
- chatter, questions, copies with nothing new → silence.

What is said about a message (the ✅, the digest request, the question, the refusal) is decided in
the worker thread before the message's commit and committed with it as outbox rows (the
transactional outbox, :class:`bot.ports.OutboxRow`), held by this worker (:attr:`Dispatcher.worker_id`)
for ``[bot] outbox_lease_seconds``; after the commit it is delivered through the adapter and the
rows are deleted, in a small transaction of their own (a burst's marks share one). Rows still held
(a digest waiting for its turn, a slow send) have their lease extended while this worker lives.

A crash between the commit and the delivery loses nothing: the lease ends, and the sweeper of some
worker (:meth:`Dispatcher.run_sweeper`, every ``[bot] outbox_sweep_seconds``) claims the rows and
delivers them, in ``seq`` order per chat, unless older than ``[bot] reply_expiry_seconds``. Delivery
is at least once: a reaction set twice shows once, but a reply sent just before a crash, and not yet
marked, is sent again; so is one whose worker stalled longer than its lease (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot import buttons, commands
from bot import messages as m
from bot.batcher import Batcher
from bot.catalog import Catalog
from bot.context import Core, delivers_here, split_chat_key
from bot.leaderday_commands import plain_word
from bot.model import CARD, DIGEST, MENTIONS, REACT, REPLY, ButtonPress, Card, Effect, InboundMessage, Mention
from bot.permissions import Caller
from bot.phones import mask_phones
from bot.ports import OutboxRow, StoreUnavailable
from bot.registry import parse_word
from bot.services import outcome as oc
from bot.services.orders import PRESS_ENDED
from bot.throttle import Throttle
from bot.worker import locked_call

log = logging.getLogger(__name__)

CARD_EDIT_SECONDS = 3.0
# Marks of delivered effects wait this long, so that steady traffic shares one small transaction
# among many (a crash in the wait only means those effects are delivered again at the next start).
MARK_DELAY_SECONDS = 0.2
SWEEP_BATCH = 200  # outbox rows one sweep claims at a time
NO_DEAL_REPEAT_SECONDS = 3600.0  # "no deal here" is said to one resident in one chat at most this often
NO_DEAL_MEMORY = 4096  # (chat, resident) pairs remembered before expired ones are dropped
NOT_OPEN = frozenset({oc.NO_DEAL, oc.AFTER_CUTOFF, oc.DEAL_CLOSED})  # problems meaning "no deal is open"
ENDED = PRESS_ENDED  # a press on the card of a deal that is over (closed or replaced)
UNKNOWN = "unknown"  # a press whose data this bot did not sign


def press_text(press: ButtonPress, outcome: oc.Outcome, catalog: Catalog | None) -> str:
    """The short answer to a button press: 葡萄 已订2盒."""
    problems = outcome.refused + outcome.unclear
    if problems:
        return m.problem_text(problems[0], catalog)
    if press.action == "mine" or press.item_code is None:
        parts = []
        for code, qty in outcome.totals.items():
            item = catalog.by_code(code) if catalog else None
            parts.append(f"{m.item_short(item) if item else code}{qty}{item.unit if item else ''}")
        return m.PRESS_MINE.format(items="、".join(parts)) if parts else m.PRESS_MINE_EMPTY
    item = catalog.by_code(press.item_code) if catalog else None
    if item is None:
        return m.PRESS_UNKNOWN  # never echo what the button carried
    name = m.item_short(item)
    qty = outcome.totals.get(press.item_code, 0)
    if qty <= 0:
        return m.PRESS_NONE_OF.format(item=name) if outcome.changed else m.PRESS_NOTHING_TO_CANCEL.format(item=name)
    return m.PRESS_TOTAL.format(item=name, qty=qty, unit=item.unit)


def new_worker_id() -> str:
    """A worker id unique among the processes sharing a store: "host:pid:random"."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Dispatcher:
    """Implements :class:`adapters.base.Sink`. Safe to call from concurrent tasks.

    Service errors (a failed commit) propagate to the adapter, which should not acknowledge
    the update; errors while replying are logged, since the order is already committed.
    The service runs in a worker thread (:func:`bot.worker.locked_call`), so a long message
    never stalls the event loop.
    """

    def __init__(self, core: Core, *, clock: Callable[[], float] = time.monotonic,
                 worker_id: str | None = None) -> None:
        self.core = core
        self.worker_id = worker_id or new_worker_id()  # holds the outbox rows this dispatcher delivers
        self.lease = timedelta(seconds=core.config.bot.outbox_lease_seconds)
        self._clock = clock
        self.digests = Throttle(core.config.bot.digest_minutes * 60, clock=clock)
        self.card_edits = Throttle(CARD_EDIT_SECONDS, leading=False, clock=clock)
        self._no_deal_said: dict[tuple[str, str], float] = {}  # (chat, sender) -> when last told
        self._ended_cards: set[str] = set()  # "chat|card id" of cards already edited to say they ended
        self._unknown_chats: set[str] = set()
        self._sweeper_stop = asyncio.Event()
        self._held: dict[tuple[int, int], datetime] = {}  # outbox keys held, not yet marked -> lease end
        self._digest_keys: dict[str, list[tuple[int, int]]] = {}  # chat -> outbox keys its next digest delivers
        self._delivered: list[tuple[int, int]] = []  # outbox keys delivered, not yet marked in the store
        self._marking: asyncio.Task[None] | None = None
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # group commit: order messages queued while the service is busy share one transaction
        self.batcher: Batcher[InboundMessage, oc.Outcome] = Batcher(core.lock, self._handle_batch,
                                                                    max_batch=core.config.bot.batch_max)

    async def is_leader(self, msg: InboundMessage | ButtonPress) -> bool:
        """Whether the sender leads the group the message was said in (:mod:`bot.permissions`);
        always False in a private chat, where commands look up the caller's groups themselves.
        """
        if isinstance(msg, InboundMessage) and msg.is_private:
            return False
        return await commands.permissions_of(self.core).leads(Caller.of(msg), msg.chat_key)

    @contextlib.asynccontextmanager
    async def _track(self) -> AsyncIterator[None]:
        self._inflight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._inflight -= 1
            if not self._inflight:
                self._idle.set()

    async def drain(self) -> None:
        """Wait for messages being handled, then drop list digests still waiting for their turn
        (their outbox rows stay, released to the other workers' sweepers at once) and mark what was
        delivered."""
        await self._idle.wait()
        await self.digests.close()
        await self.card_edits.close()
        waiting = [k for keys in self._digest_keys.values() for k in keys]
        self._digest_keys.clear()
        if waiting:
            for key in waiting:
                self._held.pop(key, None)
            try:
                await locked_call(self.core.lock, self.core.service.extend_claims, self.worker_id, waiting,
                                  datetime.now(UTC))
            except Exception as exc:
                log.warning("releasing %d effects waiting for a digest failed (%s); taken when their lease ends",
                            len(waiting), exc)
        if self._marking is not None:
            await self._marking
        if self._delivered:  # held back by a failed mark: one last try
            self._mark([])
            if self._marking is not None:
                await self._marking
        if self._delivered:
            log.warning("%d delivered effects could not be marked; they are delivered again once their lease ends",
                        len(self._delivered))

    def _note_unknown_chat(self, msg: InboundMessage) -> None:
        """Log, once per chat, a group message from a chat no ``[[groups]]`` entry names, and how to add it."""
        if msg.is_private or msg.chat_key in self._unknown_chats or self.core.config.group_of_chat(msg.chat_key):
            return
        self._unknown_chats.add(msg.chat_key)
        log.info("message from chat %s, which no [[groups]] entry names; to serve it add: "
                 "[[groups]] id = \"...\" platform = \"%s\" chat = \"%s\"", msg.chat_key, msg.platform, msg.chat_id)

    async def on_message(self, msg: InboundMessage) -> None:
        self._note_unknown_chat(msg)
        async with self._track():
            leader = await self.is_leader(msg)
            if leader != msg.is_admin:
                msg = replace(msg, is_admin=leader)
            command = None if msg.edit_of or msg.recall_of else (
                commands.parse_command(msg.text) or parse_word(msg.text) or plain_word(msg, leader))
            if command is not None:
                self.batcher.barrier()  # messages after it are not batched with those before it
                if msg.delivery is not None:
                    if not await locked_call(self.core.lock, self.core.service.claim_delivery, msg.delivery):
                        return  # a redelivered command (after a crash) runs at most once
                await self._guard(commands.run_command(self.core, msg, *command, leader=leader))
                return
            outcome = await self.batcher.submit(msg)  # with the messages queued beside it: group commit
            await self._guard(self._answer(msg, outcome))

    def _handle_batch(self, msgs: list[InboundMessage]) -> list[oc.Outcome | Exception]:
        """In a worker thread, holding the core's lock (:class:`bot.batcher.Batcher`): the service's
        work on queued order messages, each committed with what is to be said about it
        (:meth:`_effects`), in as few transactions as other workers allow
        (:meth:`bot.services.orders.OrderService.handle_each`); each message's outcome, or the
        exception it raised alone."""
        told: dict[int, list[tuple[str, str]]] = {}
        said: set[tuple[str, str]] = set()  # told "no deal here" earlier in this batch

        def effects_for(msg: InboundMessage) -> Callable[[oc.Outcome], list[Effect]]:
            def effects(outcome: oc.Outcome) -> list[Effect]:
                mine = told[id(msg)] = []
                out = self._effects(msg, outcome, mine, said)
                said.update(mine)
                return out
            return effects

        outcomes = self.core.service.handle_each(msgs, effects_for=effects_for, holder=self.worker_id,
                                                 lease=self.lease)
        now = self._clock()
        for msg, outcome in zip(msgs, outcomes, strict=True):
            if not isinstance(outcome, Exception):  # committed: "no deal here" was said (from the outbox)
                for key in told.get(id(msg), ()):
                    self._note_no_deal(key, now)
        return outcomes

    def _effects(self, msg: InboundMessage, outcome: oc.Outcome, told: list[tuple[str, str]],
                 said: Collection[tuple[str, str]] = ()) -> list[Effect]:
        """What to say about a handled message, decided before its commit (the reply policy above).

        ``told`` receives the (chat, sender) told "no deal here", noted only once the commit succeeded;
        ``said``: those told so by earlier messages of the same batch, not yet committed (told once).
        """
        chat = msg.chat_key
        catalog = self._catalog(outcome)
        if outcome.kind == "deal" and catalog is not None:
            text = m.DEAL_RECOGNISED.format(n=len(catalog.items), items=m.item_choices(catalog))
            return [Effect(chat, REPLY, text=text)]
        effects = []
        problems = outcome.unclear + outcome.refused
        if outcome.kind == oc.NO_DEAL and not problems:  # an order (a 接龙 copy) where no deal is open
            problems = (oc.Problem(oc.NO_DEAL),)
        if problems and not self._quiet_no_deal(msg, problems, told, said):
            # the group sees it: a resident's words echoed back never show a phone number whole
            text = mask_phones("\n".join(dict.fromkeys(m.problem_text(p, catalog) for p in problems)))
            effects.append(Effect(chat, REPLY, target=msg.message_id, text=text,
                                  mention=Mention(user_id=msg.sender_id, name=msg.sender_name)))
        if outcome.changed:
            if msg.recall_of:  # nothing left to react to: the list shows what the withdrawal changed
                effects.append(Effect(chat, DIGEST))
            else:
                effects.append(Effect(chat, REACT, target=msg.edit_of or msg.message_id, text=m.ACK_EMOJI))
        return effects

    def _press(self, press: ButtonPress) -> tuple[oc.Outcome, Catalog | None]:
        """In a worker thread, holding the core's lock: the service's work on one button press.

        Only a press this bot signed (bot/buttons.py) for the chat's current, open deal reaches the
        service; any other changes nothing: its outcome's kind is UNKNOWN or ENDED.
        """
        signed = buttons.verify(self.core.button_key, press.deal_id, press.action, press.item_code, press.signature,
                                press.chat_key)
        if signed is None:
            return oc.Outcome(press.chat_key, press.press_id, press.sender_id, UNKNOWN), None
        deal = self.core.service.deal_of(press.chat_key)
        if deal is None or deal.id != signed.deal_id or deal.status != "open":
            return oc.Outcome(press.chat_key, press.press_id, press.sender_id, ENDED, signed.deal_id), None
        outcome = self.core.service.press(press)
        return outcome, self._catalog(outcome)

    def _catalog(self, outcome: oc.Outcome) -> Catalog | None:
        """The outcome's catalog, for the reply's wording. A store that fails this moment (a closed
        deal's catalog is read from it) costs item names, not the message."""
        if not outcome.deal_id:
            return None
        try:
            return self.core.service.catalog_of(outcome.deal_id)
        except StoreUnavailable:
            log.warning("catalog of deal %s unavailable; replying without item names", outcome.deal_id)
            return None

    async def on_press(self, press: ButtonPress) -> str:
        self.batcher.barrier()  # messages after it are not batched with those before it
        async with self._track():
            outcome, catalog = await locked_call(self.core.lock, self._press, press)
            if outcome.kind == UNKNOWN:
                return m.PRESS_UNKNOWN
            adapter = self.core.adapter_of(press.chat_key)
            card_id = press.card_message_id
            chat_key = press.chat_key
            can_edit = bool(card_id) and adapter is not None and adapter.capabilities.edits
            if outcome.kind == ENDED:
                if card_id and card_id == self.core.cards.get(chat_key) and self.core.card_deals.get(chat_key) \
                        != outcome.deal_id:
                    return m.PRESS_UNKNOWN  # an old card's data sent against the live card: change nothing
                if can_edit and outcome.deal_id:
                    await self._guard(self._end_card(chat_key, card_id or "", outcome.deal_id))
                return m.DEAL_ENDED
            deal_id = outcome.deal_id or ""
            if outcome.changed and can_edit:
                await self.card_edits.request(f"{chat_key}|{card_id}",
                                              lambda: self._edit_card(chat_key, card_id or "", deal_id))
            return press_text(press, outcome, catalog)

    @staticmethod
    async def _guard(work: Awaitable[None]) -> None:
        try:
            await work
        except Exception:
            log.exception("replying failed")

    async def _answer(self, msg: InboundMessage, outcome: oc.Outcome) -> None:
        await self._deliver(outcome.effects)
        if outcome.changed and outcome.kind != "deal":
            await self._refresh_card(msg.chat_key)

    # -- the outbox: delivering what was committed to be said ------------------------------------

    async def sweep(self, *, takeover: bool = False) -> int:
        """Claim the outbox rows whose holder's lease ended (a dead or stalled worker's, or this one's
        whose delivery failed) and deliver them: in ``seq`` order within a chat, chats side by side.

        ``takeover``: also every row another worker holds, whatever its lease; only for a store this
        process alone serves (SQLite, at start-up: their holder was a former run). Rows older than
        ``[bot] reply_expiry_seconds`` are dropped (logged): a ✅ or an answer that late would only
        confuse. Returns how many rows were claimed. Raises what the store raises.
        """
        claimed = 0
        async with self._track():
            while True:
                rows = await locked_call(self.core.lock, self.core.service.claim_effects, self.worker_id, self.lease,
                                         limit=SWEEP_BATCH, takeover=takeover, skip=self.elsewhere())
                claimed += len(rows)
                fresh = [r for r in rows if (r.seq, r.n) not in self._held]  # being delivered here already
                for r in fresh:
                    self._held[(r.seq, r.n)] = r.claimed_until or datetime.now(UTC) + self.lease
                await self._deliver_claimed(fresh)
                if len(rows) < SWEEP_BATCH:
                    return claimed
                if self._marking is not None:  # a chat's later rows wait until its earlier ones are gone
                    await asyncio.wait({self._marking}, timeout=1.0)

    def elsewhere(self) -> list[str]:
        """The platforms whose chats another worker delivers to (an elected connection this one does
        not hold: :func:`bot.context.delivers_here`); its sweeper leaves their outbox rows alone."""
        return sorted(name for name, adapter in self.core.adapters.items() if not delivers_here(adapter))

    async def _deliver_claimed(self, rows: list[OutboxRow]) -> None:
        if not rows:
            return
        expiry = timedelta(seconds=self.core.config.bot.reply_expiry_seconds)
        now = datetime.now(UTC)
        stale = [r for r in rows if now - r.created_at >= expiry]
        if stale:
            log.warning("%d undelivered effects older than %s s dropped, e.g. %s in %s from %s", len(stale),
                        expiry.total_seconds(), stale[0].kind, stale[0].chat_key, stale[0].created_at.isoformat())
            self._mark([(r.seq, r.n) for r in stale])
        lanes: dict[str, list[OutboxRow]] = {}
        for r in rows:
            if now - r.created_at < expiry:
                lanes.setdefault(r.chat_key, []).append(r)
        if lanes:
            log.info("delivering %d effects whose holder's lease ended", sum(map(len, lanes.values())))
            await asyncio.gather(*(self._deliver(lane) for lane in lanes.values()))

    async def run_sweeper(self, every: float | None = None, *, takeover: bool = False) -> None:
        """Sweep (:meth:`sweep`, with ``takeover`` the first time) now and then every ``every``
        seconds (default ``[bot] outbox_sweep_seconds``), and keep the lease of the rows this worker
        still holds; until :meth:`stop_sweeper` (the sweep under way ends first) or cancelled. A
        failed sweep is logged and tried again at the next turn."""
        every = every if every is not None else self.core.config.bot.outbox_sweep_seconds
        # not cleared here: a stop asked before this task first ran (a console at end of input) holds
        extending = asyncio.create_task(self._extend_forever(every))
        try:
            while not self._sweeper_stop.is_set():
                try:
                    await self.sweep(takeover=takeover)
                except Exception as exc:
                    log.warning("delivering effects whose lease ended failed (%s: %s); tried again in %s s",
                                type(exc).__name__, exc, every)
                takeover = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._sweeper_stop.wait(), every)
        finally:
            extending.cancel()
            await asyncio.gather(extending, return_exceptions=True)

    def stop_sweeper(self) -> None:
        """Let :meth:`run_sweeper` return once the sweep under way (if any) has ended."""
        self._sweeper_stop.set()

    async def _extend_forever(self, every: float) -> None:
        while True:
            try:
                await self.extend_held()
            except Exception as exc:
                log.warning("extending the lease of %d held effects failed (%s)", len(self._held), exc)
            await asyncio.sleep(every)

    async def extend_held(self) -> None:
        """Extend the lease of the rows this worker holds and has not marked, when less than half
        of it is left (a digest waiting for its turn, a send the platform slows down)."""
        now = datetime.now(UTC)
        due = [k for k, until in self._held.items() if until - now < self.lease / 2]
        if not due:
            return
        until = now + self.lease
        await locked_call(self.core.lock, self.core.service.extend_claims, self.worker_id, due, until)
        for key in due:
            if key in self._held:
                self._held[key] = until

    async def _deliver(self, rows: Iterable[OutboxRow]) -> None:
        """Say each effect (held by this worker) through its chat's adapter, then mark it delivered.
        One whose delivery raised stays in the outbox (logged), for a sweep once its lease ends.
        Rows of a chat this worker cannot reach (its platform's connection is another worker's,
        :meth:`elsewhere`) are released at once, for that worker's sweeper, and not tried here."""
        released: list[tuple[int, int]] = []
        for row in rows:
            key = (row.seq, row.n)
            adapter = self.core.adapter_of(row.chat_key)
            if adapter is not None and not delivers_here(adapter):
                released.append(key)
                self._held.pop(key, None)
                continue
            self._held.setdefault(key, row.claimed_until or datetime.now(UTC) + self.lease)
            try:
                done = await self._say(row)
            except Exception:
                self._held.pop(key, None)
                log.exception("delivering a %s in %s failed; left in the outbox", row.kind, row.chat_key)
                continue
            if done:
                self._mark([(row.seq, row.n)])
        if released:
            try:
                await locked_call(self.core.lock, self.core.service.extend_claims, self.worker_id, released,
                                  datetime.now(UTC))
                log.info("%d effects released to the worker that holds their chats' connection", len(released))
            except Exception as exc:
                log.warning("releasing %d effects for another worker failed (%s); taken when their lease ends",
                            len(released), exc)

    async def _say(self, row: OutboxRow) -> bool:
        """Deliver one effect; False when a list digest will (it marks the row once posted).

        The adapter retries a failed call until its own expiry and then gives up (logged): given
        up or not, the effect is delivered as far as the outbox is concerned.
        """
        chat = row.chat_key
        adapter = self.core.adapter_of(chat)
        if adapter is None:
            log.warning("no adapter for %s; a %s dropped", chat, row.kind)
            return True
        if row.kind == REPLY:
            mention = Mention(user_id=row.mention_id, name=row.mention_name or "") if row.mention_id else None
            await self.core.send(chat, row.text, reply_to=row.target, mention=mention)
            return True
        if row.kind == CARD:
            await self._post_published_card(chat, row.text)
            return True
        if row.kind == MENTIONS:  # a roll-call relayed by a worker that could not reach the chat
            ids = row.mention_id.split("\n") if row.mention_id else []
            names = (row.mention_name or "").split("\n")
            await self.core.send_mentioning(chat, row.text, [Mention(user_id=i, name=n)
                                                             for i, n in zip(ids, names, strict=False)])
            return True
        if row.kind == REACT and row.target and adapter.capabilities.reactions:
            if await adapter.react(split_chat_key(chat)[1], row.target, row.text):
                return True
        elif row.kind not in (REACT, DIGEST):
            log.warning("unknown effect kind %r in %s; dropped", row.kind, chat)
            return True
        self._digest_keys.setdefault(chat, []).append((row.seq, row.n))
        await self.digests.request(chat, lambda: self._digest(chat))
        return False

    def _mark(self, keys: list[tuple[int, int]]) -> None:
        """Mark outbox rows delivered, in the background: the keys delivered within
        ``MARK_DELAY_SECONDS`` are marked together, in one transaction (only the rows this worker
        still holds are deleted). Keys a failed mark (a store outage) held back go with the next
        mark, or the last one at :meth:`drain`; rows still unmarked then are delivered again by a
        sweep once their lease ends (a reaction set again shows nothing new; a reply is said twice)."""
        for key in keys:
            self._held.pop(key, None)
        self._delivered.extend(keys)
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_delivered())

    async def _mark_delivered(self) -> None:
        # a pause before every batch, not only the first: under a steady stream of orders the marks
        # would otherwise follow each delivery one by one, a transaction each, competing for the lock
        while self._delivered:
            await asyncio.sleep(MARK_DELAY_SECONDS)
            keys, self._delivered = self._delivered, []
            try:
                await locked_call(self.core.lock, self.core.service.effects_delivered, keys, self.worker_id)
            except Exception as exc:
                self._delivered[:0] = keys
                log.warning("marking %d delivered effects failed (%s); tried again with the next", len(keys), exc)
                return

    async def _post_published_card(self, chat_key: str, deal_id: str) -> None:
        """Post the card of a round published on the web, unless the chat has moved on from it."""
        async with self.core.lock:
            current = self.core.current(chat_key)
            card = commands.deal_card(self.core, chat_key) \
                if current is not None and current[0] == deal_id and not current[3] else None
        if card is None:
            log.info("the published round %s is no longer open in %s; its card is not posted", deal_id, chat_key)
            return
        await self.core.send_card(chat_key, card)

    async def _refresh_card(self, chat_key: str) -> None:
        """Text orders move the deal card's live counts too (debounced, where cards have buttons)."""
        card_id = self.core.cards.get(chat_key)
        deal_id = self.core.card_deals.get(chat_key, "")
        adapter = self.core.adapter_of(chat_key)
        if card_id and adapter is not None and adapter.capabilities.edits and adapter.capabilities.buttons:
            await self.card_edits.request(f"{chat_key}|{card_id}", lambda: self._edit_card(chat_key, card_id, deal_id))

    def _quiet_no_deal(self, msg: InboundMessage, problems: tuple[oc.Problem, ...],
                       told: list[tuple[str, str]], said: Collection[tuple[str, str]] = ()) -> bool:
        """"No deal open here" (none, or it closed) is said to a resident at most once per
        ``NO_DEAL_REPEAT_SECONDS`` per chat (by the dispatcher's clock): each resident who orders
        hears it once, and a chat is not flooded. When it is to be said, the (chat, sender) goes
        to ``told``, for :meth:`_note_no_deal` once the message is committed."""
        if any(p.code not in NOT_OPEN for p in problems):
            return False
        key = (msg.chat_key, msg.sender_id)
        if key in said or self._clock() - self._no_deal_said.get(key, float("-inf")) < NO_DEAL_REPEAT_SECONDS:
            return True
        told.append(key)
        return False

    def _note_no_deal(self, key: tuple[str, str], now: float) -> None:
        if len(self._no_deal_said) >= NO_DEAL_MEMORY:  # forget those whose hour is over
            self._no_deal_said = {k: t for k, t in self._no_deal_said.items() if now - t < NO_DEAL_REPEAT_SECONDS}
        self._no_deal_said[key] = now

    async def _digest(self, chat_key: str) -> None:
        """Post the chat's 接龙 list; the outbox rows waiting for it are then delivered."""
        keys = self._digest_keys.pop(chat_key, [])
        await commands.post_list(self.core, chat_key)
        self._mark(keys)

    async def _edit_card(self, chat_key: str, card_id: str, deal_id: str) -> None:
        """Show the live counts on the card of deal ``deal_id``; a card whose deal is over is instead
        edited (once) to say so, never rewritten into a newer deal."""
        adapter = self.core.adapter_of(chat_key)
        card = await locked_call(self.core.lock, self._card_of, chat_key, deal_id)
        if card is None or adapter is None:
            return
        if not card.rows:  # the deal is over
            await self._end_card(chat_key, card_id, deal_id)
            return
        await adapter.edit_text(split_chat_key(chat_key)[1], card_id, card.text, card)

    def _card_of(self, chat_key: str, deal_id: str) -> Card | None:
        current = self.core.service.deal_of(chat_key)
        if deal_id and (current is None or current.id != deal_id or current.status != "open"):
            return commands.ended_card(self.core, deal_id)
        return commands.deal_card(self.core, chat_key, ordered=True)

    async def _end_card(self, chat_key: str, card_id: str, deal_id: str) -> None:
        """Edit the card of an ended deal once: its final counts, "这一期已结束", no buttons."""
        key = f"{chat_key}|{card_id}"
        adapter = self.core.adapter_of(chat_key)
        if key in self._ended_cards or adapter is None:
            return
        self._ended_cards.add(key)
        card = await locked_call(self.core.lock, commands.ended_card, self.core, deal_id)
        if card is not None:
            await adapter.edit_text(split_chat_key(chat_key)[1], card_id, card.text, card)
