"""Leaders' commission terms through time: a round is settled under the terms in force when it
opened, so a later `tuan leader edit --rate` (or ``--upline``, ``--upline-share``) never rewrites
a past period.

Every change of a leader's terms is recorded with the time it was made (``leader_terms``, migration
0018; :func:`storage.operators.write`). The terms in force at a time are those of the leader's
latest change at or before it; before their first recorded change, the first one's (a leader's
terms are given when they are added, and a store older than the history has one change per
leader, from its ``created_at``, the terms it had then). A leader with no recorded change has their
current terms (:meth:`bot.usecases.operators.OperatorRows.terms_of`) at every time.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.usecases.operators import OperatorRows, Terms


@dataclass(frozen=True, slots=True)
class TermsHistory:
    """Per leader id, their changes ``(since, terms)`` oldest first (``since`` aware)."""

    changes: Mapping[str, tuple[tuple[datetime, Terms], ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, datetime, Terms]]) -> TermsHistory:
        """From ``(leader id, since, terms)`` rows in any order."""
        per: dict[str, list[tuple[datetime, Terms]]] = {}
        for lid, since, terms in rows:
            per.setdefault(lid, []).append((since, terms))
        return cls({lid: tuple(sorted(ch, key=lambda c: c[0])) for lid, ch in per.items()})

    def at(self, rows: OperatorRows, leader_id: str, when: datetime | None) -> Terms:
        """``leader_id``'s terms in force at ``when`` (aware; module docstring); None: their current terms."""
        ch = self.changes.get(leader_id)
        if not ch or when is None:
            return rows.terms_of(leader_id)
        i = bisect_right([since for since, _t in ch], when)
        return ch[max(0, i - 1)][1]
