"""`tuan deals`, `tuan deal show|copy` and `tuan export --deal`: rounds from the store (registered by
bot/cli_run.py).

Each opens the store as bot/cli_store.py does for every store command (``--config PATH``, else
./tuan.toml, else the built-in sample), without importing tuan.toml. Errors are one line on stderr:
exit status 2 for a bad configuration, an unknown deal or group; 1 for a round that cannot be
opened again now (its group has an open round) or a store that failed in the middle.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot import cli_args
from bot.cli_store import Failed, config_option, guarded, opened

DEFAULT_DAYS = 30
"""`tuan deals` without ``--all``: rounds still open, or opened or closed in the last this many days."""
MAX_DAYS = 36_500  # a --days beyond a century lists every round (a date that far back does not exist)


def add_history_parsers(subparsers: Any) -> None:
    """Add ``deals``, ``deal show``, ``deal copy`` and ``export`` to the ``tuan`` command (each sets ``handler``)."""
    deals = subparsers.add_parser("deals", help="list the rounds (deals): groups, status, households, amount")
    deals.add_argument("--group", metavar="G", help="only this group's rounds (its group id or chat key)")
    deals.add_argument("--all", action="store_true",
                       help="every round (default: open ones and those of the last --days days)")
    deals.add_argument("--days", type=cli_args.whole("--days", 0, cli_args.MAX_COUNT), default=DEFAULT_DAYS, metavar="N",
                       help=f"without --all: rounds opened or closed in the last N days (default {DEFAULT_DAYS})")
    deals.add_argument("--json", action="store_true", help="print JSON")
    config_option(deals)
    deals.set_defaults(handler=_deals)

    deal = subparsers.add_parser("deal", help="one round: show it, or open it again")
    actions = deal.add_subparsers(dest="deal_command", required=True)
    show = actions.add_parser("show", help="a round's items with quantities and amounts, its groups and households")
    show.add_argument("id", help="the deal id (see `tuan deals`)")
    show.add_argument("--json", action="store_true", help="print JSON")
    config_option(show)
    show.set_defaults(handler=_show)
    copy = actions.add_parser("copy", help="open a round again: same items, prices and stock, a new round")
    copy.add_argument("id", help="the deal id to copy")
    copy.add_argument("--group", metavar="G", help="open it for this group (default: the round's own groups)")
    config_option(copy)
    copy.set_defaults(handler=_copy)

    export = subparsers.add_parser("export", help="a round's orders as XLSX or CSV (the spreadsheet of /export)")
    export.add_argument("--deal", required=True, metavar="ID", help="the deal id (see `tuan deals`)")
    export.add_argument("--format", choices=["xlsx", "csv"],
                        help="xlsx (sheets 订单明细, 备货单, 分拣单) or csv (订单明细); default: xlsx when FILE "
                             "ends in .xlsx, else csv")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (mode 0600) instead of stdout")
    config_option(export)
    export.set_defaults(handler=_export)

    pickup = subparsers.add_parser("pickup", help="a round's sorting list (分拣单): per pickup point, by building and room")
    pickup.add_argument("--deal", required=True, metavar="ID", help="the deal id (see `tuan deals`)")
    pickup.add_argument("--format", choices=["text", "pdf"],
                        help="text (default), or pdf: the print-ready sheet, a page per pickup point "
                             "(default pdf when FILE ends .pdf)")
    pickup.add_argument("-o", "--output", metavar="FILE", help="write to FILE (mode 0600) instead of stdout")
    config_option(pickup)
    pickup.set_defaults(handler=_pickup)

    stock = subparsers.add_parser("stock", help="the stocking list (备货单) of every round opened on a day")
    stock.add_argument("--date", required=True, type=cli_args.day("--date"), metavar="D",
                       help="the day, YYYY-MM-DD (in the bot's time zone)")
    stock.add_argument("--group", metavar="G", help="only this group's orders (its group id or chat key)")
    config_option(stock)
    stock.set_defaults(handler=_stock)


def _guarded(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``fn`` with the rounds' own errors said as one line too (:func:`bot.cli_store.guarded` says the rest)."""
    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        from bot.ports import ChatRetired
        from bot.usecases.history import GroupRetired, NoSqlStore, RoundStillOpen, UnknownGroup, UnknownRound

        try:
            return fn(args)
        except UnknownRound as e:
            raise Failed(f"no deal {e.args[0]!r} in the store (see `tuan deals --all`)") from None
        except UnknownGroup as e:
            raise Failed(f"no group {e.args[0]!r} (a group id, see `tuan groups`, or a chat key the store knows)") \
                from None
        except RoundStillOpen as e:
            raise Failed(str(e), 1) from None
        except (GroupRetired, ChatRetired, NoSqlStore) as e:
            raise Failed(str(e)) from None

    return guarded(run)


def _store(args: argparse.Namespace) -> contextlib.AbstractContextManager[tuple[Any, Any]]:
    """(config, repository) of ``--config`` (:func:`bot.cli_store.opened`; tuan.toml is not imported:
    these commands read rounds)."""
    return opened(args, import_config=False)


def _when(t: datetime | None) -> str:
    return f"{t:%Y-%m-%d %H:%M}" if t is not None else "-"


@_guarded
def _deals(args: argparse.Namespace) -> int:
    from bot.render import table
    from bot.usecases.history import engine_of, list_rounds, money
    from storage.history import reading

    with _store(args) as (config, repo), reading(engine_of(repo)) as conn:
        rounds = list_rounds(conn, config, group=args.group,
                             days=None if args.all or args.days > MAX_DAYS else args.days)  # beyond: every round
    if args.json:
        print(json.dumps([r.as_json(items=False) for r in rounds], ensure_ascii=False, indent=2))
        return 0
    if not rounds:
        print("no rounds" + ("" if args.all else f" open or in the last {args.days} days (--all for every one)"))
        return 0
    rows: list[tuple[str, ...]] = [("id", "group", "title", "status", "opened", "closed", "households", "amount")]
    rows += [(r.id, ",".join(g.name for g in r.groups) or "-", r.name, r.status, _when(r.opened),
              _when(r.closed), str(r.households), money(r.amount)) for r in rounds]
    print(table(rows))
    return 0


@_guarded
def _show(args: argparse.Namespace) -> int:
    from bot.render import table
    from bot.usecases.history import engine_of, money, show_round
    from storage.history import reading

    with _store(args) as (config, repo), reading(engine_of(repo)) as conn:
        r = show_round(conn, config, args.id)
    if args.json:
        print(json.dumps(r.as_json(), ensure_ascii=False, indent=2))
        return 0
    print(f"{r.name}  ({r.id}, {r.status})")
    print(f"opened {_when(r.opened)}  closed {_when(r.closed)}  source {r.source or '-'}")
    groups = ", ".join(f"{g.name} {g.title} ({g.households})" if g.title != g.name else f"{g.name} ({g.households})"
                       for g in r.groups)
    print(f"groups: {groups or '-'}")
    rows: list[tuple[str, ...]] = [("code", "item", "unit", "price", "stock", "qty", "amount")]
    rows += [(i.code, i.name, i.unit, money(i.price), "-" if i.stock is None else str(i.stock), str(i.qty),
              money(i.amount)) for i in r.items]
    print(table(rows))
    print(f"households {r.households}  amount {money(r.amount)}")
    return 0


@_guarded
def _export(args: argparse.Namespace) -> int:
    from bot.services.orders import OrderService
    from bot.usecases.history import engine_of, export_round
    from storage.history import reading

    fmt = args.format or ("xlsx" if (args.output or "").lower().endswith(".xlsx") else "csv")
    with _store(args) as (config, repo), reading(engine_of(repo)) as conn:
        data = export_round(OrderService(repo), conn, config, args.deal, fmt)
    return _write(args.output, data, binary="XLSX" if fmt == "xlsx" else None)


def _write(output: str | None, data: bytes, *, binary: str | None = None) -> int:
    """``data`` to ``output`` or stdout, as :func:`bot.cli_output.emit` (its refusals: :class:`Failed`)."""
    from bot.cli_output import emit

    emit(output, data, binary=binary, fail=Failed)
    return 0


@_guarded
def _pickup(args: argparse.Namespace) -> int:
    from bot.leaderlists import sorting_text
    from bot.services.orders import OrderService
    from bot.usecases.history import engine_of, round_name, round_titles
    from bot.usecases.lists import deal_lists, group_points
    from storage.history import reading

    with _store(args) as (config, repo):
        service = OrderService(repo)
        with reading(engine_of(repo)) as conn:
            titles = round_titles(conn, config, args.deal)
        points = group_points(service, config)
        lists = deal_lists(service, config, args.deal, titles=titles, pickup_points=points)
        deal = repo.get_deal(args.deal)
    name = round_name(lists.title, deal.created_at, config.bot.tz) if deal is not None else lists.title
    fmt = args.format or ("pdf" if (args.output or "").lower().endswith(".pdf") else "text")
    if fmt == "pdf":
        from bot.usecases.lists import sorting_sheet

        return _write(args.output, sorting_sheet(lists, config, points, title=name, now=datetime.now(UTC)),
                      binary="PDF")
    text = sorting_text(lists.sorting(points), title=name)
    if args.output is None:
        print(text)
        return 0
    return _write(args.output, (text + "\n").encode())


@_guarded
def _stock(args: argparse.Namespace) -> int:
    from datetime import date

    from bot.leaderlists import stocking_text
    from bot.messages import STOCK_DAY
    from bot.services.orders import OrderService
    from bot.usecases.history import chats_named, engine_of
    from bot.usecases.lists import day_stock
    from storage.history import reading

    day: date = args.date
    with _store(args) as (config, repo):
        keys = None
        if args.group is not None:
            with reading(engine_of(repo)) as conn:
                keys = chats_named(conn, config, args.group, former=True)
        ids, stock = day_stock(OrderService(repo), config, day, keys)
    title = STOCK_DAY.format(month=day.month, day=day.day, deals=len(ids))
    print(stocking_text(stock, title=title))
    if ids:
        print("deals: " + ", ".join(ids))
    return 0


@_guarded
def _copy(args: argparse.Namespace) -> int:
    from bot.services.orders import OrderService
    from bot.usecases.history import copy_round, engine_of, show_round
    from storage.history import reading

    with _store(args) as (config, repo):
        new_id = copy_round(OrderService(repo), engine_of(repo), config, args.id, args.group)
        from bot.usecases.products import copy_deal_sources

        delivery = copy_deal_sources(engine_of(repo), args.id, new_id, config.bot.tz)
        with reading(engine_of(repo)) as conn:
            r = show_round(conn, config, new_id)
        from bot.cli_platform import audit_cli

        audit_cli(repo, "deal.copy", new_id, f"deal {new_id} ({r.name}), a copy of {args.id}"
                  + (f", delivery {delivery.isoformat()}" if delivery else ""))
    print(f"opened {r.id}: {r.name} for {', '.join(g.name for g in r.groups)} (a copy of {args.id})"
          + (f", delivery {delivery.isoformat()}" if delivery else ""))
    return 0
