"""Operators run the platform: leaders (with their commission terms and upline), groups and
schedules as store data, each change audited.

Roles: an *operator* (the platform, ``leaders.role`` "operator") runs these use cases from the
command line (`tuan leader|group|schedule`); a *leader* (团长) leads their groups' deals in the
chat; everyone else is a *resident*. Rows imported from tuan.toml (``source`` "config") stay owned
by the import: their fields are changed in tuan.toml, and here only what tuan.toml cannot say (a
leader's commission terms and upline) is. Each use case is a pure function of the store's rows
(:class:`OperatorRows`) returning what to write (:class:`OperatorChanges`), audit lines included;
:class:`storage.operators.SqlOperatorStore` writes it in one transaction.

Two tiers at most (分销最多两级, the Chinese rules on multi-level distribution): a leader may have an
upline, who earns ``upline_share`` of their direct downline's commission; an upline must have no
upline itself, and a leader with downlines cannot be given an upline (either would make a third
level). Cycles are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import SCHEDULE_KINDS as SCHEDULE_KINDS  # what a schedule posts (bot/scheduler.py JOBS)
from bot.config import AppConfig
from bot.usecases.platform_data import (
    CONFIG,
    LEADER,
    OPERATOR,
    GroupRow,
    LeaderRow,
    PlatformChanges,
    PlatformDataError,
    PlatformRows,
)

CLI = "cli"
"""``source`` of rows added from the command line."""


class OperatorError(PlatformDataError):
    """An operator request that cannot be done (unknown id, bad value, a third tier); one line."""


@dataclass(frozen=True, slots=True)
class Terms:
    """A leader's commission terms: ``rate`` of their groups' net sales (0 ≤ rate < 1; None: no
    commission); ``upline``: the leader who recruited them (None: none); ``upline_share``: the share
    of each direct downline's commission this leader earns (None: nothing)."""

    rate: Decimal | None = None
    upline: str | None = None
    upline_share: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """A scheduled post of a group: ``kind`` one of :data:`SCHEDULE_KINDS`, ``cron`` a crontab
    expression in the bot's time zone, ``second`` within the minute, ``text`` the post's own words."""

    id: str
    group_id: str
    kind: str
    cron: str
    second: int
    text: str
    source: str
    position: int
    created_at: datetime


@dataclass(slots=True)
class OperatorRows:
    """The platform rows (groups, leaders, products), every leader's terms and every schedule."""

    platform: PlatformRows = field(default_factory=PlatformRows)
    terms: dict[str, Terms] = field(default_factory=dict)
    schedules: dict[str, ScheduleRow] = field(default_factory=dict)

    def terms_of(self, leader_id: str) -> Terms:
        return self.terms.get(leader_id, Terms())


@dataclass(frozen=True, slots=True)
class Audited:
    """One audit row: ``action`` such as "leader.add", ``detail`` the change for people."""

    action: str
    detail: str


@dataclass(slots=True)
class OperatorChanges:
    """What to write in one transaction: platform rows, leaders' terms (replaced whole), schedules
    put and deleted, and one audit row per change (``audit``; also the lines shown)."""

    platform: PlatformChanges = field(default_factory=PlatformChanges)
    terms: dict[str, Terms] = field(default_factory=dict)
    schedules: list[ScheduleRow] = field(default_factory=list)
    schedules_deleted: list[str] = field(default_factory=list)
    audit: list[Audited] = field(default_factory=list)

    def is_empty(self) -> bool:
        return self.platform.is_empty() and not (self.terms or self.schedules or self.schedules_deleted)

    @property
    def said(self) -> list[str]:
        return [a.detail for a in self.audit]


class OperatorStore(Protocol):
    """Where operator changes are read and written (``storage.operators.SqlOperatorStore``)."""

    def load(self) -> OperatorRows: ...

    def update(self, change: Callable[[OperatorRows], OperatorChanges], *, actor: tuple[str, str]) -> OperatorChanges:
        """Read, decide, write (with the audit rows, by ``actor`` (id, name)): one transaction."""
        ...


# --- values ------------------------------------------------------------------------------------------

_ID = re.compile(r"^[\w.\-@]{1,64}$")


def check_id(kind: str, value: str) -> str:
    """``value`` stripped, when it is a usable id (letters, digits, ``_ . - @``, at most 64)."""
    v = value.strip()
    if not _ID.fullmatch(v):
        raise OperatorError(f"{kind} id {value!r}: use letters, digits, '_', '.', '-' or '@' (at most 64)")
    return v


def parse_share(option: str, raw: str) -> Decimal | None:
    """A rate or share: "0.08", "8%" → Decimal("0.08"); "" or "none" → None. Raises
    :class:`OperatorError` for anything not in [0, 1)."""
    text = raw.strip().lower()
    if text in ("", "none", "-"):
        return None
    try:
        value = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except InvalidOperation:
        raise OperatorError(f"{option} {raw!r} is not a number such as 0.08 or 8%") from None
    if not value.is_finite() or not Decimal(0) <= value < 1:
        raise OperatorError(f"{option} {raw!r} must be at least 0 and below 1 (100%)")
    return value.normalize() if value else Decimal(0)


def parse_accounts(raw: Iterable[str]) -> frozenset[tuple[str, str]]:
    """"telegram:12345" / "wechat:wxid_x" / "*:@name" → {(platform, account)}."""
    out = set()
    for item in raw:
        platform, sep, account = item.strip().partition(":")
        if not sep or not platform or not account.strip():
            raise OperatorError(f"--account {item!r}: write PLATFORM:ACCOUNT, e.g. telegram:12345 or *:@name")
        out.add((platform.strip(), account.strip()))
    return frozenset(out)


def words(raw: str | None) -> tuple[str, ...] | None:
    """"a, b，c" → ("a", "b", "c") (deduplicated, in order); None stays None (not given)."""
    if raw is None:
        return None
    return tuple(dict.fromkeys(w.strip() for w in raw.replace("，", ",").split(",") if w.strip()))


# --- leaders -----------------------------------------------------------------------------------------

def _show_terms(t: Terms) -> str:
    return (f"rate {t.rate if t.rate is not None else '-'}, upline {t.upline or '-'}, "
            f"upline share {t.upline_share if t.upline_share is not None else '-'}")


def _check_upline(rows: OperatorRows, leader_id: str, upline: str | None) -> None:
    """Refuse an upline that is unknown, an operator, the leader, a cycle or a third tier."""
    if upline is None:
        return
    up = rows.platform.leaders.get(upline)
    if up is None:
        raise OperatorError(f"no leader {upline!r} to be the upline (tuan leader list)")
    if up.role != LEADER:
        raise OperatorError(f"{upline} is an operator; an upline must be a leader")
    if up.retired_at is not None:
        raise OperatorError(f"{upline} is retired and cannot be an upline (tuan leader edit {upline} --active)")
    seen: set[str] = {leader_id}
    at: str | None = upline
    while at is not None:
        if at in seen:
            raise OperatorError(f"{upline} cannot be the upline of {leader_id}: that makes a cycle")
        seen.add(at)
        at = rows.terms_of(at).upline if at in rows.platform.leaders else None
    above = rows.terms_of(upline).upline
    if above is not None and above in rows.platform.leaders:
        raise OperatorError(f"{upline} cannot recruit: their upline is {above}, and a third tier is not allowed "
                            f"(at most two tiers)")
    below = sorted(lid for lid, t in rows.terms.items() if t.upline == leader_id and lid in rows.platform.leaders)
    if below:
        raise OperatorError(f"{leader_id} cannot have an upline: they recruited {', '.join(below)}, "
                            f"which would make a third tier (at most two tiers)")


def add_leader(rows: OperatorRows, *, leader_id: str, name: str, role: str = LEADER,
               accounts: frozenset[tuple[str, str]] = frozenset(), groups: Iterable[str] = (),
               terms: Terms = Terms(), now: datetime) -> OperatorChanges:
    """A new leader (``source`` "cli"). Raises :class:`OperatorError` for a taken id, an unknown
    group, an empty name or a refused upline (see the module docstring)."""
    lid = check_id("leader", leader_id)
    if lid in rows.platform.leaders:
        retired = " --active: it is retired" if rows.platform.leaders[lid].retired_at is not None else ""
        raise OperatorError(f"leader {lid} exists already (tuan leader edit {lid}{retired})")
    if not name.strip():
        raise OperatorError("--name must not be empty")
    if role not in (LEADER, OPERATOR):
        raise OperatorError(f"--role {role!r}: leader or operator")
    led = _known_groups(rows, groups)
    _check_accounts(rows, lid, accounts)
    _check_upline(rows, lid, terms.upline)
    row = LeaderRow(id=lid, name=name.strip(), role=role, source=CLI, created_at=now, accounts=accounts,
                    groups=frozenset(led))
    ch = OperatorChanges()
    ch.platform.leaders.append(row)
    ch.terms[lid] = terms
    ch.audit.append(Audited("leader.add", f"leader {lid}: added ({name.strip()}, {role}, groups "
                                          f"{','.join(sorted(led)) or '-'}, {_show_terms(terms)})"))
    return ch


def _check_accounts(rows: OperatorRows, leader_id: str, accounts: frozenset[tuple[str, str]]) -> None:
    """Refuse a platform account another leader row has: one account is one leader (its /earnings
    and commands would otherwise speak for one row only). ``*`` as platform matches any platform.
    Raises :class:`OperatorError`."""
    for other in sorted(rows.platform.leaders.values(), key=lambda r: r.id):
        if other.id == leader_id:
            continue
        for p, a in sorted(accounts):
            if any(a == a2 and (p == p2 or "*" in (p, p2)) for p2, a2 in other.accounts):
                raise OperatorError(f"--account {p}:{a} belongs to leader {other.id} already "
                                    f"(tuan leader edit {other.id} --account ... to move it)")


def _known_groups(rows: OperatorRows, groups: Iterable[str], led: frozenset[str] = frozenset()) -> list[str]:
    """``groups`` (ids), each a group of the store; a retired one only when already in ``led``."""
    out = []
    for g in groups:
        if g not in rows.platform.groups:
            known = ", ".join(sorted(rows.platform.groups)) or "none"
            raise OperatorError(f"no group {g!r} (groups: {known})")
        if rows.platform.groups[g].retired_at is not None and g not in led:
            raise OperatorError(f"group {g} is retired (tuan group edit {g} --active)")
        out.append(g)
    return out


UNSET = object()


def edit_leader(rows: OperatorRows, leader_id: str, *, name: str | None = None, role: str | None = None,
                accounts: frozenset[tuple[str, str]] | None = None, groups: Iterable[str] | None = None,
                rate: object = UNSET, upline: object = UNSET, upline_share: object = UNSET,
                active: bool = False) -> OperatorChanges:
    """Change a leader's fields (None / :data:`UNSET`: unchanged; ``rate``, ``upline`` and
    ``upline_share`` may be set to None); ``active``: reinstate a retired leader
    (:mod:`bot.usecases.retirement`), refused while their upline is retired. A leader from tuan.toml
    keeps the fields tuan.toml gives (name, role, accounts, groups): changing those is refused.
    Raises :class:`OperatorError`."""
    old = rows.platform.leaders.get(leader_id)
    if old is None:
        raise OperatorError(f"no leader {leader_id!r} (tuan leader list)")
    if groups is not None and old.retired_at is not None and not active:
        raise OperatorError(f"leader {leader_id} is retired: the groups they led are kept for the settlement of "
                            f"their past rounds (tuan leader edit {leader_id} --active --groups ...)")
    if old.source == CONFIG and any(v is not None for v in (name, role, accounts, groups)):
        raise OperatorError(f"leader {leader_id} comes from tuan.toml: change its name, role, accounts and "
                            f"groups there (here: --rate, --upline, --upline-share)")
    if name is not None and not name.strip():
        raise OperatorError("--name must not be empty")
    if role is not None and role not in (LEADER, OPERATOR):
        raise OperatorError(f"--role {role!r}: leader or operator")
    if accounts is not None:
        _check_accounts(rows, leader_id, accounts)
    row = replace(old, name=name.strip() if name is not None else old.name, role=role or old.role,
                  accounts=accounts if accounts is not None else old.accounts,
                  groups=frozenset(_known_groups(rows, groups, old.groups)) if groups is not None else old.groups,
                  retired_at=None if active else old.retired_at)
    t0 = rows.terms_of(leader_id)
    t1 = Terms(rate=t0.rate if rate is UNSET else rate,  # type: ignore[arg-type]
               upline=t0.upline if upline is UNSET else upline,  # type: ignore[arg-type]
               upline_share=t0.upline_share if upline_share is UNSET else upline_share)  # type: ignore[arg-type]
    if t1.upline != t0.upline:
        _check_upline(rows, leader_id, t1.upline)
    elif active and old.retired_at is not None and t1.upline is not None:
        up = rows.platform.leaders.get(t1.upline)
        if up is not None and up.retired_at is not None:
            raise OperatorError(f"leader {leader_id}'s upline {t1.upline} is retired: reinstate {t1.upline} first "
                                f"(tuan leader edit {t1.upline} --active) or add --upline none")
    if row.role != LEADER and t1.upline is not None:
        raise OperatorError(f"{leader_id} is an operator and cannot have an upline")
    below = sorted(lid for lid, t in rows.terms.items() if t.upline == leader_id and lid in rows.platform.leaders)
    if row.role != LEADER and below:
        raise OperatorError(f"{leader_id} recruited {', '.join(below)} and cannot become an operator "
                            f"(an upline must be a leader)")
    ch = OperatorChanges()
    parts = []
    if row != old:
        ch.platform.leaders.append(row)
        for f in ("name", "role", "accounts", "groups"):
            a, b = getattr(old, f), getattr(row, f)
            if a != b:
                parts.append(f"{f} {_text(a)!r} → {_text(b)!r}")
        if old.retired_at is not None and row.retired_at is None:
            parts.append(f"reinstated (retired since {utc_minute(old.retired_at)})")
    if t1 != t0:
        ch.terms[leader_id] = t1
        for f in ("rate", "upline", "upline_share"):
            a, b = getattr(t0, f), getattr(t1, f)
            if a != b:
                parts.append(f"{f} {_text(a)!r} → {_text(b)!r}")
    if parts:
        ch.audit.append(Audited("leader.edit", f"leader {leader_id}: {'; '.join(parts)}"))
    return ch


def utc_minute(at: datetime) -> str:
    """``at`` (aware) for people: "2026-11-30 08:15 UTC"."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, frozenset):
        return ",".join(sorted(":".join(v) if isinstance(v, tuple) else str(v) for v in value))
    return str(value)


# --- groups ------------------------------------------------------------------------------------------

def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise OperatorError(f"--timezone {raw!r} is not a known time zone (e.g. Asia/Shanghai)") from None
    return raw


def _leaders_of_group(rows: OperatorRows, group_id: str, wanted: Iterable[str],
                      ch: OperatorChanges) -> None:
    """Make ``wanted`` (leader ids) the group's active leaders; tuan.toml's leaders cannot move, and a
    retired leader keeps the groups they led (the settlement of their past rounds reads them)."""
    want = set(wanted)
    for lid in sorted(want):
        if lid not in rows.platform.leaders:
            raise OperatorError(f"no leader {lid!r} (tuan leader list)")
        if rows.platform.leaders[lid].retired_at is not None:
            raise OperatorError(f"leader {lid} is retired (tuan leader edit {lid} --active)")
    for lid, ld in sorted(rows.platform.leaders.items()):
        if ld.retired_at is not None:
            continue
        has = group_id in ld.groups
        if has == (lid in want):
            continue
        if ld.source == CONFIG:
            raise OperatorError(f"leader {lid} comes from tuan.toml: change the groups it leads there")
        groups = ld.groups | {group_id} if lid in want else ld.groups - {group_id}
        ch.platform.leaders.append(replace(ld, groups=groups))


def add_group(rows: OperatorRows, config: AppConfig, *, group_id: str, platform: str, chat: str, title: str,
              pickup_points: tuple[str, ...] = (), leaders: Iterable[str] = (),
              timezone: str | None = None) -> OperatorChanges:
    """A new group (not in tuan.toml). Raises :class:`OperatorError` for a taken id or chat, an
    unknown leader or time zone."""
    gid = check_id("group", group_id)
    if gid in rows.platform.groups or config.group(gid) is not None:
        raise OperatorError(f"group {gid} exists already (tuan group edit {gid})")
    if not platform.strip() or not chat.strip():
        raise OperatorError("--platform and --chat must not be empty")
    chat_key = f"{platform.strip()}:{chat.strip()}"
    taken = next((g.id for g in rows.platform.groups.values() if g.chat_key == chat_key), None)
    if taken is not None:
        raise OperatorError(f"chat {chat_key} is group {taken} already")
    row = GroupRow(gid, platform.strip(), chat_key, title.strip() or gid, _timezone(timezone or config.bot.timezone),
                   pickup_points)
    ch = OperatorChanges()
    ch.platform.groups.append(row)
    rows_after = OperatorRows(PlatformRows({**rows.platform.groups, gid: row}, rows.platform.leaders,
                                           rows.platform.products), rows.terms, rows.schedules)
    _leaders_of_group(rows_after, gid, leaders, ch)
    ch.audit.append(Audited("group.add", f"group {gid}: added ({chat_key} {row.title!r}, {row.timezone}, "
                                         f"points {','.join(pickup_points) or '-'}, leaders "
                                         f"{','.join(sorted(set(leaders))) or '-'})"))
    return ch


def edit_group(rows: OperatorRows, config: AppConfig, group_id: str, *, title: str | None = None,
               pickup_points: tuple[str, ...] | None = None, leaders: Iterable[str] | None = None,
               timezone: str | None = None, platform: str | None = None, chat: str | None = None,
               active: bool = False) -> OperatorChanges:
    """Change a group; ``active``: reinstate a retired one (:mod:`bot.usecases.retirement`). A group
    of tuan.toml is changed there (only its CLI leaders here). Raises :class:`OperatorError`."""
    old = rows.platform.groups.get(group_id)
    if old is None:
        known = ", ".join(sorted(rows.platform.groups)) or "none"
        raise OperatorError(f"no group {group_id!r} (groups: {known})")
    if config.group(group_id) is not None and any(v is not None for v in (title, pickup_points, timezone,
                                                                          platform, chat)):
        raise OperatorError(f"group {group_id} comes from tuan.toml: change it there (here: --leaders)")
    plat = platform.strip() if platform is not None else old.platform
    chat_id = chat.strip() if chat is not None else old.chat_key.partition(":")[2]
    chat_key = f"{plat}:{chat_id}"
    taken = next((g.id for g in rows.platform.groups.values() if g.chat_key == chat_key and g.id != group_id), None)
    if taken is not None:
        raise OperatorError(f"chat {chat_key} is group {taken} already")
    row = GroupRow(group_id, plat, chat_key, title.strip() if title is not None and title.strip() else old.title,
                   _timezone(timezone) if timezone is not None else old.timezone,
                   pickup_points if pickup_points is not None else old.pickup_points,
                   None if active else old.retired_at)
    ch = OperatorChanges()
    parts = []
    if row != old:
        ch.platform.groups.append(row)
        for f in ("platform", "chat_key", "title", "timezone", "pickup_points"):
            a, b = getattr(old, f), getattr(row, f)
            if a != b:
                parts.append(f"{f} {','.join(a) if isinstance(a, tuple) else a!r} → "
                             f"{','.join(b) if isinstance(b, tuple) else b!r}")
        if old.retired_at is not None and row.retired_at is None:
            parts.append(f"reinstated (retired since {utc_minute(old.retired_at)})")
    if leaders is not None:
        wanted = list(leaders)
        before = sorted(lid for lid, ld in rows.platform.leaders.items()
                        if group_id in ld.groups and ld.retired_at is None)
        _leaders_of_group(rows, group_id, wanted, ch)
        if sorted(set(wanted)) != before:
            parts.append(f"leaders {','.join(before) or '-'} → {','.join(sorted(set(wanted))) or '-'}")
    if parts:
        ch.audit.append(Audited("group.edit", f"group {group_id}: {'; '.join(parts)}"))
    return ch
