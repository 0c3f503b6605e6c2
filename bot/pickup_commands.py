"""Pickup: /verify /picked (and 「已取」 in reply) /unverify /unpicked /arrived, the resident's 自提 point,
and the scheduled reminder of who has not picked up (:mod:`bot.leaderday_commands` shares the rest)."""

from __future__ import annotations

from collections import defaultdict

from bot import messages as m
from bot.commands import Invocation, group_title
from bot.context import Core
from bot.leaderday_commands import (
    Round,
    actor_of,
    answer,
    at_of,
    choose_round,
    leaderday_of,
    mentions_of,
    not_found,
    pickup_round,
    rounds_for,
    when_of,
    who,
    worked,
)
from bot.model import Mention
from bot.phones import mask_phones
from bot.registry import ANYONE, command
from bot.rooms import Room, parse_room
from bot.usecases.leaderday import Household, LeaderDay, is_code_shaped

# --- pickup verification ---------------------------------------------------------------------------


async def _verify(core: Core, inv: Invocation, *, query: str = "", code: str = "", sender_id: str = "",
                  message_id: str = "", word: str = "") -> None:
    found = await rounds_for(core, inv)
    if found is None:
        return
    day, rounds, key = found
    how = {"query": query, "code": code, "sender_id": sender_id, "message_id": message_id, "word": word}
    chosen = await choose_round(core, inv, day, rounds, key, lambda mk: not mk.picked, query or word, **how)
    if chosen is None:
        return
    r, where = chosen
    async with core.lock:
        res = day.verify(r.deal_id, actor_of(inv, key), core.now(), **how)
    if await not_found(core, inv, res, query or word, code=code or (word if is_code_shaped(word) else "")):
        return
    assert res.household is not None and res.marks is not None
    if res.status == "already":
        await answer(core, inv, m.ALREADY_VERIFIED.format(when=when_of(core, res.marks.picked_at),
                                                        by=res.marks.picked_by_name or "") + where)
        return
    await answer(core, inv, m.VERIFIED.format(who=who(res.household), number=res.household.number) + where)


@command("verify", aliases=("核销",), private_group=True, help=m.HELP_VERIFY)
async def cmd_verify(core: Core, inv: Invocation) -> None:
    """By pickup code (best said privately: a code read in the group could be used by anyone), or by
    anything /picked takes (a 跟团号 ``#2``/``2号``, a room, a name): a 4-digit word that is a pickup
    code of the round is that household, even when a room has the same digits."""
    word = inv.arg.strip()
    if not word:
        await answer(core, inv, m.VERIFY_USAGE)
        return
    await _verify(core, inv, word=word)


@command("picked", aliases=("已取",), group_only=True, help=m.HELP_PICKED)
async def cmd_picked(core: Core, inv: Invocation) -> None:
    """By name or label, or (no argument) by replying to the resident's message."""
    if inv.arg.strip():
        await _verify(core, inv, query=inv.arg.strip())
        return
    day = leaderday_of(core)
    if inv.msg.reply_to and day is not None and not inv.private:
        async with core.lock:
            sender = day.sender_of(inv.chat, inv.msg.reply_to)
        if sender is not None:
            await _verify(core, inv, sender_id=sender, message_id=inv.msg.reply_to)
            return
        await answer(core, inv, m.NO_HOUSEHOLD_REPLY)
        return
    await answer(core, inv, m.PICKED_USAGE)


@command("unverify", aliases=("撤销核销",), private_group=True, help=m.HELP_UNVERIFY)
async def cmd_unverify(core: Core, inv: Invocation) -> None:
    """The household named as /verify names it, else the caller's latest verification in the group's
    worked rounds. The household gets a new pickup code, which only the resident's private /my shows
    (the old one may have been typed or said where others read it)."""
    found = await rounds_for(core, inv)
    if found is None:
        return
    day, rounds, key = found
    word = inv.arg.strip()
    where = ""
    if word:
        chosen = await choose_round(core, inv, day, rounds, key, lambda mk: mk.picked_at is not None, word,
                                    word=word)
        if chosen is None:
            return
        r, where = chosen
    else:
        async with core.lock:
            latest = [(mk.picked_at, i) for i, rr in enumerate(rounds)
                      for k, mk in day.marks_for_deal(rr.deal_id).items()
                      if k[0] == key and mk.picked_at is not None and mk.picked_by == inv.msg.sender_id]
        r = rounds[max(latest)[1]] if latest else rounds[0]
    async with core.lock:
        res = day.unverify(r.deal_id, actor_of(inv, key), core.now(), word=word)
    if await not_found(core, inv, res, word, code=word if is_code_shaped(word) else ""):
        return
    if res.status == "not_picked":
        await answer(core, inv, m.UNVERIFY_NOTHING)
    elif res.status == "late" and res.household is not None and res.marks is not None:
        await answer(core, inv, m.UNVERIFY_LATE.format(who=who(res.household), when=when_of(core, res.marks.picked_at)))
    elif res.household is not None and res.marks is not None:
        await answer(core, inv, m.UNVERIFIED.format(who=who(res.household)) + where)


@command("unpicked", aliases=("未取",), one_group=True, help=m.HELP_UNPICKED)
async def cmd_unpicked(core: Core, inv: Invocation) -> None:
    """In the group: the roll-call (each resident mentioned, phones masked, by label and 跟团号, no
    pickup code), grouped by building, of every round the group still works (a closed round being
    picked up while the next one is open). In a leader's private chat (``/unpicked [group]``): the
    same households with their pickup codes, for the leader alone."""
    found = await rounds_for(core, inv)
    if found is None:
        return
    day, rounds, key = found
    to = inv.chat if inv.private else None
    header = m.GROUP_HEADING.format(group=group_title(core, key)) if to else ""
    if not await post_unpicked(core, day, rounds, key, header=header, to=to):
        await core.send(to or key, m.UNPICKED_NONE)


async def post_unpicked(core: Core, day: LeaderDay, rounds: list[Round], key: str, *, header: str = "",
                        to: str | None = None) -> bool:
    """Post the roll-call of the group's households not yet picked up in ``rounds`` in the group
    ``key``: by mention, label and 跟团号, never a pickup code (every neighbour reads the group, and a
    code said at the pickup point takes the goods); each round under its name when more than one has
    any. ``to`` (a leader's private chat): sent there instead, without mentions, each row with its
    pickup code. False when nobody is left to pick up."""
    async with core.lock:
        per_round = [(r, day.unpicked(r.deal_id, key)) for r in rounds]
    per_round = [(r, rows) for r, rows in per_round if rows]
    if not per_round:
        return False
    lines, named = [m.UNPICKED_TITLE.format(n=sum(len(rows) for _r, rows in per_round))], []
    if header:
        lines.insert(0, header)
    for r, rows in per_round:
        if len(per_round) > 1:
            lines.append(m.ROUND_HEADING.format(round=r.name))
        by_building: dict[int | None, list[tuple[Room | None, Household, str]]] = defaultdict(list)  # code: `to`
        for h, mk in rows:
            room = _room_of(h)
            by_building[room.building if room else None].append((room, h, mk.pickup_code))
        for building in sorted(by_building, key=lambda b: (b is None, b or 0)):
            heading = m.UNPICKED_BUILDING_OF.format(n=building) if building is not None else m.UNPICKED_OTHER
            lines.append(m.UNPICKED_BUILDING.format(building=heading))
            for _room, h, code in sorted(by_building[building], key=lambda t: (t[0] or Room(0, 0, 0), t[1].number)):
                if to is None:
                    lines.append(m.UNPICKED_ROW.format(at=at_of(h), who=who(h), number=h.number))
                else:
                    lines.append(m.UNPICKED_ROW_CODE.format(who=who(h), number=h.number, code=code))
                if h not in named:
                    named.append(h)
    if to is not None:
        return await core.send(to, "\n".join(lines)) is not None
    await core.send_mentioning(key, "\n".join(lines), mentions_of(named))
    return True


async def unpicked_reminder(core: Core, chat_key: str, text: str = "") -> bool:
    """The scheduled reminder (``kind = "unpicked"``): for each round the group still works
    (:meth:`LeaderDay.worked_rounds`), on a day after its goods arrived (a leader's /arrived), the
    households not yet picked up are reminded, once per round. False when nothing was posted (no
    round, no arrival before today, everyone picked up, or already reminded)."""
    day = leaderday_of(core)
    async with core.lock:
        current = core.current(chat_key)
    if day is None or current is None:
        return False
    tz = core.config.bot.tz
    today = core.now().astimezone(tz).date()
    async with core.lock:
        rounds = worked(core, day, chat_key, current[0])
    posted = False
    for r in rounds:
        async with core.lock:
            arrived = [a["at"] for a in day.audit(r.deal_id) if a["action"] == "arrived" and a["chat_key"] == chat_key]
            if not arrived or min(arrived).astimezone(tz).date() >= today or not day.unpicked(r.deal_id, chat_key):
                continue
            if not core.service.repo.claim_mark(f"unpicked-reminder:{r.deal_id}:{chat_key}", core.now()):
                continue
        header = text or m.UNPICKED_REMINDER
        if len(rounds) > 1:
            header += m.IN_ROUND.format(round=r.name)
        posted = await post_unpicked(core, day, [r], chat_key, header=header) or posted
    return posted


def _room_of(h: Household) -> Room | None:
    """The household's door (:func:`bot.rooms.parse_room`): from the first label naming one, else
    the resident's name (nicknames such as ``3-402 王姐``; not for a neighbour they ordered for);
    None: it goes last, under 其他."""
    names = h.labels if h.proxy else (*h.labels, h.name)
    return next((r for r in map(parse_room, names) if r is not None), None)


@command("arrived", aliases=("到货",), group_only=True, help=m.HELP_ARRIVED)
async def cmd_arrived(core: Core, inv: Invocation) -> None:
    found = await rounds_for(core, inv)
    if found is None:
        return
    day, rounds, key = found
    deal_id = pickup_round(rounds).deal_id  # the goods that arrive are a closed round's
    arg = inv.arg.strip()
    async with core.lock:
        _all, points = day.at_point(deal_id, key)
    point = points[0] if len(points) == 1 else ""  # a group's only point is named in the notice
    if arg:
        hits = [p for p in points if p == arg] or [p for p in points if arg in p]
        if len(hits) != 1:
            await answer(core, inv, m.UNKNOWN_POINT.format(point=arg, points="、".join(points)) if points
                       else m.NO_POINTS)
            return
        point = hits[0]
    async with core.lock:
        households, _ = day.at_point(deal_id, key, point)
        day.record(deal_id, actor_of(inv, key), core.now(), "arrived", f"point={point} households={len(households)}")
    if not households:
        await answer(core, inv, m.ARRIVED_NOBODY.format(point=point or "、".join(points)))
        return
    title = m.ARRIVED_TITLE.format(point=point, n=len(households)) if point else \
        m.ARRIVED_ANY.format(n=len(households))
    rows = [m.ARRIVED_ROW.format(at=at_of(h), who=who(h)) for h in households]
    await core.send_mentioning(key, "\n".join([title, *rows]), mentions_of(households))


@command("point", role=ANYONE, aliases=("自提", "自提点"), group_only=True, help=m.HELP_POINT)
async def cmd_point(core: Core, inv: Invocation) -> None:
    """A resident picks their pickup point for the current deal (the group's first one by default)."""
    msg = inv.msg
    mention = Mention(user_id=msg.sender_id, name=msg.sender_name)
    day = leaderday_of(core)
    async with core.lock:
        current = core.current(msg.chat_key)
    if msg.is_private or current is None or day is None:
        await core.send(msg.chat_key, m.NO_DEAL, reply_to=msg.message_id)
        return
    async with core.lock:
        chosen, points = day.choose_point(current[0], msg.chat_key, msg.sender_id, inv.arg)
    if not points and not msg.text.lstrip().startswith(("/", "／")):
        return  # 「自提 …」 in a group without pickup points is chatter, not a choice
    if not points:
        text = m.NO_POINTS
    elif not chosen:
        text = m.UNKNOWN_POINT.format(point=mask_phones(inv.arg), points="、".join(points))  # echoed in the group
    else:
        text = m.POINT_CHOSEN.format(point=chosen)
    await core.send(msg.chat_key, text, reply_to=msg.message_id, mention=mention)
