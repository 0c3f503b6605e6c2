"""`tuan settle` (leaders' settlement of a period) and `tuan stats` (per day and group, with a PNG
chart); registered by bot/cli_operators.py. Exit status as the other store commands: 0 done, 2 bad
input (one line on stderr), 1 the store cannot be reached.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import AppConfig
    from bot.ports import Repository
    from bot.usecases.settlement import Period
    from storage.operators import SqlOperatorStore


def _period(args: argparse.Namespace) -> Period:
    from bot.cli_args import parse_day
    from bot.usecases.operators import OperatorError
    from bot.usecases.settlement import Period, period_problem

    days = [parse_day("--from", args.date_from), parse_day("--to", args.date_to)]
    if (problem := period_problem(days[0], days[1])) is not None:
        raise OperatorError(problem)
    return Period(days[0], days[1])


def _settle(args: argparse.Namespace) -> int:
    from bot.cli_operators import with_operator_store
    from bot.cli_output import emit
    from bot.services.orders import OrderService
    from bot.usecases import settlement_files as files
    from bot.usecases.operators import OperatorError
    from bot.usecases.settlement import settlement

    def work(config: AppConfig, repo: Repository, store: SqlOperatorStore) -> int:
        period = _period(args)
        rows = store.load()
        if args.leader is not None and args.leader not in rows.platform.leaders:
            raise OperatorError(f"no leader {args.leader!r} (tuan leader list)")
        s = settlement(OrderService(repo), config, rows, period, leader=args.leader)
        fmt = args.format or ("xlsx" if (args.output or "").lower().endswith(".xlsx") else
                              "csv" if (args.output or "").lower().endswith(".csv") else "table")
        if fmt == "table":
            emit(args.output, (files.as_table(s, rows) + "\n").encode("utf-8"), fail=OperatorError)
            return 0
        data = files.as_csv(s) if fmt == "csv" else files.as_xlsx(s, rows)
        emit(args.output, data, binary="XLSX" if fmt == "xlsx" else None, fail=OperatorError)
        return 0

    return with_operator_store(args, work)


def _stats(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.cli_operators import with_operator_store
    from bot.render import table
    from bot.services.orders import OrderService
    from bot.usecases.stats import day_stats, write_chart

    def work(config: AppConfig, repo: Repository, store: SqlOperatorStore) -> int:
        from bot import platform_messages as pm

        period = _period(args)
        rows = store.load()
        stats = day_stats(OrderService(repo), config, rows, period)
        if stats:
            print(table([tuple(pm.STATS_COLUMNS)] + [
                (s.day.isoformat(), s.group_id, str(s.orders), str(s.households), f"{s.amount:.2f}", str(s.repeat))
                for s in stats]))
        else:
            print(f"no orders from {period.start} to {period.end}")
        if args.png:
            write_chart(stats, period, Path(args.png), titles={g.id: g.title for g in rows.platform.groups.values()})
            print(f"{args.png}: {Path(args.png).stat().st_size} bytes", file=sys.stderr)
        return 0

    return with_operator_store(args, work)


def _dates(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="first day (inclusive)")
    p.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="last day (inclusive)")
    p.add_argument("--config", metavar="PATH",
                   help="TOML configuration naming the store (default: ./tuan.toml, else the built-in sample)")


def add_settle_parsers(subparsers: Any) -> None:
    """Add ``settle`` and ``stats`` to the ``tuan`` subparsers."""
    settle = subparsers.add_parser("settle", help="leaders' settlement of a period: sales, refunds, commission, due")
    _dates(settle)
    settle.add_argument("--leader", metavar="ID", help="only this leader's line")
    settle.add_argument("--format", choices=["table", "csv", "xlsx"],
                        help="table (default), csv or xlsx (default from -o's extension)")
    settle.add_argument("-o", "--output", metavar="FILE", help="write to FILE (mode 0600) instead of stdout")
    settle.set_defaults(handler=_settle)
    stats = subparsers.add_parser("stats", help="per day and group: orders, households, amount, repeat buyers")
    _dates(stats)
    stats.add_argument("--png", metavar="FILE", help="also write a PNG chart of sales per day per group")
    stats.set_defaults(handler=_stats)
