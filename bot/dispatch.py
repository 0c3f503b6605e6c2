"""The core's side of every adapter (:class:`adapters.base.Sink`): commands, orders, and how the bot answers.

Reply policy, so that a busy group is never flooded:
- unclear → one question to the resident, mentioning them; refused → the reason, mentioning them;
- accepted → a ✅ reaction where the platform has reactions, else the current 接龙 list at most
  once every ``digest_minutes`` per chat (a burst of orders ends in one list showing them all);
- chatter, questions, copies with nothing new → silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

from bot import buttons, commands
from bot import messages as m
from bot.catalog import Catalog
from bot.context import Core, split_chat_key
from bot.model import ButtonPress, Card, InboundMessage, Mention
from bot.permissions import Caller
from bot.phones import mask_phones
from bot.ports import StoreUnavailable
from bot.registry import parse_word
from bot.services import outcome as oc
from bot.throttle import Throttle
from bot.worker import locked_call

log = logging.getLogger(__name__)

CARD_EDIT_SECONDS = 3.0
NO_DEAL_REPEAT_SECONDS = 3600.0  # "no deal here" is said to one resident in one chat at most this often
NO_DEAL_MEMORY = 4096  # (chat, resident) pairs remembered before expired ones are dropped
NOT_OPEN = frozenset({oc.NO_DEAL, oc.AFTER_CUTOFF, oc.DEAL_CLOSED})  # problems meaning "no deal is open"
ENDED = "ended"  # a press on the card of a deal that is over (closed or replaced)
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


class Dispatcher:
    """Implements :class:`adapters.base.Sink`. Safe to call from concurrent tasks.

    Service errors (a failed commit) propagate to the adapter, which should not acknowledge
    the update; errors while replying are logged, since the order is already committed.
    The service runs in a worker thread (:func:`bot.worker.locked_call`), so a long message
    never stalls the event loop.
    """

    def __init__(self, core: Core, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.core = core
        self._clock = clock
        self.digests = Throttle(core.config.bot.digest_minutes * 60, clock=clock)
        self.card_edits = Throttle(CARD_EDIT_SECONDS, leading=False, clock=clock)
        self._no_deal_said: dict[tuple[str, str], float] = {}  # (chat, sender) -> when last told
        self._ended_cards: set[str] = set()  # "chat|card id" of cards already edited to say they ended
        self._unknown_chats: set[str] = set()
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

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
        """Wait for messages being handled, then drop list digests still waiting for their turn."""
        await self._idle.wait()
        await self.digests.close()
        await self.card_edits.close()

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
                commands.parse_command(msg.text) or parse_word(msg.text))
            if command is not None:
                if msg.delivery is not None:
                    if not await locked_call(self.core.lock, self.core.service.claim_delivery, msg.delivery):
                        return  # a redelivered command (after a crash) runs at most once
                await self._guard(commands.run_command(self.core, msg, *command, leader=leader))
                return
            outcome, catalog = await locked_call(self.core.lock, self._handle, msg)
            await self._guard(self._answer(msg, outcome, catalog))

    def _handle(self, msg: InboundMessage) -> tuple[oc.Outcome, Catalog | None]:
        """In a worker thread, holding the core's lock: the service's work on one message."""
        outcome = self.core.service.handle(msg)
        return outcome, self._catalog(outcome)

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
        """The outcome's catalog, for the reply's wording. The message is committed by now: a store
        that fails this moment (a closed deal's catalog is read from it) costs item names, not the
        message, which must not be offered again for it."""
        if not outcome.deal_id:
            return None
        try:
            return self.core.service.catalog_of(outcome.deal_id)
        except StoreUnavailable:
            log.warning("catalog of deal %s unavailable; replying without item names", outcome.deal_id)
            return None

    async def on_press(self, press: ButtonPress) -> str:
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

    async def _answer(self, msg: InboundMessage, outcome: oc.Outcome, catalog: Catalog | None) -> None:
        chat = msg.chat_key
        if outcome.kind == "deal" and catalog is not None:
            await self.core.send(chat, m.DEAL_RECOGNISED.format(n=len(catalog.items), items=m.item_choices(catalog)))
            return
        problems = outcome.unclear + outcome.refused
        if outcome.kind == oc.NO_DEAL and not problems:  # an order (a 接龙 copy) where no deal is open
            problems = (oc.Problem(oc.NO_DEAL),)
        if problems and not self._quiet_no_deal(msg, problems):
            # the group sees it: a resident's words echoed back never show a phone number whole
            text = mask_phones("\n".join(dict.fromkeys(m.problem_text(p, catalog) for p in problems)))
            await self.core.send(chat, text, reply_to=msg.message_id,
                                 mention=Mention(user_id=msg.sender_id, name=msg.sender_name))
        if outcome.changed:
            await self._acknowledge(msg)
            await self._refresh_card(chat)

    async def _refresh_card(self, chat_key: str) -> None:
        """Text orders move the deal card's live counts too (debounced, where cards have buttons)."""
        card_id = self.core.cards.get(chat_key)
        deal_id = self.core.card_deals.get(chat_key, "")
        adapter = self.core.adapter_of(chat_key)
        if card_id and adapter is not None and adapter.capabilities.edits and adapter.capabilities.buttons:
            await self.card_edits.request(f"{chat_key}|{card_id}", lambda: self._edit_card(chat_key, card_id, deal_id))

    def _quiet_no_deal(self, msg: InboundMessage, problems: tuple[oc.Problem, ...]) -> bool:
        """"No deal open here" (none, or it closed) is said to a resident at most once per
        ``NO_DEAL_REPEAT_SECONDS`` per chat (by the dispatcher's clock): each resident who orders
        hears it once, and a chat is not flooded."""
        if any(p.code not in NOT_OPEN for p in problems):
            return False
        key = (msg.chat_key, msg.sender_id)
        now = self._clock()
        if now - self._no_deal_said.get(key, float("-inf")) < NO_DEAL_REPEAT_SECONDS:
            return True
        if len(self._no_deal_said) >= NO_DEAL_MEMORY:  # forget those whose hour is over
            self._no_deal_said = {k: t for k, t in self._no_deal_said.items() if now - t < NO_DEAL_REPEAT_SECONDS}
        self._no_deal_said[key] = now
        return False

    async def _acknowledge(self, msg: InboundMessage) -> None:
        adapter = self.core.adapter_of(msg.chat_key)
        if adapter is None:
            return
        if adapter.capabilities.reactions and not msg.recall_of:
            if await adapter.react(msg.chat_id, msg.edit_of or msg.message_id, m.ACK_EMOJI):
                return
        chat = msg.chat_key
        await self.digests.request(chat, lambda: self._digest(chat))

    async def _digest(self, chat_key: str) -> None:
        await commands.post_list(self.core, chat_key)

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
