"""`tuan groups`, `tuan product list|add|edit` and `tuan deal open`: the store's groups, product
library and deals from the command line (registered by bot/cli_run.py).

Each command opens the store as bot/cli_store.py does (``--config``, else ./tuan.toml, else the
built-in sample) and, as `tuan run` does at start-up, first imports tuan.toml's groups, leaders and
deal items into the store. Exit status: 0 done, 2 bad input (one line on stderr: an unknown group
or product, a bad price, a configuration error), 1 the store cannot be reached.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot import cli_args
from bot.cli_store import config_option, with_platform_store
from bot.inputs import numeric_first

if TYPE_CHECKING:
    from bot.config import AppConfig
    from bot.ports import Repository
    from bot.usecases.platform_data import PlatformRows, ProductRow
    from storage.platform import SqlPlatformStore


def _actor() -> tuple[str, str]:
    from bot.cli_operators import actor

    return actor()


def _price(raw: str) -> Any:
    from bot.money import MoneyError, parse_price
    from bot.usecases.platform_data import PlatformDataError

    try:
        return parse_price(raw)
    except MoneyError as e:
        raise PlatformDataError(f"--price {e}") from None


def _aliases(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    return tuple(dict.fromkeys(a.strip() for a in raw.replace("，", ",").split(",") if a.strip()))


# --- tuan groups ------------------------------------------------------------------------------------

def _groups(args: argparse.Namespace) -> int:
    def work(config: AppConfig, repo: Repository, store: SqlPlatformStore) -> int:
        rows = store.load()
        active = [ld for ld in rows.leaders.values() if ld.retired_at is None]
        leaders = {g: sorted(ld.name for ld in active if g in ld.groups) for g in rows.groups}
        operators = sorted(ld.name for ld in active if ld.role == "operator")
        out: list[dict[str, Any]] = [{"id": g.id, "platform": g.platform, "chat_key": g.chat_key, "title": g.title,
                "timezone": g.timezone, "pickup_points": list(g.pickup_points), "leaders": leaders[g.id],
                "retired_at": g.retired_at.isoformat() if g.retired_at else None}
               for g in sorted(rows.groups.values(), key=lambda g: g.id)]
        if args.json:
            print(json.dumps({"groups": out, "operators": operators}, ensure_ascii=False, indent=2))
            return 0
        if not out:
            print("no groups (add [[groups]] to tuan.toml)")
            return 0
        _print_table([("id", "chat", "title", "timezone", "leaders", "retired")] + [
            (g["id"], g["chat_key"], g["title"], g["timezone"], ",".join(g["leaders"]) or "-",
             (g["retired_at"] or "-")[:10]) for g in out])
        if operators:
            print(f"operators (lead every group of their platform): {', '.join(operators)}")
        return 0

    return with_platform_store(args, work)


def _print_table(rows: list[tuple[str, ...]]) -> None:
    from bot.render import table

    print(table(rows))


# --- tuan product ---------------------------------------------------------------------------------

def _product_json(p: ProductRow, from_config: bool) -> dict[str, Any]:
    return {"code": p.id, "name": p.name, "price": str(p.price), "unit": p.unit, "aliases": list(p.aliases),
            "spec": p.spec, "supplier": p.supplier, "active": p.active, "updated_at": p.updated_at.isoformat(),
            "from_config": from_config}


def _product_list(args: argparse.Namespace) -> int:
    from bot.usecases.platform_data import config_owned

    def work(config: AppConfig, repo: Repository, store: SqlPlatformStore) -> int:
        rows = store.load()
        owned = config_owned(config, rows.products)
        products = [_product_json(p, p.id in owned) for p in sorted(rows.products.values(), key=_code_order)]
        if args.json:
            print(json.dumps(products, ensure_ascii=False, indent=2))
            return 0
        if not products:
            print("no products (tuan product add CODE --name N --price P)")
            return 0
        _print_table([("code", "name", "price", "unit", "aliases", "spec", "supplier", "active", "from")] + [
            (p["code"], p["name"], p["price"], p["unit"] or "-", ",".join(p["aliases"]) or "-", p["spec"] or "-",
             p["supplier"] or "-", "yes" if p["active"] else "no", "tuan.toml" if p["from_config"] else "library")
            for p in products])
        return 0

    return with_platform_store(args, work)


def _code_order(p: ProductRow) -> tuple[bool, int, str]:
    return numeric_first(p.id)


def _product_add(args: argparse.Namespace) -> int:
    from bot.usecases.platform_data import PlatformDataError, ProductRow, new_product

    def work(config: AppConfig, repo: Repository, store: SqlPlatformStore) -> int:
        code, name = args.code.strip(), args.name.strip()
        if not code or not name:
            raise PlatformDataError("the product code and --name must not be empty")
        product = ProductRow(id=code, name=name, price=_price(args.price), unit=(args.unit or "").strip(),
                             aliases=_aliases(args.aliases) or (), spec=(args.spec or "").strip(),
                             supplier=(args.supplier or "").strip() or None, updated_at=datetime.now(UTC))
        done = store.update(lambda rows: new_product(rows, config, product), actor=_actor(), action="product.add")
        print("\n".join(done.said))
        return 0

    return with_platform_store(args, work)


def _product_edit(args: argparse.Namespace) -> int:
    from bot.usecases.platform_data import PlatformDataError, changed_product

    def work(config: AppConfig, repo: Repository, store: SqlPlatformStore) -> int:
        if args.name is not None and not args.name.strip():
            raise PlatformDataError("--name must not be empty")
        fields: dict[str, object] = {
            "name": args.name.strip() if args.name else None,
            "price": _price(args.price) if args.price is not None else None,
            "unit": args.unit.strip() if args.unit is not None else None,
            "aliases": _aliases(args.aliases),
            "spec": args.spec.strip() if args.spec is not None else None,
            "supplier": (args.supplier.strip() or None) if args.supplier is not None else None,
            "active": args.active,
        }
        code = args.code.strip()
        done = store.update(lambda rows: changed_product(rows, config, code, datetime.now(UTC), **fields),
                            actor=_actor(), action="product.edit")
        print("\n".join(done.said) or f"product {code}: nothing changed")
        return 0

    return with_platform_store(args, work)


# --- tuan deal open -----------------------------------------------------------------------------------

def _cutoff(raw: str | None, timezone: str, now: datetime) -> datetime | None:
    from zoneinfo import ZoneInfo

    from bot.cli_args import parse_moment
    from bot.usecases.platform_data import PlatformDataError

    if raw is None:
        return None
    when = parse_moment("--cutoff", raw, ZoneInfo(timezone))
    if when <= now:
        raise PlatformDataError(f"--cutoff {raw!r} is in the past")
    return when


def audit_cli(repo: Repository, action: str, deal_id: str | None, detail: str) -> None:
    """One audit row of a command-line change outside the platform stores (``deal.open``, ``deal.copy``):
    actor ``cli:<login>``, chat "cli". Raises :class:`bot.ports.StoreUnavailable` when the store cannot serve."""
    from storage.leaderday import add_audit
    from storage.sql import unavailable_as_such

    who = _actor()
    with unavailable_as_such(), repo.engine.begin() as conn:  # type: ignore[attr-defined]
        add_audit(conn, at=datetime.now(UTC), actor_id=who[0], actor_name=who[1], action=action, chat_key="cli",
                  deal_id=deal_id, household=None, detail=detail)


def _deal_open(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from bot import messages as m
    from bot.services.orders import OrderService
    from bot.usecases.platform_data import PlatformDataError
    from bot.usecases.products import deal_catalog, delivery_date, parse_picks
    from storage.products import SqlLibraryStore, record_sources

    def work(config: AppConfig, repo: Repository, store: SqlPlatformStore) -> int:
        rows: PlatformRows = store.load()
        group = rows.groups.get(args.group)
        if group is None:
            known = ", ".join(sorted(rows.groups)) or "none"
            raise PlatformDataError(f"no group {args.group!r} (groups: {known})")
        if group.retired_at is not None:
            raise PlatformDataError(f"group {group.id} is retired (tuan group edit {group.id} --active to serve it "
                                    f"again)")
        now = datetime.now(UTC)
        local = now.astimezone(ZoneInfo(group.timezone))
        title = (args.title or "").strip() or m.CLI_DEAL_TITLE.format(month=local.month, day=local.day)
        cutoff = _cutoff(args.cutoff, group.timezone, now)
        catalog, sources = deal_catalog(SqlLibraryStore(repo.engine).load(),  # type: ignore[attr-defined]
                                        parse_picks(args.products), title=title, cutoff=cutoff)
        delivery = delivery_date(args.delivery, cutoff, now, group.timezone)
        service = OrderService(repo)
        current = service.deal_of(group.chat_key)
        if current is not None and current.status == "open":
            raise PlatformDataError(f"group {group.id} has an open deal {current.id} ({current.title}); "
                                    f"close it first (/close in the chat)")
        deal_id = service.open_deal(catalog, [group.chat_key], title=title, source="cli")
        record_sources(repo.engine, deal_id, delivery, sources)  # type: ignore[attr-defined]
        audit_cli(repo, "deal.open", deal_id, f"deal {deal_id} ({title}) for group {group.id}, delivery {delivery.isoformat()}: "
                    + ", ".join(s.product_id + (f"/{s.spec}" if s.spec else "") for s in sources))
        print(f"opened deal {deal_id} ({title}) for group {group.id}, delivery {delivery.isoformat()}: "
              + ", ".join(f"{i.code}号 {i.name} {i.price}元" + (f" 剩{i.stock}" if i.stock is not None else "")
                          for i in catalog.items))
        return 0

    return with_platform_store(args, work)


# --- registration -----------------------------------------------------------------------------------

def subcommands_of(subparsers: Any, name: str, help: str) -> Any:
    """The subparsers of ``tuan NAME`` (``deal``, ``product``), created here with ``help`` or by
    whichever module registered ``NAME`` first, so several modules can add actions to one command."""
    parent = subparsers.choices.get(name)
    if parent is None:
        parent = subparsers.add_parser(name, help=help)
    for action in parent._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parent.add_subparsers(dest=f"{name}_command", required=True)


def deal_subcommands(subparsers: Any) -> Any:
    """The subparsers of ``tuan deal`` (created here or by whichever module registered ``deal`` first)."""
    return subcommands_of(subparsers, "deal", "open, show or copy a deal (a round of a group buy)")


def add_platform_parsers(subparsers: Any) -> None:
    """Add ``groups``, ``product`` and ``deal open`` to the ``tuan`` command's subparsers.

    Nothing heavy is imported here: each handler imports what it needs.
    """
    groups = subparsers.add_parser("groups", help="the groups in the store, with their leaders")
    groups.add_argument("--json", action="store_true", help="print JSON")
    config_option(groups)
    groups.set_defaults(handler=_groups)

    product = subparsers.add_parser("product", help="the product library: list, add, edit")
    actions = product.add_subparsers(dest="product_command", required=True)
    listing = actions.add_parser("list", help="every product")
    listing.add_argument("--json", action="store_true", help="print JSON")
    config_option(listing)
    listing.set_defaults(handler=_product_list)
    for name, needed in (("add", True), ("edit", False)):
        p = actions.add_parser(name, help="add a product" if needed else "change a product's fields")
        p.add_argument("code", metavar="CODE", help="the product's code")
        p.add_argument("--name", required=needed, help="name, e.g. 阳光玫瑰葡萄 2斤装")
        p.add_argument("--price", required=needed, metavar="YUAN", help='price in yuan, e.g. "29.9" (at most 2 decimals)')
        p.add_argument("--unit", help="unit, e.g. 盒")
        p.add_argument("--aliases", metavar="A,B", help="words residents order it by, comma-separated")
        p.add_argument("--spec", help="specification, e.g. 2斤装")
        p.add_argument("--supplier", help="supplier")
        if not needed:
            state = p.add_mutually_exclusive_group()
            state.add_argument("--active", dest="active", action="store_const", const=True,
                               help="offer it in deals again")
            state.add_argument("--inactive", dest="active", action="store_const", const=False,
                               help="no longer offered in new deals")
        config_option(p)
        p.set_defaults(handler=_product_add if needed else _product_edit, active=None)

    opening = deal_subcommands(subparsers).add_parser("open", help="open a deal for a group from library products")
    opening.add_argument("--group", required=True, help="the group's id (tuan groups)")
    opening.add_argument("--products", required=True, metavar="CODE[/SPEC][:STOCK],...",
                         help="product codes in card order, each maybe with one of its variants after '/' "
                              "(none: every active variant) and its stock after ':' (none: unlimited)")
    opening.add_argument("--delivery", type=cli_args.day("--delivery"), metavar="YYYY-MM-DD",
                         help="the delivery date, for purchase orders (default: the day after the cutoff, "
                              "or after today without one, in the group's time zone; not before either)")
    opening.add_argument("--title", help="the deal's title (default: the date, e.g. 11月30日团购)")
    opening.add_argument("--cutoff", metavar='"YYYY-MM-DD HH:MM"', help="when orders close, in the group's time zone")
    config_option(opening)
    opening.set_defaults(handler=_deal_open)
