"""Changes that name no item (改成3, 再加1, 减1, -1) and the question they leave open (§3.6).

Such a change is about the one item the sender has. With none or several it is unclear, and the
bot asks which item; the sender's next message within :data:`ANSWER_WINDOW` that names only an
item, with or without a number (``血橙``, ``血橙3``), answers it: ``改成3`` then ``血橙3`` sets
血橙 to 3, it does not add 3 more.

Likewise a line whose item word fits several items (``葡萄2`` when the deal offers 葡萄 5斤装 and
葡萄 10斤装, the variants of one product) is unclear and the bot asks which; the sender's next
message within the window that names one of those items (``5斤装``, ``10斤装葡萄``) answers it with
the line's own change and number: ``葡萄2`` then ``5斤装`` orders 2 of 葡萄 5斤装.

The open question is state of the order service. It is not stored on its own: the message that
asked is stored with kind ``ask`` (:data:`bot.ports.ASK_KIND`), and on restart the question is read again from it
(see :func:`question_from_text`), so a restart between question and answer changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.catalog import Catalog
from bot.engine.entry import ADD, CANCEL_ITEM, ENTRY, PLUS, SET, SUB, Action, EntryParse
from bot.engine.reader import read_message
from bot.services.outcome import AMBIGUOUS_ITEM, NO_ITEM, Problem

ANSWER_WINDOW = timedelta(minutes=10)
_CHANGES = (SET, ADD, SUB)


@dataclass(frozen=True, slots=True)
class Question:
    """A change waiting for its item: ``kind`` (entry/plus/set/add/sub/cancel_item) by ``qty``, asked at
    ``asked_at``; ``candidates``: the item codes an ambiguous word fitted (the answer must name one),
    empty for an item-less change (any item answers)."""

    message_id: str
    asked_at: datetime
    kind: str
    qty: int
    candidates: tuple[str, ...] = ()


def answer(parse: EntryParse, question: Question | None, now: datetime) -> EntryParse | None:
    """``parse`` read as the answer to ``question``, or None when it is no answer.

    An answer names only an item: one plain (item, quantity) pair, no label, nothing unclear,
    sent within :data:`ANSWER_WINDOW` of the question. Its number, when written, replaces the
    question's (``改成3`` then ``血橙5`` sets 血橙 to 5).
    """
    if question is None or not _within(question.asked_at, now):
        return None
    if parse.problems or parse.label or len(parse.actions) != 1:
        return None
    a = parse.actions[0]
    if a.kind not in (ENTRY, PLUS) or a.item is None:
        return None
    if question.candidates and a.item not in question.candidates:
        return None
    qty = a.qty if a.stated else question.qty
    return replace(parse, actions=[Action(question.kind, a.item, qty, a.words)], problems=[])


def place(parse: EntryParse, held: list[str], message_id: str, now: datetime) -> tuple[EntryParse, Question | None]:
    """Give each item-less change of ``parse`` the sender's one item (``held``: codes the sender has).

    With none or several held items the change is unclear (``no_item``) and the returned
    question waits for the answer. Returns the parse to apply and the question (or None).
    """
    if not any(a.item is None and a.kind in _CHANGES for a in parse.actions):
        return parse, None
    actions: list[Action] = []
    problems = list(parse.problems)
    question: Question | None = None
    for a in parse.actions:
        if a.item is not None or a.kind not in _CHANGES:
            actions.append(a)
        elif len(held) == 1:
            actions.append(replace(a, item=held[0]))
        else:
            problems.append(Problem(NO_ITEM, a.words))
            question = Question(message_id, now, a.kind, a.qty)
    return replace(parse, actions=actions, problems=problems), question


_ASKABLE = (ENTRY, PLUS, SET, ADD, SUB, CANCEL_ITEM)


def ambiguity_question(parse: EntryParse, message_id: str, now: datetime) -> Question | None:
    """The question a line of an ambiguous item leaves open (``葡萄2`` with two 葡萄 on sale), or None.

    Only a message with exactly one such line, and whose line says a usable change, asks: with two
    unclear words the answer could not tell which it answers.
    """
    found = [p for p in parse.problems if p.code == AMBIGUOUS_ITEM]
    if len(found) != 1 or any(p.code != AMBIGUOUS_ITEM for p in parse.problems):
        return None
    p = found[0]
    if p.mode not in _ASKABLE or (p.qty <= 0 and p.mode != CANCEL_ITEM):
        return None
    return Question(message_id, now, p.mode, p.qty, p.candidates)


def question_from_text(text: str, catalog: Catalog, message_id: str, asked_at: datetime,
                       now: datetime | None = None) -> Question | None:
    """The question a stored ``ask`` message left open, read again from its text (after a restart)."""
    if now is not None and not _within(asked_at, now):
        return None
    entry = read_message(text, catalog, ()).entry
    if entry is None:
        return None
    for a in entry.actions:
        if a.item is None and a.kind in _CHANGES:
            return Question(message_id, asked_at, a.kind, a.qty)
    return ambiguity_question(entry, message_id, asked_at)


def _within(asked_at: datetime, now: datetime) -> bool:
    if (asked_at.tzinfo is None) != (now.tzinfo is None):
        asked_at, now = asked_at.replace(tzinfo=None), now.replace(tzinfo=None)
    return timedelta(0) <= now - asked_at <= ANSWER_WINDOW
