"""Pickup: /verify /picked (and 「已取」 in reply) /unverify /unpicked /arrived, the resident's 自提 point,
and the scheduled reminder of who has not picked up (:mod:`bot.leaderday_commands` shares the rest)."""

from __future__ import annotations

from collections import defaultdict

from bot import messages as m
from bot.commands import Invocation, group_title
from bot.context import Core
from bot.leaderday_commands import (
    actor_of,
    answer,
    at_of,
    deal_for,
    leaderday_of,
    mentions_of,
    not_found,
    when_of,
    who,
)
from bot.model import Mention
from bot.registry import ANYONE, command
from bot.rooms import Room, parse_room
from bot.usecases.leaderday import Household, LeaderDay

# --- pickup verification ---------------------------------------------------------------------------


async def _verify(core: Core, inv: Invocation, *, query: str = "", code: str = "", sender_id: str = "",
                  message_id: str = "") -> None:
    found = await deal_for(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    async with core.lock:
        res = day.verify(deal_id, actor_of(inv, key), core.now(), query=query, code=code, sender_id=sender_id,
                         message_id=message_id)
    if await not_found(core, inv, res, query, code=code):
        return
    assert res.household is not None and res.marks is not None
    if res.status == "already":
        await answer(core, inv, m.ALREADY_VERIFIED.format(when=when_of(core, res.marks.picked_at),
                                                        by=res.marks.picked_by_name or ""))
        return
    await answer(core, inv, m.VERIFIED.format(who=who(res.household), number=res.household.number))


@command("verify", aliases=("核销",), group_only=True, help=m.HELP_VERIFY)
async def cmd_verify(core: Core, inv: Invocation) -> None:
    code = inv.arg.strip()
    if not code:
        await answer(core, inv, m.VERIFY_USAGE)
        return
    await _verify(core, inv, code=code)


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


@command("unverify", aliases=("撤销核销",), group_only=True, help=m.HELP_UNVERIFY)
async def cmd_unverify(core: Core, inv: Invocation) -> None:
    found = await deal_for(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    arg = inv.arg.strip()
    code = arg if arg.isdigit() else ""
    query = "" if code else arg
    async with core.lock:
        res = day.unverify(deal_id, actor_of(inv, key), core.now(), query=query, code=code)
    if await not_found(core, inv, res, query, code=code):
        return
    if res.status == "not_picked":
        await answer(core, inv, m.UNVERIFY_NOTHING)
    elif res.status == "late" and res.household is not None and res.marks is not None:
        await answer(core, inv, m.UNVERIFY_LATE.format(who=who(res.household), when=when_of(core, res.marks.picked_at)))
    elif res.household is not None:
        await answer(core, inv, m.UNVERIFIED.format(who=who(res.household)))


@command("unpicked", aliases=("未取",), one_group=True, help=m.HELP_UNPICKED)
async def cmd_unpicked(core: Core, inv: Invocation) -> None:
    """In the group: the roll-call (each resident mentioned, phones masked, by label and 跟团号, no
    pickup code), grouped by building. In a leader's private chat (``/unpicked [group]``): the same
    households with their pickup codes, for the leader alone."""
    found = await deal_for(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    to = inv.chat if inv.private else None
    header = m.GROUP_HEADING.format(group=group_title(core, key)) if to else ""
    if not await post_unpicked(core, day, deal_id, key, header=header, to=to):
        await core.send(to or key, m.UNPICKED_NONE)


async def post_unpicked(core: Core, day: LeaderDay, deal_id: str, key: str, *, header: str = "",
                        to: str | None = None) -> bool:
    """Post the roll-call of the group's households not yet picked up in the group ``key``: by
    mention, label and 跟团号, never a pickup code (every neighbour reads the group, and a code said at
    the pickup point takes the goods). ``to`` (a leader's private chat): sent there instead, without
    mentions, each row with its pickup code. False when nobody is left to pick up."""
    async with core.lock:
        rows = day.unpicked(deal_id, key)
    if not rows:
        return False
    by_building: dict[int | None, list[tuple[Room | None, Household, str]]] = defaultdict(list)  # code: `to` only
    for h, mk in rows:
        room = _room_of(h)
        by_building[room.building if room else None].append((room, h, mk.pickup_code))
    lines, named = [m.UNPICKED_TITLE.format(n=len(rows))], []
    if header:
        lines.insert(0, header)
    for building in sorted(by_building, key=lambda b: (b is None, b or 0)):
        heading = m.UNPICKED_BUILDING_OF.format(n=building) if building is not None else m.UNPICKED_OTHER
        lines.append(m.UNPICKED_BUILDING.format(building=heading))
        for _room, h, code in sorted(by_building[building], key=lambda t: (t[0] or Room(0, 0, 0), t[1].number)):
            if to is None:
                lines.append(m.UNPICKED_ROW.format(at=at_of(h), who=who(h), number=h.number))
            else:
                lines.append(m.UNPICKED_ROW_CODE.format(who=who(h), number=h.number, code=code))
            named.append(h)
    if to is not None:
        return await core.send(to, "\n".join(lines)) is not None
    await core.send_mentioning(key, "\n".join(lines), mentions_of(named))
    return True


async def unpicked_reminder(core: Core, chat_key: str, text: str = "") -> bool:
    """The scheduled reminder (``kind = "unpicked"``): on a day after the goods arrived (a leader's
    /arrived), the households not yet picked up are reminded, once per round. False when nothing
    was posted (no round, no arrival before today, everyone picked up, or already reminded)."""
    day = leaderday_of(core)
    async with core.lock:
        current = core.current(chat_key)
    if day is None or current is None:
        return False
    deal_id, tz = current[0], core.config.bot.tz
    today = core.now().astimezone(tz).date()
    async with core.lock:
        arrived = [r["at"] for r in day.audit(deal_id) if r["action"] == "arrived" and r["chat_key"] == chat_key]
        if not arrived or min(arrived).astimezone(tz).date() >= today or not day.unpicked(deal_id, chat_key):
            return False
        if not core.service.repo.claim_mark(f"unpicked-reminder:{deal_id}:{chat_key}", core.now()):
            return False
    return await post_unpicked(core, day, deal_id, chat_key, header=text or m.UNPICKED_REMINDER)


def _room_of(h: Household) -> Room | None:
    """The household's door (:func:`bot.rooms.parse_room`): from the first label naming one, else
    the resident's name (nicknames such as ``3-402 王姐``; not for a neighbour they ordered for);
    None: it goes last, under 其他."""
    names = h.labels if h.proxy else (*h.labels, h.name)
    return next((r for r in map(parse_room, names) if r is not None), None)


@command("arrived", aliases=("到货",), group_only=True, help=m.HELP_ARRIVED)
async def cmd_arrived(core: Core, inv: Invocation) -> None:
    found = await deal_for(core, inv)
    if found is None:
        return
    day, deal_id, key = found
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
        text = m.UNKNOWN_POINT.format(point=inv.arg, points="、".join(points))
    else:
        text = m.POINT_CHOSEN.format(point=chosen)
    await core.send(msg.chat_key, text, reply_to=msg.message_id, mention=mention)
