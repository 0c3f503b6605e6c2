"""Dating the leadership history in tests: the CLI records each change of a group's leaders now
(storage/leadership.py), while a test's month of rounds is back-dated before it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, select, update

from storage.models import GROUP_LEADER_SETS


def leaders_linked_since(engine: Engine, day: datetime) -> None:
    """Each group's current leaders (its latest ``group_leader_sets`` row) led it from ``day`` (aware)
    on; its earlier rows are dropped (a group with no row keeps none)."""
    with engine.begin() as conn:
        latest: dict[str, datetime] = {}
        for gid, since in conn.execute(select(GROUP_LEADER_SETS.c.group_id, GROUP_LEADER_SETS.c.since)):
            latest[gid] = max(latest.get(gid, since), since)
        for gid, since in latest.items():
            conn.execute(delete(GROUP_LEADER_SETS).where(GROUP_LEADER_SETS.c.group_id == gid,
                                                         GROUP_LEADER_SETS.c.since < since))
            conn.execute(update(GROUP_LEADER_SETS).where(GROUP_LEADER_SETS.c.group_id == gid).values(since=day))
