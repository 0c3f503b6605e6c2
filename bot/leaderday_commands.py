"""The leader's day after the cutoff in the chat: what its commands share (finding the round and the
household, answering, roll-call mentions), the plain words that run them (「已取」 in reply, 「自提 东门」)
and the marks /my shows. The commands: :mod:`bot.pickup_commands` (/verify /picked /unverify
/unpicked /arrived, 自提) and :mod:`bot.settle_commands` (/paid /unpaid /refund /short /add), on
:class:`bot.usecases.leaderday.LeaderDay`.

Registered with :func:`bot.registry.command` when :mod:`bot.commands` loads; the permission check
is :func:`bot.commands.run_command`'s (leader commands: the group's leaders only). Group posts never
show a phone number whole (:func:`bot.phones.mask_phones`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot import messages as m
from bot import render
from bot.commands import Invocation
from bot.context import Core
from bot.model import InboundMessage, Mention
from bot.phones import mask_phones
from bot.usecases.leaderday import (
    PROXY_PREFIX,
    Actor,
    Household,
    LeaderDay,
    Marks,
    Result,
    is_code_shaped,
)

PICKED_WORDS = ("已取", "已取货", "✅", "✔", "✔️")
"""A leader's reply to a resident's message with one of these verifies that household."""
_POINT_WORD = re.compile(r"^\s*自提点?\s*[:：]?\s*(\S{1,16})\s*$")


def leaderday_of(core: Core) -> LeaderDay | None:
    """The use cases on the core's store; None when the store is not a SQL store."""
    repo = core.service.repo
    if not hasattr(repo, "engine"):
        return None

    def config_points(chat_key: str) -> tuple[str, ...]:
        group = core.config.group_of_chat(chat_key)
        return group.pickup_points if group is not None else ()

    return LeaderDay(repo, config_points)


def plain_word(msg: InboundMessage, leader: bool) -> tuple[str, str] | None:
    """A plain message that runs a command of this module: a leader's reply 「已取」/✅ to a
    resident's message (→ /picked), or 「自提 东门」 (→ /point 东门); None otherwise."""
    text = unicodedata.normalize("NFKC", msg.text).strip()
    if leader and msg.reply_to and not msg.is_private and text in PICKED_WORDS:
        return "picked", ""
    hit = _POINT_WORD.match(text)
    if hit is not None and not msg.is_private:
        return "point", hit.group(1)
    return None


def who(h: Household) -> str:
    """A household as the group sees it: its label (phones masked), with the name when the label
    lacks it; a neighbour's with who ordered for them (``6栋101刘奶奶(王姐代订)``)."""
    label = h.label
    if h.proxy:
        text = label + m.SORT_PROXY.format(who=h.name)
    elif h.name in label or h.sender_id.startswith(PROXY_PREFIX):
        text = label
    else:
        text = f"{label}({h.name})"
    return mask_phones(text)


def at_of(h: Household) -> str:
    """The row's ``@name``: a proxy household (a neighbour) is no member of the chat, and is only written."""
    return "" if h.proxy or h.sender_id.startswith(PROXY_PREFIX) else m.MENTION_AT.format(name=h.name)


def mentions_of(households: list[Household]) -> list[Mention]:
    return [Mention(user_id=h.sender_id, name=h.name) for h in households if at_of(h)]


def when_of(core: Core, at: datetime | None) -> str:
    if at is None:
        return ""
    local, now = at.astimezone(core.config.bot.tz), core.now().astimezone(core.config.bot.tz)
    day = "今天" if local.date() == now.date() else f"{local.month}月{local.day}日"
    return f"{day} {local:%H:%M}"


async def deal_for(core: Core, inv: Invocation) -> tuple[LeaderDay, str, str] | None:
    """(use cases, deal id, group chat key) of the invocation's group; says why not when there is none."""
    day = leaderday_of(core)
    key = inv.targets[0] if inv.targets else inv.chat
    async with core.lock:
        current = core.current(key)
    if current is None or day is None:
        await core.send(inv.chat, m.NO_DEAL, reply_to=inv.msg.message_id)
        return None
    return day, current[0], key


@dataclass(frozen=True, slots=True)
class Round:
    """A round a leader still works (:meth:`LeaderDay.worked_rounds`): its deal id, the name the chat
    gives it (:func:`bot.usecases.history.round_name`, ``水果团 11月28日``) and whether it is closed."""

    deal_id: str
    name: str
    closed: bool


def round_of(core: Core, deal_id: str) -> Round:
    """A deal as a :class:`Round` (hold the core's lock)."""
    row = core.service.repo.get_deal(deal_id)
    assert row is not None
    from bot.usecases.history import round_name

    title = row.title or core.service.catalog_of(deal_id).title
    return Round(deal_id, round_name(title, row.created_at, core.config.bot.tz), row.status != "open")


async def rounds_for(core: Core, inv: Invocation) -> tuple[LeaderDay, list[Round], str] | None:
    """(use cases, the rounds the invocation's group still works: the current one first, then
    earlier closed ones still picked up or paid, group chat key); says why not when there is none."""
    found = await deal_for(core, inv)
    if found is None:
        return None
    day, deal_id, key = found
    async with core.lock:
        rounds = worked(core, day, key, deal_id)
    return day, rounds, key


def worked(core: Core, day: LeaderDay, key: str, current_id: str) -> list[Round]:
    """The group's worked rounds (:meth:`LeaderDay.worked_rounds`) as :class:`Round`. Two of one name
    (one title, opened the same day) are told apart: the current one as 本期, an earlier one by the
    time it closed, and, were that the same too, by the start of its id (hold the lock)."""
    rounds = [round_of(core, d) for d in day.worked_rounds(key, current_id, core.now())]
    names = [r.name for r in rounds]
    if len(set(names)) == len(names):
        return rounds
    out = []
    for i, r in enumerate(rounds):
        if names.count(r.name) == 1:
            out.append(r)
            continue
        row = core.service.repo.get_deal(r.deal_id)
        closed = row.closed_at.astimezone(core.config.bot.tz) if row is not None and row.closed_at else None
        tag = m.ROUND_CURRENT if i == 0 else m.ROUND_CLOSED_AT.format(at=f"{closed:%H:%M}") if closed else r.deal_id[:4]
        out.append(Round(r.deal_id, f"{r.name} {tag}", r.closed))
    tagged = [r.name for r in out]
    return [r if tagged.count(r.name) == 1 else Round(r.deal_id, f"{r.name} {r.deal_id[:4]}", r.closed) for r in out]


def pickup_round(rounds: list[Round]) -> Round:
    """The round whose goods are handed out (/arrived, /short): the latest closed one still worked,
    else the current one."""
    return next((r for r in rounds if r.closed), rounds[0])


async def choose_round(core: Core, inv: Invocation, day: LeaderDay, rounds: list[Round], key: str,
                       wanted: Callable[[Marks], bool], said: str = "", **how: str) -> tuple[Round, str] | None:
    """The round a command about one household acts in, and the words naming it in the answer ("" when
    the household is in one round only). The household is looked for in each worked round; of the
    rounds where it is, those where ``wanted(marks)`` holds (e.g. not yet picked up) are preferred,
    and of those the earliest (its goods have waited longest). None, said why, when it is in no
    round or the words (``said``, as typed) name several households of one round. ``how``: the
    household as :meth:`LeaderDay.find` takes it."""
    if len(rounds) == 1:
        return rounds[0], ""
    hits: list[tuple[Round, Result]] = []
    async with core.lock:
        for r in rounds:
            hits.append((r, day.find(r.deal_id, key, **how)))
    ok = [(r, res) for r, res in hits if res.status == "ok" and res.marks is not None]
    if not ok:
        worst = next((res for _r, res in hits if res.status == "ambiguous"), hits[0][1])
        word = how.get("word", "")
        await not_found(core, inv, worst, said or word,
                        code=how.get("code", "") or (word if is_code_shaped(word) else ""))
        return None
    best = [(r, res) for r, res in ok if res.marks is not None and wanted(res.marks)] or ok
    chosen = best[-1][0]  # rounds are latest first
    return chosen, (m.IN_ROUND.format(round=chosen.name) if len(ok) > 1 else "")


def actor_of(inv: Invocation, key: str) -> Actor:
    return Actor(key, inv.msg.sender_id, inv.msg.sender_name)


async def answer(core: Core, inv: Invocation, text: str) -> None:
    """Answer the command in its chat (a group: a phone number echoed back is masked)."""
    await core.send(inv.chat, mask_phones(text), reply_to=inv.msg.message_id)


async def not_found(core: Core, inv: Invocation, res: Result, query: str, *, code: str = "") -> bool:
    """Say why no single household was found; False when one was."""
    if res.status == "none":
        text = m.NO_CODE.format(code=code) if code else m.NO_HOUSEHOLD.format(query=query) if query \
            else m.NO_HOUSEHOLD_REPLY
        await answer(core, inv, text)
        return True
    if res.status == "ambiguous":
        # no pickup codes here: this is said in the group; the 跟团号 names each one to the leader
        lines = [m.CANDIDATE_LINE.format(who=who(h), number=h.number) for h in res.candidates]
        await answer(core, inv, m.AMBIGUOUS_HOUSEHOLD.format(query=query, example=res.candidates[0].number,
                                                             candidates="\n".join(lines)))
        return True
    return False


def deal_of(core: Core, chat_key: str) -> str:
    row = core.service.deal_of(chat_key)
    assert row is not None
    return row.id


def my_earlier(core: Core, chat_key: str, sender_id: str, *, private: bool) -> tuple[str, bool]:
    """The resident's households in the group's earlier rounds still worked
    (:meth:`LeaderDay.worked_rounds`) that are not picked up yet: per round, its name, goods,
    amount, 跟团号 and marks (:func:`my_marks`: the pickup code only when ``private``); and whether a
    pickup code of theirs there is still to be used. ("", False) when there is none (hold the lock)."""
    day = leaderday_of(core)
    current = core.current(chat_key)
    if day is None or current is None:
        return "", False
    parts, pending = [], False
    for r in worked(core, day, chat_key, current[0])[1:]:
        deal_id = r.deal_id
        theirs = day.theirs(deal_id, chat_key, sender_id)
        if not theirs or all(mk.picked for _h, mk in theirs):
            continue
        catalog = core.service.catalog_of(deal_id)
        totals: dict[str, int] = {}
        for h, _mk in theirs:
            for code, qty in h.items.items():
                totals[code] = totals.get(code, 0) + qty
        numbers = render.my_numbers((h for h, _mk in theirs), private=private)
        text = m.MY_EARLIER.format(round=r.name, goods=render.goods(totals, catalog, units=True),
                                   amount=render.money(sum((h.amount for h, _mk in theirs), Decimal(0))))
        text += m.MY_NUMBER.format(numbers=numbers)
        marks, still = my_marks(core, chat_key, sender_id, private=private, deal_id=deal_id)
        parts.append(f"{text}\n{marks}" if marks else text)
        pending = pending or still
    return "\n".join(parts), pending


def my_marks(core: Core, chat_key: str, sender_id: str, *, private: bool, deal_id: str = "") -> tuple[str, bool]:
    """The resident's point, paid and picked marks in the chat's deal (``deal_id``: that round's
    instead), and whether a pickup code
    is still to be used (a household of theirs not picked up); ("", False) when they have none (hold
    the core's lock).

    ``private`` (their private chat with the bot): with the pickup code of their own household and
    of each neighbour's they ordered for (``帮邻居…``). Otherwise (a group, read by every neighbour)
    no code at all: whoever says a code at the pickup point takes the goods.
    """
    day = leaderday_of(core)
    current = core.current(chat_key)
    if day is None or current is None:
        return "", False
    theirs = day.theirs(deal_id or current[0], chat_key, sender_id)
    if not theirs:
        return "", False
    own = [(h, mk) for h, mk in theirs if not h.proxy]
    _h, mk = own[0] if own else theirs[0]
    picked = m.MY_PICKED if mk.picked else ""
    if mk.refund_amount > 0:
        picked += m.MY_REFUNDED.format(amount=render.money(mk.refund_amount))
    point, paid = mk.pickup_point or "-", m.MY_PAID if mk.paid else m.MY_UNPAID
    if private and own:
        text = m.MY_MARKS.format(code=mk.pickup_code, point=point, paid=paid, picked=picked)
    else:  # a group; or privately, only neighbours' orders (their codes follow)
        text = m.MY_MARKS_GROUP.format(point=point, paid=paid, picked=picked)
    if private:  # a neighbour's code is used up once picked: not repeated
        text += "".join("\n" + m.MY_NEIGHBOUR_CODE.format(who=who(h), code=hm.pickup_code)
                        for h, hm in theirs if h.proxy and not hm.picked)
    return text, any(not hm.picked for _, hm in theirs)


from bot import pickup_commands, settle_commands  # noqa: E402,F401  (their commands register; they import this)

__all__ = ["plain_word", "my_marks", "leaderday_of", "who", "at_of", "mentions_of", "when_of", "deal_for", "actor_of",
           "answer", "not_found"]
