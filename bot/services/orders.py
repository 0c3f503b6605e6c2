"""The order service: applies what the engine reads in a message to the live deal state and the store."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.catalog import Catalog, Item
from bot.engine.entry import ADD, SUB, Action, EntryParse
from bot.engine.reader import read_message, reader_for
from bot.model import CARD, ButtonPress, Effect, InboundMessage
from bot.ports import (
    ASK_KIND,
    ID_BLOCK_SIZE,
    Changeset,
    ChatRetired,
    ChatRow,
    DealRow,
    DealSnapshot,
    EntryRow,
    ItemRow,
    MessageRow,
    OutboxRow,
    Repository,
    StoreConflict,
    Transaction,
)
from bot.services.apply import Work
from bot.services.households import HouseKey, first_orders
from bot.services.outcome import DEAL_CLOSED, GROUP_RETIRED, NO_DEAL, Outcome, Problem, Tally, TallyRow
from bot.services.questions import ambiguity_question, answer, place
from bot.services.state import (
    ChatState,
    DealCache,
    DealState,
    MessageInfo,
    NotPostedBy,
    active,
    catalog_of_row,
    undealt_chat,
)


class _Log:
    """This module's logger, with ``logging`` imported the first time something is logged (most
    runs, and every replay that goes well, log nothing: start-up does not pay for the import)."""

    def __getattr__(self, name: str) -> Any:
        import logging

        return getattr(logging.getLogger(__name__), name)


log = _Log()

EffectsOf = Callable[[Outcome], Sequence[Effect]]
"""What to say about a handled message, decided from its outcome before the commit (bot/dispatch.py)."""


CONFLICT_RETRIES = 5
"""Attempts at a transaction that PostgreSQL keeps choosing as a deadlock victim before giving up."""

_DEFERRED = RuntimeError("deferred to a second transaction")  # a placeholder, always replaced

PRESS_ENDED = "ended"
"""``Outcome.kind`` of a press on the card of a round that is over (closed, or the chat moved on)."""


def deal_row(deal_id: str, catalog: Catalog, *, title: str, source: str, now: datetime) -> DealRow:
    items = [
        ItemRow(code=i.code, name=i.name, unit=i.unit, price=i.price, aliases=tuple(i.aliases), stock=i.stock,
                position=n)
        for n, i in enumerate(catalog.items)
    ]
    return DealRow(id=deal_id, title=title or catalog.title, status="open", cutoff=catalog.cutoff,
                   max_qty=catalog.max_qty, created_at=now, items=items, source=source,
                   max_line_qty=catalog.max_line_qty)


def outbox_rows(seq: int, effects: Sequence[Effect], now: datetime, holder: str | None = None,
                until: datetime | None = None) -> list[OutboxRow]:
    """The outbox rows of message ``seq``'s effects, keyed ``(seq, n)`` in the order given, held by
    ``holder`` until ``until`` (None: by nobody, any worker's sweeper may claim them)."""
    return [
        OutboxRow(seq=seq, n=n, chat_key=e.chat_key, kind=e.kind, target=e.target, text=e.text,
                  mention_id=e.mention.user_id if e.mention else None,
                  mention_name=e.mention.name if e.mention else None, created_at=now,
                  claimed_by=holder, claimed_until=until if holder is not None else None)
        for n, e in enumerate(effects)
    ]


def _catalog_id(catalog: Catalog) -> str:
    h = hashlib.sha256(repr((catalog.items, catalog.cutoff, catalog.max_qty, catalog.max_line_qty)).encode()).hexdigest()
    return "catalog-" + h[:16]


class OrderService:
    """The order use cases on the store; one per process (callers serialise calls: one lock).

    The store is the truth. Every call that changes orders runs in one store transaction that
    locks the deal it touches (:class:`Unit`), checks the deal's version against this process's
    cached copy (:class:`bot.services.state.DealCache`), reloads the deal when another process
    moved it, applies the engine's reading and commits, bumping the version. Ids come from the
    store's id blocks. Nothing is loaded at start; a deal is loaded when a message for it comes,
    and dropped after ``idle_seconds`` unused (or when more than ``max_cached`` are cached).

    ``catalog``: when given, every chat takes part in that one shared deal (``tuan replay
    --catalog``); otherwise a chat's deal comes from :meth:`open_deal` or a leader's deal post.

    All or nothing: a call either commits everything it changed, or raises and leaves no trace,
    in the store or in the cache (the touched deals are dropped and reloaded when next needed).
    Store outages raise :class:`bot.ports.StoreUnavailable`: the caller keeps the message and
    offers it again later.
    """

    def __init__(self, repo: Repository, *, catalog: Catalog | None = None, idle_seconds: float = 600.0,
                 max_cached: int = 512) -> None:
        self.repo = repo
        self.idle_seconds = idle_seconds
        self.max_cached = max_cached
        self._cache: OrderedDict[str, DealCache] = OrderedDict()
        # chat key -> (its deal, the deal's version then), as last read under that deal's lock: a hint,
        # trusted while no other process wrote the deal since (see Unit.chat_state)
        self._chat_deal: dict[str, tuple[str | None, int]] = {}
        self._swept = time.monotonic()
        self._current: Unit | None = None  # the transaction running now (effects are decided inside it)
        self.shared_deal: str | None = None
        self.deferred = 0  # messages handle_each deferred because another worker held their deal
        if catalog is not None:
            did = _catalog_id(catalog)
            row = deal_row(did, catalog, title=catalog.title, source="catalog", now=datetime.now(UTC))
            with self.repo.transaction() as tx:
                tx.add_deal(row)
            self.shared_deal = did

    # -- units of work and the cache --------------------------------------------------------------

    @contextlib.contextmanager
    def _unit(self) -> Iterator[Unit]:
        """One transaction; on any failure the deals it touched leave the cache (they may hold
        changes that were never committed)."""
        unit: Unit | None = None
        try:
            with self.repo.transaction() as tx:
                unit = self._current = Unit(self, tx)
                yield unit
                unit.finish()
        except BaseException as exc:
            if unit is not None and unit.touched:
                for did in unit.touched:
                    self._cache.pop(did, None)
                log.warning("nothing of this call was kept (%s: %s); its deals will be reloaded from the store",
                            type(exc).__name__, exc)
            for ck in list(self._chat_deal):
                if unit is None or ck in unit.chats_seen:
                    self._chat_deal.pop(ck, None)
            raise
        finally:
            self._current = None
        self._sweep()

    def preload(self, chat_keys: Iterable[str]) -> None:
        """Bring these chats' deals into this process's cache, with what it knows of each chat (its
        deal, whether it had earlier rounds), as a worker that has been serving them has them: one
        short transaction that locks the deals in id order. For benchmarks and warm starts."""
        keys = sorted(set(chat_keys))
        with self._unit() as u:
            deal_of = {row.chat_key: row.deal_id for row in u.tx.chats(keys)}
            u.lock_deals(d for d in deal_of.values() if d is not None)
            for ck, did in sorted(deal_of.items()):
                cache = u.deal(did) if did is not None else None
                if cache is not None:
                    self._chat_deal[ck] = (did, cache.version)
                    u.seen(cache.chat(ck), ck, "")  # learns whether the chat had earlier rounds

    def drop_cache(self) -> None:
        """Forget every cached deal (the store is the truth: they are reloaded when next needed)."""
        self._cache.clear()
        self._chat_deal.clear()

    def cached(self, deal_id: str) -> DealCache | None:
        """This process's cached copy of a deal, if any (it may be stale: only a transaction checks)."""
        return self._cache.get(deal_id)

    def _remember(self, cache: DealCache) -> None:
        cache.used = time.monotonic()
        self._cache[cache.deal.row.id] = cache
        self._cache.move_to_end(cache.deal.row.id)

    def _sweep(self) -> None:
        """Drop deals unused for ``idle_seconds``, and the least recently used beyond ``max_cached``."""
        while len(self._cache) > self.max_cached:
            self._cache.popitem(last=False)
        now = time.monotonic()
        if now - self._swept < min(60.0, self.idle_seconds):
            return
        self._swept = now
        for did in [d for d, c in self._cache.items() if now - c.used > self.idle_seconds]:
            del self._cache[did]
        if len(self._chat_deal) > 100_000:
            self._chat_deal.clear()

    def handle(self, msg: InboundMessage, effects: EffectsOf | None = None, *, holder: str | None = None,
               lease: timedelta = timedelta(0)) -> Outcome:
        """Read one message, apply it, commit, and say what happened.

        ``effects``, when given, is asked what to say about the message (its outcome → effects)
        before the commit; they are committed with the message as outbox rows (the transactional
        outbox) and returned in the outcome's ``effects``, for the caller to deliver and then mark
        with :meth:`effects_delivered`. They are held by ``holder`` (the caller's worker id) for
        ``lease`` from the commit, so no other worker's sweeper takes them meanwhile. A message
        already handled (a redelivery) or a command gets none: it commits nothing.

        Raises what the store raises when the commit fails; then nothing of the message was kept
        (it is neither counted nor remembered as seen, and nothing is to be said), so the same
        message may be offered again.
        """
        for attempt in range(CONFLICT_RETRIES):
            try:
                return self._handle(msg, effects, holder, lease)
            except StoreConflict:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
                log.info("message %s lost to a concurrent transaction; running it again", msg.message_id)
        raise AssertionError("unreachable")

    def _handle(self, msg: InboundMessage, effects: EffectsOf | None, holder: str | None,
                lease: timedelta) -> Outcome:
        with self._unit() as u:
            return self._take(u, msg, effects, holder, lease)

    def _take(self, u: Unit, msg: InboundMessage, effects: EffectsOf | None, holder: str | None,
              lease: timedelta) -> Outcome:
        """``msg`` read and applied in ``u``, with what ``effects`` says about it as outbox rows held
        by ``holder`` for ``lease`` (:meth:`handle`); its changes added to ``u``, its outcome returned."""
        outcome, changes = self._process(u, msg)
        if effects is not None and changes.message is not None:
            said = effects(outcome)
            if said:
                now = datetime.now(UTC)
                changes.outbox = outbox_rows(changes.message.seq, said, now, holder, now + lease)
                outcome = replace(outcome, effects=tuple(changes.outbox))
        u.add(changes)
        return outcome

    def handle_batch(self, msgs: Sequence[InboundMessage], effects: EffectsOf | None = None, *,
                     holder: str | None = None, lease: timedelta = timedelta(0)) -> list[Outcome]:
        """Group commit: :meth:`handle_each`, raising the first exception a message raised alone
        (every message was tried: those that did not raise are committed)."""
        outs = self.handle_each(msgs, effects, holder=holder, lease=lease)
        for o in outs:
            if isinstance(o, Exception):
                raise o
        return [o for o in outs if isinstance(o, Outcome)]

    def handle_each(self, msgs: Sequence[InboundMessage], effects: EffectsOf | None = None, *,
                    effects_for: Callable[[InboundMessage], EffectsOf | None] | None = None,
                    holder: str | None = None, lease: timedelta = timedelta(0),
                    skip_locked: bool = True) -> list[Outcome | Exception]:
        """Group commit: handle several queued messages in arrival order, each as :meth:`handle`
        would (same outcomes, same effects, in the outbox with its message), in as few transactions
        as the other workers allow; one outcome per message, in order, or the exception that message
        raised when handled alone (its own transaction failed; nothing of it was kept).

        The deals of the messages' chats (as this process last saw them, else as the store has them
        now) are locked first, in one statement, in deal id order. ``skip_locked`` (PostgreSQL): a
        deal another worker's transaction holds is not waited for: the messages of its chats are
        deferred, in their order, to a second transaction, committed after the first, which waits
        for their deals (locked the same way, in id order); so two workers batching overlapping
        deals each go on with what it holds instead of one waiting for the other's whole batch. A
        chat's messages are all in one of the two (its deal decides), so a chat's order holds. A
        chat that moved to a new round meanwhile locks its new deal when its message comes.

        A transaction that fails for any reason (a deadlock victim, a message that raises) is
        rolled back whole and its messages are handled again one transaction each
        (:meth:`handle`, which runs a deadlock victim again), so a failed batch is never visible:
        a message then fails alone. Offering a message again is safe: what was committed is a
        duplicate then. ``effects`` (one callback for every message) or ``effects_for`` (the
        callback of each message), ``holder``, ``lease``: as in :meth:`handle`.
        """
        def effects_of(m: InboundMessage) -> EffectsOf | None:
            return effects_for(m) if effects_for is not None else effects

        if len(msgs) < 2:
            return [self._alone(m, effects_of(m), holder, lease) for m in msgs]
        outs: dict[int, Outcome] = {}
        later: list[int] = []
        try:
            with self._unit() as u:
                chats = {m.chat_key for m in msgs}
                unknown = sorted(chats - self._chat_deal.keys())
                deal_of = {row.chat_key: row.deal_id for row in u.tx.chats(unknown)} if unknown else {}
                for ck in chats:
                    hint = self._chat_deal.get(ck)
                    if hint is not None:
                        deal_of[ck] = hint[0]
                dids = {d for d in deal_of.values() if d is not None}
                held = u.lock_deals(dids, skip_locked=skip_locked)
                skipped = {ck for ck, d in deal_of.items() if d is not None and d not in held}
                self._confirm_chats(u, [ck for ck in sorted(chats) if ck not in skipped])
                if skipped:
                    log.debug("%d of %d chats wait for deals other workers hold", len(skipped), len(chats))
                for i, m in enumerate(msgs):
                    if m.chat_key in skipped:  # its deal is busy in another worker: after this commit
                        later.append(i)
                        continue
                    outs[i] = self._take(u, m, effects_of(m), holder, lease)
        except Exception as exc:  # noqa: BLE001  (every failure: the messages go again one by one)
            log.info("a batch of %d messages was rolled back (%s: %s); handling them one by one",
                     len(msgs), type(exc).__name__, exc)
            return [self._alone(m, effects_of(m), holder, lease) for m in msgs]
        result: list[Outcome | Exception] = [outs.get(i, _DEFERRED) for i in range(len(msgs))]
        if later:
            self.deferred += len(later)
            again = self.handle_each([msgs[i] for i in later], effects_for=effects_of, holder=holder, lease=lease,
                                     skip_locked=False)
            for i, o in zip(later, again, strict=True):
                result[i] = o
        return result

    def _confirm_chats(self, u: Unit, chat_keys: list[str]) -> None:
        """Read, in one statement, the rows of the chats whose deal this transaction locked but whose
        hint (:attr:`_chat_deal`) no longer holds (another process wrote the deal, so the chat may
        have moved to a new round), and renew the hints of those still in that deal: their messages
        then need no read of their own (:meth:`Unit.chat_state`). A chat moves only under its old
        deal's lock, which this transaction holds, so what is read stays true until it ends."""
        stale = []
        for ck in chat_keys:
            hint = self._chat_deal.get(ck)
            cache = u.touched.get(hint[0]) if hint is not None and hint[0] is not None else None
            if cache is not None and hint is not None and hint[1] < cache.loaded:
                stale.append(ck)
        if len(stale) < 2:
            return  # one chat: chat_state reads it when its message comes
        u.chats_seen.update(stale)
        for row in u.tx.chats(stale):
            cache = u.touched.get(row.deal_id) if row.deal_id is not None else None
            if cache is not None:
                self._chat_deal[row.chat_key] = (row.deal_id, cache.version)

    def _alone(self, msg: InboundMessage, effects: EffectsOf | None, holder: str | None,
               lease: timedelta) -> Outcome | Exception:
        """:meth:`handle`, its exception returned rather than raised."""
        try:
            return self.handle(msg, effects, holder=holder, lease=lease)
        except Exception as exc:  # noqa: BLE001  (the caller hands each message its own outcome)
            return exc

    def claim_effects(self, worker: str, lease: timedelta, *, limit: int, takeover: bool = False,
                      skip: Sequence[str] = ()) -> list[OutboxRow]:
        """Claim for ``worker``, for ``lease`` from now, up to ``limit`` outbox rows whose holder's
        lease ended (:meth:`bot.ports.Repository.claim_effects`), in ``(seq, n)`` order; none of the
        chats of the platforms in ``skip``."""
        now = datetime.now(UTC)
        return self.repo.claim_effects(worker, now + lease, now=now, limit=limit, takeover=takeover, skip=skip)

    def relay_effects(self, effects: Sequence[Effect]) -> int:
        """Commit ``effects`` as outbox rows held by nobody, for another worker to deliver; returns
        their ``seq`` (the rows are ``(seq, 0..)``, in the order given).

        For what this process cannot say itself: a post for a WeChat chat by a worker that does not
        hold the account's connection (docs/scaling.md). The holder's sweeper claims them at its
        next sweep and delivers them, in ``seq`` order per chat like every outbox row.

        Touches no cached deal: unlike the other methods it may be called without the caller's lock
        (from any thread), e.g. by a command that holds it. Raises what the store raises.
        """
        with self.repo.transaction() as tx:
            seq = tx.next_block() * ID_BLOCK_SIZE  # a block of its own: after every id taken so far
            tx.write([Changeset(outbox=outbox_rows(seq, effects, datetime.now(UTC)))])
        return seq

    def extend_claims(self, worker: str, keys: list[tuple[int, int]], until: datetime) -> None:
        """Keep holding these outbox rows (``(seq, n)``) until ``until`` (aware)."""
        self.repo.extend_claims(worker, keys, until)

    def effects_delivered(self, keys: list[tuple[int, int]], worker: str | None = None) -> None:
        """Mark these outbox rows (``(seq, n)``) delivered: they are deleted, in one transaction
        (with ``worker``: those it still holds)."""
        self.repo.effects_delivered(keys, worker)

    def handle_many(self, msgs: Iterable[InboundMessage]) -> list[Outcome]:
        """Handle several messages in arrival order, committed in one transaction (all or none)."""
        with self._unit() as u:
            outs: list[Outcome] = []
            for m in msgs:
                o, c = self._process(u, m)
                outs.append(o)
                u.add(c)
            return outs

    # -- deals and chats ------------------------------------------------------------------------

    def open_deal(self, catalog: Catalog, chat_keys: Sequence[str], *, title: str = "",
                  source: str = "config", keep_open: bool = False, announce: bool = False) -> str:
        """Open a deal for these chats (replacing each chat's current deal); returns its id.

        The id is new and globally unique (``d`` and 15 hex digits); the deal starts at version 0.
        ``keep_open``: a chat whose current deal is open keeps it (read under the chat's lock, so two
        processes opening at once open one round, not two); when the first chat keeps its deal, that
        deal's id is returned, and when every chat keeps its deal nothing is opened.
        ``announce``: the deal card is to be posted in each chat bound to it: a ``card`` outbox row
        per chat, committed with the deal, which any running bot's sweeper delivers (the web's
        "publish"; :data:`bot.model.CARD`).
        """
        did = "d" + _new_id()
        now = datetime.now(UTC)
        row = deal_row(did, catalog, title=title, source=source, now=now)
        with self._unit() as u:
            changes = Changeset(deals=[row])
            rows = {ck: u.chat_row(ck, lock=True) for ck in sorted(set(chat_keys))}  # chats first, in one order
            kept: dict[str, str] = {}
            if keep_open:
                for ck, chat in rows.items():
                    current = u.deal(chat.deal_id) if chat.deal_id is not None else None
                    if current is not None and current.deal.row.status == "open":
                        kept[ck] = current.deal.row.id
            first = chat_keys[0] if chat_keys else None
            if keep_open and (first in kept or len(kept) == len(rows)):
                return kept.get(first or "", did) if kept else did
            for ck, chat in rows.items():
                if ck not in kept:
                    u.bind(ck, chat, did, changes)
            if announce:
                seq = u.next_id()
                changes.outbox = outbox_rows(seq, [Effect(ck, CARD, text=did) for ck in rows if ck not in kept], now)
            u.add(changes)
            u.created(DealCache(DealState(row, catalog), 0))
        return did

    def join_deal(self, deal_id: str, chat_keys: Sequence[str]) -> list[str]:
        """Bind these chats to an open deal (a group added to it), unless a chat's own deal is open;
        returns the chats that joined. Raises ``KeyError`` for an unknown deal."""
        with self._unit() as u:
            target = u.deal(deal_id)
            if target is None:
                raise KeyError(deal_id)
            if target.deal.row.status != "open":
                return []
            changes = Changeset()
            joined = []
            for ck in sorted(set(chat_keys)):
                chat = u.chat_row(ck, lock=True)
                if chat.deal_id == deal_id:
                    continue
                current = u.deal(chat.deal_id) if chat.deal_id is not None else None
                if current is not None and current.deal.row.status == "open" or u.tx.retired_group(ck) is not None:
                    continue
                u.bind(ck, chat, deal_id, changes)
                joined.append(ck)
            if joined:
                u.add(changes)
                u.dirty(deal_id)
            return joined

    def close_deal(self, deal_id: str, *, by: tuple[str, str, str] | None = None) -> None:
        """Close a deal (the cutoff, or a leader's /close): later orders are refused, in every process.

        ``by``: (chat key, actor id, actor name) of who closed it; the close is then an ``audit`` row
        (action "close") committed with it.
        """
        with self._unit() as u:
            cache = u.deal(deal_id)
            if cache is None or cache.deal.row.status != "open":
                return
            now = datetime.now(UTC)
            row = replace(cache.deal.row, status="closed", closed_at=now)
            if by is not None:
                u.tx.add_audit(at=now, actor_id=by[1], actor_name=by[2], action="close", chat_key=by[0],
                               deal_id=deal_id, detail=cache.deal.row.title)
            cache.deal.row.status, cache.deal.row.closed_at = row.status, row.closed_at
            u.add(Changeset(deals=[row]))
            u.dirty(deal_id)

    def revise_deal(self, deal_id: str, catalog: Catalog) -> list[str]:
        """Give the open deal ``deal_id`` the items of ``catalog`` (a changed tuan.toml) and commit it.

        Items of the same code take the catalog's name, aliases, unit, price (yuan) and stock;
        new items are added after the deal's; an item missing from ``catalog`` is kept as it is
        (residents may have ordered it). The cutoff and the limits become the catalog's; orders
        stay. The deal's version moves, so every process reloads it with its next message.
        Returns one line per change, for people ("1号 price 29.9 → 31.9"), empty when nothing
        changed (then nothing is written), or when the deal is not open or unknown.
        """
        with self._unit() as u:
            cache = u.deal(deal_id)
            if cache is None or cache.deal.row.status != "open":
                return []
            current, row0 = cache.deal.catalog, cache.deal.row
            items, said = merge_items(current, catalog, [c for c, q in cache.deal.totals.items() if q > 0])
            for name in ("cutoff", "max_qty", "max_line_qty"):
                if getattr(current, name) != getattr(catalog, name):
                    said.append(f"{name} {getattr(current, name)} → {getattr(catalog, name)}")
            if not said:
                return []
            revised = replace(catalog, items=items, title=current.title)
            fresh = deal_row(deal_id, revised, title=row0.title, source=row0.source, now=row0.created_at)
            row = replace(row0, items=fresh.items, cutoff=revised.cutoff, max_qty=revised.max_qty,
                          max_line_qty=revised.max_line_qty)
            u.add(Changeset(deals=[row]))
            u.dirty(deal_id)
            u.forget(deal_id)  # rebuilt from the store, with the new catalog, on next use
            log.info("deal %s revised: %s", deal_id, "; ".join(said))
            return said

    def deal_of(self, chat_key: str) -> DealRow | None:
        """The chat's current deal (open or closed), or None; read from the store."""
        chat = self.repo.get_chat(chat_key)
        did = chat.deal_id if chat is not None else self.shared_deal
        if did is None:
            return None
        return self.repo.get_deal(did)

    def chats_with_deal(self) -> list[ChatRow]:
        """The chats bound to a deal (open or closed), read from the store."""
        return self.repo.chats_with_deal()

    def catalog_of(self, deal_id: str) -> Catalog:
        """A deal's catalog as the store holds it (within a running transaction: as it is about to
        commit it). Raises ``KeyError`` for an unknown deal."""
        cache = self._current.touched.get(deal_id) if self._current is not None else None
        if cache is not None:
            return cache.deal.catalog
        row = self.repo.get_deal(deal_id)
        if row is None:
            raise KeyError(deal_id)
        return catalog_of_row(row)

    # -- messages -------------------------------------------------------------------------------

    def _process(self, u: Unit, msg: InboundMessage) -> tuple[Outcome, Changeset]:
        changes = Changeset()
        ck = msg.chat_key
        if msg.text.lstrip().startswith("/") and not msg.recall_of and not msg.edit_of:
            return Outcome(ck, msg.message_id, msg.sender_id, "command"), changes
        cache, chat = u.chat_state(ck, msg, changes)
        # A redelivered message: known in this round (the cache), else in an earlier one (the store).
        if u.seen(chat, ck, msg.message_id):
            return Outcome(ck, msg.message_id, msg.sender_id, "duplicate"), changes
        if msg.delivery is not None:
            changes.processed.append(msg.delivery)
        seq = u.next_id()
        deal = cache.deal if cache is not None else None
        w = Work(u, chat, deal, msg, seq, changes)
        kind = self._apply(u, w)  # "ask": an order message that left a question open, stored as such
        chat, deal = w.chat, w.deal
        chat.messages[msg.message_id] = MessageInfo(seq, msg.sender_id, w.replaces)
        if msg.edit_of is not None and kind != "stale":
            chat.latest[msg.edit_of] = (msg.message_id, msg.ts)
        did = deal.row.id if deal is not None else None
        changes.message = MessageRow(
            seq=seq, chat_key=ck, message_id=msg.message_id, sender_id=msg.sender_id, sender_name=msg.sender_name,
            text=msg.text, ts=msg.ts, is_admin=msg.is_admin, edit_of=msg.edit_of, recall_of=msg.recall_of, kind=kind,
            deal_id=did,
        )
        if cache is not None:
            u.dirty(cache.deal.row.id)
        if did is not None:
            u.dirty(did)
        w.notices()
        totals = self._totals(deal, ck, msg.sender_id) if deal is not None else {}
        return Outcome(ck, msg.message_id, msg.sender_id, "order" if kind == ASK_KIND else kind,
                       did, tuple(w.accepted), tuple(w.unclear), tuple(w.refused), totals), changes

    def _apply(self, u: Unit, w: Work) -> str:
        msg, chat = w.msg, w.chat
        question = chat.questions.pop(msg.sender_id, None)  # only the sender's next message answers it
        if msg.edit_of is not None:
            latest, at = chat.latest.get(msg.edit_of, (msg.edit_of, None))
            if at is not None and msg.ts < at:
                return "stale"  # a newer edit of the same message came first and stands
            w.replaces = latest  # a second edit replaces the first, not the original again
        elif msg.recall_of is None and msg.message_id in chat.latest:
            return "stale"  # its edit came first (two workers, a slow platform) and already counts
        if msg.recall_of is not None:
            if msg.is_admin and msg.recall_of not in chat.entries_by_msg:
                return "ignored"
            reason = w.closed_reason()
            if reason is not None:
                w.refused.append(Problem(reason, "撤回"))
                return "undo"
            w.undo(msg.recall_of, for_edit=False)
            return "undo"
        if msg.is_admin:
            return self._leader(u, w)
        if msg.edit_of is not None:
            reason = w.closed_reason()
            target = w.replaces or msg.edit_of
            if reason is None and target not in chat.messages:
                earlier = u.tx.seen_message(chat.row.chat_key, target)
                if earlier is not None and earlier.deal_id != (w.deal.row.id if w.deal else None):
                    reason = DEAL_CLOSED  # a message of an earlier round: its round is over, this one is not its
            if reason is not None:
                w.refused.append(Problem(reason, "编辑"))
                return "undo"
            w.undo(target, for_edit=True)
        deal = w.deal
        if msg.edit_of is not None:  # the edited message's own lines are read anew
            target = w.replaces or msg.edit_of
            reading = read_message(msg.text, deal.catalog if deal else None, NotPostedBy(chat.by_text, target),
                                   NotPostedBy(chat.by_body, target))
        else:
            reading = read_message(msg.text, deal.catalog if deal else None, chat.by_text, chat.by_body,
                                   chat.read_lists)
        if deal is None:
            for ur in reading.units:
                if not ur.seen:
                    w.add_line(ur.unit.key, ur.unit.number, "", msg.sender_id)
            orderish = reading.entry is not None or any(not u.seen for u in reading.units)
            return "no_deal" if orderish else "ignored"
        closed = w.closed_reason()
        if reading.is_list:
            for ur in reading.units:
                if ur.seen:
                    continue
                self._list_unit(w, ur.unit.key, ur.unit.number, ur.entry, closed)
            if msg.edit_of is None:
                chat.note_read(reading.read)  # every unit of it is a seen line now
            return "list" if not (w.accepted or w.unclear or w.refused) else "order"
        entry = reading.entry
        if entry is None or not (entry.actions or entry.problems):
            return "ignored"
        if closed is not None:
            w.refused.append(Problem(closed, msg.text.strip()[:40]))
            return "order"
        answered = answer(entry, question, msg.ts) if msg.edit_of is None else None
        if answered is not None:
            self._note_reply_lines(w, reading.text, answered)
            w.apply_entry(answered)
            return "order"
        held = [it.code for it in deal.catalog.items if deal.sender_total(chat.row.chat_key, msg.sender_id, it.code) > 0]
        entry, asked = place(entry, held, msg.message_id, msg.ts)
        if asked is None:
            asked = ambiguity_question(entry, msg.message_id, msg.ts)
        self._note_reply_lines(w, reading.text, entry)
        w.apply_entry(entry)
        if asked is not None:
            chat.questions[msg.sender_id] = asked
            return ASK_KIND
        return "order"

    @staticmethod
    def _note_reply_lines(w: Work, text: str, entry: EntryParse) -> None:
        """A labelled short reply's lines are seen lines of its sender (§3.3 "the same text").

        So a copy of the list that carries ``3栋402 王姐 葡萄2`` (王姐's own short reply, now
        numbered by whoever started the list) is that line, not a new entry of the copier. Only
        labelled replies: a bare ``葡萄2`` says nothing about whose it is, and another resident's
        ``5. 葡萄2`` in a copy must stay their own new entry.
        """
        if not entry.label or not entry.actions:
            return
        for line in text.split("\n"):
            key = " ".join(line.split())
            if key:
                w.add_line(key, None, entry.label, w.msg.sender_id)

    def _list_unit(self, w: Work, key: str, number: str, entry: EntryParse | None, closed: str | None) -> None:
        chat, sid = w.chat, w.msg.sender_id
        label = entry.label if entry is not None else ""
        prev = chat.by_num_label.get((number, label)) if label else None
        if prev is not None and prev.owner_id != sid:
            # another resident's line, changed in this copy: changes nothing (§3.3)
            w.add_line(key, number, label, prev.owner_id, alive=False, replaced_by=prev.id)
            return
        orderish = entry is not None and (entry.actions or entry.problems)
        if closed is not None and (orderish or prev is not None):
            w.refused.append(Problem(closed, key[:40]))
            w.add_line(key, number, label, sid, alive=False)
            return
        line = w.add_line(key, number, label, sid)
        if prev is not None and w.deal is not None:
            # the author's own line, changed in the author's copy: replaces that entry
            # every version of the line is one entry: what is left of each is replaced
            versions = chat.versions(number, label, sid)
            old = [e for e in w.deal.entries.values() if e.line_id in versions and active(e) and e.sender_id == sid]
            chat.by_num_label[(number, label)] = line
            prev.replaced_by = line.id
            w.changes.lines_updated.append(prev)
            w.apply_entry(entry if entry is not None else EntryParse(), line.id, replaces=old)
            return
        if entry is not None:
            w.apply_entry(entry, line.id)

    def note_post(self, chat_key: str, message_id: str, text: str, ts: datetime,
                  sender_id: str = "tuan-bot", sender_name: str = "Tuan") -> None:
        """Record the bot's own post (a 接龙 list, a deal card): its lines are seen, never anyone's entry.

        Unlike a leader's message it never defines a deal, and it orders nothing.
        """
        platform, _, chat_id = chat_key.partition(":")
        msg = InboundMessage(platform=platform, chat_id=chat_id, message_id=message_id, sender_id=sender_id,
                             sender_name=sender_name, text=text, ts=ts, is_admin=True)
        with self._unit() as u:
            changes = Changeset()
            cache, chat = u.chat_state(chat_key, msg, changes)
            if u.seen(chat, chat_key, message_id):
                return
            seq = u.next_id()
            w = Work(u, chat, cache.deal if cache is not None else None, msg, seq, changes)
            self._leader(u, w, may_define_deal=False)
            chat.messages[message_id] = MessageInfo(seq, sender_id)
            did = cache.deal.row.id if cache is not None else None
            changes.message = MessageRow(seq=seq, chat_key=chat_key, message_id=message_id, sender_id=sender_id,
                                         sender_name=sender_name, text=text, ts=ts, is_admin=True, edit_of=None,
                                         recall_of=None, kind="bot", deal_id=did)
            if did is not None:
                u.dirty(did)
            u.add(changes)

    def _leader(self, u: Unit, w: Work, *, may_define_deal: bool = True) -> str:
        msg, chat = w.msg, w.chat
        reading = read_message(msg.text, None, chat.by_text, chat.by_body)
        kind = "ignored"
        current = w.deal
        if may_define_deal and self.shared_deal is None and (current is None or current.row.status != "open"):
            from bot.engine.dealpost import parse_deal_post  # a leader's post only: not on every start
            from bot.services.dealcheck import deal_post_refused

            catalog = parse_deal_post(msg.text, msg.ts)
            if catalog is not None and deal_post_refused(w, catalog):
                catalog, kind = None, "deal_refused"
            if catalog is not None and u.tx.retired_group(chat.row.chat_key) is not None:
                # the store decides, not the directory this process read a moment ago
                w.refused.append(Problem(GROUP_RETIRED))
                catalog, kind = None, "deal_refused"
            if catalog is not None:
                did = "p" + _new_id()
                row = deal_row(did, catalog, title=catalog.title, source=f"post:{chat.row.chat_key}:{msg.message_id}",
                               now=msg.ts)
                ck = chat.row.chat_key
                w.changes.deals.append(row)
                u.bind(ck, u.chat_row(ck, lock=True), did, w.changes)
                cache = DealCache(DealState(row, catalog), 0)
                u.created(cache)
                w.deal, w.chat = cache.deal, cache.chat(ck)
                kind = "deal"
        for ur in reading.units:
            if not ur.seen:
                label = ""
                if w.deal is not None:
                    label = reader_for(w.deal.catalog).read(ur.unit.body, in_list=True).label if ur.unit.body else ""
                w.add_line(ur.unit.key, ur.unit.number, label, msg.sender_id)
        return kind

    # -- buttons ---------------------------------------------------------------------------------

    def press(self, press: ButtonPress) -> Outcome:
        """A deal-card button: "add"/"sub" one of ``item_code``; "mine" changes nothing.

        Like :meth:`handle`, all or nothing: when the commit fails nothing of the press is kept.
        """
        with self._unit() as u:
            return self._press(u, press)

    def _press(self, u: Unit, press: ButtonPress) -> Outcome:
        ck = press.chat_key
        changes = Changeset()
        msg = InboundMessage(platform=press.platform, chat_id=press.chat_id, message_id=f"press:{press.press_id}",
                             sender_id=press.sender_id, sender_name=press.sender_name,
                             text=f"[{press.action} {press.item_code}]", ts=press.ts)
        cache, chat = u.chat_state(ck, msg, changes)
        deal = cache.deal if cache is not None else None
        if press.deal_id and (deal is None or deal.row.id != press.deal_id or deal.row.status != "open"):
            # the card's round is not the chat's open round (checked under the deal's lock): it is over
            u.add(changes)
            return Outcome(ck, press.press_id, press.sender_id, PRESS_ENDED, press.deal_id)
        delivery = ("press:" + press.platform, press.press_id) if press.press_id else None
        if delivery is not None and u.tx.is_processed(*delivery):
            return Outcome(ck, press.press_id, press.sender_id, "duplicate")
        if press.action == "mine" or deal is None or press.item_code is None:
            totals = self._totals(deal, ck, press.sender_id) if deal else {}
            u.add(changes)
            return Outcome(ck, press.press_id, press.sender_id, "mine" if deal else "no_deal",
                           deal.row.id if deal else None, totals=totals,
                           refused=() if deal else (Problem(NO_DEAL),))
        msg = replace(msg, delivery=delivery)
        seq = u.next_id()
        w = Work(u, chat, deal, msg, seq, changes)
        reason = w.closed_reason()
        if reason is not None:
            w.refused.append(Problem(reason))
        else:
            w.apply_action(Action(ADD if press.action == "add" else SUB, press.item_code, 1, "按钮"), "")
        if delivery is not None:
            changes.processed.append(delivery)
        chat.messages[msg.message_id] = MessageInfo(seq, msg.sender_id)
        changes.message = MessageRow(seq=seq, chat_key=ck, message_id=msg.message_id, sender_id=msg.sender_id,
                                     sender_name=msg.sender_name, text=msg.text, ts=msg.ts, is_admin=False,
                                     edit_of=None, recall_of=None, kind="press", deal_id=deal.row.id)
        u.dirty(deal.row.id)
        w.notices()
        u.add(changes)
        return Outcome(ck, msg.message_id, press.sender_id, "order", deal.row.id, tuple(w.accepted), (),
                       tuple(w.refused), self._totals(deal, ck, press.sender_id))

    # -- reading the state ---------------------------------------------------------------------------

    def _totals(self, deal: DealState | None, chat_key: str, sender_id: str) -> dict[str, int]:
        if deal is None:
            return {}
        out = {}
        for it in deal.catalog.items:
            q = deal.sender_total(chat_key, sender_id, it.code)
            if q > 0:
                out[it.code] = q
        return out

    def sender_totals(self, chat_key: str, sender_id: str) -> dict[str, int]:
        """A resident's current totals in the chat's deal, item code -> qty (qty > 0 only); from the store."""
        deal = self.deal_of(chat_key)
        if deal is None:
            return {}
        out: dict[str, int] = defaultdict(int)
        for e in self.repo.deal_entries(deal.id):
            if active(e) and e.chat_key == chat_key and e.sender_id == sender_id:
                out[e.item_code] += e.qty
        return {it.code: out[it.code] for it in deal.items if out.get(it.code, 0) > 0}

    def is_processed(self, source: str, update_id: str) -> bool:
        return self.repo.is_processed(source, update_id)

    def claim_delivery(self, delivery: tuple[str, str]) -> bool:
        """Commit a delivery's exactly-once mark on its own (a command); False if it was already there.

        Commands are claimed before they run, so a redelivery after a crash does not run one twice.
        """
        if self.repo.is_processed(*delivery):
            return False
        try:
            self.repo.commit(Changeset(processed=[delivery]))
        except Exception:
            if self.repo.is_processed(*delivery):
                return False
            raise
        return True

    def tally(self, deal_id: str, chat_key: str | None = None) -> Tally:
        """Current orders of a deal, optionally of one chat; read from the store.

        Raises ``KeyError`` for an unknown deal.
        """
        return build_tally(deal_id, self.catalog_of(deal_id), self.repo.deal_entries(deal_id), chat_key)

    def order_times(self, tally: Tally) -> dict[HouseKey, datetime]:
        """When each household of ``tally`` first ordered (aware), read from the store's messages."""
        times = self.repo.message_times(sorted(set(tally.first_seq.values())))
        return {key: times[seq] for key, seq in tally.first_seq.items() if seq in times}


class Unit:
    """One transaction of the order service: the store's transaction, the id block it took, the
    deals it locked (with their cached copies) and what it will write.

    Ids are taken from a fresh block after each lock, so within a deal they grow in the order the
    deal's transactions held its lock, whichever process ran them.
    """

    def __init__(self, svc: OrderService, tx: Transaction) -> None:
        self.svc, self.tx = svc, tx
        self.touched: dict[str, DealCache] = {}
        self.chats_seen: set[str] = set()
        self.bound: dict[str, str] = {}  # chats this transaction moved to a new deal (written at its end)
        self._dirty: set[str] = set()
        self._changes: list[Changeset] = []
        self._next = self._end = 0

    def next_id(self) -> int:
        if self._next >= self._end:
            self._next = self.tx.next_block() * ID_BLOCK_SIZE
            self._end = self._next + ID_BLOCK_SIZE
        n = self._next
        self._next += 1
        return n

    def _locked(self) -> None:
        self._end = 0  # ids taken from now on come after every id of what the lock waited for

    def deal(self, deal_id: str) -> DealCache | None:
        """Lock the deal (once per transaction) and return its cached copy, brought up to date.

        A copy another process moved on is caught up with only the rows written since its version
        (:meth:`DealCache.catch_up`); it is rebuilt whole only when it is not cached, its catalog
        changed, or the store's version is below the copy's."""
        cache = self.touched.get(deal_id)
        if cache is not None:
            return cache
        version = self.tx.lock_deal(deal_id)
        self._locked()
        if version is None:
            return None
        return self._up_to_date(deal_id, version)

    def lock_deals(self, deal_ids: Iterable[str], *, skip_locked: bool = False) -> set[str]:
        """Lock these deals at once, in one statement and in id order, and bring their cached copies
        up to date (:meth:`deal` then returns them without asking the store). Unknown ids are skipped.

        Returns the ids this transaction may go on with: those locked, and any single deal (not
        locked here: :meth:`deal` waits for it when it is needed). ``skip_locked``: deals other
        transactions hold are not waited for, and left out of the answer.
        """
        asked = set(deal_ids)
        wanted = sorted(asked - self.touched.keys())
        if len(wanted) < 2:
            return asked  # one deal: :meth:`deal` locks it when it is needed
        versions = self.tx.lock_deals(wanted, skip_locked=skip_locked)
        self._locked()
        stale = {did: cache.version for did, v in versions.items()
                 if (cache := self.svc.cached(did)) is not None and cache.version < v}
        try:
            changes = self.tx.deals_changes(stale) if len(stale) > 1 else {}  # in a few statements
        except BaseException:
            for did in stale:
                self.svc._cache.pop(did, None)
            raise
        for did in wanted:
            if did in versions:
                self._up_to_date(did, versions[did], changes.get(did))
        return set(versions) | self.touched.keys()

    def _up_to_date(self, deal_id: str, version: int, fetched: DealSnapshot | None = None) -> DealCache | None:
        """The cached copy of a deal locked at ``version``, caught up or loaded as needed
        (``fetched``: what was written since the copy's version, read already)."""
        cache = self.svc.cached(deal_id)
        if cache is not None and cache.version < version:  # other processes wrote it: read what they wrote
            try:
                changes = fetched if fetched is not None else self.tx.deal_changes(deal_id, cache.version)
                caught = changes is not None and changes.deal.version == version and cache.catch_up(changes)
            except BaseException:
                self.svc._cache.pop(deal_id, None)
                raise
            if not caught:
                cache = None
        if cache is None or cache.version != version:
            snap = self.tx.load_deal(deal_id)
            if snap is None:
                return None
            cache = DealCache.from_snapshot(snap)
        self.touched[deal_id] = cache
        self.svc._remember(cache)
        return cache

    def created(self, cache: DealCache) -> None:
        """A deal this transaction creates (its row is in a changeset): locked by being new."""
        self.touched[cache.deal.row.id] = cache
        self.svc._remember(cache)
        self.dirty(cache.deal.row.id)

    def forget(self, deal_id: str) -> None:
        """Drop the deal's cached copy once this transaction ends (it is to be rebuilt from the store)."""
        self.svc._cache.pop(deal_id, None)

    def chat_row(self, chat_key: str, *, lock: bool = False, title: str = "") -> ChatRow:
        """The chat's row, added to the store when it is new (bound to the shared deal, if any)."""
        self.chats_seen.add(chat_key)
        row = self.tx.chat(chat_key, lock=lock)
        if row is None:
            platform, _, ext = chat_key.partition(":")
            row = self.tx.add_chat(ChatRow(chat_key, platform, ext, title, self.svc.shared_deal))
            if self.svc.shared_deal is not None:
                self.tx.write([Changeset(deal_chats=[(self.svc.shared_deal, chat_key)])])
        bound = self.bound.get(chat_key)
        return row if bound is None else replace(row, deal_id=bound)

    def seen(self, chat: ChatState, chat_key: str, message_id: str) -> bool:
        """Whether the message was handled before: in this round (the cache), or in an earlier round
        of the chat (the store; asked only when the chat had messages outside this round)."""
        if message_id in chat.messages:
            return True
        if chat.history is None:
            did = chat.row.deal_id
            chat.history = did is None or self.tx.has_other_messages(chat_key, did)
        return chat.history and self.tx.seen_message(chat_key, message_id) is not None

    def bind(self, chat_key: str, row: ChatRow, deal_id: str, changes: Changeset) -> None:
        """Move the chat to a new deal (a new round) in this transaction.

        The chat's old deal is locked and its version moves too: a process that cached the old deal
        learns from its version that the chat may have left it (:meth:`chat_state`). Raises
        :class:`bot.ports.ChatRetired` when the chat is a retired group's, as the store says in this
        transaction (every way a round opens comes here: a deal post, `tuan deal open|copy`, the web,
        the configured deals).
        """
        retired = self.tx.retired_group(chat_key)
        if retired is not None:
            raise ChatRetired(chat_key, retired)
        if row.deal_id is not None and row.deal_id != deal_id and self.deal(row.deal_id) is not None:
            self.dirty(row.deal_id)
        changes.chats.append(replace(row, deal_id=deal_id))
        changes.deal_chats.append((deal_id, chat_key))
        self.bound[chat_key] = deal_id
        self.svc._chat_deal[chat_key] = (deal_id, 0)

    def chat_state(self, chat_key: str, msg: InboundMessage, changes: Changeset) -> tuple[DealCache | None, ChatState]:
        """The chat's deal (locked, cached) and its state in it; a chat with no deal has only its lines."""
        svc = self.svc
        hint = svc._chat_deal.get(chat_key)
        did: str | None = "?"
        if hint is not None:
            did, seen_at = hint
            if did is not None:
                known = self.deal(did)
                if known is not None and seen_at >= known.loaded:
                    # The chat was in this deal when its cached copy was as now (no other process wrote
                    # the deal since it was loaded; moving a chat to a new round moves its old deal's
                    # version too), so it is in it still.
                    return known, known.chat(chat_key)
        if did == "?":
            did = self.chat_row(chat_key, title=msg.chat_title or "").deal_id
        for _ in range(3):  # the chat may move to a new round while we wait for the lock: follow it
            cache = self.deal(did) if did is not None else None
            now = self.chat_row(chat_key, lock=did is None, title=msg.chat_title or "").deal_id
            if now == did:
                break
            did = now
        else:
            raise RuntimeError(f"{chat_key}: its deal keeps changing")
        if cache is not None:
            svc._chat_deal[chat_key] = (did, cache.version)
            return cache, cache.chat(chat_key)
        svc._chat_deal[chat_key] = (None, 0)
        self._locked()
        return None, undealt_chat(chat_key, self.tx.undealt_lines(chat_key))

    def dirty(self, deal_id: str) -> None:
        """The deal changed in this transaction: its version moves when it commits."""
        self._dirty.add(deal_id)

    def add(self, changes: Changeset) -> None:
        if not changes.is_empty():
            self._changes.append(changes)

    def finish(self) -> None:
        """Write everything, with each changed deal's next version (the cache takes it too)."""
        if self._dirty:
            versions = Changeset()
            for did in self._dirty:
                cache = self.touched.get(did)
                if cache is not None:
                    cache.version += 1
                    versions.versions[did] = cache.version
            self._changes.append(versions)
        if self._changes:
            self.tx.write(self._changes)


RETIRED = "（已下架）"
"""Appended to the name of an item the config dropped while residents had ordered it."""


def merge_items(old: Catalog, new: Catalog, ordered: Iterable[str] = ()) -> tuple[tuple[Item, ...], list[str]]:
    """The items of ``old`` revised by ``new`` (same code: new values; new codes appended), and what
    changed, one line each.

    A code missing from ``new`` is dropped, unless residents ordered it (``ordered``: codes with a
    positive total): then it stays, for their orders, but retired: no aliases, its name marked
    :data:`RETIRED`, stock 0, so it never takes a new order nor shares a word with a new item (an
    item renumbered in tuan.toml is ordered by its name again at once).
    """
    before = {i.code: i for i in old.items}
    after = {i.code: i for i in new.items}
    keep = set(ordered)
    items: list[Item] = []
    said: list[str] = []
    for c, i in before.items():
        if c in after:
            items.append(after[c])
        elif c in keep:
            retired = i if i.name.endswith(RETIRED) else replace(i, name=i.name + RETIRED, aliases=(), stock=0)
            if retired != i:
                said.append(f"{c}号 {i.name} retired (ordered, no longer in the config)")
            items.append(retired)
        else:
            said.append(f"{c}号 {i.name} removed")
    items.extend(i for c, i in after.items() if c not in before)
    said += [f"{i.code}号 added: {i.name} {i.price}元" for i in items if i.code not in before]
    for i in items:
        was = before.get(i.code)
        for name in ("name", "aliases", "unit", "price", "stock") if was is not None and i.code in after else ():
            a, b = getattr(was, name), getattr(i, name)
            if a != b:
                a, b = (f"{v.normalize():f}" if isinstance(v, Decimal) else v for v in (a, b))
                said.append(f"{i.code}号 {name} {a} → {b}")
    return tuple(items), said


def build_tally(deal_id: str, catalog: Catalog, entries: Iterable[EntryRow], chat_key: str | None = None) -> Tally:
    """The deal's current orders (of ``chat_key`` only, when given), with every household's order
    number (跟团号, :mod:`bot.services.households`) and the seq of its first order."""
    entries = list(entries)
    first = first_orders(entries)
    per_label: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    names: dict[tuple[str, str], str] = {}
    for e in sorted(entries, key=lambda e: e.id):
        if not active(e) or (chat_key is not None and e.chat_key != chat_key):
            continue
        per_label[(e.chat_key, e.sender_id, e.item_code)][e.label] += e.qty
        names[(e.chat_key, e.sender_id)] = e.sender_name
    rows: list[TallyRow] = []
    totals = {it.code: 0 for it in catalog.items}
    for (ck, sid, item), labels in per_label.items():
        total = sum(labels.values())
        if total <= 0:
            continue
        positive = {lab: q for lab, q in labels.items() if q > 0}
        negative = sum(q for q in labels.values() if q < 0)
        for lab in list(positive):  # a decrease under another label comes off the first ones
            take = min(positive[lab], -negative)
            positive[lab] -= take
            negative += take
        for lab, q in positive.items():
            if q > 0:
                rows.append(TallyRow(ck, sid, names[(ck, sid)], lab, item, q))
        totals[item] = totals.get(item, 0) + total
    prices = {it.code: it.price for it in catalog.items}
    amount = sum((Decimal(q) * prices.get(c, Decimal(0)) for c, q in totals.items()), Decimal(0))
    numbers = {key: n for n, key in enumerate(first, 1)}
    return Tally(deal_id, tuple(rows), totals, amount, numbers, {k: e.seq for k, e in first.items()})



def _new_id() -> str:
    """15 random hex digits for a new deal's id (uuid is imported when a deal is first made)."""
    import uuid

    return uuid.uuid4().hex[:15]
