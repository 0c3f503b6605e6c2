"""The order service: applies what the engine reads in a message to the live deal state and the store."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from bot.catalog import Catalog
from bot.engine.dealpost import parse_deal_post
from bot.engine.entry import ADD, SUB, Action, EntryParse
from bot.engine.reader import read_message, reader_for
from bot.model import ButtonPress, Effect, InboundMessage
from bot.ports import (
    ASK_KIND,
    Changeset,
    ChatRow,
    DealRow,
    EntryRow,
    ItemRow,
    MessageRow,
    OutboxRow,
    Repository,
)
from bot.services.apply import Work
from bot.services.dealcheck import deal_post_refused
from bot.services.outcome import NO_DEAL, Outcome, Problem, Tally, TallyRow
from bot.services.questions import answer, place
from bot.services.state import (
    ChatState,
    DealState,
    LiveState,
    MessageInfo,
    NotPostedBy,
    active,
    catalog_of_row,
)

log = logging.getLogger(__name__)

EffectsOf = Callable[[Outcome], Sequence[Effect]]
"""What to say about a handled message, decided from its outcome before the commit (bot/dispatch.py)."""


def deal_row(deal_id: str, catalog: Catalog, *, title: str, source: str, now: datetime) -> DealRow:
    items = [
        ItemRow(code=i.code, name=i.name, unit=i.unit, price=i.price, aliases=tuple(i.aliases), stock=i.stock,
                position=n)
        for n, i in enumerate(catalog.items)
    ]
    return DealRow(id=deal_id, title=title or catalog.title, status="open", cutoff=catalog.cutoff,
                   max_qty=catalog.max_qty, created_at=now, items=items, source=source,
                   max_line_qty=catalog.max_line_qty)


def outbox_rows(seq: int, effects: Sequence[Effect], now: datetime) -> list[OutboxRow]:
    """The outbox rows of message ``seq``'s effects, keyed ``(seq, n)`` in the order given."""
    return [
        OutboxRow(seq=seq, n=n, chat_key=e.chat_key, kind=e.kind, target=e.target, text=e.text,
                  mention_id=e.mention.user_id if e.mention else None,
                  mention_name=e.mention.name if e.mention else None, created_at=now)
        for n, e in enumerate(effects)
    ]


def _catalog_id(catalog: Catalog) -> str:
    h = hashlib.sha256(repr((catalog.items, catalog.cutoff, catalog.max_qty, catalog.max_line_qty)).encode()).hexdigest()
    return "catalog-" + h[:16]


class OrderService:
    """One per process. Synchronous; callers serialise calls (one lock; any one thread at a time).

    ``catalog``: when given, every chat takes part in that one shared deal (``tuan replay
    --catalog``); otherwise a chat's deal comes from :meth:`open_deal` or a leader's deal post.

    All or nothing: a call that changes orders either commits everything it changed, or raises
    and leaves no trace, in the store or in memory (the live state is dropped and rebuilt from
    the store when next needed). Store outages raise :class:`bot.ports.StoreUnavailable`: the
    caller keeps the message and offers it again later.
    """

    def __init__(self, repo: Repository, *, catalog: Catalog | None = None) -> None:
        self.repo = repo
        self._st: LiveState | None = LiveState.from_snapshot(repo.load_open())
        self.shared_deal: str | None = None
        if catalog is not None:
            did = _catalog_id(catalog)
            if did not in self.st.deals:
                row = deal_row(did, catalog, title=catalog.title, source="catalog", now=datetime.now(UTC))
                self._commit(Changeset(deals=[row]))
                self.st.deals[did] = DealState(row, catalog)
            self.shared_deal = did

    # -- the live state and committing ----------------------------------------------------------

    @property
    def st(self) -> LiveState:
        """The live state of open deals: exactly what the store holds, never an uncommitted change.

        Rebuilt from the store on first use after a failed call dropped it; raises what the
        store raises (:class:`bot.ports.StoreUnavailable` while it is down) until it can be read.
        """
        if self._st is None:
            self._st = LiveState.from_snapshot(self.repo.load_open())
            log.info("live state rebuilt from the store")
        return self._st

    @contextlib.contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        """Around every call that changes the live state before committing it.

        If the call raises (its commit failed, or applying the message did), whatever it already
        changed in memory is dropped with the whole live state; the next call rebuilds it from the
        store, which holds only what was committed.
        """
        try:
            yield
        except BaseException as exc:
            if self._st is not None:  # else it was already dropped (and could not be read back yet)
                self._st = None
                log.warning("nothing of this call was kept (%s: %s); the live state will be rebuilt from the store",
                            type(exc).__name__, exc)
            raise

    def _commit(self, changes: Changeset) -> None:
        self.repo.commit_many([changes])

    def handle(self, msg: InboundMessage, effects: EffectsOf | None = None) -> Outcome:
        """Read one message, apply it, commit, and say what happened.

        ``effects``, when given, is asked what to say about the message (its outcome → effects)
        before the commit; they are committed with the message as outbox rows (the transactional
        outbox) and returned in the outcome's ``effects``, for the caller to deliver and then mark
        with :meth:`effects_delivered`. A message already handled (a redelivery) or a command
        gets none: it commits nothing.

        Raises what the store raises when the commit fails; then nothing of the message was kept
        (it is neither counted nor remembered as seen, and nothing is to be said), so the same
        message may be offered again.
        """
        with self._all_or_nothing():
            outcome, changes = self._process(msg)
            if effects is not None and changes.message is not None:
                said = effects(outcome)
                if said:
                    changes.outbox = outbox_rows(changes.message.seq, said, datetime.now(UTC))
                    outcome = replace(outcome, effects=tuple(changes.outbox))
            if not changes.is_empty():
                self._commit(changes)
            return outcome

    def pending_effects(self, created_before: datetime) -> list[OutboxRow]:
        """Effects committed before ``created_before`` and not yet delivered (what a crash left)."""
        return self.repo.pending_effects(created_before)

    def effects_delivered(self, keys: list[tuple[int, int]]) -> None:
        """Mark these outbox rows (``(seq, n)``) delivered: they are deleted, in one transaction."""
        self.repo.effects_delivered(keys)

    def handle_many(self, msgs: Iterable[InboundMessage]) -> list[Outcome]:
        """Handle several messages in arrival order, committed in one transaction (all or none)."""
        with self._all_or_nothing():
            outs: list[Outcome] = []
            batch: list[Changeset] = []
            for m in msgs:
                o, c = self._process(m)
                outs.append(o)
                if not c.is_empty():
                    batch.append(c)
            if batch:
                self.repo.commit_many(batch)
            return outs

    # -- deals and chats ------------------------------------------------------------------------

    def open_deal(self, catalog: Catalog, chat_keys: Sequence[str], *, title: str = "",
                  source: str = "config") -> str:
        """Open a deal for these chats (replacing each chat's current deal); returns its id."""
        with self._all_or_nothing():
            did = "d" + hashlib.sha256(
                f"{source}|{title}|{datetime.now(UTC).isoformat()}|{self.st.next_seq}".encode()).hexdigest()[:15]
            row = deal_row(did, catalog, title=title, source=source, now=datetime.now(UTC))
            changes = Changeset(deals=[row])
            for ck in chat_keys:
                chat = self._chat_for(ck, changes)
                chat.bind(did)
                if chat.row not in changes.chats:
                    changes.chats.append(chat.row)
            self._commit(changes)
            self.st.deals[did] = DealState(row, catalog)
            return did

    def close_deal(self, deal_id: str) -> None:
        """Close a deal (the cutoff, or a leader's /close): later orders are refused."""
        with self._all_or_nothing():
            ds = self.st.deals.get(deal_id)
            if ds is None:
                return
            ds.row.status = "closed"
            self._commit(Changeset(deals=[ds.row]))

    def deal_of(self, chat_key: str) -> DealRow | None:
        """The chat's current deal (open or closed), or None."""
        ch = self.st.chats.get(chat_key)
        did = ch.row.deal_id if ch is not None else self.shared_deal
        if did is None:
            return None
        ds = self.st.deals.get(did)
        return ds.row if ds is not None else self.st.closed.get(did) or self.repo.get_deal(did)

    def chats_with_deal(self) -> list[ChatRow]:
        """The chats the service knows that have a current deal (open or closed), in first-seen order."""
        return [ch.row for ch in self.st.chats.values() if ch.row.deal_id is not None]

    def catalog_of(self, deal_id: str) -> Catalog:
        ds = self.st.deals.get(deal_id)
        if ds is not None:
            return ds.catalog
        row = self.st.closed.get(deal_id) or self.repo.get_deal(deal_id)
        if row is None:
            raise KeyError(deal_id)
        return catalog_of_row(row)

    def _chat_for(self, chat_key: str, changes: Changeset, msg: InboundMessage | None = None) -> ChatState:
        ch = self.st.chats.get(chat_key)
        if ch is None:
            platform, _, ext = chat_key.partition(":")
            row = ChatRow(chat_key=chat_key, platform=platform, external_id=ext,
                          title=(msg.chat_title or "") if msg else "", deal_id=self.shared_deal)
            ch = ChatState(row)
            self.st.chats[chat_key] = ch
            changes.chats.append(row)
        return ch

    def _deal_state(self, chat: ChatState) -> DealState | None:
        did = chat.row.deal_id
        if did is None:
            return None
        ds = self.st.deals.get(did)
        if ds is None and did in self.st.closed:
            row = self.st.closed[did]
            ds = DealState(row, catalog_of_row(row))  # closed: orders are refused, nothing to count
        return ds

    # -- messages -------------------------------------------------------------------------------

    def _process(self, msg: InboundMessage) -> tuple[Outcome, Changeset]:
        changes = Changeset()
        ck = msg.chat_key
        # A redelivered message is caught by its id below: its delivery mark was committed with it.
        if msg.text.lstrip().startswith("/") and not msg.recall_of and not msg.edit_of:
            return Outcome(ck, msg.message_id, msg.sender_id, "command"), changes
        chat = self._chat_for(ck, changes, msg)
        if msg.message_id in chat.messages:
            return Outcome(ck, msg.message_id, msg.sender_id, "duplicate"), changes
        if msg.delivery is not None:
            changes.processed.append(msg.delivery)
        seq = self.st.next_seq
        self.st.next_seq += 1
        deal = self._deal_state(chat)
        w = Work(self.st, chat, deal, msg, seq, changes)
        kind = self._apply(w)  # "ask": an order message that left a question open, stored as such
        chat.messages[msg.message_id] = MessageInfo(seq, msg.sender_id, msg.edit_of)
        changes.message = MessageRow(
            seq=seq, chat_key=ck, message_id=msg.message_id, sender_id=msg.sender_id, sender_name=msg.sender_name,
            text=msg.text, ts=msg.ts, is_admin=msg.is_admin, edit_of=msg.edit_of, recall_of=msg.recall_of, kind=kind,
        )
        w.notices()
        deal = w.deal
        totals = self._totals(deal, ck, msg.sender_id) if deal is not None else {}
        return Outcome(ck, msg.message_id, msg.sender_id, "order" if kind == ASK_KIND else kind,
                       deal.row.id if deal else None, tuple(w.accepted), tuple(w.unclear), tuple(w.refused),
                       totals), changes

    def _apply(self, w: Work) -> str:
        msg, chat = w.msg, w.chat
        question = chat.questions.pop(msg.sender_id, None)  # only the sender's next message answers it
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
            return self._leader(w)
        if msg.edit_of is not None:
            reason = w.closed_reason()
            if reason is not None:
                w.refused.append(Problem(reason, "编辑"))
                return "undo"
            w.undo(msg.edit_of, for_edit=True)
        deal = w.deal
        if msg.edit_of is not None:  # the edited message's own lines are read anew
            reading = read_message(msg.text, deal.catalog if deal else None, NotPostedBy(chat.by_text, msg.edit_of),
                                   NotPostedBy(chat.by_body, msg.edit_of))
        else:
            reading = read_message(msg.text, deal.catalog if deal else None, chat.by_text, chat.by_body)
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
                self._unit(w, ur.unit.key, ur.unit.number, ur.entry, closed)
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

    def _unit(self, w: Work, key: str, number: str, entry: EntryParse | None, closed: str | None) -> None:
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
        with self._all_or_nothing():
            self._note_post(chat_key, message_id, text, ts, sender_id, sender_name)

    def _note_post(self, chat_key: str, message_id: str, text: str, ts: datetime, sender_id: str,
                   sender_name: str) -> None:
        platform, _, chat_id = chat_key.partition(":")
        msg = InboundMessage(platform=platform, chat_id=chat_id, message_id=message_id, sender_id=sender_id,
                             sender_name=sender_name, text=text, ts=ts, is_admin=True)
        changes = Changeset()
        chat = self._chat_for(chat_key, changes, msg)
        if message_id in chat.messages:
            return
        seq = self.st.next_seq
        self.st.next_seq += 1
        w = Work(self.st, chat, self._deal_state(chat), msg, seq, changes)
        self._leader(w, may_define_deal=False)
        chat.messages[message_id] = MessageInfo(seq, sender_id)
        changes.message = MessageRow(seq=seq, chat_key=chat_key, message_id=message_id, sender_id=sender_id,
                                     sender_name=sender_name, text=text, ts=ts, is_admin=True, edit_of=None,
                                     recall_of=None, kind="bot")
        self._commit(changes)

    def _leader(self, w: Work, *, may_define_deal: bool = True) -> str:
        msg, chat = w.msg, w.chat
        reading = read_message(msg.text, None, chat.by_text, chat.by_body)
        kind = "ignored"
        current = w.deal
        if may_define_deal and self.shared_deal is None and (current is None or current.row.status != "open"):
            catalog = parse_deal_post(msg.text, msg.ts)
            if catalog is not None and deal_post_refused(w, catalog):
                catalog, kind = None, "deal_refused"
            if catalog is not None:
                did = "p" + hashlib.sha256(f"{chat.row.chat_key}|{msg.message_id}|{w.seq}".encode()).hexdigest()[:15]
                row = deal_row(did, catalog, title=catalog.title, source=f"post:{chat.row.chat_key}:{msg.message_id}",
                               now=msg.ts)
                w.changes.deals.append(row)
                ds = DealState(row, catalog)
                self.st.deals[did] = ds
                chat.bind(did)
                if chat.row not in w.changes.chats:
                    w.changes.chats.append(chat.row)
                w.deal = ds
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
        with self._all_or_nothing():
            return self._press(press)

    def _press(self, press: ButtonPress) -> Outcome:
        ck = press.chat_key
        changes = Changeset()
        chat = self._chat_for(ck, changes)
        deal = self._deal_state(chat)
        delivery = ("press:" + press.platform, press.press_id) if press.press_id else None
        if delivery is not None and self.repo.is_processed(*delivery):
            return Outcome(ck, press.press_id, press.sender_id, "duplicate")
        if press.action == "mine" or deal is None or press.item_code is None:
            totals = self._totals(deal, ck, press.sender_id) if deal else {}
            if not changes.is_empty():
                self._commit(changes)
            return Outcome(ck, press.press_id, press.sender_id, "mine" if deal else "no_deal",
                           deal.row.id if deal else None, totals=totals,
                           refused=() if deal else (Problem(NO_DEAL),))
        msg = InboundMessage(platform=press.platform, chat_id=press.chat_id, message_id=f"press:{press.press_id}",
                             sender_id=press.sender_id, sender_name=press.sender_name, text=f"[{press.action} {press.item_code}]",
                             ts=press.ts, delivery=delivery)
        seq = self.st.next_seq
        self.st.next_seq += 1
        w = Work(self.st, chat, deal, msg, seq, changes)
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
                                     edit_of=None, recall_of=None, kind="press")
        w.notices()
        self._commit(changes)
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
        """A resident's current totals in the chat's deal, item code -> qty (qty > 0 only)."""
        ch = self.st.chats.get(chat_key)
        return self._totals(self._deal_state(ch), chat_key, sender_id) if ch else {}

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
        """Current orders of a deal, optionally of one chat."""
        ds = self.st.deals.get(deal_id)
        if ds is not None:
            entries: Iterable[EntryRow] = ds.entries.values()
            catalog = ds.catalog
        else:
            entries = self.repo.deal_entries(deal_id)
            catalog = self.catalog_of(deal_id)
        return build_tally(deal_id, catalog, entries, chat_key)

    def revise_deal(self, deal_id: str, catalog: Catalog) -> list[str]:
        """Give the open deal ``deal_id`` the items of ``catalog`` (a changed tuan.toml) and commit it.

        Items of the same code take the catalog's name, aliases, unit, price (yuan) and stock;
        new items are added after the deal's; an item missing from ``catalog`` is kept as it is
        (residents may have ordered it). The cutoff and the limits become the catalog's; orders
        stay. Returns one line per change, for people ("1号 price 29.9 → 31.9"), empty when
        nothing changed (then nothing is written), or when the deal is not open.
        """
        with self._all_or_nothing():
            ds = self.st.deals.get(deal_id)
            if ds is None or ds.row.status != "open":
                return []
            old = {i.code: i for i in ds.catalog.items}
            new = {i.code: i for i in catalog.items}
            items = tuple(new.get(c, i) for c, i in old.items()) + tuple(i for c, i in new.items() if c not in old)
            said = [f"{i.code}号 added: {i.name} {i.price}元" for i in items if i.code not in old]
            for i in items:
                was = old.get(i.code)
                for name in ("name", "aliases", "unit", "price", "stock") if was is not None else ():
                    a, b = getattr(was, name), getattr(i, name)
                    if a != b:
                        a, b = (f"{v.normalize():f}" if isinstance(v, Decimal) else v for v in (a, b))
                        said.append(f"{i.code}号 {name} {a} → {b}")
            for name in ("cutoff", "max_qty", "max_line_qty"):
                if getattr(ds.catalog, name) != getattr(catalog, name):
                    said.append(f"{name} {getattr(ds.catalog, name)} → {getattr(catalog, name)}")
            if not said:
                return []
            revised = replace(catalog, items=items, title=ds.catalog.title)
            fresh = deal_row(deal_id, revised, title=ds.row.title, source=ds.row.source, now=ds.row.created_at)
            row = replace(ds.row, items=fresh.items, cutoff=revised.cutoff, max_qty=revised.max_qty,
                          max_line_qty=revised.max_line_qty)
            self._commit(Changeset(deals=[row]))
            ds.row, ds.catalog = row, revised
            log.info("deal %s revised: %s", deal_id, "; ".join(said))
            return said


def build_tally(deal_id: str, catalog: Catalog, entries: Iterable[EntryRow], chat_key: str | None = None) -> Tally:
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
    return Tally(deal_id, tuple(rows), totals, amount)

