"""Leader commands of the day after the cutoff (/verify /picked /unverify /unpicked /arrived /paid
/unpaid /refund /short /add) and the resident's pickup point (自提 东门), on
:class:`bot.usecases.leaderday.LeaderDay`.

Registered with :func:`bot.registry.command` when :mod:`bot.commands` loads; the permission check
is :func:`bot.commands.run_command`'s (leader commands: the group's leaders only). Group posts never
show a phone number whole (:func:`bot.phones.mask_phones`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from datetime import datetime
from decimal import Decimal, InvalidOperation

from bot import messages as m
from bot import render
from bot.commands import Invocation, group_title, permissions_of
from bot.context import Core
from bot.model import InboundMessage, Mention
from bot.permissions import Caller
from bot.phones import mask_phones
from bot.registry import ANYONE, command
from bot.usecases.leaderday import (
    PROXY_PREFIX,
    Actor,
    Household,
    LeaderDay,
    Result,
    ShortResult,
    building_of,
    find_item,
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
    """A household as the group sees it: its label (phones masked), with the name when the label lacks it."""
    label = h.label
    text = label if h.name in label or h.sender_id.startswith(PROXY_PREFIX) else f"{label}({h.name})"
    return mask_phones(text)


def _at(h: Household) -> str:
    """The row's ``@name``: a proxy household is no member of the chat, and is only written."""
    return "" if h.sender_id.startswith(PROXY_PREFIX) else m.MENTION_AT.format(name=h.name)


def _mentions(households: list[Household]) -> list[Mention]:
    return [Mention(user_id=h.sender_id, name=h.name) for h in households if _at(h)]


def _when(core: Core, at: datetime | None) -> str:
    if at is None:
        return ""
    local, now = at.astimezone(core.config.bot.tz), core.now().astimezone(core.config.bot.tz)
    day = "今天" if local.date() == now.date() else f"{local.month}月{local.day}日"
    return f"{day} {local:%H:%M}"


async def _deal(core: Core, inv: Invocation) -> tuple[LeaderDay, str, str] | None:
    """(use cases, deal id, group chat key) of the invocation's group; says why not when there is none."""
    day = leaderday_of(core)
    key = inv.targets[0] if inv.targets else inv.chat
    async with core.lock:
        current = core.current(key)
    if current is None or day is None:
        await core.send(inv.chat, m.NO_DEAL, reply_to=inv.msg.message_id)
        return None
    return day, current[0], key


def _actor(inv: Invocation, key: str) -> Actor:
    return Actor(key, inv.msg.sender_id, inv.msg.sender_name)


async def _say(core: Core, inv: Invocation, text: str) -> None:
    """Answer the command in its chat (a group: a phone number echoed back is masked)."""
    await core.send(inv.chat, mask_phones(text), reply_to=inv.msg.message_id)


async def _not_found(core: Core, inv: Invocation, res: Result, query: str, *, code: str = "") -> bool:
    """Say why no single household was found; False when one was."""
    if res.status == "none":
        text = m.NO_CODE.format(code=code) if code else m.NO_HOUSEHOLD.format(query=query) if query \
            else m.NO_HOUSEHOLD_REPLY
        await _say(core, inv, text)
        return True
    if res.status == "ambiguous":
        day = leaderday_of(core)
        codes = {}
        if day is not None and res.candidates:
            async with core.lock:
                marks = day.marks_for_deal(_deal_of(core, res.candidates[0].chat_key))
            codes = {k: mk.pickup_code for k, mk in marks.items()}
        lines = [m.CANDIDATE_LINE.format(who=who(h), code=codes.get(h.key, "")) for h in res.candidates]
        await _say(core, inv, m.AMBIGUOUS_HOUSEHOLD.format(query=query, candidates="\n".join(lines)))
        return True
    return False


def _deal_of(core: Core, chat_key: str) -> str:
    row = core.service.deal_of(chat_key)
    assert row is not None
    return row.id


# --- pickup verification ---------------------------------------------------------------------------


async def _verify(core: Core, inv: Invocation, *, query: str = "", code: str = "", sender_id: str = "") -> None:
    found = await _deal(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    async with core.lock:
        res = day.verify(deal_id, _actor(inv, key), core.now(), query=query, code=code, sender_id=sender_id)
    if await _not_found(core, inv, res, query, code=code):
        return
    assert res.household is not None and res.marks is not None
    if res.status == "already":
        await _say(core, inv, m.ALREADY_VERIFIED.format(when=_when(core, res.marks.picked_at),
                                                        by=res.marks.picked_by_name or ""))
        return
    await _say(core, inv, m.VERIFIED.format(who=who(res.household), code=res.marks.pickup_code))


@command("verify", aliases=("核销",), group_only=True, help=m.HELP_VERIFY)
async def cmd_verify(core: Core, inv: Invocation) -> None:
    code = inv.arg.strip()
    if not code:
        await _say(core, inv, m.VERIFY_USAGE)
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
            await _verify(core, inv, sender_id=sender)
            return
        await _say(core, inv, m.NO_HOUSEHOLD_REPLY)
        return
    await _say(core, inv, m.PICKED_USAGE)


@command("unverify", aliases=("撤销核销",), group_only=True, help=m.HELP_UNVERIFY)
async def cmd_unverify(core: Core, inv: Invocation) -> None:
    found = await _deal(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    arg = inv.arg.strip()
    code = arg if arg.isdigit() else ""
    query = "" if code else arg
    async with core.lock:
        res = day.unverify(deal_id, _actor(inv, key), core.now(), query=query, code=code)
    if await _not_found(core, inv, res, query, code=code):
        return
    if res.status == "not_picked":
        await _say(core, inv, m.UNVERIFY_NOTHING)
    elif res.status == "late" and res.household is not None and res.marks is not None:
        await _say(core, inv, m.UNVERIFY_LATE.format(who=who(res.household), when=_when(core, res.marks.picked_at)))
    elif res.household is not None:
        await _say(core, inv, m.UNVERIFIED.format(who=who(res.household)))


@command("unpicked", aliases=("未取",), group_only=True, help=m.HELP_UNPICKED)
async def cmd_unpicked(core: Core, inv: Invocation) -> None:
    """Posted in the group (each resident mentioned, phones masked), grouped by building."""
    found = await _deal(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    if not await post_unpicked(core, day, deal_id, key):
        await core.send(key, m.UNPICKED_NONE)


async def post_unpicked(core: Core, day: LeaderDay, deal_id: str, key: str, *, header: str = "") -> bool:
    """Post the roll-call of the group's households not yet picked up; False when there is none."""
    async with core.lock:
        rows = day.unpicked(deal_id, key)
    if not rows:
        return False
    by_building: dict[str, list[tuple[Household, str]]] = defaultdict(list)
    for h, mk in rows:
        by_building[building_of(h.label)].append((h, mk.pickup_code))
    lines, named = [m.UNPICKED_TITLE.format(n=len(rows))], []
    if header:
        lines.insert(0, header)
    for building in sorted(by_building, key=_building_order):
        lines.append(m.UNPICKED_BUILDING.format(building=building or m.UNPICKED_OTHER))
        for h, code in by_building[building]:
            lines.append(m.UNPICKED_ROW.format(at=_at(h), who=who(h), code=code))
            named.append(h)
    await core.send_mentioning(key, "\n".join(lines), _mentions(named))
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


def _building_order(building: str) -> tuple[int, int]:
    digits = "".join(ch for ch in building if ch.isdigit())
    return (0, int(digits)) if digits else (1, 0)


@command("arrived", aliases=("到货",), group_only=True, help=m.HELP_ARRIVED)
async def cmd_arrived(core: Core, inv: Invocation) -> None:
    found = await _deal(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    arg = inv.arg.strip()
    async with core.lock:
        _all, points = day.at_point(deal_id, key)
    point = ""
    if arg:
        hits = [p for p in points if p == arg] or [p for p in points if arg in p]
        if len(hits) != 1:
            await _say(core, inv, m.UNKNOWN_POINT.format(point=arg, points="、".join(points)) if points
                       else m.NO_POINTS)
            return
        point = hits[0]
    async with core.lock:
        households, _ = day.at_point(deal_id, key, point)
        day.record(deal_id, _actor(inv, key), core.now(), "arrived", f"point={point} households={len(households)}")
    if not households:
        await _say(core, inv, m.ARRIVED_NOBODY.format(point=point or "、".join(points)))
        return
    title = m.ARRIVED_TITLE.format(point=point, n=len(households)) if point else \
        m.ARRIVED_ANY.format(n=len(households))
    rows = [m.ARRIVED_ROW.format(at=_at(h), who=who(h)) for h in households]
    await core.send_mentioning(key, "\n".join([title, *rows]), _mentions(households))


# --- payments -----------------------------------------------------------------------------------------


def _amount(word: str) -> Decimal | None:
    w = unicodedata.normalize("NFKC", word).strip().lstrip("¥￥").removesuffix("元")
    try:
        value = Decimal(w)
    except InvalidOperation:
        return None
    return value.quantize(Decimal("0.01")) if value.is_finite() and value >= 0 else None


def _looks_like_amount(word: str) -> bool:
    w = unicodedata.normalize("NFKC", word).strip()
    return bool(re.fullmatch(r"[¥￥]?\d+(?:\.\d{1,2})?元?", w))


@command("paid", aliases=("已付", "付款"), group_only=True, help=m.HELP_PAID)
async def cmd_paid(core: Core, inv: Invocation) -> None:
    words = inv.arg.split()
    if not words:
        await _say(core, inv, m.PAID_USAGE)
        return
    amount = None
    if len(words) > 1 and _looks_like_amount(words[-1]):
        amount = _amount(words[-1])
        if amount is None:
            await _say(core, inv, m.BAD_AMOUNT.format(word=words[-1]))
            return
        words = words[:-1]
    query = " ".join(words)
    found = await _deal(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    async with core.lock:
        res = day.mark_paid(deal_id, _actor(inv, key), core.now(), query, amount)
    if await _not_found(core, inv, res, query):
        return
    assert res.household is not None and res.marks is not None
    due = res.marks.owed - res.amount
    state = m.PAID_STATE_SHORT.format(due=render.money(due)) if due > 0 else ""
    await _say(core, inv, m.PAID_DONE.format(who=who(res.household), amount=render.money(res.amount), state=state))


@command("unpaid", aliases=("未付",), group_only=True, help=m.HELP_UNPAID)
async def cmd_unpaid(core: Core, inv: Invocation) -> None:
    found = await _deal(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    async with core.lock:
        rows = day.unpaid(deal_id, key)
    if not rows:
        await _say(core, inv, m.UNPAID_NONE)
        return
    total = sum((due for _h, _mk, due in rows), Decimal(0))
    lines = [m.UNPAID_TITLE.format(n=len(rows), total=render.money(total))]
    lines += [m.UNPAID_ROW.format(who=who(h), owed=render.money(mk.owed), paid=render.money(mk.paid_amount or Decimal(0)),
                                  due=render.money(due)) for h, mk, due in rows]
    await _say(core, inv, "\n".join(lines))


# --- after-sale -----------------------------------------------------------------------------------------


@command("refund", aliases=("退款", "售后"), group_only=True, help=m.HELP_REFUND)
async def cmd_refund(core: Core, inv: Invocation) -> None:
    """``/refund WHO ITEM QTY REASON [¥AMOUNT]``; WHO may be several words (``3栋402 王姐``): the
    item is the first word from the end that names one, followed by the quantity."""
    words = inv.arg.split()
    found = await _deal(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    async with core.lock:
        catalog = core.service.catalog_of(deal_id)
    at = next((i for i in range(1, len(words) - 1) if find_item(catalog, words[i]) is not None
               and words[i + 1].isdigit()), None)
    if at is None:
        await _say(core, inv, m.REFUND_USAGE)
        return
    query, item_word, qty_word, rest = " ".join(words[:at]), words[at], words[at + 1], words[at + 2:]
    amount = None
    if rest and (rest[-1][0] in "¥￥" or rest[-1].endswith("元")) and _looks_like_amount(rest[-1]):
        amount = _amount(rest[-1])
        rest = rest[:-1]
    reason = " ".join(rest)
    async with core.lock:
        res = day.refund(deal_id, _actor(inv, key), core.now(), query, item_word, int(qty_word), reason, amount)
    if await _not_found(core, inv, res, query):
        return
    if res.status == "bad_item":
        await _say(core, inv, m.BAD_ITEM.format(item=item_word))
    elif res.status == "bad_qty":
        await _say(core, inv, m.BAD_QTY.format(word=qty_word))
    elif res.status == "too_many" and res.household is not None and res.item is not None:
        await _say(core, inv, m.REFUND_TOO_MANY.format(who=who(res.household), item=m.item_short(res.item),
                                                       left=res.detail["left"]))
    elif res.household is not None and res.item is not None:
        text = m.REPLACE_DONE if res.detail.get("kind") == "replace" else m.REFUND_DONE
        await _say(core, inv, text.format(who=who(res.household), item=m.item_short(res.item), qty=qty_word,
                                          amount=render.money(res.amount), reason=reason or "-"))


@command("short", aliases=("缺货",), group_only=True, help=m.HELP_SHORT)
async def cmd_short(core: Core, inv: Invocation) -> None:
    """Records the short delivery and posts, in the group, who is short (names, masked labels)."""
    words = inv.arg.split()
    if len(words) != 2 or not words[1].isdigit():
        await _say(core, inv, m.SHORT_USAGE)
        return
    found = await _deal(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    async with core.lock:
        chats = {h.chat_key for h in day.households(deal_id)} - {key}
    perms, caller = permissions_of(core), Caller.of(inv.msg)
    others = [k for k in sorted(chats) if not await perms.leads(caller, k)]
    if others:  # a deal shared with groups the caller does not lead: not theirs to refund
        await _say(core, inv, m.SHORT_SHARED_NOT_YOURS.format(groups="、".join(group_title(core, k) for k in others)))
        return
    async with core.lock:
        res = day.short(deal_id, _actor(inv, key), core.now(), words[0], int(words[1]))
    if isinstance(res, Result):
        await _say(core, inv, m.BAD_ITEM.format(item=words[0]))
        return
    assert isinstance(res, ShortResult)
    name = m.item_short(res.item)
    if not res.lines:
        await _say(core, inv, m.SHORT_NONE.format(item=name, ordered=res.ordered, delivered=res.delivered))
        return
    for chat in dict.fromkeys(ln.household.chat_key for ln in res.lines):  # each group hears of its own
        mine = [ln for ln in res.lines if ln.household.chat_key == chat]
        lines = [m.SHORT_TITLE.format(item=name, ordered=res.ordered, delivered=res.delivered)]
        lines += [m.SHORT_ROW.format(at=_at(ln.household), who=who(ln.household), ordered=ln.ordered, got=ln.got,
                                     short=ln.short, amount=render.money(ln.amount)) for ln in mine]
        lines.append(m.SHORT_TOTAL.format(amount=render.money(sum((ln.amount for ln in mine), Decimal(0)))))
        await core.send_mentioning(chat, mask_phones("\n".join(lines)), _mentions([ln.household for ln in mine]))


# --- proxy orders and pickup points -------------------------------------------------------------------------


@command("add", aliases=("代下单", "代订"), group_only=True, help=m.HELP_ADD)
async def cmd_add(core: Core, inv: Invocation) -> None:
    """A neighbour's order taken by the leader: read by the order engine as the message of a
    household of its own (sender ``proxy:<label>``), not the leader's."""
    from bot.engine.reader import reader_for

    text = inv.arg.strip()
    if not text:
        await _say(core, inv, m.ADD_USAGE)
        return
    found = await _deal(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    async with core.lock:
        catalog = core.service.catalog_of(deal_id)
    label = reader_for(catalog).read(text, in_list=False).label.strip()
    if not label:
        await _say(core, inv, m.ADD_NO_LABEL)
        return
    platform, _, chat_id = key.partition(":")
    words = unicodedata.normalize("NFKC", label).split()
    sender = PROXY_PREFIX + " ".join(words)
    order = InboundMessage(platform=platform, chat_id=chat_id, message_id=f"add:{inv.msg.message_id}",
                           sender_id=sender, sender_name=words[-1], text=text, ts=inv.msg.ts)
    async with core.lock:
        outcome = core.service.handle(order)
        if outcome.changed:
            day.record(deal_id, _actor(inv, key), core.now(), "add", f"text={text}", household=(key, sender))
    problems = outcome.unclear + outcome.refused
    if outcome.changed:
        text_out = m.ADD_DONE.format(who=label, goods=render.goods(outcome.totals, catalog, units=True))
        if problems:
            text_out += "\n" + "\n".join(m.problem_text(p, catalog) for p in problems)
        await _say(core, inv, text_out)
    else:
        why = "\n".join(dict.fromkeys(m.problem_text(p, catalog) for p in problems)) or m.ADD_USAGE
        await _say(core, inv, m.ADD_NOTHING.format(why=why))


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


def my_marks(core: Core, chat_key: str, sender_id: str) -> str:
    """The resident's pickup code, point, paid and picked marks in the chat's deal ("" when none;
    hold the core's lock)."""
    day = leaderday_of(core)
    current = core.current(chat_key)
    if day is None or current is None:
        return ""
    mine = day.mine(current[0], chat_key, sender_id)
    if mine is None:
        return ""
    _h, mk = mine
    picked = m.MY_PICKED if mk.picked else ""
    if mk.refund_amount > 0:
        picked += m.MY_REFUNDED.format(amount=render.money(mk.refund_amount))
    return m.MY_MARKS.format(code=mk.pickup_code, point=mk.pickup_point or "-",
                             paid=m.MY_PAID if mk.paid else m.MY_UNPAID, picked=picked)


__all__ = ["plain_word", "my_marks", "leaderday_of"]
