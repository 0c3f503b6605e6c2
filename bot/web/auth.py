"""Web accounts, who may see what, CSRF tokens and the sign-in rate limit.

Passwords are hashed with argon2id (argon2-cffi's defaults: RFC 9106's second recommended
parameter set). A :class:`Viewer` is the signed-in account with the chat keys it may see: every
group for an operator, the groups its LEADERS row leads (``group_leaders``) for a leader.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine

from storage import web as store

ROLES = ("operator", "leader")
OPERATOR, LEADER = ROLES
MIN_PASSWORD = 8
_HASHER = PasswordHasher()
# A hash to verify against when the account does not exist, so a wrong name costs what a wrong password does.
_DUMMY_HASH = _HASHER.hash("tuan-no-such-account")


class UserError(ValueError):
    """An account that cannot be added as asked; the message is one line."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def add_user(engine: Engine, name: str, role: str, password: str, leader_id: str | None = None,
             *, now: datetime | None = None) -> int:
    """Add a web account; returns its id. A leader account must name an existing LEADERS row
    (``tuan groups`` lists them). Raises :class:`UserError` for a bad role, a short password
    (under :data:`MIN_PASSWORD` characters), an unknown leader or a taken name."""
    name = name.strip()
    if not name:
        raise UserError("the account name must not be empty")
    if role not in ROLES:
        raise UserError(f"--role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if role == LEADER and not leader_id:
        raise UserError("a leader account needs --leader LEADER_ID (see `tuan groups`)")
    with engine.begin() as conn:
        if leader_id and not store.leader_exists(conn, leader_id):
            raise UserError(f"no leader {leader_id!r} in the store (see `tuan groups`)")
        if store.user_named(conn, name) is not None:
            raise UserError(f"an account {name!r} exists already")
        return store.add_user(conn, name=name, role=role, leader_id=leader_id or None,
                              password_hash=hash_password(password), at=now or datetime.now(UTC))


def check_password(engine: Engine, name: str, password: str) -> store.UserRow | None:
    """The account when ``password`` is its password, else None (an unknown name costs a hash too).
    A hash made with older parameters is replaced by a fresh one."""
    with engine.begin() as conn:
        user = store.user_named(conn, name)
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        if _HASHER.check_needs_rehash(user.password_hash):
            store.set_password(conn, user.id, hash_password(password))
        return user


def _named(conn: Connection, name: str) -> store.UserRow:
    user = store.user_named(conn, name.strip())
    if user is None:
        raise UserError(f"no account {name.strip()!r} (see `tuan user list`)")
    return user


def change_password(engine: Engine, name: str, password: str) -> store.UserRow:
    """Give account ``name`` a new password and end its sessions (every device signs in again).
    Raises :class:`UserError` for an unknown account or a short password."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    with engine.begin() as conn:
        user = _named(conn, name)
        store.set_password(conn, user.id, hash_password(password))
        store.end_sessions(conn, user.id)
        return user


def remove_user(engine: Engine, name: str) -> store.UserRow:
    """Delete account ``name`` (its sessions end with it); returns it as it was. Raises
    :class:`UserError` for an unknown account."""
    with engine.begin() as conn:
        user = _named(conn, name)
        store.remove_user(conn, user.id)
        return user


def end_sessions(engine: Engine, user_id: int) -> None:
    """Sign account ``user_id`` out everywhere: each session cookie it holds is refused from now on
    (``users.session_epoch`` is part of :func:`session_key`, compared by :func:`session_viewer`)."""
    with engine.begin() as conn:
        store.end_sessions(conn, user_id)


def session_key(user: store.UserRow) -> str:
    """What a session cookie holds to name the account it signed in: a digest (32 hex digits) of the
    account's id, name, ``created_at`` (to the microsecond) and ``session_epoch``.

    The id alone is not the account: the store may give a removed account's id to the next one
    (SQLite reuses the highest ``users.id``), whose epoch starts at 0 again. The creation time
    and name make the key another account's never (short of one made in the same microsecond
    with the same name and id); the epoch makes it die when the account signs out everywhere or
    gets a new password (:func:`end_sessions`). It needs no secret: the cookie is signed."""
    raw = f"{user.id}\n{user.name}\n{user.created_at.astimezone(UTC).isoformat()}\n{user.session_epoch}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in account: ``chat_keys`` it may see (None: every group, an operator); ``epoch``
    the account's ``session_epoch`` now; ``key`` its :func:`session_key` now (a session that
    signed in with another one is dead: another account, or signed out since)."""

    user_id: int
    name: str
    role: str
    chat_keys: frozenset[str] | None
    group_ids: frozenset[str] | None
    epoch: int = 0
    key: str = ""

    @property
    def operator(self) -> bool:
        return self.role == OPERATOR

    @property
    def actor_id(self) -> str:
        """The audit's ``actor_id`` of the account's actions."""
        return f"web:{self.name}"

    def sees(self, chat_key: str) -> bool:
        return self.chat_keys is None or chat_key in self.chat_keys

    def visible(self, chat_keys: Iterable[str]) -> list[str]:
        """The chat keys among ``chat_keys`` this viewer sees, sorted."""
        return sorted(k for k in chat_keys if self.sees(k))


def viewer_of(engine: Engine, user_id: int) -> Viewer | None:
    """The viewer of account ``user_id`` as the store says now (None: the account is gone)."""
    with engine.connect() as conn:
        user = store.user_by_id(conn, user_id)
        if user is None:
            return None
        if user.role == OPERATOR:
            return Viewer(user.id, user.name, user.role, None, None, user.session_epoch, session_key(user))
        led = store.leader_groups(conn, user.leader_id) if user.leader_id else []
    return Viewer(user.id, user.name, user.role, frozenset(k for _g, k in led), frozenset(g for g, _k in led),
                  user.session_epoch, session_key(user))


def session_viewer(engine: Engine, user_id: Any, key: Any) -> Viewer | None:
    """The viewer a session names (its ``uid`` and ``key``, as the sign-in stored them), as the store
    says now; None when the account is gone, is another account now (a reused id), or signed out
    everywhere since (:func:`session_key`)."""
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not isinstance(key, str) or not key:
        return None
    viewer = viewer_of(engine, user_id)
    return viewer if viewer is not None and same_token(key, viewer.key) else None


# --- CSRF -----------------------------------------------------------------------------------------

def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


# --- the sign-in rate limit ------------------------------------------------------------------------

class RateLimit:
    """At most ``limit`` failed sign-ins per key (an account name, an IP address) in ``window``
    seconds; a key over it is refused until its oldest failure leaves the window."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._fails: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        cut = self.clock() - self.window
        while q and q[0] <= cut:
            q.popleft()
        return q

    def blocked(self, key: str) -> bool:
        return len(self._recent(key)) >= self.limit

    def fail(self, key: str) -> None:
        self._recent(key).append(self.clock())
        if len(self._fails) > 100_000:  # a flood of names: forget the idle ones
            for k in [k for k, q in self._fails.items() if not q]:
                del self._fails[k]

    def clear(self, key: str) -> None:
        self._fails.pop(key, None)
