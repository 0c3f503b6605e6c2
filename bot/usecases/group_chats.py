"""Which group a round's chat was when the round opened: a group is its id, not its chat key.

A group's chat key can change (`tuan group edit --chat`, tuan.toml: a Telegram group upgraded to a
supergroup gets a new chat id); the key it had is then recorded with the time it stopped
(``group_former_chats``, migration 0018; :func:`storage.group_chats.record`). A round opened in
chat ``k`` at time ``t`` belongs to the group that had ``k`` at ``t``: the first recorded holder of
``k`` after ``t``, else the group whose chat ``k`` is now (so rounds a group ran in its new chat
before the operator changed the key are its own too), else none (no store group: not settled).
The settlement and the statistics join rounds to groups this way (:mod:`bot.usecases.settlement`,
:mod:`bot.usecases.stats`, :mod:`bot.usecases.purchase`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class GroupChats:
    """``current``: chat key → the group id whose chat it is now; ``former``: chat key → its former
    holders ``(until, group id)``, earliest ``until`` first (aware)."""

    current: Mapping[str, str] = field(default_factory=dict)
    former: Mapping[str, tuple[tuple[datetime, str], ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, current: Mapping[str, str], former: Iterable[tuple[str, datetime, str]]) -> GroupChats:
        """From the current chat keys and ``(chat key, until, group id)`` rows in any order."""
        per: dict[str, list[tuple[datetime, str]]] = {}
        for key, until, gid in former:
            per.setdefault(key, []).append((until, gid))
        return cls(dict(current), {k: tuple(sorted(v)) for k, v in per.items()})

    def group_at(self, chat_key: str, when: datetime) -> str | None:
        """The id of the group whose chat ``chat_key`` was at ``when`` (aware), or None."""
        for until, gid in self.former.get(chat_key, ()):
            if when < until:
                return gid
        return self.current.get(chat_key)

    def groups_of(self, chat_keys: Iterable[str], when: datetime) -> dict[str, list[str]]:
        """Group id → the keys of ``chat_keys`` that were its chats at ``when``, sorted; keys of no
        group are left out."""
        out: dict[str, list[str]] = {}
        for key in sorted(chat_keys):
            gid = self.group_at(key, when)
            if gid is not None:
                out.setdefault(gid, []).append(key)
        return out
