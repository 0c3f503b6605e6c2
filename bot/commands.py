"""Leader commands (/deal /list /tally /close /pickup /help) and the posts they share with scheduled jobs."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from bot import messages as m
from bot import render
from bot.catalog import Catalog
from bot.context import Core
from bot.crontab import crontab_trigger
from bot.model import Card, InboundMessage

ALIASES = {"团购": "deal", "开团": "deal", "接龙": "list", "统计": "tally", "截单": "close",
           "取货": "pickup", "帮助": "help", "start": "help", "导出": "export"}
LEADER_ONLY = frozenset({"deal", "list", "tally", "close", "pickup", "export"})
KNOWN = LEADER_ONLY | {"help"}


def parse_command(text: str) -> tuple[str, str] | None:
    """``/tally@TuanBot  arg`` → ("tally", "arg"); None when the text is not a command."""
    t = unicodedata.normalize("NFKC", text).strip()
    if not t.startswith("/") or len(t) < 2:
        return None
    head, _, arg = t[1:].replace("\n", " ").partition(" ")
    name = head.partition("@")[0].lower()
    return ALIASES.get(name, name), arg.strip()


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


def deal_card(core: Core, chat_key: str, *, ordered: bool = False) -> Card | None:
    """The current deal's card with what is left of limited items (call holding the lock)."""
    current = core.current(chat_key)
    if current is None:
        return None
    deal_id, catalog, title, _closed = current
    tally = core.service.tally(deal_id)
    left = {i.code: max(0, i.stock - tally.totals.get(i.code, 0)) for i in catalog.items if i.stock is not None}
    cutoff = cutoff_of(core, chat_key, catalog)
    return render.deal_card(
        catalog, title=title, ordered=dict(tally.totals) if ordered else None, left=left or None,
        cutoff=when_text(cutoff, core.now().astimezone(core.config.bot.tz)) if cutoff else "",
    )


async def post_list(core: Core, chat_key: str) -> bool:
    async with core.lock:
        current = core.current(chat_key)
        if current is not None:
            deal_id, catalog, title, _ = current
            text = render.jielong_list(core.service.tally(deal_id, chat_key), catalog, title=title)
    if current is None:
        await core.send(chat_key, m.NO_DEAL)
        return False
    await core.post_list(chat_key, text)
    return True


async def post_tally(core: Core, chat_key: str, *, header: str = "") -> bool:
    async with core.lock:
        current = core.current(chat_key)
        if current is not None:
            deal_id, catalog, title, closed = current
            text = render.tally_table(core.service.tally(deal_id), catalog, title=title, closed=closed)
    if current is None:
        await core.send(chat_key, m.NO_DEAL)
        return False
    await core.send(chat_key, f"{header}\n{text}" if header else text)
    return True


async def close_deal(core: Core, chat_key: str) -> bool:
    """Close the chat's open deal and post the final tally; False when there was nothing to close."""
    async with core.lock:
        current = core.current(chat_key)
        if current is not None and not current[3]:
            core.service.close_deal(current[0])
    if current is None or current[3]:
        return False
    return await post_tally(core, chat_key, header=m.CLOSED)


async def post_pickup(core: Core, chat_key: str, *, header: str = "") -> bool:
    async with core.lock:
        current = core.current(chat_key)
        if current is not None:
            deal_id, catalog, title, _ = current
            text = render.pickup_list(core.service.tally(deal_id, chat_key), catalog, title=title)
    if current is None:
        return False
    await core.send(chat_key, f"{header}\n{text}" if header else text)
    return True


def export_chats(core: Core, msg: InboundMessage) -> list[str]:
    """The groups a leader's /export covers: this group; in a private chat, the groups they lead."""
    if not msg.is_private:
        return [msg.chat_key]
    platform = msg.platform
    groups = [g for g in core.config.groups if g.platform == platform]
    return [g.chat_key for g in groups if msg.is_admin or msg.sender_id in core.config.leaders_of(g.chat_key)]


async def export(core: Core, msg: InboundMessage) -> None:
    """Each covered deal's orders: a CSV document where the platform takes files, else the tally as text."""
    from bot.export import tally_csv

    adapter = core.adapter_of(msg.chat_key)
    seen: set[str] = set()
    sent = 0
    for chat_key in export_chats(core, msg):
        async with core.lock:
            current = core.current(chat_key)
            if current is None or current[0] in seen:
                continue
            deal_id, catalog, title, closed = current
            seen.add(deal_id)
            tally = core.service.tally(deal_id)
            text = render.tally_table(tally, catalog, title=title, closed=closed)
        sent += 1
        if adapter is not None and adapter.capabilities.files:
            name = f"tuan-{deal_id}.csv"
            if await adapter.send_file(msg.chat_id, name, tally_csv(tally, catalog), caption=title):
                continue
        await core.send(msg.chat_key, text)
    if not sent:
        await core.send(msg.chat_key, m.NO_DEAL if not msg.is_private else m.EXPORT_NOTHING)


async def run_command(core: Core, msg: InboundMessage, name: str, *, leader: bool) -> None:
    chat = msg.chat_key
    if name not in KNOWN:
        if leader:
            await core.send(chat, m.UNKNOWN_COMMAND.format(name=name), reply_to=msg.message_id)
        return  # a resident's unknown /command may be meant for another bot
    if name in LEADER_ONLY and not leader:
        await core.send(chat, m.NOT_LEADER, reply_to=msg.message_id)
        return
    match name:
        case "help":
            await core.send(chat, m.HELP_LEADER if leader else m.HELP_RESIDENT, reply_to=msg.message_id)
        case "deal":
            await post_deal_card(core, chat)
        case "list":
            await post_list(core, chat)
        case "tally":
            await post_tally(core, chat)
        case "close":
            if not await close_deal(core, chat):
                await core.send(chat, m.ALREADY_CLOSED if core.service.deal_of(chat) else m.NO_DEAL)
        case "pickup":
            if not await post_pickup(core, chat):
                await core.send(chat, m.NO_DEAL)
        case "export":
            await export(core, msg)
