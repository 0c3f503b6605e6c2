"""Groups, leaders and products as data in the store, and tuan.toml imported into them.

The store holds the groups the bot serves, the leaders (团长) with their platform accounts and the
groups they lead, and the product library. At start-up the configuration is imported
(:func:`import_config`): idempotent (a second import changes nothing), each change logged at INFO.
What the import owns: every configured group (by id), every leader it imported (``source`` is
"config"; one removed from tuan.toml is retired, as `tuan leader remove` does: it leads nothing
from then on, keeps its row, groups and terms, and earns on the rounds opened before; named in
tuan.toml again, it is reinstated),
and the products of the configured deals (their name, aliases, unit and price; spec, supplier and
``active`` are left as they are). Anything else in the store (products added with ``tuan product
add``) is never touched.

Permissions ask a :class:`LeaderDirectory` who leads what; :class:`StoreDirectory` reads the
store, :class:`ConfigDirectory` the same rows built from the configuration (a bot without a SQL
store, tests).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from bot import inputs
from bot.catalog import MAX_COUNT, Catalog
from bot.config import AppConfig

log = logging.getLogger(__name__)

LEADER, OPERATOR = "leader", "operator"
ANY_PLATFORM = "*"
"""``leader_accounts.platform`` of an account recognised on every platform (``[bot] leaders``)."""
CONFIG = "config"
NO_CHAT = "#"
"""The chat key of a group whose chat another group of tuan.toml took is this and its id (it is retired)."""


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A group chat the bot serves; ``chat_key`` is "<platform>:<chat id>". ``retired_at`` (aware):
    when `tuan group remove` retired it (None: active); a retired group is kept for its history but
    takes no new round and nobody leads it (docs/platform.md)."""

    id: str
    platform: str
    chat_key: str
    title: str
    timezone: str
    pickup_points: tuple[str, ...] = ()
    retired_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LeaderRow:
    """A leader and what they lead: ``role`` "operator" leads every group on the platforms of their
    ``accounts`` ((platform, user id or "@username"); platform "*": any), a "leader" the ``groups``
    (group ids) only. ``created_at`` is aware; ``retired_at`` (aware): when `tuan leader remove`
    retired them (None: active). A retired leader leads nothing and earns commission only on the
    rounds opened before ``retired_at``; their row, terms and groups are kept for the history."""

    id: str
    name: str
    role: str
    source: str
    created_at: datetime
    accounts: frozenset[tuple[str, str]] = frozenset()
    groups: frozenset[str] = frozenset()
    retired_at: datetime | None = None

    def same(self, other: LeaderRow) -> bool:
        """Equal but for ``created_at``."""
        return replace(self, created_at=other.created_at) == other


@dataclass(frozen=True, slots=True)
class ProductRow:
    """A product of the library: ``id`` is its code; ``price`` yuan (Decimal, at most 2 places)."""

    id: str
    name: str
    price: Decimal
    unit: str = ""
    aliases: tuple[str, ...] = ()
    spec: str = ""
    supplier: str | None = None
    active: bool = True
    updated_at: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    source: str = "library"  # "config": an item of tuan.toml's deals, owned by the import; "library": not

    def same(self, other: ProductRow) -> bool:
        """Equal but for ``updated_at``."""
        return replace(self, updated_at=other.updated_at) == other


@dataclass(slots=True)
class PlatformRows:
    """Every group, leader and product of the store, by id."""

    groups: dict[str, GroupRow] = field(default_factory=dict)
    leaders: dict[str, LeaderRow] = field(default_factory=dict)
    products: dict[str, ProductRow] = field(default_factory=dict)


@dataclass(slots=True)
class PlatformChanges:
    """What to write, in one transaction: rows put (inserted or replaced whole; a leader's accounts
    and groups with it), ids deleted, and ``said``: one line per change, for people."""

    groups: list[GroupRow] = field(default_factory=list)
    groups_deleted: list[str] = field(default_factory=list)
    leaders: list[LeaderRow] = field(default_factory=list)
    leaders_deleted: list[str] = field(default_factory=list)
    products: list[ProductRow] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.groups or self.groups_deleted or self.leaders or self.leaders_deleted or self.products)


class PlatformStore(Protocol):
    """The store of groups, leaders and products (``storage.platform.SqlPlatformStore``).

    Both methods raise :class:`bot.ports.StoreUnavailable` when the store cannot serve.
    """

    def load(self) -> PlatformRows:
        """Every row, read in one transaction."""
        ...

    def update(self, change: Callable[[PlatformRows], PlatformChanges], *, actor: tuple[str, str] | None = None,
               action: str = "platform.change") -> PlatformChanges:
        """Read the rows, ask ``change`` what to write, write it: one transaction, serialised with
        every other update (two processes importing at once do it one after the other). Returns
        what ``change`` returned; what it raises rolls everything back. With ``actor`` (id, name),
        each line said is an audit row ``action``."""
        ...


# --- the configuration as rows -----------------------------------------------------------------

def config_products(config: AppConfig, library: Collection[str] = ()) -> list[tuple[str, str, str]]:
    """(deal id, item code, product id) of every configured deal's items, in config order.

    A product's id is its item's code; when an earlier deal already has an item of that code, or
    ``library`` (the ids of the store's library products, ``source`` "library") holds it, the item
    is the product ``<deal id>.<code>`` (so appending a deal renames nothing, and the import never
    overwrites a product added from the CLI, an import file or the web).
    """
    out: list[tuple[str, str, str]] = []
    taken: set[str] = set(library)
    for deal in config.deals:
        for item in deal.catalog.items:
            pid = item.code if item.code not in taken else f"{deal.id}.{item.code}"
            taken.add(pid)
            out.append((deal.id, item.code, pid))
    return out


def library_ids(products: Mapping[str, ProductRow]) -> set[str]:
    """The ids of the store's ``products`` (by id) that are the library's, not tuan.toml's."""
    return {p.id for p in products.values() if p.source != CONFIG}


def config_owned(config: AppConfig, products: Mapping[str, ProductRow]) -> dict[str, str]:
    """Product id -> the configured deal whose item it is, given the store's ``products`` (by id): the
    products the tuan.toml import owns (changed in the file, never with ``tuan product edit``)."""
    return {pid: deal for deal, _code, pid in config_products(config, library_ids(products))}


def config_leaders(config: AppConfig, now: datetime) -> dict[str, LeaderRow]:
    """The leaders the configuration names, by id "<platform>:<account>" ("*:<account>" for ``[bot]
    leaders``): ``[bot] leaders`` and ``[telegram] leaders`` are operators, a group's ``leaders``
    lead that group (one account in both is one operator who also leads the group)."""
    found: dict[str, tuple[str, str, set[str], bool]] = {}  # id -> (platform, account, groups, operator)

    def add(platform: str, account: str, group: str | None, operator: bool) -> None:
        key = f"{platform}:{account.lower()}"
        _p, _a, groups, op = found.setdefault(key, (platform, account, set(), False))
        if group is not None:
            groups.add(group)
        found[key] = (platform, account, groups, op or operator)

    for account in config.bot.leaders:
        add(ANY_PLATFORM, account, None, True)
    for account in config.telegram.leaders:
        add("telegram", account, None, True)
    for g in config.groups:
        for account in g.leaders:
            add(g.platform, account, g.id, False)
    return {
        key: LeaderRow(id=key, name=account, role=OPERATOR if op else LEADER, source=CONFIG, created_at=now,
                       accounts=frozenset({(platform, account)}), groups=frozenset(groups))
        for key, (platform, account, groups, op) in found.items()
    }


def config_rows(config: AppConfig, now: datetime) -> PlatformRows:
    """What importing ``config`` into an empty store writes."""
    return apply_changes(PlatformRows(), import_changes(PlatformRows(), config, now))


def apply_changes(rows: PlatformRows, changes: PlatformChanges) -> PlatformRows:
    """``rows`` with ``changes`` made (what the store holds after writing them)."""
    out = PlatformRows(dict(rows.groups), dict(rows.leaders), dict(rows.products))
    for gid in changes.groups_deleted:
        out.groups.pop(gid, None)
    out.groups.update((g.id, g) for g in changes.groups)
    for lid in changes.leaders_deleted:
        out.leaders.pop(lid, None)
    out.leaders.update((ld.id, ld) for ld in changes.leaders)
    out.products.update((p.id, p) for p in changes.products)
    live = set(out.groups)
    out.leaders = {k: replace(v, groups=v.groups & live) for k, v in out.leaders.items()}
    return out


def _shown(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    return ",".join(sorted(value) if isinstance(value, frozenset) else value) \
        if isinstance(value, (tuple, frozenset)) else str(value)


def _diff(old: object, new: object, names: Iterable[str]) -> str:
    parts = []
    for name in names:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            parts.append(f"{name} {_shown(a)!r} → {_shown(b)!r}")
    return "; ".join(parts)


def import_changes(current: PlatformRows, config: AppConfig, now: datetime) -> PlatformChanges:
    """What importing ``config`` changes in a store holding ``current`` (empty when nothing)."""
    ch = PlatformChanges()
    for g in config.groups:
        old = current.groups.get(g.id)
        row = GroupRow(g.id, g.platform, g.chat_key, g.title, g.timezone or config.bot.timezone, g.pickup_points)
        for other in current.groups.values():
            if other.chat_key == row.chat_key and other.id != row.id and config.group(other.id) is None:
                # retired without a chat, not deleted: its rounds in the chat until now stay its own
                ch.groups.append(replace(other, chat_key=NO_CHAT + other.id, retired_at=other.retired_at or now))
                ch.said.append(f"group {other.id}: retired (its chat {other.chat_key} is group {g.id} now)")
        if old is None:
            ch.groups.append(row)
            ch.said.append(f"group {g.id}: added ({g.chat_key} {g.title!r})")
        elif old != row:
            ch.groups.append(row)
            ch.said.append(f"group {g.id}: {_diff(old, row, ('platform', 'chat_key', 'title', 'timezone', 'pickup_points'))}")
    wanted = config_leaders(config, now)
    for lid, old_leader in current.leaders.items():
        if old_leader.source == CONFIG and lid not in wanted and old_leader.retired_at is None:
            # retired, not deleted: their rounds' history and commission stay theirs
            ch.leaders.append(replace(old_leader, retired_at=now))
            ch.said.append(f"leader {lid}: retired (no longer in {config.source}; leads nothing from now)")
    for lid, leader in wanted.items():
        was = current.leaders.get(lid)
        if was is None:
            ch.leaders.append(leader)
            led = f", leads {','.join(sorted(leader.groups))}" if leader.groups else ""
            ch.said.append(f"leader {lid}: added ({leader.role}{led})")
        elif not leader.same(was):
            ch.leaders.append(replace(leader, created_at=was.created_at))
            parts = [p for p in (_diff(was, leader, ('name', 'role', 'source', 'groups')),
                                 "reinstated" if was.retired_at is not None else "") if p]
            ch.said.append(f"leader {lid}: {'; '.join(parts)}")
    items = {(d.id, i.code): i for d in config.deals for i in d.catalog.items}
    for deal_id, code, pid in config_products(config, library_ids(current.products)):
        item = items[(deal_id, code)]
        old_product = current.products.get(pid)
        base = old_product or ProductRow(id=pid, name=item.name, price=item.price)
        product = replace(base, name=item.name, aliases=tuple(item.aliases), unit=item.unit, price=item.price,
                          updated_at=now, source=CONFIG)
        if old_product is None:
            ch.products.append(product)
            ch.said.append(f"product {pid}: added ({item.name} {item.price}元/{item.unit or '-'})")
        elif not product.same(old_product):
            ch.products.append(product)
            ch.said.append(f"product {pid}: {_diff(old_product, product, ('name', 'aliases', 'unit', 'price'))}")
    return ch


def import_config(store: PlatformStore, config: AppConfig, *, now: datetime | None = None) -> list[str]:
    """Import ``config``'s groups, leaders and deal items into the store, in one transaction.

    Returns one line per change (empty when the store already matched), each also logged at INFO.
    Raises :class:`bot.ports.StoreUnavailable` when the store cannot serve.
    """
    when = now or datetime.now(UTC)
    done = store.update(lambda rows: import_changes(rows, config, when), actor=("config", config.source),
                        action="config.import")
    for line in done.said:
        log.info("%s: %s", config.source, line)
    return done.said


def retired_chats(rows: PlatformRows) -> dict[str, str]:
    """Chat key → group id of each retired group (`tuan group remove`): chats no new round opens in."""
    return {g.chat_key: g.id for g in rows.groups.values() if g.retired_at is not None}


# --- who leads what ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LeaderScope:
    """What a caller on ``platform`` leads: every group there (``operator``), or the groups ``chat_keys``;
    never the chats of retired groups (``retired``: nobody leads those, chat admins included)."""

    platform: str
    operator: bool = False
    chat_keys: frozenset[str] = frozenset()
    retired: frozenset[str] = frozenset()

    def leads(self, chat_key: str) -> bool:
        if chat_key in self.retired:
            return False
        return chat_key in self.chat_keys or self.operator and chat_key.partition(":")[0] == self.platform


class Directory:
    """Who leads what, from the rows: accounts match case-insensitively (a Telegram "@username"
    matches the caller's current username)."""

    def __init__(self, rows: PlatformRows) -> None:
        self._by_account: dict[tuple[str, str], list[LeaderRow]] = {}
        for leader in rows.leaders.values():
            if leader.retired_at is not None:  # a retired leader leads nothing
                continue
            for platform, account in leader.accounts:
                self._by_account.setdefault((platform, account.lower()), []).append(leader)
        self._chat_keys = {g.id: g.chat_key for g in rows.groups.values() if g.retired_at is None}
        self._retired = frozenset(g.chat_key for g in rows.groups.values() if g.retired_at is not None)

    def scope(self, platform: str, user_id: str, username: str | None = None) -> LeaderScope:
        """What the caller (``user_id`` and maybe ``username``, on ``platform``) leads."""
        names = [user_id.lower()] + (["@" + username.lower()] if username else [])
        found = [ld for p in (platform, ANY_PLATFORM) for n in names for ld in self._by_account.get((p, n), ())]
        keys = frozenset(self._chat_keys[g] for ld in found for g in ld.groups if g in self._chat_keys)
        return LeaderScope(platform, any(ld.role == OPERATOR for ld in found), keys, self._retired)


class LeaderDirectory(Protocol):
    """Where :class:`bot.permissions.Permissions` asks who leads what."""

    async def scope(self, platform: str, user_id: str, username: str | None = None) -> LeaderScope: ...


class ConfigDirectory:
    """The leaders of the configuration (the rows an import would write), for a bot without a SQL store."""

    def __init__(self, config: AppConfig) -> None:
        self._directory = Directory(config_rows(config, datetime.now(UTC)))

    async def scope(self, platform: str, user_id: str, username: str | None = None) -> LeaderScope:
        return self._directory.scope(platform, user_id, username)


STORE_DIRECTORY_TTL = 5.0
"""Seconds the store's leaders are trusted before they are read again."""


class StoreDirectory:
    """The leaders of the store, read off the event loop and kept ``ttl`` seconds. While the store
    cannot be read, the last rows read are used (logged); with none, the error is raised."""

    def __init__(self, store: PlatformStore, *, ttl: float = STORE_DIRECTORY_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store, self._ttl, self._clock = store, ttl, clock
        self._directory: Directory | None = None
        self._read_at = float("-inf")

    def forget(self) -> None:
        """Read the store again at the next question (after a change of leaders)."""
        self._read_at = float("-inf")

    async def scope(self, platform: str, user_id: str, username: str | None = None) -> LeaderScope:
        if self._directory is None or self._clock() - self._read_at >= self._ttl:
            try:
                rows = await asyncio.to_thread(self._store.load)
            except Exception as exc:
                if self._directory is None:
                    raise
                log.warning("the leaders could not be read from the store (%s); using those read before", exc)
            else:
                self._directory = Directory(rows)
            self._read_at = self._clock()
        return self._directory.scope(platform, user_id, username)


# --- the product library and deals made of it ------------------------------------------------------

class PlatformDataError(ValueError):
    """A request about groups, products or deals that cannot be done; the message is one line."""


_UNPICKABLE = re.compile(r"[/:,，：\s]")


def product_code_problem(code: str) -> str | None:
    """Why ``code`` cannot be a product code, or None. ``/``, ``:`` and ``,`` (and whitespace) are the
    syntax of a deal's picks (``CODE/SPEC:STOCK,...``, docs/products.md) and a ``/`` breaks the web's
    /products/{code}: such a product could never be offered or edited."""
    bad = _UNPICKABLE.search(code)
    if bad is None:
        return None
    return f"product code {code!r}: must not hold {bad.group(0)!r} (nor / : , or spaces)"


def new_product(current: PlatformRows, config: AppConfig, product: ProductRow) -> PlatformChanges:
    """Add ``product`` to the library. Raises :class:`PlatformDataError` when its code is taken, is
    one of tuan.toml's (the import would overwrite it), or holds a character of the pick syntax
    (:func:`product_code_problem`)."""
    if (problem := product_code_problem(product.id)) is not None:
        raise PlatformDataError(problem)
    owned = config_owned(config, current.products)
    if product.id in owned:
        raise PlatformDataError(f"product {product.id} comes from {config.source} (deal {owned[product.id]}); "
                                f"change it there")
    if product.id in current.products:
        raise PlatformDataError(f"product {product.id} exists already; change it with `tuan product edit`")
    return PlatformChanges(products=[product], said=[f"product {product.id}: added ({product.name} {product.price}元)"])


def changed_product(current: PlatformRows, config: AppConfig, code: str, now: datetime,
                    **fields: object) -> PlatformChanges:
    """Change fields of the library's product ``code`` (``fields``: ProductRow field → new value; None
    values are left out). Raises :class:`PlatformDataError` for an unknown product or one of tuan.toml's."""
    owned = config_owned(config, current.products)
    if code in owned:
        raise PlatformDataError(f"product {code} comes from {config.source} (deal {owned[code]}); change it there")
    old = current.products.get(code)
    if old is None:
        raise PlatformDataError(f"no product {code} (see `tuan product list`)")
    new = replace(old, **{k: v for k, v in fields.items() if v is not None}, updated_at=now)  # type: ignore[arg-type]
    if new.same(old):
        return PlatformChanges()
    return PlatformChanges(products=[new], said=[
        f"product {code}: {_diff(old, new, ('name', 'aliases', 'unit', 'spec', 'price', 'supplier', 'active'))}"])


def parse_picks(text: str) -> list[tuple[str, int | None]]:
    """``"1:40,2,grape:10"`` → [("1", 40), ("2", None), ("grape", 10)]: product codes, each with its
    stock (None: unlimited). Raises :class:`PlatformDataError` for an empty list, a repeated code or a
    stock that is no whole number ≥ 0."""
    picks: list[tuple[str, int | None]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        code, sep, stock = part.rpartition(":") if ":" in part else (part, "", "")
        code = code.strip()
        if not code:
            raise PlatformDataError(f"{part!r}: a product code is missing")
        if any(c == code for c, _s in picks):
            raise PlatformDataError(f"product {code} is named twice")
        try:
            count = inputs.whole(stock, 0, MAX_COUNT) if sep else None
        except inputs.BadInput:
            raise PlatformDataError(f"{part!r}: the stock after ':' must be a whole number from 0 to {MAX_COUNT:,}") from None
        picks.append((code, count))
    if not picks:
        raise PlatformDataError("no products named (--products CODE[:STOCK],CODE...)")
    return picks


def deal_catalog(current: PlatformRows, picks: list[tuple[str, int | None]], *, title: str,
                 cutoff: datetime | None) -> Catalog:
    """A deal's catalog from library products: items numbered 1, 2, … in the order picked (the
    numbers residents order by, ``1号``), with the product's name, aliases, unit and price.

    Raises :class:`PlatformDataError` for an unknown or inactive product, or products whose
    aliases clash (a resident's "葡萄" must name one item).
    """
    from bot.catalog import Item
    from bot.catalog_check import DUPLICATE_ALIAS, catalog_problems

    items = []
    for n, (code, stock) in enumerate(picks, 1):
        product = current.products.get(code)
        if product is None:
            raise PlatformDataError(f"no product {code} (see `tuan product list`)")
        if not product.active:
            raise PlatformDataError(f"product {code} is inactive (`tuan product edit {code} --active`)")
        aliases = tuple(dict.fromkeys(a for a in product.aliases if a))
        items.append(Item(code=str(n), name=product.name, unit=product.unit, price=product.price,
                          aliases=aliases, stock=stock))
    catalog = Catalog(items=tuple(items), cutoff=cutoff, title=title)
    for problem in catalog_problems(catalog):
        if problem.reason == DUPLICATE_ALIAS:
            raise PlatformDataError(f"products {picks[problem.other - 1][0]} and {picks[problem.position - 1][0]} "
                                    f"share the alias {problem.word!r}")
        raise PlatformDataError(f"product {picks[problem.position - 1][0]}: unusable price ({problem.reason})")
    return catalog
