"""Who led, through time, in the store (migration 0019): a ``leader_standing`` row each time a
leader's role or ``retired_at`` changes, and a ``group_leader_sets`` row each time a group's leaders
change. Written by :func:`storage.platform.write` in the caller's transaction; read by
:func:`storage.operators.terms_history` (bot/usecases/terms_history.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from storage.models import GROUP_LEADER_SETS, GROUP_LEADERS, LEADER_STANDING, LEADERS

TICK = timedelta(microseconds=1)
"""How long before a leader's (a group's) first recorded change the state it replaces is recorded."""


def leader_states(conn: Connection, ids: Iterable[str]) -> dict[str, tuple[str, datetime | None]]:
    """Per leader id of ``ids`` in the store: their ``(role, retired_at)``."""
    ids = list(ids)
    if not ids:
        return {}
    return {lid: (role, retired) for lid, role, retired in conn.execute(
        select(LEADERS.c.id, LEADERS.c.role, LEADERS.c.retired_at).where(LEADERS.c.id.in_(ids)))}


def record_leaders(conn: Connection, before: Mapping[str, tuple[str, datetime | None]], now: datetime) -> None:
    """Record each leader of ``before`` (their :func:`leader_states` before the change) whose role
    or ``retired_at`` changed as a ``leader_standing`` row from ``now`` (aware). A leader without a
    row first gets the state it replaces just before ``now``; a retirement that ends (reinstated)
    gets a row from its ``retired_at``, so the rounds opened while it lasted stay without the leader."""
    after = leader_states(conn, before)
    for lid in sorted(after):
        (old_role, ended), new = before[lid], after[lid]
        if (old_role, ended) == new:
            continue
        mine = set(conn.scalars(select(LEADER_STANDING.c.since).where(LEADER_STANDING.c.leader_id == lid)))
        if not mine:
            _put(conn, lid, now - TICK, (old_role, ended))
        if ended is not None and ended != new[1] and ended < now - TICK and ended not in mine:
            _put(conn, lid, ended, (old_role, ended))
        _put(conn, lid, now, new)


def _put(conn: Connection, lid: str, since: datetime, state: tuple[str, datetime | None]) -> None:
    conn.execute(delete(LEADER_STANDING).where(LEADER_STANDING.c.leader_id == lid, LEADER_STANDING.c.since == since))
    conn.execute(insert(LEADER_STANDING).values(leader_id=lid, since=since, role=state[0], retired_at=state[1]))


def group_members(conn: Connection) -> dict[str, frozenset[str]]:
    """Per group id, the ids of the leaders linked to it (``group_leaders``; a group without one is absent)."""
    out: dict[str, set[str]] = {}
    for gid, lid in conn.execute(select(GROUP_LEADERS.c.group_id, GROUP_LEADERS.c.leader_id)):
        out.setdefault(gid, set()).add(lid)
    return {gid: frozenset(ids) for gid, ids in out.items()}


def record_members(conn: Connection, before: Mapping[str, frozenset[str]], now: datetime,
                   created: Iterable[str] = ()) -> None:
    """Record each group whose leaders differ from ``before`` (:func:`group_members` before the
    change), and each group of ``created`` (ids of groups inserted by the change, whatever their
    leaders), as a ``group_leader_sets`` row from ``now`` (aware). Any other group without a row
    first gets the set it replaces just before ``now``, even an empty one (the rounds it opened
    with no leader stay led by no one)."""
    after = group_members(conn)
    created = set(created)
    for gid in sorted(set(before) | set(after) | created):
        old, new = before.get(gid, frozenset()), after.get(gid, frozenset())
        if old == new and gid not in created:
            continue
        if gid not in created and not conn.scalar(select(func.count()).select_from(GROUP_LEADER_SETS)
                                                  .where(GROUP_LEADER_SETS.c.group_id == gid)):
            _put_set(conn, gid, now - TICK, old)
        _put_set(conn, gid, now, new)


def _put_set(conn: Connection, gid: str, since: datetime, ids: frozenset[str]) -> None:
    conn.execute(delete(GROUP_LEADER_SETS).where(GROUP_LEADER_SETS.c.group_id == gid,
                                                 GROUP_LEADER_SETS.c.since == since))
    conn.execute(insert(GROUP_LEADER_SETS).values(group_id=gid, since=since, leader_ids=sorted(ids)))
