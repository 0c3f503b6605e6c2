"""Apply one message's reading to the live state, collecting the changeset to commit (§3.3, §3.6, §3.8)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.engine.entry import ADD, CANCEL_ALL, CANCEL_ITEM, ENTRY, PLUS, SET, SUB, Action, EntryParse
from bot.model import InboundMessage
from bot.ports import Changeset, EntryRow, LineRow, NoticeRow
from bot.services.outcome import AFTER_CUTOFF, DEAL_CLOSED, OVER_MAX, SOLD_OUT, Applied, Problem
from bot.services.state import ChatState, DealState, active


class Ids(Protocol):
    """Where a message's entry and line ids come from: the store's id blocks, taken under the deal's lock."""

    def next_id(self) -> int: ...


@dataclass
class Work:
    """The running result of one message: what changed, what was accepted, unclear or refused."""

    ids: Ids
    chat: ChatState
    deal: DealState | None
    msg: InboundMessage
    seq: int
    changes: Changeset
    accepted: list[Applied] = field(default_factory=list)
    unclear: list[Problem] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)
    _written: set[int] = field(default_factory=set)  # ids already in changes.entries_updated
    replaces: str | None = None  # an edit: the version it replaces (the original, or its latest edit)

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
            id=self.ids.next_id(), deal_id=self.deal.row.id, chat_key=self.chat.row.chat_key,
            sender_id=self.msg.sender_id, sender_name=self.msg.sender_name, label=label, item_code=item,
            qty=qty, kind=kind, message_id=self.msg.message_id, seq=self.seq, line_id=line_id,
        )
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

    def _label_for(self, item: str, fallback: str) -> str:
        if fallback:
            return fallback
        assert self.deal is not None
        rows = self.deal.active_of(self.chat.row.chat_key, self.msg.sender_id, item)
        if rows:
            return rows[-1].label
        own = self.chat.entries_by_msg.get(self.msg.message_id)
        return self.deal.entries[own[-1]].label if own else ""

    # -- the one check every change of a quantity goes through (§3.5, §3.6, §3.8) -------------

    def change(self, item: str, words: str, *, drop: Sequence[EntryRow] = (), remove: Sequence[EntryRow] = (),
               restore: Sequence[EntryRow] = (), add: int = 0, sub: int = 0, kind: str = ENTRY,
               label: str = "", line_id: int | None = None) -> tuple[int, int] | None:
        """Change the sender's quantity of ``item`` in one step, or refuse the step whole.

        The step, in order: ``drop`` (rows this message supersedes: a set, a cancel, a replaced
        copy line), ``remove`` (rows of an edited or withdrawn message) and ``restore`` (rows an
        edited or withdrawn change had superseded) give the base; a base below 0 becomes 0 (every
        other active row of the sender's item is superseded too: §3.8, never below 0); then a new
        row of ``add`` more, or of ``sub`` less (at most the base, §3.6 "never below 0").

        A step that ends above where it started is checked like a new entry (§3.5 ``max_qty``,
        §3.8 stock, withdrawals and edits included): when it does not fit, nothing changes, a
        problem (``over_max`` or ``sold_out``, detail ``words``) goes to ``refused`` and the result
        is None. Otherwise returns ``(before, after)``, the sender's totals around the step. A step
        that ends lower never fails. So, after every step: the sender's total is >= 0, the deal's
        total of the item is at most its stock, and an increase leaves the sender within max_qty.
        """
        deal = self.deal
        assert deal is not None
        ck, sid = self.chat.row.chat_key, self.msg.sender_id
        before = deal.sender_total(ck, sid, item)
        leaving = {e.id for e in (*drop, *remove)}
        going = {e.id: e for e in (*drop, *remove) if active(e)}
        coming = {e.id: e for e in restore if not active(e) and not e.removed and e.id not in leaving}
        base = before - sum(e.qty for e in going.values()) + sum(e.qty for e in coming.values())
        floor = base < 0
        base = max(base, 0)
        delta = add if add > 0 else -min(sub, base)
        after = base + delta
        if after > before and not self._room(item, before, after, words, give_back=bool(remove or restore),
                                             kind=kind):
            return None
        for e in drop:
            if active(e):
                self._supersede(e)
        for e in remove:
            if not e.removed:
                deal.set_active(e, superseded_seq=e.superseded_seq, removed=True)
                self._updated(e)
        for e in coming.values():
            deal.set_active(e, superseded_seq=None, removed=False)
            self._updated(e)
        if floor:  # what is left is below 0: the resident has none
            for e in deal.active_of(ck, sid, item):
                self._supersede(e)
        if delta:
            self._new_entry(item, delta, kind, label, line_id)
        return before, after

    def _room(self, item: str, before: int, after: int, words: str, *, give_back: bool, kind: str = ENTRY) -> bool:
        """Whether raising the sender's ``item`` from ``before`` to ``after`` fits max_qty and stock.

        If not, the problem goes to ``refused``; ``give_back``: the raise is what an edit or a
        withdrawal would give back. A ``kind`` SET (改成) that does not fit the stock says so:
        its problem's ``mode`` is SET and ``qty`` the most the sender's total can be set to.
        """
        assert self.deal is not None
        cat = self.deal.catalog
        if cat.max_qty is not None and after > cat.max_qty:
            self.refused.append(Problem(OVER_MAX, words, item, give_back=give_back))
            return False
        it = cat.by_code(item)
        if it is not None and it.stock is not None and self.deal.totals.get(item, 0) + after - before > it.stock:
            left = max(0, it.stock - self.deal.totals.get(item, 0))
            most = (before + left) if kind == SET else 0
            self.refused.append(Problem(SOLD_OUT, words, item, give_back=give_back, left=left,
                                        mode=SET if most else "", qty=most))
            return False
        return True

    def apply_entry(self, parse: EntryParse, line_id: int | None = None,
                    replaces: Sequence[EntryRow] = ()) -> None:
        """Apply an entry's actions in order; its problems are unclear.

        ``replaces``: the active rows of the author's own earlier line that this entry's line
        replaces (§3.3): each item's old rows go in the same step as the new line's first action
        on that item (refused whole together: a refused replacement keeps the old entry); items
        the new line no longer names are dropped.
        """
        self.unclear.extend(parse.problems)
        old: dict[str, list[EntryRow]] = {}
        for e in replaces:
            old.setdefault(e.item_code, []).append(e)
        for a in parse.actions:
            drop = old.pop(a.item, []) if a.item is not None else []
            self.apply_action(a, parse.label, line_id, drop=drop)
        for item in sorted(old):
            self._note(item, self.change(item, "", drop=old[item]))

    def apply_action(self, a: Action, label: str, line_id: int | None = None,
                     drop: Sequence[EntryRow] = ()) -> None:
        """Apply one (item, quantity) action of the sender through :meth:`change`.

        ``drop``: rows superseded in the same step (see :meth:`apply_entry`).
        """
        assert self.deal is not None
        ck, sid = self.chat.row.chat_key, self.msg.sender_id
        if a.kind == CANCEL_ALL:
            for c, s, code in list(self.deal.by_key):
                if c == ck and s == sid:
                    self._note(code, self.change(code, "", drop=self.deal.active_of(ck, sid, code)))
            return
        if a.item is None:
            return
        item = a.item
        if self.deal.catalog.by_code(item) is None:
            return
        rows = self.deal.active_of(ck, sid, item)
        if a.kind == CANCEL_ITEM or (a.kind == SET and a.qty == 0):
            self._note(item, self.change(item, a.words, drop=rows))
        elif a.kind in (ENTRY, PLUS, ADD):
            cur = sum(e.qty for e in rows)
            kind = ADD if a.kind == ADD or (a.kind == PLUS and cur > 0) else ENTRY
            res = self.change(item, a.words, drop=drop, add=a.qty, kind=kind, label=self._label_for(item, label),
                              line_id=line_id)
            if res is not None:
                self.accepted.append(Applied(item, res[1] - res[0], res[1]))
        elif a.kind == SET:
            res = self.change(item, a.words, drop=rows, add=a.qty, kind=SET, label=self._label_for(item, label),
                              line_id=line_id)
            if res is not None:
                self.accepted.append(Applied(item, res[1] - res[0], res[1]))
        elif a.kind == SUB:
            self._note(item, self.change(item, a.words, drop=drop, sub=a.qty, kind=SUB,
                                         label=self._label_for(item, label), line_id=line_id))

    def _note(self, item: str, res: tuple[int, int] | None) -> None:
        """Report a step that changed the sender's total."""
        if res is not None and res[0] != res[1]:
            self.accepted.append(Applied(item, res[1] - res[0], res[1]))

    # -- undo (edits and withdrawals) ------------------------------------------------------

    def undo(self, target_id: str, *, for_edit: bool) -> bool:
        """Undo what message ``target_id`` of this sender did (§3.6). False if it is not the sender's.

        Its entries are removed; a change it made (set, add, decrease, cancel, replaced line) is
        reverted for the items no later message of the sender changed again. Each item is one
        step through :meth:`change`: it never takes the sender below 0, and what it gives back
        is checked against stock and max_qty as now, refused whole when it does not fit (§3.8).
        """
        info = self.chat.messages.get(target_id)
        if info is None or info.sender_id != self.msg.sender_id:
            return False
        deal = self.deal
        ck, sid = self.chat.row.chat_key, self.msg.sender_id
        if deal is not None:
            plan: dict[str, tuple[list[EntryRow], list[EntryRow]]] = {}
            for i in self.chat.entries_by_msg.get(target_id, []):
                e = deal.entries.get(i)
                if e is None or e.removed:
                    continue
                if e.kind != ENTRY and deal.last_touch(ck, sid, e.item_code) > info.seq:
                    continue
                plan.setdefault(e.item_code, ([], []))[0].append(e)
            for i in self.chat.superseded_by_seq.get(info.seq, []):
                e = deal.entries.get(i)
                if e is None or e.superseded_seq != info.seq or e.removed:
                    continue
                if deal.last_touch(ck, sid, e.item_code) > info.seq:
                    continue
                plan.setdefault(e.item_code, ([], []))[1].append(e)
            words = "编辑" if for_edit else "撤回"
            for item, (gone, back) in plan.items():
                self._note(item, self.change(item, words, remove=gone, restore=back))
        own = [self.chat.lines[lid] for lid in self.chat.lines_by_msg.get(target_id, [])]
        for ln in own:
            if ln.alive:  # still seen (others' copies posted it too); an edit re-posts what it keeps
                ln.alive = False
                self.changes.lines_updated.append(ln)
        ids = {ln.id for ln in own}
        if ids:  # an owner's line these replaced comes back, unless a newer version stands
            for old in self.chat.lines.values():
                if old.replaced_by in ids:
                    old.replaced_by = None
                    self.changes.lines_updated.append(old)
            for number, label in {(ln.number, ln.label) for ln in own if ln.number is not None and ln.label}:
                self.chat.reindex_num_label(number, label)
        return True

    # -- lines -------------------------------------------------------------------------------

    def add_line(self, key: str, number: str | None, label: str, owner: str, *, alive: bool = True,
                 replaced_by: int | None = None) -> LineRow:
        ln = LineRow(
            id=self.ids.next_id(), chat_key=self.chat.row.chat_key, text_key=key, number=number,
            label=label, owner_id=owner, message_id=self.msg.message_id, seq=self.seq, alive=alive,
            replaced_by=replaced_by, deal_id=self.deal.row.id if self.deal is not None else None,
        )
        self.chat.index_line(ln, over=self.replaces)
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

