"""Leader commands (/deal /list /tally /close /pickup /export /history /help), registered with
:func:`bot.registry.command`, and the posts they share with scheduled jobs.

Who may run what is decided by :mod:`bot.permissions`: in a group, a leader command acts on that
group when the caller leads it; in a private chat, on the groups the caller leads (one of them,
named in the argument, for commands that change a group).
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot import buttons, render
from bot import messages as m
from bot.catalog import Catalog
from bot.context import Core, split_chat_key
from bot.crontab import crontab_trigger
from bot.model import Card, InboundMessage, Mention
from bot.permissions import Caller, Permissions
from bot.registry import ANYONE, command, help_text, lookup, parse_command

__all__ = ["parse_command", "run_command", "permissions_of", "post_deal_card", "post_list", "post_tally",
           "post_pickup", "close_deal", "deal_card", "group_title"]

log = logging.getLogger(__name__)


def permissions_of(core: Core) -> Permissions:
    """The permission checker over the core's configuration, adapters and the chats the store knows."""
    return Permissions(core.config, core.adapters, lambda: [c.chat_key for c in core.service.chats_with_deal()],
                       core.directory)


def group_title(core: Core, chat_key: str) -> str:
    """A group's name for people: the configured title, else the platform's, else its id."""
    group = core.config.group_of_chat(chat_key)
    if group is not None and group.title:
        return group.title
    row = next((c for c in core.service.chats_with_deal() if c.chat_key == chat_key), None)
    return (row.title if row is not None else "") or split_chat_key(chat_key)[1]


def when_text(when: datetime, now: datetime) -> str:
    day = "今天" if when.date() == now.date() else f"{when.month}月{when.day}日"
    return f"{day} {when:%H:%M}"


def cutoff_of(core: Core, chat_key: str, catalog: Catalog) -> datetime | None:
    """The catalog's cutoff, else the next run of the chat's cutoff schedule."""
    tz = core.config.bot.tz
    if catalog.cutoff is not None:
        return catalog.cutoff.astimezone(tz)
    group = core.config.group_of_chat(chat_key)
    now = core.now().astimezone(tz)
    times = [
        crontab_trigger(s.cron, tz).get_next_fire_time(None, now)
        for s in core.config.schedules if group is not None and s.group == group.id and s.kind == "cutoff"
    ]
    soon = [t for t in times if t is not None and t - now < timedelta(days=1)]
    return min(soon) if soon else None


async def post_deal_card(core: Core, chat_key: str) -> bool:
    """Post the chat's deal card; a closed deal is first opened afresh from the config (a new round)."""
    async with core.lock:
        core.open_deal_for(chat_key)
        current = core.current(chat_key)
        card = deal_card(core, chat_key) if current is not None and not current[3] else None
    if card is None:
        await core.send(chat_key, m.NO_DEAL_CONFIGURED if core.config.deal_of_chat(chat_key) is None else m.NO_DEAL)
        return False
    await core.send_card(chat_key, card)
    return True


async def show_revised_card(core: Core, chat_key: str) -> bool:
    """Show the chat's deal card again after its deal changed (prices, stock): the last card edited
    where the platform edits messages, else the card posted anew. False when there is no open deal."""
    async with core.lock:
        current = core.current(chat_key)
        if current is None or current[3]:
            return False
        card = deal_card(core, chat_key, ordered=True)
    card_id, adapter = core.cards.get(chat_key), core.adapter_of(chat_key)
    if card is None or adapter is None:
        return False
    if card_id and core.card_deals.get(chat_key) == card.deal_id and adapter.capabilities.edits \
            and await adapter.edit_text(split_chat_key(chat_key)[1], card_id, card.text, card):
        return True
    async with core.lock:
        card = deal_card(core, chat_key)
    if card is not None:
        await core.send_card(chat_key, card)
    return card is not None


def deal_card(core: Core, chat_key: str, *, ordered: bool = False) -> Card | None:
    """The current deal's card with what is left of limited items (call holding the lock)."""
    current = core.current(chat_key)
    if current is None:
        return None
    deal_id, catalog, title, _closed = current
    tally = core.service.tally(deal_id)
    left = {i.code: max(0, i.stock - tally.totals.get(i.code, 0)) for i in catalog.items if i.stock is not None}
    cutoff = cutoff_of(core, chat_key, catalog)
    key = core.button_key
    return render.deal_card(
        catalog, title=title, ordered=dict(tally.totals) if ordered else None, left=left or None,
        cutoff=when_text(cutoff, core.now().astimezone(core.config.bot.tz)) if cutoff else "",
        deal_id=deal_id, sign=lambda action, code: buttons.sign(key, deal_id, action, code, chat_key),
    )


def ended_card(core: Core, deal_id: str) -> Card | None:
    """The card of a deal that is over (closed, or replaced by a newer one): its final counts, a line
    saying it ended, no buttons. None when the store no longer knows the deal (call holding the lock)."""
    try:
        catalog = core.service.catalog_of(deal_id)
    except KeyError:
        return None
    tally = core.service.tally(deal_id)
    return render.deal_card(catalog, title=catalog.title, ordered=dict(tally.totals), deal_id=deal_id, ended=True)


async def post_list(core: Core, chat_key: str, *, to: str | None = None) -> bool:
    """Post the chat's 接龙 list in the chat (or, ``to``, in a leader's private chat)."""
    async with core.lock:
        current = core.current(chat_key)
        if current is not None:
            deal_id, catalog, title, _ = current
            text = render.jielong_list(core.service.tally(deal_id, chat_key), catalog, title=title, mask=to is None)
    if current is None:
        await core.send(to or chat_key, m.NO_DEAL)
        return False
    if to is None:
        await core.post_list(chat_key, text)
    else:
        await core.send(to, text)
    return True


async def post_tally(core: Core, chat_key: str, *, header: str = "", to: str | None = None) -> bool:
    """Post the deal's tally (every chat of the deal: counts only, no names) in the chat or ``to``."""
    async with core.lock:
        current = core.current(chat_key)
        if current is not None:
            deal_id, catalog, title, closed = current
            text = render.tally_table(core.service.tally(deal_id), catalog, title=title, closed=closed)
    if current is None:
        await core.send(to or chat_key, m.NO_DEAL)
        return False
    await core.send(to or chat_key, f"{header}\n{text}" if header else text, preformatted=True)
    return True


async def close_deal(core: Core, chat_key: str, *, by: tuple[str, str] | None = None) -> bool:
    """Close the chat's open deal and post the final tally; False when there was nothing to close.
    ``by``: (id, name) of who closed it, recorded as an ``audit`` row of the chat."""
    async with core.lock:
        current = core.current(chat_key)
        if current is not None and not current[3]:
            core.service.close_deal(current[0], by=(chat_key, *by) if by is not None else None)
    if current is None or current[3]:
        return False
    return await post_tally(core, chat_key, header=m.CLOSED)


async def post_pickup(core: Core, chat_key: str, *, header: str = "", to: str | None = None) -> bool:
    """Post the chat's pickup list in the chat (phone numbers masked) or, in full, to ``to`` (a
    leader's private chat); False when the chat has no deal or it could not be sent."""
    async with core.lock:
        current = core.current(chat_key)
        if current is not None:
            deal_id, catalog, title, _ = current
            text = render.pickup_list(core.service.tally(deal_id, chat_key), catalog, title=title, mask=to is None)
    if current is None:
        return False
    return await core.send(to or chat_key, f"{header}\n{text}" if header else text) is not None



# --- invocation ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Invocation:
    """One run of a command: ``targets`` are the groups (chat keys) it acts on, all led by the caller."""

    msg: InboundMessage
    arg: str
    targets: tuple[str, ...]

    @property
    def private(self) -> bool:
        return self.msg.is_private

    @property
    def chat(self) -> str:
        return self.msg.chat_key


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def pick_groups(core: Core, led: list[str], arg: str) -> list[str]:
    """The caller's groups an argument names: exact id, chat id or title, else a unique title part."""
    want = _fold(arg)
    if not want:
        return led
    exact = []
    for key in led:
        group = core.config.group_of_chat(key)
        words = {_fold(group_title(core, key)), _fold(split_chat_key(key)[1])}
        if group is not None:
            words.add(_fold(group.id))
        if want in words:
            exact.append(key)
    if exact:
        return exact
    partial = [k for k in led if want in _fold(group_title(core, k))]
    return partial if len(partial) == 1 else []


def _group_of_last_word(core: Core, led: list[str], arg: str) -> tuple[list[str], str]:
    """A :attr:`~bot.registry.Command.private_group` command's group and own argument: the group the
    argument's last word names (exactly; or a unique part of a title when the caller leads several),
    that word taken off; else the caller's only group with the argument whole."""
    words = arg.split()
    if words:
        named = pick_groups(core, led, words[-1])
        exact = [k for k in named if _fold(words[-1]) in {_fold(group_title(core, k)), _fold(split_chat_key(k)[1])}]
        hit = named if len(led) > 1 else exact
        if len(hit) == 1 and (len(led) > 1 or exact):
            return hit, " ".join(words[:-1])
    return (led if len(led) == 1 else []), arg


def _titles(core: Core, keys: list[str]) -> str:
    return "、".join(group_title(core, k) for k in keys)


async def run_command(core: Core, msg: InboundMessage, name: str, arg: str = "", *, leader: bool) -> None:
    """Run ``/name arg``. ``leader``: the caller leads this (group) chat, from :mod:`bot.permissions`;
    in a private chat it is ignored and the caller's groups are looked up per group.
    """
    chat = msg.chat_key
    if msg.is_private:
        led = await permissions_of(core).groups_led(Caller.of(msg))
    else:
        led = [chat] if leader else []
    cmd = lookup(name)
    if cmd is None:
        if led or msg.is_private:
            await core.send(chat, m.UNKNOWN_COMMAND.format(name=name), reply_to=msg.message_id)
        return  # a resident's unknown /command in a group may be meant for another bot
    if cmd.role != ANYONE and not led:
        await core.send(chat, m.PRIVATE_NO_GROUP if msg.is_private else m.NOT_LEADER, reply_to=msg.message_id)
        return
    if cmd.group_only and msg.is_private:
        await core.send(chat, m.GROUP_ONLY.format(name=name))
        return
    if cmd.role == ANYONE:
        await cmd.handler(core, Invocation(msg, arg, tuple(led)))
        return
    targets = led
    if msg.is_private and cmd.private_group:
        targets, arg = _group_of_last_word(core, led, arg)
        if len(targets) != 1:
            await core.send(chat, m.PICK_GROUP.format(n=len(led), name=name,
                                                      example=f"{arg} {group_title(core, led[0])}".strip(),
                                                      groups=_titles(core, led)))
            return
    elif msg.is_private:
        targets = pick_groups(core, led, " ".join(w for w in arg.split() if _fold(w) not in cmd.flags))
        if not targets:
            await core.send(chat, m.UNKNOWN_GROUP.format(arg=arg, groups=_titles(core, led)))
            return
        if cmd.one_group and len(targets) > 1:
            await core.send(chat, m.PICK_GROUP.format(n=len(targets), name=name,
                                                      example=group_title(core, targets[0]),
                                                      groups=_titles(core, targets)))
            return
    await cmd.handler(core, Invocation(msg, arg, tuple(targets)))


# --- the commands ----------------------------------------------------------------------------------


@command("deal", aliases=("团购", "开团"), one_group=True, help=m.HELP_DEAL)
async def cmd_deal(core: Core, inv: Invocation) -> None:
    for key in inv.targets:
        if await post_deal_card(core, key) and inv.private:
            await core.send(inv.chat, m.DONE_IN_GROUP.format(group=group_title(core, key), name="deal"))


@command("list", aliases=("接龙",), help=m.HELP_LIST)
async def cmd_list(core: Core, inv: Invocation) -> None:
    for key in inv.targets:
        if inv.private:
            await core.send(inv.chat, m.GROUP_HEADING.format(group=group_title(core, key)))
        await post_list(core, key, to=inv.chat if inv.private else None)


@command("tally", aliases=("统计",), help=m.HELP_TALLY)
async def cmd_tally(core: Core, inv: Invocation) -> None:
    for key in inv.targets:
        heading = m.GROUP_HEADING.format(group=group_title(core, key)) if inv.private else ""
        await post_tally(core, key, header=heading, to=inv.chat if inv.private else None)


@command("pickup", aliases=("取货", "分拣"), flags=("pdf",), help=m.HELP_PICKUP)
async def cmd_pickup(core: Core, inv: Invocation) -> None:
    """The sorting list (分拣单: per pickup point, by building and room, with 跟团号, rooms and phone
    numbers of every household) goes to the leader privately: as text, or with ``pdf`` as the
    print-ready sheet (bot/sheet_pdf.py) where the platform takes files (else as text)."""
    from bot.leaderlists import sorting_text
    from bot.usecases.lists import deal_lists, group_points, sorting_sheet

    adapter = core.adapter_of(inv.chat)
    pdf = "pdf" in (_fold(w) for w in inv.arg.split()) and adapter is not None and adapter.capabilities.files

    async def deliver(to: str) -> bool:
        done = False
        for key in inv.targets:
            name = group_title(core, key)
            heading = m.GROUP_HEADING.format(group=name)
            async with core.lock:
                current = core.current(key)
                if current is not None:
                    points = group_points(core.service, core.config)
                    lists = deal_lists(core.service, core.config, current[0], chat_key=key,
                                       titles={key: name}, pickup_points=points)
                    text = sorting_text(lists.sorting(points), title=current[2])
            if current is None:
                if inv.private:
                    await core.send(to, heading + m.NO_DEAL)
                continue
            if pdf and adapter is not None:
                data = await asyncio.to_thread(sorting_sheet, lists, core.config, points, title=current[2],
                                               now=core.now())
                filename = f"fenjian-{current[0]}-{split_chat_key(key)[1].lstrip('-')}.pdf"
                caption = m.PICKUP_PDF_CAPTION.format(group=name, title=current[2])
                if await adapter.send_file(split_chat_key(to)[1], filename, data, caption=caption):
                    done = True
                    continue
            if await core.send(to, f"{heading}\n{text}") is not None:
                done = True
        return done

    if not inv.private and await no_deal_in(core, inv.targets):
        await core.send(inv.chat, m.NO_DEAL, reply_to=inv.msg.message_id)
        return
    await privately(core, inv, "pickup", deliver)


async def no_deal_in(core: Core, targets: tuple[str, ...]) -> bool:
    """None of the groups has a deal (open or closed)."""
    async with core.lock:
        return all(core.current(k) is None for k in targets)


async def _sharing_groups_not_led(core: Core, msg: InboundMessage, chat_key: str) -> list[str]:
    """The other groups of ``chat_key``'s open deal that the caller of ``msg`` does not lead."""
    async with core.lock:
        deal = core.service.deal_of(chat_key)
        if deal is None or deal.status != "open":
            return []
        sharing = [c.chat_key for c in core.service.chats_with_deal()
                   if c.deal_id == deal.id and c.chat_key != chat_key]
    perms, caller = permissions_of(core), Caller.of(msg)
    return [k for k in sharing if not await perms.leads(caller, k)]


@command("close", aliases=("截单",), one_group=True, help=m.HELP_CLOSE)
async def cmd_close(core: Core, inv: Invocation) -> None:
    """Close each target group's deal. A deal shared with groups the caller does not lead is left
    open: one group's leader cannot cut off another group's residents (the cutoff schedule or a
    leader of every sharing group can close it).
    """
    for key in inv.targets:
        others = await _sharing_groups_not_led(core, inv.msg, key)
        if others:
            await core.send(inv.chat, m.CLOSE_SHARED_NOT_YOURS.format(groups=_titles(core, others)))
            continue
        if await close_deal(core, key, by=(inv.msg.sender_id, inv.msg.sender_name)):
            if inv.private:
                await core.send(inv.chat, m.DONE_IN_GROUP.format(group=group_title(core, key), name="close"))
            continue
        async with core.lock:
            known = core.service.deal_of(key) is not None
        await core.send(inv.chat, m.ALREADY_CLOSED if known else m.NO_DEAL)


@command("export", aliases=("导出",), help=m.HELP_EXPORT)
async def cmd_export(core: Core, inv: Invocation) -> None:
    """Each target group's orders (that group's rows only, even when its deal is shared): an XLSX
    workbook (订单明细, 备货单, 分拣单; bot/export.py) where the platform takes files, else the tally
    as text; always to the leader privately.
    """
    from bot.usecases.lists import deal_lists, export_bytes, group_points

    adapter = core.adapter_of(inv.chat)

    async def deliver(to: str) -> bool:
        sent = 0
        for key in inv.targets:
            name = group_title(core, key)
            async with core.lock:
                current = core.current(key)
                if current is None:
                    continue
                deal_id, catalog, title, closed = current
                tally = core.service.tally(deal_id, key)
                text = render.tally_table(tally, catalog, title=title, closed=closed, mask=False)
                lists, points = None, {}
                if adapter is not None and adapter.capabilities.files:
                    points = group_points(core.service, core.config)
                    lists = deal_lists(core.service, core.config, deal_id, chat_key=key, titles={key: name},
                                       pickup_points=points)
            if adapter is not None and lists is not None:
                # built outside the lock and off the event loop (~0.5 s for 500 households)
                data = await asyncio.to_thread(export_bytes, lists, core.config, "xlsx", points)
                filename = f"tuan-{deal_id}-{split_chat_key(key)[1].lstrip('-')}.xlsx"
                if await adapter.send_file(split_chat_key(to)[1], filename, data, caption=f"{name} {title}"):
                    sent += 1
                    continue
            if await core.send(to, f"{m.GROUP_HEADING.format(group=name)}\n{text}") is not None:
                sent += 1
        return bool(sent)

    if not inv.private and await no_deal_in(core, inv.targets):
        await core.send(inv.chat, m.NO_DEAL, reply_to=inv.msg.message_id)
        return
    await privately(core, inv, "export", deliver, nothing=m.EXPORT_NOTHING)


@command("stock", aliases=("备货", "备货单"), help=m.HELP_STOCK)
async def cmd_stock(core: Core, inv: Invocation) -> None:
    """The stocking list (备货单) of the target groups' current deals, together: what to buy, per
    product (a deal shared by two of the groups counted once per group's orders)."""
    from bot.leaderlists import stocking_list, stocking_text

    parts = []
    titles = []
    async with core.lock:
        for key in inv.targets:
            current = core.current(key)
            if current is None:
                continue
            deal_id, catalog, title, _closed = current
            parts.append((core.service.tally(deal_id, key), catalog))
            titles.append(title)
    if not parts:
        await core.send(inv.chat, m.EXPORT_NOTHING if inv.private else m.NO_DEAL, reply_to=inv.msg.message_id)
        return
    title = "、".join(dict.fromkeys(titles))
    await core.send(inv.chat, stocking_text(stocking_list(parts), title=title), preformatted=True,
                    reply_to=None if inv.private else inv.msg.message_id)


@command("history", aliases=("历史",), help=m.HELP_HISTORY)
async def cmd_history(core: Core, inv: Invocation) -> None:
    """The newest rounds of each target group with their households and amounts, read from the store
    (off the event loop; under the service's lock only for an in-memory SQLite store, whose one
    connection the service shares)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.usecases.history import NoSqlStore, engine_of, history_text
    from bot.worker import locked_call
    from storage.engine import is_memory_sqlite

    reply_to = None if inv.private else inv.msg.message_id
    try:
        engine = engine_of(core.service.repo)
    except NoSqlStore:
        await core.send(inv.chat, m.HISTORY_UNAVAILABLE, reply_to=reply_to)
        return
    for key in inv.targets:
        try:
            if is_memory_sqlite(engine.url):
                text = await locked_call(core.lock, history_text, engine, core.config, key)
            else:
                text = await asyncio.to_thread(history_text, engine, core.config, key)
        except SQLAlchemyError:
            log.exception("reading the rounds of %s failed", key)
            text = m.HISTORY_UNAVAILABLE
        if inv.private:
            text = m.GROUP_HEADING.format(group=group_title(core, key)) + "\n" + text
        await core.send(inv.chat, text, reply_to=reply_to)


async def private_send(deliver: Callable[[str], Awaitable[bool]], to: str) -> bool:
    """Run ``deliver(to)`` towards a private chat; False when it sent nothing or the platform refused
    by raising (WeChat raises for a resident who is not the bot's friend), so the caller falls back to
    saying in the group how to get it. The failure is logged, not raised."""
    try:
        return await deliver(to)
    except Exception:  # noqa: BLE001 - any adapter's failed send: the group is told how instead
        log.warning("a private send to %s failed; the group is told how to ask privately", to, exc_info=True)
        return False


def private_chat(core: Core, msg: InboundMessage) -> str | None:
    """The chat key of the sender's private chat with the bot, where the platform can write one."""
    adapter = core.adapter_of(msg.chat_key)
    if adapter is None or not adapter.capabilities.direct or msg.sender_id.startswith("chat"):
        return None  # Telegram's anonymous admins ("chat<id>") have no private chat
    return f"{msg.platform}:{msg.sender_id}"


async def privately(core: Core, inv: Invocation, name: str, deliver: Callable[[str], Awaitable[bool]], *,
                    nothing: str = m.NO_DEAL) -> None:
    """Run ``deliver(to)`` towards the caller's private chat (lists with every household's phone and
    room never go to a group). Said in a group: the group is told 已私信发给你, or, when the platform
    cannot write to them privately (or that failed), how to get it. ``deliver`` returns whether it
    sent anything; ``nothing`` is said when it did not in a private chat.
    """
    if inv.private:
        if not await deliver(inv.chat):
            await core.send(inv.chat, nothing)
        return
    mention = Mention(user_id=inv.msg.sender_id, name=inv.msg.sender_name)
    to = private_chat(core, inv.msg)
    if to is not None and await private_send(deliver, to):
        await core.send(inv.chat, m.SENT_PRIVATELY, reply_to=inv.msg.message_id, mention=mention)
        return
    how = m.PRIVATE_HOW.get(inv.msg.platform, m.PRIVATE_HOW_DEFAULT).format(name=name)
    await core.send(inv.chat, how, reply_to=inv.msg.message_id, mention=mention)


MY_START = "my"
"""``/start my``: what Telegram's deep link to the private chat sends (:data:`bot.messages.MY_CODE_LINK`)."""


@command("help", role=ANYONE, aliases=("帮助",), hidden_aliases=("start",), help=m.HELP_HELP)
async def cmd_help(core: Core, inv: Invocation) -> None:
    """The commands the caller may use; ``/start my`` in a private chat (the deep link a group's
    /my answer gives) is /my."""
    if inv.private and inv.arg.strip() == MY_START:
        await cmd_my(core, inv)
        return
    await core.send(inv.chat, help_text(leader=bool(inv.targets), private=inv.private),
                    reply_to=inv.msg.message_id)


@command("my", role=ANYONE, aliases=("我的订单", "查单"), words=("我的订单", "查单"), help=m.HELP_MY)
async def cmd_my(core: Core, inv: Invocation) -> None:
    """The caller's own orders: in a group, in its current deal (answered mentioning them); in a
    private chat, in every group of that platform where they ordered in the current deal.

    The pickup code is never said in a group (every neighbour reads it there): a group's answer
    has the order, 跟团号 and marks, and the code goes to the resident's private chat, or, when the
    platform cannot write there (a Telegram user who never started the bot, a WeChat non-friend),
    the answer says how to ask privately (:func:`code_how`).
    """
    msg = inv.msg
    if not msg.is_private:
        async with core.lock:
            current = core.current(msg.chat_key)
            text, pending = ("", False) if current is None else my_orders(core, msg.chat_key, msg.sender_id)
            mine = my_orders(core, msg.chat_key, msg.sender_id, private=True)[0] if pending else ""
        text = m.NO_DEAL if current is None else text or m.MY_NONE
        if pending:
            to = private_chat(core, msg)
            heading = m.GROUP_HEADING.format(group=group_title(core, msg.chat_key))

            async def deliver(to: str) -> bool:
                return await core.send(to, heading + mine) is not None

            sent = to is not None and await private_send(deliver, to)
            text += "\n" + (m.MY_CODE_SENT if sent else code_how(core, msg))
        await core.send(msg.chat_key, text, reply_to=msg.message_id,
                        mention=Mention(user_id=msg.sender_id, name=msg.sender_name))
        return
    lines = []
    async with core.lock:
        for row in core.service.chats_with_deal():
            if row.platform != msg.platform or row.chat_key == msg.chat_key:
                continue
            mine, _ = my_orders(core, row.chat_key, msg.sender_id, private=True)
            if mine:
                lines.append(m.GROUP_HEADING.format(group=group_title(core, row.chat_key)) + mine)
    await core.send(msg.chat_key, "\n".join(lines) if lines else m.MY_NONE_ANYWHERE)


def code_how(core: Core, msg: InboundMessage) -> str:
    """How a resident gets their pickup code privately: a link that opens the private chat and asks
    /my where the adapter has one (:class:`adapters.base.PrivateLinks`, Telegram), else the
    platform's words (:data:`bot.messages.MY_CODE_HOW`)."""
    from adapters.base import PrivateLinks

    adapter = core.adapter_of(msg.chat_key)
    link = adapter.private_link(MY_START) if isinstance(adapter, PrivateLinks) else None
    if link:
        return m.MY_CODE_LINK.format(link=link)
    return m.MY_CODE_HOW.get(msg.platform, m.MY_CODE_HOW_DEFAULT)


def my_orders(core: Core, chat_key: str, sender_id: str, *, private: bool = False) -> tuple[str, bool]:
    """One resident's items, quantities, amount, 跟团号 and marks in the chat's current deal, then in
    the group's earlier rounds still picked up where they have goods waiting
    (:func:`bot.leaderday_commands.my_earlier`), and whether a pickup code of theirs is still to be
    used; ("", False) when they have no order in any (hold the lock). ``private``: with their
    pickup codes (:func:`bot.leaderday_commands.my_marks`); never for a text a group reads."""
    current = core.current(chat_key)
    if current is None:
        return "", False
    earlier, waiting = leaderday_commands.my_earlier(core, chat_key, sender_id, private=private)
    now, pending = _my_current(core, chat_key, sender_id, private=private)
    return "\n".join(t for t in (now, earlier) if t), pending or waiting


def _my_current(core: Core, chat_key: str, sender_id: str, *, private: bool) -> tuple[str, bool]:
    """:func:`my_orders` of the chat's current round alone."""
    from bot.leaderlists import own_numbers

    current = core.current(chat_key)
    assert current is not None
    deal_id, catalog, title, closed = current
    totals = core.service.sender_totals(chat_key, sender_id)
    if not totals:
        return "", False
    amount = sum((i.price * totals[i.code] for i in catalog.items if i.code in totals), Decimal(0))
    goods = render.goods(totals, catalog, units=True)
    text = m.MY_ORDER.format(title=title, goods=goods, amount=render.money(amount),
                             state=m.TALLY_STATE_CLOSED if closed else "")
    homes = own_numbers(core.service.tally(deal_id, chat_key), catalog, chat_key, sender_id)
    numbers = render.my_numbers(homes, private=private)
    text += m.MY_NUMBER.format(numbers=numbers) if numbers else ""
    marks, pending = leaderday_commands.my_marks(core, chat_key, sender_id, private=private)
    return (f"{text}\n{marks}" if marks else text), pending


import bot.earnings_commands  # noqa: E402,F401  (/earnings, /settlement register; it imports this module)
from bot import leaderday_commands  # noqa: E402  (its commands register; it imports this module)
