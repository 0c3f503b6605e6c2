"""Apply one message's reading to the live state, collecting the changeset to commit (§3.3, §3.6, §3.8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.engine.entry import ADD, CANCEL_ALL, CANCEL_ITEM, ENTRY, PLUS, SET, SUB, Action, EntryParse
from bot.model import InboundMessage
from bot.ports import Changeset, EntryRow, LineRow, NoticeRow
from bot.services.outcome import AFTER_CUTOFF, DEAL_CLOSED, OVER_MAX, SOLD_OUT, Applied, Problem
from bot.services.state import ChatState, DealState, LiveState


@dataclass
class Work:
    """The running result of one message: what changed, what was accepted, unclear or refused."""

    st: LiveState
    chat: ChatState
    deal: DealState | None
    msg: InboundMessage
    seq: int
    changes: Changeset
    accepted: list[Applied] = field(default_factory=list)
    unclear: list[Problem] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    _written: set[int] = field(default_factory=set)  # ids already in changes.entries_updated

    # -- limits --------------------------------------------------------------------------

    def closed_reason(self) -> str | None:
        d = self.deal
        if d is None:
            return None
        if d.row.status != "open":
            return DEAL_CLOSED
        cutoff = d.catalog.cutoff
        if cutoff is not None and _later(self.msg.ts, cutoff):
            return AFTER_CUTOFF
        return None

    # -- entries -----------------------------------------------------------------------

    def _new_entry(self, item: str, qty: int, kind: str, label: str, line_id: int | None) -> EntryRow:
        assert self.deal is not None
        e = EntryRow(
            id=self.st.next_entry_id, deal_id=self.deal.row.id, chat_key=self.chat.row.chat_key,
            sender_id=self.msg.sender_id, sender_name=self.msg.sender_name, label=label, item_code=item,
            qty=qty, kind=kind, message_id=self.msg.message_id, seq=self.seq, line_id=line_id,
        )
        self.st.next_entry_id += 1
        self.deal.add_entry(e)
        self.chat.entries_by_msg[e.message_id].append(e.id)
        self.changes.entries_added.append(e)
        return e

    def _supersede(self, e: EntryRow) -> None:
        assert self.deal is not None
        self.deal.set_active(e, superseded_seq=self.seq, removed=e.removed)
        self.chat.superseded_by_seq[self.seq].append(e.id)
        self._updated(e)

    def _updated(self, e: EntryRow) -> None:
        """Queue a changed entry for the store, once (an entry added by this message is written as it ends)."""
        if e.id not in self._written and e.seq != self.seq:
            self._written.add(e.id)
            self.changes.entries_updated.append(e)

    def _touch(self, item: str) -> None:
        self.touched.add(item)
        self.chat.last_touch[(self.msg.sender_id, item)] = self.seq

    def _label_for(self, item: str, fallback: str) -> str:
        if fallback:
            return fallback
        assert self.deal is not None
        rows = self.deal.active_of(self.chat.row.chat_key, self.msg.sender_id, item)
        if rows:
            return rows[-1].label
        own = self.chat.entries_by_msg.get(self.msg.message_id)
        return self.deal.entries[own[-1]].label if own else ""

    def _fits(self, item: str, new_total: int, increase: int, words: str) -> bool:
        assert self.deal is not None
        cat = self.deal.catalog
        if cat.max_qty is not None and new_total > cat.max_qty:
            self.refused.append(Problem(OVER_MAX, words, item))
            return False
        it = cat.by_code(item)
        if increase > 0 and it is not None and it.stock is not None:
            left = it.stock - self.deal.totals.get(item, 0)
            if increase > left:
                self.refused.append(Problem(SOLD_OUT, words, item))
                return False
        return True

    def apply_entry(self, parse: EntryParse, line_id: int | None = None) -> None:
        """Apply an entry's actions in order; its problems are unclear."""
        self.unclear.extend(parse.problems)
        for a in parse.actions:
            self.apply_action(a, parse.label, line_id)

    def apply_action(self, a: Action, label: str, line_id: int | None = None) -> None:
        assert self.deal is not None
        ck, sid = self.chat.row.chat_key, self.msg.sender_id
        if a.kind == CANCEL_ALL:
            for c, s, code in list(self.deal.by_key):
                if c == ck and s == sid:
                    self._cancel_item(code)
            return
        if a.item is None:
            return
        item = a.item
        if self.deal.catalog.by_code(item) is None:
            return
        cur = self.deal.sender_total(ck, sid, item)
        if a.kind == CANCEL_ITEM:
            self._cancel_item(item)
        elif a.kind in (ENTRY, PLUS, ADD):
            if self._fits(item, cur + a.qty, a.qty, a.words):
                kind = ADD if a.kind == ADD or (a.kind == PLUS and cur > 0) else "entry"
                self._new_entry(item, a.qty, kind, self._label_for(item, label), line_id)
                self._touch(item)
                self.accepted.append(Applied(item, a.qty, cur + a.qty))
        elif a.kind == SET:
            if a.qty == 0:
                self._cancel_item(item)
            elif self._fits(item, a.qty, a.qty - cur, a.words):
                lab = self._label_for(item, label)
                for e in self.deal.active_of(ck, sid, item):
                    self._supersede(e)
                self._new_entry(item, a.qty, SET, lab, line_id)
                self._touch(item)
                self.accepted.append(Applied(item, a.qty - cur, a.qty))
        elif a.kind == SUB:
            dec = min(a.qty, cur)
            if dec > 0:
                self._new_entry(item, -dec, SUB, self._label_for(item, label), line_id)
                self._touch(item)
                self.accepted.append(Applied(item, -dec, cur - dec))

    def _cancel_item(self, item: str) -> None:
        assert self.deal is not None
        rows = self.deal.active_of(self.chat.row.chat_key, self.msg.sender_id, item)
        if not rows:
            return
        before = sum(e.qty for e in rows)
        for e in rows:
            self._supersede(e)
        self._touch(item)
        if before:
            self.accepted.append(Applied(item, -before, 0))

    # -- undo (edits and withdrawals) ------------------------------------------------------

    def undo(self, target_id: str, *, for_edit: bool) -> bool:
        """Undo what message ``target_id`` of this sender did. False if there was nothing to undo."""
        info = self.chat.messages.get(target_id)
        if info is None or info.sender_id != self.msg.sender_id:
            return False
        deal = self.deal
        ck = self.chat.row.chat_key
        if deal is not None:
            created = [deal.entries[i] for i in self.chat.entries_by_msg.get(target_id, []) if i in deal.entries]
            superseded = [deal.entries[i] for i in self.chat.superseded_by_seq.get(info.seq, []) if i in deal.entries]
            for e in created:
                later = self.chat.last_touch.get((e.sender_id, e.item_code), 0) > info.seq
                if e.removed or (e.kind != "entry" and later):
                    continue
                before = deal.sender_total(ck, e.sender_id, e.item_code)
                deal.set_active(e, superseded_seq=e.superseded_seq, removed=True)
                self._updated(e)
                self._note_change(e.item_code, before)
            for e in superseded:
                if e.superseded_seq != info.seq or e.removed:
                    continue
                if self.chat.last_touch.get((e.sender_id, e.item_code), 0) > info.seq:
                    continue
                before = deal.sender_total(ck, e.sender_id, e.item_code)
                deal.set_active(e, superseded_seq=None, removed=False)
                self._updated(e)
                self._note_change(e.item_code, before)
        own = [self.chat.lines[lid] for lid in self.chat.lines_by_msg.get(target_id, [])]
        for ln in own:
            if ln.alive:  # still seen (others' copies posted it too); an edit re-posts what it keeps
                ln.alive = False
                self.changes.lines_updated.append(ln)
        ids = {ln.id for ln in own}
        if ids:  # an owner's line these replaced comes back as the current version of its number+label
            for old in self.chat.lines.values():
                if old.replaced_by in ids:
                    old.replaced_by = None
                    if old.number is not None and old.label:
                        self.chat.by_num_label[(old.number, old.label)] = old
                    self.changes.lines_updated.append(old)
        return True

    def _note_change(self, item: str, before: int) -> None:
        assert self.deal is not None
        after = self.deal.sender_total(self.chat.row.chat_key, self.msg.sender_id, item)
        if after != before:
            self.accepted.append(Applied(item, after - before, after))

    # -- lines -------------------------------------------------------------------------------

    def add_line(self, key: str, number: str | None, label: str, owner: str, *, alive: bool = True,
                 replaced_by: int | None = None) -> LineRow:
        ln = LineRow(
            id=self.st.next_line_id, chat_key=self.chat.row.chat_key, text_key=key, number=number,
            label=label, owner_id=owner, message_id=self.msg.message_id, seq=self.seq, alive=alive,
            replaced_by=replaced_by, deal_id=self.deal.row.id if self.deal is not None else None,
        )
        self.st.next_line_id += 1
        self.chat.index_line(ln, over=self.msg.edit_of)
        self.changes.lines_added.append(ln)
        return ln

    def notices(self) -> None:
        for kind, probs in (("unclear", self.unclear), ("refused", self.refused)):
            for p in probs:
                self.changes.notices.append(
                    NoticeRow(self.chat.row.chat_key, self.msg.message_id, self.seq, kind, p.replay_reason())
                )


def _later(ts: datetime, cutoff: datetime) -> bool:
    if ts.tzinfo is None or cutoff.tzinfo is None:
        return ts.replace(tzinfo=None) > cutoff.replace(tzinfo=None)
    return ts > cutoff

