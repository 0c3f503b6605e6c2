"""Which group a round's chat was when the round opened: a group is its id, not its chat key.

A group's chat key can change (`tuan group edit --chat`, tuan.toml: a Telegram group upgraded to a
supergroup gets a new chat id); the key it had is then recorded with the time it stopped
(``group_former_chats``, migration 0018; :func:`storage.group_chats.record`). A round opened in
chat ``k`` at time ``t`` belongs to the group that had ``k`` at ``t``: the first recorded holder of
``k`` after ``t``, else the group whose chat ``k`` is now (so rounds a group ran in its new chat
before the operator changed the key are its own too), else none (no store group: not settled).
The settlement and the statistics join rounds to groups this way (:mod:`bot.usecases.settlement`,
:mod:`bot.usecases.stats`, :mod:`bot.usecases.purchase`).

An open round moves with its group's chat (storage/platform.py ``_move_round``; ``deal_moves``,
migration 0020): a chat it moved into that was none of its chats before is that group's for this
round, whoever had the chat when the round opened (another group may have had it then and moved on).
A chat that already was one of the round's (groups swapping chats) keeps the group it had when the
round opened: its orders taken before the swap are that group's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class GroupChats:
    """``current``: chat key → the group id whose chat it is now; ``former``: chat key → its former
    holders ``(until, group id)``, earliest ``until`` first (aware); ``moves``: deal id → the moves
    of that open round into chats new to it ``(at, from chat key, to chat key, group id)``, earliest
    first."""

    current: Mapping[str, str] = field(default_factory=dict)
    former: Mapping[str, tuple[tuple[datetime, str], ...]] = field(default_factory=dict)
    moves: Mapping[str, tuple[tuple[datetime, str, str, str], ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, current: Mapping[str, str], former: Iterable[tuple[str, datetime, str]],
           moves: Iterable[tuple[str, datetime, str, str, str]] = ()) -> GroupChats:
        """From the current chat keys, ``(chat key, until, group id)`` rows and ``(deal id, at,
        from chat key, to chat key, group id)`` rows of round moves, each in any order."""
        per: dict[str, list[tuple[datetime, str]]] = {}
        for key, until, gid in former:
            per.setdefault(key, []).append((until, gid))
        per_deal: dict[str, list[tuple[datetime, str, str, str]]] = {}
        for deal_id, at, old, new, gid in moves:
            per_deal.setdefault(deal_id, []).append((at, old, new, gid))
        return cls(dict(current), {k: tuple(sorted(v)) for k, v in per.items()},
                   {d: tuple(sorted(v)) for d, v in per_deal.items()})

    def group_at(self, chat_key: str, when: datetime, deal_id: str | None = None) -> str | None:
        """The id of the group whose chat ``chat_key`` was at ``when`` (aware), or None; for the
        round ``deal_id``: the group it last moved into ``chat_key`` with, if it did."""
        moved = [gid for _at, _old, new, gid in self.moves.get(deal_id or "", ()) if new == chat_key]
        if moved:
            return moved[-1]
        for until, gid in self.former.get(chat_key, ()):
            if when < until:
                return gid
        return self.current.get(chat_key)

    def groups_of(self, chat_keys: Iterable[str], when: datetime, deal_id: str | None = None) -> dict[str, list[str]]:
        """Group id → the keys of ``chat_keys`` that were its chats at ``when`` (for the round
        ``deal_id``: see :meth:`group_at`), sorted; keys of no group are left out."""
        out: dict[str, list[str]] = {}
        for key in sorted(chat_keys):
            gid = self.group_at(key, when, deal_id)
            if gid is not None:
                out.setdefault(gid, []).append(key)
        return out
