"""Settling up: /paid /unpaid, after-sale /refund, a short delivery /short, and the leader's proxy
order /add (:mod:`bot.leaderday_commands` shares the rest)."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from bot import messages as m
from bot import money, render
from bot.commands import Invocation, group_title, permissions_of
from bot.context import Core
from bot.leaderday_commands import (
    actor_of,
    answer,
    at_of,
    choose_round,
    deal_for,
    mentions_of,
    not_found,
    pickup_round,
    rounds_for,
    who,
)
from bot.model import InboundMessage
from bot.permissions import Caller
from bot.phones import mask_phones
from bot.registry import command
from bot.usecases.leaderday import PROXY_PREFIX, Result, ShortResult, find_item

# --- payments -----------------------------------------------------------------------------------------


_MEANT_AS_AMOUNT = re.compile(r"[¥￥].*|[-+]?[\d.]+元?")


def _meant_as_amount(word: str) -> bool:
    """Whether a word was typed as a sum of money (``59.8``, ``-5``, ``¥NaN``, ``60元``), readable or not."""
    return bool(_MEANT_AS_AMOUNT.fullmatch(unicodedata.normalize("NFKC", word).strip()))


def _refused(word: str, why: str) -> str:
    """The chat's refusal of an amount (``why``: a :mod:`bot.money` reason code)."""
    return m.AMOUNT_REFUSED.format(word=word, why=m.PRICE_WHY.get(why, m.PRICE_WHY[money.NOT_A_NUMBER]))


@command("paid", aliases=("已付", "付款"), group_only=True, help=m.HELP_PAID)
async def cmd_paid(core: Core, inv: Invocation) -> None:
    words = inv.arg.split()
    if not words:
        await answer(core, inv, m.PAID_USAGE)
        return
    amount = None
    if len(words) > 1 and _meant_as_amount(words[-1]):
        try:
            amount = money.parse_amount(words[-1], zero_ok=True)
        except money.MoneyError as e:
            await answer(core, inv, _refused(words[-1], e.reason))
            return
        words = words[:-1]
    query = " ".join(words)
    found = await rounds_for(core, inv)
    if found is None:
        return
    day, rounds, key = found
    chosen = await choose_round(core, inv, day, rounds, key, lambda mk: not mk.paid, query, query=query)
    if chosen is None:
        return
    r, where = chosen
    async with core.lock:
        res = day.mark_paid(r.deal_id, actor_of(inv, key), core.now(), query, amount)
    if await not_found(core, inv, res, query):
        return
    if res.status == "bad_amount":
        await answer(core, inv, _refused(str(amount), res.detail["why"]))
        return
    assert res.household is not None and res.marks is not None
    due = res.marks.owed - res.amount
    state = m.PAID_STATE_SHORT.format(due=render.money(due)) if due > 0 else ""
    await answer(core, inv, m.PAID_DONE.format(who=who(res.household), amount=render.money(res.amount),
                                               state=state) + where)


@command("unpaid", aliases=("未付",), group_only=True, help=m.HELP_UNPAID)
async def cmd_unpaid(core: Core, inv: Invocation) -> None:
    found = await rounds_for(core, inv)
    if found is None:
        return
    day, rounds, key = found
    async with core.lock:
        per_round = [(r, rows) for r in rounds if (rows := day.unpaid(r.deal_id, key))]
    if not per_round:
        await answer(core, inv, m.UNPAID_NONE)
        return
    total = sum((due for _r, rows in per_round for _h, _mk, due in rows), Decimal(0))
    lines = [m.UNPAID_TITLE.format(n=sum(len(rows) for _r, rows in per_round), total=render.money(total))]
    for r, rows in per_round:
        if len(per_round) > 1:
            lines.append(m.ROUND_HEADING.format(round=r.name))
        lines += [m.UNPAID_ROW.format(who=who(h), owed=render.money(mk.owed),
                                      paid=render.money(mk.paid_amount or Decimal(0)), due=render.money(due))
                  for h, mk, due in rows]
    await answer(core, inv, "\n".join(lines))


# --- after-sale -----------------------------------------------------------------------------------------


@command("refund", aliases=("退款", "售后"), group_only=True, help=m.HELP_REFUND)
async def cmd_refund(core: Core, inv: Invocation) -> None:
    """``/refund WHO ITEM QTY REASON [¥AMOUNT]``; WHO may be several words (``3栋402 王姐``): the
    item is the first word from the end that names one, followed by the quantity."""
    words = inv.arg.split()
    found = await rounds_for(core, inv)
    if found is None:
        return
    day, rounds, key = found
    async with core.lock:
        catalogs = {r.deal_id: core.service.catalog_of(r.deal_id) for r in rounds}
    parsed = {r.deal_id: next((i for i in range(1, len(words) - 1) if find_item(catalogs[r.deal_id], words[i])
                               is not None and words[i + 1].isdigit()), None) for r in rounds}
    sellers = [r for r in rounds if parsed[r.deal_id] is not None]  # the rounds that sold the item named
    if not sellers:
        await answer(core, inv, m.REFUND_USAGE)
        return
    at = parsed[sellers[0].deal_id]
    assert at is not None
    query, item_word, qty_word, rest = " ".join(words[:at]), words[at], words[at + 1], words[at + 2:]
    sellers = [r for r in sellers if parsed[r.deal_id] == at]
    chosen = await choose_round(core, inv, day, sellers, key, lambda mk: True, query, query=query)
    if chosen is None:
        return
    r, where = chosen
    deal_id = r.deal_id
    amount = None  # a last word typed as money (with ¥ or 元) is the amount, else a part of the reason
    if rest and _meant_as_amount(rest[-1]) and (rest[-1][0] in "¥￥" or rest[-1].endswith("元")):
        try:
            amount = money.parse_amount(rest[-1])
        except money.MoneyError as e:
            await answer(core, inv, _refused(rest[-1], e.reason))
            return
        rest = rest[:-1]
    reason = " ".join(rest)
    async with core.lock:
        res = day.refund(deal_id, actor_of(inv, key), core.now(), query, item_word, int(qty_word), reason, amount)
    if await not_found(core, inv, res, query):
        return
    if res.status == "bad_item":
        await answer(core, inv, m.BAD_ITEM.format(item=item_word))
    elif res.status == "bad_qty":
        await answer(core, inv, m.BAD_QTY.format(word=qty_word))
    elif res.status == "too_many" and res.household is not None and res.item is not None:
        await answer(core, inv, m.REFUND_TOO_MANY.format(who=who(res.household), item=m.item_short(res.item),
                                                       left=res.detail["left"]))
    elif res.status == "too_much" and res.household is not None and res.item is not None:
        await answer(core, inv, m.REFUND_TOO_MUCH.format(who=who(res.household), item=m.item_short(res.item),
                                                       left=render.money(res.detail["left"])))
    elif res.status == "bad_amount":
        await answer(core, inv, _refused(str(amount), res.detail["why"]))
    elif res.household is not None and res.item is not None:
        text = m.REPLACE_DONE if res.detail.get("kind") == "replace" else m.REFUND_DONE
        await answer(core, inv, text.format(who=who(res.household), item=m.item_short(res.item), qty=qty_word,
                                          amount=render.money(res.amount), reason=reason or "-") + where)


@command("short", aliases=("缺货",), group_only=True, help=m.HELP_SHORT)
async def cmd_short(core: Core, inv: Invocation) -> None:
    """Records the short delivery and posts, in the group, who is short (names, masked labels)."""
    words = inv.arg.split()
    if len(words) != 2 or not words[1].isdigit():
        await answer(core, inv, m.SHORT_USAGE)
        return
    found = await rounds_for(core, inv)
    if found is None:
        return
    day, rounds, key = found
    deal_id = pickup_round(rounds).deal_id  # a short delivery is of the goods that arrive: a closed round's
    async with core.lock:
        chats = {h.chat_key for h in day.households(deal_id)} - {key}
    perms, caller = permissions_of(core), Caller.of(inv.msg)
    others = [k for k in sorted(chats) if not await perms.leads(caller, k)]
    if others:  # a deal shared with groups the caller does not lead: not theirs to refund
        await answer(core, inv, m.SHORT_SHARED_NOT_YOURS.format(groups="、".join(group_title(core, k) for k in others)))
        return
    async with core.lock:
        res = day.short(deal_id, actor_of(inv, key), core.now(), words[0], int(words[1]))
    if isinstance(res, Result):
        await answer(core, inv, m.SHORT_OPEN if res.status == "open" else m.BAD_ITEM.format(item=words[0]))
        return
    assert isinstance(res, ShortResult)
    name = m.item_short(res.item)
    if not res.lines:
        await answer(core, inv, m.SHORT_NONE.format(item=name, ordered=res.ordered, delivered=res.delivered))
        return
    for chat in dict.fromkeys(ln.household.chat_key for ln in res.lines):  # each group hears of its own
        mine = [ln for ln in res.lines if ln.household.chat_key == chat]
        lines = [m.SHORT_TITLE.format(item=name, ordered=res.ordered, delivered=res.delivered)]
        lines += [m.SHORT_ROW.format(at=at_of(ln.household), who=who(ln.household), ordered=ln.ordered, got=ln.got,
                                     short=ln.short, amount=render.money(ln.amount)) for ln in mine]
        lines.append(m.SHORT_TOTAL.format(amount=render.money(sum((ln.amount for ln in mine), Decimal(0)))))
        await core.send_mentioning(chat, mask_phones("\n".join(lines)), mentions_of([ln.household for ln in mine]))


# --- proxy orders and pickup points -------------------------------------------------------------------------


@command("add", aliases=("代下单", "代订"), group_only=True, help=m.HELP_ADD)
async def cmd_add(core: Core, inv: Invocation) -> None:
    """A neighbour's order taken by the leader: read by the order engine as the message of a
    household of its own (sender ``proxy:<label>``), not the leader's."""
    from bot.engine.reader import reader_for

    text = inv.arg.strip()
    if not text:
        await answer(core, inv, m.ADD_USAGE)
        return
    found = await deal_for(core, inv)
    if found is None:
        return
    day, deal_id, key = found
    async with core.lock:
        catalog = core.service.catalog_of(deal_id)
    label = reader_for(catalog).read(text, in_list=False).label.strip()
    if not label:
        await answer(core, inv, m.ADD_NO_LABEL)
        return
    platform, _, chat_id = key.partition(":")
    words = unicodedata.normalize("NFKC", label).split()
    sender = PROXY_PREFIX + " ".join(words)
    order = InboundMessage(platform=platform, chat_id=chat_id, message_id=f"add:{inv.msg.message_id}",
                           sender_id=sender, sender_name=words[-1], text=text, ts=inv.msg.ts)
    async with core.lock:
        outcome = core.service.handle(order)
        if outcome.changed:
            day.record(deal_id, actor_of(inv, key), core.now(), "add", f"text={text}", household=(key, sender))
    problems = outcome.unclear + outcome.refused
    if outcome.changed:
        text_out = m.ADD_DONE.format(who=label, goods=render.goods(outcome.totals, catalog, units=True))
        if problems:
            text_out += "\n" + "\n".join(m.problem_text(p, catalog) for p in problems)
        await answer(core, inv, text_out)
    else:
        why = "\n".join(dict.fromkeys(m.problem_text(p, catalog) for p in problems)) or m.ADD_USAGE
        await answer(core, inv, m.ADD_NOTHING.format(why=why))
