"""Leaders' commission terms through time: a round is settled under the terms in force when it
opened, so a later `tuan leader edit --rate` (or ``--upline``, ``--upline-share``) never rewrites
a past period.

Every change of a leader's terms is recorded with the time it was made (``leader_terms``, migration
0018; :func:`storage.operators.write`). The terms in force at a time are those of the leader's
latest change at or before it; before their first recorded change, the first one's (a leader's
terms are given when they are added, and a store older than the history has one change per
leader, from its ``created_at``, the terms it had then). A leader with no recorded change has their
current terms (:meth:`bot.usecases.operators.OperatorRows.terms_of`) at every time.

Who led a round is historical the same way (migration 0019, storage/leadership.py): each change of
a leader's role or ``retired_at`` (:class:`Standing`: ``tuan leader edit --role``, ``leader
remove``, ``edit --active``, tuan.toml) and each change of a group's leaders (``group add|edit
--leaders``, ``leader add|edit --groups``, tuan.toml) is recorded with its time. Both are read like
the terms: the latest change at or before the time, before the first change the first one (the
store records the state a first change replaces just before it), none recorded: the current rows.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from bot.usecases.operators import OperatorRows, Terms

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Standing:
    """A leader's role and ``retired_at`` (aware; None: active) as of a change."""

    role: str
    retired_at: datetime | None


@dataclass(frozen=True, slots=True)
class TermsHistory:
    """Per leader id, their changes ``(since, terms)`` and ``(since, standing)`` oldest first; per
    group id, its leaders' ids ``(since, ids)`` oldest first (``since`` aware)."""

    changes: Mapping[str, tuple[tuple[datetime, Terms], ...]] = field(default_factory=dict)
    standing: Mapping[str, tuple[tuple[datetime, Standing], ...]] = field(default_factory=dict)
    members: Mapping[str, tuple[tuple[datetime, frozenset[str]], ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, datetime, Terms]], *,
           standing: Iterable[tuple[str, datetime, Standing]] = (),
           members: Iterable[tuple[str, datetime, frozenset[str]]] = ()) -> TermsHistory:
        """From ``(leader id, since, terms)``, ``(leader id, since, standing)`` and ``(group id,
        since, leader ids)`` rows in any order."""
        return cls(_by_key(rows), _by_key(standing), _by_key(members))

    def at(self, rows: OperatorRows, leader_id: str, when: datetime | None) -> Terms:
        """``leader_id``'s terms in force at ``when`` (aware; module docstring); None: their current terms."""
        ch = self.changes.get(leader_id)
        if not ch or when is None:
            return rows.terms_of(leader_id)
        return _in_force(ch, when)

    def standing_at(self, rows: OperatorRows, leader_id: str, when: datetime | None) -> Standing:
        """``leader_id``'s role and retirement in force at ``when`` (aware); None: their current ones.
        Raises ``KeyError`` for a leader not in ``rows``."""
        ld = rows.platform.leaders[leader_id]
        ch = self.standing.get(leader_id)
        if not ch or when is None:
            return Standing(ld.role, ld.retired_at)
        return _in_force(ch, when)

    def members_at(self, rows: OperatorRows, group_id: str, when: datetime | None) -> frozenset[str]:
        """The ids of the leaders linked to ``group_id`` at ``when`` (aware), whatever their role
        or retirement; None: those linked now."""
        ch = self.members.get(group_id)
        if not ch or when is None:
            return frozenset(lid for lid, ld in rows.platform.leaders.items() if group_id in ld.groups)
        return _in_force(ch, when)


def _by_key(rows: Iterable[tuple[str, datetime, T]]) -> dict[str, tuple[tuple[datetime, T], ...]]:
    per: dict[str, list[tuple[datetime, T]]] = {}
    for key, since, value in rows:
        per.setdefault(key, []).append((since, value))
    return {key: tuple(sorted(ch, key=lambda c: c[0])) for key, ch in per.items()}


def _in_force(changes: tuple[tuple[datetime, T], ...], when: datetime) -> T:
    """The value of the latest change at or before ``when``; before the first, the first's."""
    i = bisect_right([since for since, _v in changes], when)
    return changes[max(0, i - 1)][1]
