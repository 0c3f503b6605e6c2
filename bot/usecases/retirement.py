"""Removing a leader or a group (`tuan leader remove`, `tuan group remove`) as a retirement; undone
with `tuan leader|group edit ID --active` (:func:`bot.usecases.operators.edit_leader`, ``edit_group``).

History is never destroyed: a retired row stays in the store with its ``retired_at`` (aware), so
the orders, payments, refunds and audit of past rounds stay readable and their settlement stays
what it was. What retirement stops (docs/platform.md, "Removing a leader or a group"):

- a retired *leader* leads nothing (chat commands, the web) and earns commission only on the rounds
  opened before ``retired_at`` (:func:`bot.usecases.settlement.leaders_of`);
- a retired *group* takes no new round (`tuan deal open|copy`, the web, a deal post in the chat),
  nobody leads its chat (chat admins included), and its schedules are not run.

What would orphan something is refused, with one line saying what to do first: a leader from
tuan.toml (removed there), the upline of an active leader, the only leader of an active group; a
group from tuan.toml, a group with an open round, or one whose rounds still have goods to pick
up or money to collect (:func:`rounds_owing`).

Pure functions of :class:`bot.usecases.operators.OperatorRows` returning
:class:`bot.usecases.operators.OperatorChanges` (audit lines included), as the other operator use cases;
:func:`rounds_owing` reads the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.config import AppConfig
from bot.usecases.operators import (
    Audited,
    OperatorChanges,
    OperatorError,
    OperatorRows,
    OperatorStore,
    utc_minute,
)
from bot.usecases.platform_data import CONFIG, LEADER

if TYPE_CHECKING:
    from bot.services.orders import OrderService


@dataclass(frozen=True, slots=True)
class RoundState:
    """A round a group's chat still works: ``open`` while orders are taken; ``unpicked`` households
    whose goods are not picked up, ``unpaid`` households that owe money."""

    deal_id: str
    title: str
    open: bool
    unpicked: int = 0
    unpaid: int = 0


def rounds_owing(service: OrderService, config: AppConfig, chat_key: str, now: datetime) -> list[RoundState]:
    """The chat's rounds that keep its group from retiring: its open round, and each round its leader
    still works (:meth:`bot.usecases.leaderday.LeaderDay.worked_rounds`: closed within the pickup days)
    with goods to pick up or money to collect. Reads (and, as every look at a closed round's pickups
    does, gives missing pickup codes). Raises :class:`bot.ports.StoreUnavailable`."""
    from bot.usecases.leaderday import LeaderDay
    from bot.usecases.lists import group_points

    current = service.deal_of(chat_key)
    if current is None:
        return []
    if current.status == "open":
        return [RoundState(current.id, current.title, True)]
    points = group_points(service, config)
    day = LeaderDay(service.repo, lambda k: points.get(k, ()))
    out = []
    for deal_id in day.worked_rounds(chat_key, current.id, now):
        unpicked, unpaid = len(day.unpicked(deal_id, chat_key)), len(day.unpaid(deal_id, chat_key))
        if unpicked or unpaid:
            deal = service.repo.get_deal(deal_id)
            out.append(RoundState(deal_id, deal.title if deal is not None else "", False, unpicked, unpaid))
    return out


def retire_leader(rows: OperatorRows, leader_id: str, now: datetime) -> OperatorChanges:
    """Retire ``leader_id`` at ``now`` (aware); empty changes when retired already. Raises
    :class:`OperatorError` for an unknown leader, one from tuan.toml, the upline of an active leader,
    or the only leader of an active group."""
    old = rows.platform.leaders.get(leader_id)
    if old is None:
        raise OperatorError(f"no leader {leader_id!r} (tuan leader list)")
    if old.retired_at is not None:
        return OperatorChanges()
    if old.source == CONFIG:
        raise OperatorError(f"leader {leader_id} comes from tuan.toml: remove it there")
    active = {lid: ld for lid, ld in rows.platform.leaders.items() if ld.retired_at is None}
    below = sorted(lid for lid in active if rows.terms_of(lid).upline == leader_id)
    if below:
        raise OperatorError(f"leader {leader_id} is the upline of {', '.join(below)}: give them another upline "
                            f"or none first (tuan leader edit {below[0]} --upline none)")
    if old.role == LEADER:
        for gid in sorted(old.groups):
            group = rows.platform.groups.get(gid)
            others = [lid for lid, ld in active.items() if lid != leader_id and ld.role == LEADER and gid in ld.groups]
            if group is not None and group.retired_at is None and not others:
                raise OperatorError(f"leader {leader_id} is the only leader of group {gid}: give it another leader "
                                    f"first (tuan group edit {gid} --leaders ...) or remove the group")
    ch = OperatorChanges()
    ch.platform.leaders.append(replace(old, retired_at=now))
    ch.audit.append(Audited("leader.remove", f"leader {leader_id}: retired ({old.name}; leads nothing from now, "
                                             f"earns on rounds opened before {utc_minute(now)})"))
    return ch


def retire_group(rows: OperatorRows, config: AppConfig, group_id: str, now: datetime,
                 owing: Sequence[RoundState]) -> OperatorChanges:
    """Retire ``group_id`` at ``now`` (aware), given its chat's :func:`rounds_owing`; empty changes
    when retired already. Raises :class:`OperatorError` for an unknown group, one from tuan.toml, or
    one with an open round or a round that still has goods to pick up or money to collect."""
    old = rows.platform.groups.get(group_id)
    if old is None:
        known = ", ".join(sorted(rows.platform.groups)) or "none"
        raise OperatorError(f"no group {group_id!r} (groups: {known})")
    if old.retired_at is not None:
        return OperatorChanges()
    if config.group(group_id) is not None:
        raise OperatorError(f"group {group_id} comes from tuan.toml: remove it there")
    for r in owing:
        if r.open:
            raise OperatorError(f"group {group_id} has an open round {r.deal_id} ({r.title}): "
                                f"close it first (/close in the chat)")
        raise OperatorError(f"group {group_id}'s round {r.deal_id} ({r.title}) still has {r.unpicked} "
                            f"households to pick up and {r.unpaid} to pay: finish it first (/unpicked, /unpaid)")
    ch = OperatorChanges()
    ch.platform.groups.append(replace(old, retired_at=now))
    ch.audit.append(Audited("group.remove", f"group {group_id}: retired ({old.chat_key} {old.title!r}; "
                                            f"no new rounds, nobody leads it)"))
    return ch



def remove_group(store: OperatorStore, service: OrderService, config: AppConfig, group_id: str, now: datetime,
                 actor: tuple[str, str]) -> OperatorChanges:
    """`tuan group remove`: the group's :func:`rounds_owing` read, then :func:`retire_group` written with
    its audit row by ``actor`` (id, name). Raises :class:`OperatorError` (refused) or
    :class:`bot.ports.StoreUnavailable`."""
    group = store.load().platform.groups.get(group_id)
    owing = rounds_owing(service, config, group.chat_key, now) if group and group.retired_at is None else []
    return store.update(lambda rows: retire_group(rows, config, group_id, now, owing), actor=actor)
