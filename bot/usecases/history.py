"""Rounds past and present: list them, show one, export one, open one again; /history's answer.

A round is a deal. It is shown by its display name, its title and opening date in the bot's time
zone (``水果团 11月29日``), so that the rounds of one group are told apart. A group is named by its
configured id (``[[groups]] id``) when the configuration has it, else by its chat key
(``telegram:-100123``).

The functions read through a SQLAlchemy connection to the SQL store (:mod:`storage.history`);
opening and exporting go through the order service. Amounts are yuan as :class:`~decimal.Decimal`,
quantities ints, times aware datetimes in the configured time zone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine

from bot import messages as m
from bot.config import AppConfig
from bot.services.orders import OrderService
from bot.usecases.group_chats import GroupChats
from storage import history as store
from storage.group_chats import former_keys, group_chats
from storage.history import ItemTotal, RoundRow

HISTORY_LIMIT = 5
"""/history: the newest rounds of a group, at most this many."""
CENT = Decimal("0.01")


class UnknownRound(LookupError):
    """No deal of that id in the store."""


class UnknownGroup(LookupError):
    """Neither the configuration nor the store knows a group of that name."""


class RoundStillOpen(RuntimeError):
    """A group to open a round for has an open round already (close it first)."""


class GroupRetired(RuntimeError):
    """A group to open a round for is retired (`tuan group remove`); the message is one line."""


class NoSqlStore(RuntimeError):
    """The order service's store is not a SQL store (e.g. the tests' in-memory repository)."""


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A round's group: ``name`` (the config's group id, else the chat key), ``title`` for people,
    and its households in the round."""

    name: str
    chat_key: str
    title: str
    households: int


@dataclass(frozen=True, slots=True)
class RoundView:
    """A round as shown: ``name`` is the title with the opening date; times in the bot's zone."""

    id: str
    name: str
    title: str
    status: str  # "open" | "closed"
    source: str
    opened: datetime
    closed: datetime | None
    groups: tuple[GroupRef, ...]
    households: int
    items: tuple[ItemTotal, ...]
    amount: Decimal

    @property
    def closed_now(self) -> bool:
        return self.status != "open"

    def as_json(self, *, items: bool = True) -> dict[str, Any]:
        """A JSON-ready dict: times in ISO 8601 with their offset, money as strings with 2 decimals."""
        out: dict[str, Any] = {
            "id": self.id, "name": self.name, "title": self.title, "status": self.status, "source": self.source,
            "opened": self.opened.isoformat(), "closed": self.closed.isoformat() if self.closed else None,
            "groups": [{"name": g.name, "chat_key": g.chat_key, "title": g.title, "households": g.households}
                       for g in self.groups],
            "households": self.households, "amount": money(self.amount),
        }
        if items:
            out["items"] = [{"code": i.code, "name": i.name, "unit": i.unit, "price": money(i.price),
                             "stock": i.stock, "qty": i.qty, "amount": money(i.amount)} for i in self.items]
        return out


def money(amount: Decimal) -> str:
    """Yuan with two decimals: ``Decimal("29.9")`` → ``"29.90"``."""
    return str(amount.quantize(CENT))


def engine_of(repo: object) -> Engine:
    """The SQL engine behind a repository (:class:`storage.sql.SqlRepository`); raises :class:`NoSqlStore`."""
    engine = getattr(repo, "engine", None)
    if not isinstance(engine, Engine):
        raise NoSqlStore(f"{type(repo).__name__} is not a SQL store")
    return engine


def round_name(title: str, opened: datetime, tz: tzinfo) -> str:
    """``水果团 11月29日``: the title and the day the round opened, in ``tz`` (the title alone when it
    already names that day, as ``11月30日团购`` does)."""
    day = opened.astimezone(tz)
    if f"{day.month}月{day.day}日" in title:
        return title.strip()
    return m.ROUND_NAME.format(title=title, month=day.month, day=day.day).strip()


def group_name(config: AppConfig, chat_key: str) -> str:
    """The configured group id of the chat, else its chat key."""
    group = config.group_of_chat(chat_key)
    return group.id if group is not None else chat_key


def group_title(config: AppConfig, chat_key: str, stored: str = "") -> str:
    """A group's name for people: the configured title, else the platform's (``stored``), else the chat id."""
    group = config.group_of_chat(chat_key)
    if group is not None and group.title:
        return group.title
    return stored or chat_key.partition(":")[2] or chat_key


def view(row: RoundRow, config: AppConfig) -> RoundView:
    tz = config.bot.tz
    groups = tuple(GroupRef(group_name(config, g.chat_key), g.chat_key, group_title(config, g.chat_key, g.title),
                            g.households) for g in row.groups)
    return RoundView(
        id=row.id, name=round_name(row.title, row.opened, tz), title=row.title, status=row.status, source=row.source,
        opened=row.opened.astimezone(tz), closed=row.closed.astimezone(tz) if row.closed else None, groups=groups,
        households=row.households, items=row.items, amount=row.amount,
    )


def chats_named(conn: Connection, config: AppConfig, name: str, *, former: bool = False) -> list[str]:
    """The chat keys a group name means: a group's id or chat key, in tuan.toml (``[[groups]]``) or
    in the store (``tuan group add``), or a chat key the store knows. The one lookup of a group named
    on the command line (``--group``). The first key is the group's chat now; with ``former`` the
    chats it had before (``group_former_chats``: `tuan group edit --chat`) follow, for what looks
    back (a round opened in a former chat is the group's: see :func:`group_of_round`). Raises
    :class:`UnknownGroup`."""
    gid: str | None
    group = config.group(name) or config.group_of_chat(name)
    if group is not None:
        keys, gid = [group.chat_key], group.id
    else:
        stored = store.group_chat(conn, name)
        if stored is None:
            if store.known_chat(conn, name):
                return [name]
            raise UnknownGroup(name)
        keys, gid = [stored], group_chats(conn).current.get(stored)
    if former and gid is not None:
        keys += [k for k in former_keys(conn, gid) if k not in keys]
    return keys


def group_of_round(chats: GroupChats, row: store.RoundRow) -> set[str]:
    """The ids of the groups whose chats ``row``'s chats were when it opened (:class:`GroupChats`)."""
    return {gid for g in row.groups if (gid := chats.group_at(g.chat_key, row.opened, row.id)) is not None}


def list_rounds(conn: Connection, config: AppConfig, *, group: str | None = None, days: float | None = None,
                limit: int | None = None, now: datetime | None = None) -> list[RoundView]:
    """Rounds newest first, with households and amounts.

    ``group``: only that group's (see :func:`chats_named`; raises :class:`UnknownGroup`). ``days``:
    only rounds still open, or opened or closed within that many days before ``now`` (aware; default:
    the current time); None: every round. ``limit``: at most that many.
    """
    keys = chats_named(conn, config, group, former=True) if group is not None else None
    since = None if days is None else (now or datetime.now(config.bot.tz)) - timedelta(days=days)
    rows = store.rounds(conn, chat_keys=keys, since=since, limit=None if keys and len(keys) > 1 else limit)
    if keys and len(keys) > 1:  # a former chat: only the rounds opened while it was this group's
        chats = group_chats(conn)
        gids = {chats.current.get(keys[0])} - {None}
        rows = [r for r in rows if not gids or group_of_round(chats, r) & gids
                or any(g.chat_key == keys[0] for g in r.groups)][:limit]
    return [view(r, config) for r in rows]


def show_round(conn: Connection, config: AppConfig, deal_id: str) -> RoundView:
    """One round with its items (qty and amount) and groups; raises :class:`UnknownRound`."""
    row = store.round_of(conn, deal_id)
    if row is None:
        raise UnknownRound(deal_id)
    return view(row, config)


def round_titles(conn: Connection, config: AppConfig, deal_id: str) -> dict[str, str]:
    """chat key → group name for people, for each group of the round; raises :class:`UnknownRound`."""
    row = store.round_of(conn, deal_id)
    if row is None:
        raise UnknownRound(deal_id)
    return {g.chat_key: group_title(config, g.chat_key, g.title) for g in row.groups}


def export_round(service: OrderService, conn: Connection, config: AppConfig, deal_id: str,
                 fmt: str = "csv") -> bytes:
    """The round's orders, every group, as the spreadsheet of /export (``fmt`` "xlsx" or "csv",
    :mod:`bot.export`, its formula neutralising included); raises :class:`UnknownRound`."""
    from bot.usecases.lists import deal_lists, export_bytes, group_points

    titles = round_titles(conn, config, deal_id)
    points = group_points(service, config)
    lists = deal_lists(service, config, deal_id, titles=titles, pickup_points=points)
    return export_bytes(lists, config, fmt, points)


def copy_round(service: OrderService, engine: Engine, config: AppConfig, deal_id: str,
               group: str | None = None, *, announce: bool = False) -> str:
    """Open a round again: the same items, prices, stock and limits (no cutoff: the old one has
    passed), the same title, for the same groups or ``group``; returns the new deal's id.

    Raises :class:`UnknownRound`, :class:`UnknownGroup`, :class:`GroupRetired` for a retired group,
    or :class:`RoundStillOpen` when a group has an open round (opening another would leave that one open with no group). ``announce``: the
    card is posted in each group through the outbox (:meth:`OrderService.open_deal`).
    """
    deal = service.repo.get_deal(deal_id)
    if deal is None:
        raise UnknownRound(deal_id)
    from bot.usecases.platform_data import retired_chats
    from storage import platform

    with engine.connect() as conn:  # ended before the service writes
        keys = chats_named(conn, config, group) if group is not None else _chats_now(conn, deal_id, deal.created_at)
        retired = retired_chats(platform.load(conn))
    if not keys:
        raise UnknownGroup(f"round {deal_id} has no group; name one with --group")
    for key in keys:
        if key in retired:
            raise GroupRetired(f"group {retired[key]} is retired (tuan group edit {retired[key]} --active to serve it "
                               f"again)")
    for key in keys:
        current = service.deal_of(key)
        if current is not None and current.status == "open":
            raise RoundStillOpen(f"{group_name(config, key)} has an open round {current.id}; close it first")
    catalog = dataclasses.replace(service.catalog_of(deal_id), cutoff=None)
    return service.open_deal(catalog, keys, title=deal.title, source=f"copy:{deal_id}", announce=announce)


def _chats_now(conn: Connection, deal_id: str, opened: datetime) -> list[str]:
    """The chat keys the round ``deal_id`` (opened at ``opened``, aware) would be copied into, sorted:
    each of its chats (:func:`storage.history.chats_of`) as the chat its group
    (:meth:`GroupChats.group_at`) has now — not a chat the round moved out of with its group, nor
    one its group has left since (no group's, or another group's now); a chat of no group as it is,
    a chat of a group no longer in the store left out."""
    chats = group_chats(conn)
    now = {gid: key for key, gid in chats.current.items()}
    keys: set[str] = set()
    for key in store.chats_of(conn, deal_id):
        gid = chats.group_at(key, opened, deal_id)
        if gid is None:
            keys.add(key)
        elif gid in now:
            keys.add(now[gid])
    return sorted(keys)


def history_text(engine: Engine, config: AppConfig, chat_key: str, *, limit: int = HISTORY_LIMIT) -> str:
    """/history's answer for one group: its newest rounds, each with its households and amount (over
    all the round's groups, as /tally counts them), or that it has none."""
    with store.reading(engine) as conn:
        rounds = [view(r, config) for r in store.rounds(conn, chat_keys=[chat_key], limit=limit)]
    if not rounds:
        return m.HISTORY_NONE
    rows = [m.HISTORY_ROW.format(name=r.name, state=m.HISTORY_CLOSED if r.closed_now else m.HISTORY_OPEN,
                                 households=r.households, amount=money(r.amount)) for r in rounds]
    return "\n".join([m.HISTORY_TITLE.format(n=len(rounds)), *rows])
