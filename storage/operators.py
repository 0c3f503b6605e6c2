"""Leaders' commission terms, schedules and the operators' audit rows in the store
(:class:`bot.usecases.operators.OperatorStore`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, delete, insert, select, update

from bot.usecases.operators import OperatorChanges, OperatorRows, ScheduleRow, Terms
from bot.usecases.terms_history import Standing, TermsHistory
from storage import platform
from storage.leaderday import add_audit
from storage.models import GROUP_LEADER_SETS, LEADER_STANDING, LEADER_TERMS, LEADERS, SCHEDULES
from storage.sql import unavailable_as_such

AUDIT_CHAT = "cli"
"""``audit.chat_key`` of a change made from the command line (no group chat)."""


def _dec(text: str | None) -> Decimal | None:
    return None if text is None or text == "" else Decimal(text)


def load(conn: Connection) -> OperatorRows:
    """The platform rows, the leaders' terms and the schedules, through ``conn``."""
    rows = OperatorRows(platform=platform.load(conn))
    for lid, rate, upline, share in conn.execute(select(LEADERS.c.id, LEADERS.c.commission_rate,
                                                        LEADERS.c.upline_id, LEADERS.c.upline_share)):
        if rate is not None or upline is not None or share is not None:
            rows.terms[lid] = Terms(_dec(rate), upline, _dec(share))
    for r in conn.execute(select(SCHEDULES).order_by(SCHEDULES.c.position, SCHEDULES.c.id)).mappings():
        rows.schedules[r["id"]] = ScheduleRow(r["id"], r["group_id"], r["kind"], r["cron"], r["second"], r["text"],
                                              r["source"], r["position"], r["created_at"])
    return rows


def terms_history(conn: Connection) -> TermsHistory:
    """Every recorded change of the leaders' terms (``leader_terms``), roles and retirement
    (``leader_standing``) and of the groups' leaders (``group_leader_sets``), through ``conn``."""
    return TermsHistory.of(
        ((r.leader_id, r.since, Terms(_dec(r.commission_rate), r.upline_id, _dec(r.upline_share)))
         for r in conn.execute(select(LEADER_TERMS))),
        standing=((r.leader_id, r.since, Standing(r.role, r.retired_at)) for r in conn.execute(select(LEADER_STANDING))),
        members=((r.group_id, r.since, frozenset(r.leader_ids)) for r in conn.execute(select(GROUP_LEADER_SETS))))


def write(conn: Connection, ch: OperatorChanges, *, actor: tuple[str, str], now: datetime) -> None:
    """Write ``ch`` through ``conn`` (the caller owns the transaction), its audit rows by ``actor``;
    each leader's terms put are also a ``leader_terms`` row from ``now`` (aware)."""
    platform.write(conn, ch.platform, now)
    for lid, t in ch.terms.items():
        values = {"commission_rate": None if t.rate is None else str(t.rate), "upline_id": t.upline,
                  "upline_share": None if t.upline_share is None else str(t.upline_share)}
        conn.execute(update(LEADERS).where(LEADERS.c.id == lid).values(**values))
        # the change's time, so past rounds keep the terms they opened under (bot/usecases/terms_history.py)
        conn.execute(delete(LEADER_TERMS).where(LEADER_TERMS.c.leader_id == lid, LEADER_TERMS.c.since == now))
        conn.execute(insert(LEADER_TERMS).values(leader_id=lid, since=now, **values))
    if ch.schedules_deleted:
        conn.execute(delete(SCHEDULES).where(SCHEDULES.c.id.in_(ch.schedules_deleted)))
    if ch.schedules:
        conn.execute(delete(SCHEDULES).where(SCHEDULES.c.id.in_([s.id for s in ch.schedules])))
        conn.execute(insert(SCHEDULES), [
            {"id": s.id, "group_id": s.group_id, "kind": s.kind, "cron": s.cron, "second": s.second, "text": s.text,
             "source": s.source, "position": s.position, "created_at": s.created_at} for s in ch.schedules])
    for a in ch.audit:
        add_audit(conn, at=now, actor_id=actor[0], actor_name=actor[1], action=a.action, chat_key=AUDIT_CHAT,
                  deal_id=None, household=None, detail=a.detail)


class SqlOperatorStore:
    """Operator data on the repository's engine (SQLite or PostgreSQL); every method raises
    :class:`bot.ports.StoreUnavailable` when the database cannot serve."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine, self.clock = engine, clock

    def load(self) -> OperatorRows:
        """Every row, in one transaction."""
        with unavailable_as_such(), self.engine.begin() as conn:
            return load(conn)

    def update(self, change: Callable[[OperatorRows], OperatorChanges], *,
               actor: tuple[str, str]) -> OperatorChanges:
        """Read, decide (``change``), write with the audit rows: one transaction, serialised with the
        platform data's other updates (what ``change`` raises rolls everything back)."""
        with unavailable_as_such(), self.engine.begin() as conn:
            platform._lock(conn)
            done = change(load(conn))
            if not done.is_empty():
                write(conn, done, actor=actor, now=self.clock())
            return done
