"""The `tuan run` and `tuan demo` subcommands (registered by bot/cli.py)."""

from __future__ import annotations

import argparse
from typing import Any

from bot import cli_args
from bot.cli_history import add_history_parsers


def _run(args: argparse.Namespace) -> int:
    from bot.runtime import main

    level = args.log_level or ("DEBUG" if args.verbose >= 2 else "INFO" if args.verbose == 1 else None)
    return main(args.config, level)


DEFAULT_SPEED = 4800.0  # 13½ hours of the day in about 10 seconds of script time (about 12 s in all)


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import main

    return main(speed=args.speed, seed=args.seed, db_url=args.db)


def add_run_parsers(subparsers: Any) -> None:
    """Add ``run`` and ``demo`` to the ``tuan`` command's subparsers (each sets ``handler``).

    Nothing heavy is imported here: each handler imports what its subcommand needs.
    """
    run = subparsers.add_parser("run", help="run the bot: the console chat and/or the configured platforms")
    run.add_argument("--config", metavar="PATH",
                     help="TOML configuration (default: ./tuan.toml if present, else a built-in sample; "
                          "see config.example.toml)")
    run.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], type=str.upper,
                     help="log level (default WARNING; INFO tells the store, platforms, groups and unknown chats)")
    run.add_argument("-v", "--verbose", action="count", default=0, help="-v for INFO, -vv for DEBUG")
    run.set_defaults(handler=_run)
    demo = subparsers.add_parser("demo", help="play a scripted day of a group buy, in accelerated time")
    demo.add_argument("--speed", type=float, default=DEFAULT_SPEED,
                      help=f"time acceleration (default: {DEFAULT_SPEED:g}: the day in about 12 s)")
    demo.add_argument("--seed", type=cli_args.whole("--seed", 0, 2**63 - 1), default=2026, help="varies residents, rooms and quantities")
    demo.add_argument("--db", metavar="URL", help="store URL (default: a temporary SQLite file)")
    demo.set_defaults(handler=_demo)
    add_history_parsers(subparsers)
    from bot.cli_platform import add_platform_parsers

    add_platform_parsers(subparsers)  # `deal open` joins the `deal` command registered above
    from bot.cli_leaderday import add_leaderday_parsers

    add_leaderday_parsers(subparsers)
    from bot.cli_operators import add_operator_parsers; add_operator_parsers(subparsers)  # noqa: E702,I001
    from bot.cli_products import add_products_parsers

    add_products_parsers(subparsers)  # `product import|variant|variants` join `product` registered above
    from bot.cli_web import add_web_parsers

    add_web_parsers(subparsers)
