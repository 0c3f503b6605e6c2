"""`tuan web` (the dashboard, docs/web.md) and `tuan user add|remove|passwd|list` (its accounts); registered by
bot/cli_run.py. Each opens the store as bot/cli_store.py does (tuan.toml imported first). Exit status:
0 done, 2 bad input (one line on stderr), 1 the store cannot be reached."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from bot.cli_store import Failed, config_option, fail, guarded, opened


def add_web_parsers(subparsers: Any) -> None:
    """Add ``web`` and ``user`` to the ``tuan`` command's subparsers (each sets ``handler``)."""
    web = subparsers.add_parser("web", help="serve the operator and leader web dashboard")
    web.add_argument("--listen", metavar="HOST:PORT", help="where to listen (default: [web] listen, 127.0.0.1:8080)")
    config_option(web)
    web.set_defaults(handler=_web)
    user = subparsers.add_parser("user", help="web dashboard accounts: add, remove, passwd, list")
    actions = user.add_subparsers(dest="user_command", required=True)
    add = actions.add_parser("add", help="add an operator or leader account (the password is asked for)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=["operator", "leader"])
    add.add_argument("--leader", metavar="LEADER_ID", help="a leader account's LEADERS row (`tuan groups`)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    config_option(add)
    add.set_defaults(handler=_user_add)
    remove = actions.add_parser("remove", help="delete an account (its sessions end at once)")
    remove.add_argument("name", metavar="NAME")
    config_option(remove)
    remove.set_defaults(handler=_user_remove)
    passwd = actions.add_parser("passwd", help="set an account's password (its sessions end at once)")
    passwd.add_argument("name", metavar="NAME")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    config_option(passwd)
    passwd.set_defaults(handler=_user_passwd)
    listing = actions.add_parser("list", help="the accounts")
    config_option(listing)
    listing.set_defaults(handler=_user_list)


def _user_add(args: argparse.Namespace) -> int:
    """``tuan user add NAME``: the account, audited (``user_add``)."""
    from bot.web.auth import add_user

    password = _password(args)
    if password is None:
        return fail("the passwords differ")
    chosen: str = password

    def add(engine: Any) -> tuple[str, str]:
        uid = add_user(engine, args.name, args.role, chosen, args.leader)
        return (f"user={args.name} role={args.role} leader={args.leader or '-'}",
                f"added {args.role} account {args.name} (id {uid})")

    return _audited(args, "user_add", add)


def _audited(args: argparse.Namespace, action: str, change: Callable[[Any], tuple[str, str]]) -> int:
    """Open the store of ``args.config`` (:func:`bot.cli_store.opened`), run ``change(engine)`` (→ the
    audit row's detail, the line to print), and add the ``action`` audit row (actor ``cli``). One line
    on stderr and exit 2 for a bad config or a refused change (:class:`bot.web.auth.UserError`), 1 when
    the store is down (:func:`bot.cli_store.guarded`)."""
    from datetime import UTC, datetime

    from bot.web.auth import UserError
    from storage import web as store

    @guarded
    def run(args: argparse.Namespace) -> int:
        with opened(args) as (_config, repo):
            try:
                detail, said = change(repo.engine)  # type: ignore[attr-defined]
            except UserError as e:
                raise Failed(str(e)) from None
            with repo.engine.begin() as conn:  # type: ignore[attr-defined]
                store.add_audit(conn, at=datetime.now(UTC), actor_id="cli", actor_name="cli", action=action,
                                chat_key="web", deal_id=None, detail=detail)
        print(said)
        return 0

    return run(args)


def _password(args: argparse.Namespace) -> str | None:
    """The password from stdin's first line (``--password-stdin``), else asked twice (None: they differ)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    return password if getpass.getpass("again: ") == password else None


def _user_change(args: argparse.Namespace, action: str) -> int:
    """``tuan user remove|passwd NAME``: the change, audited (``user_remove`` / ``user_passwd``)."""
    from bot.web.auth import change_password, remove_user

    given = _password(args) if action == "passwd" else ""
    if given is None:
        return fail("the passwords differ")
    password: str = given

    def apply(engine: Any) -> tuple[str, str]:
        user = change_password(engine, args.name, password) if action == "passwd" else remove_user(engine, args.name)
        return (f"user={user.name} role={user.role}",
                f"{'removed' if action == 'remove' else 'new password for'} {user.role} account {user.name}; "
                "its sessions are signed out")

    return _audited(args, f"user_{action}", apply)


def _user_remove(args: argparse.Namespace) -> int:
    return _user_change(args, "remove")


def _user_passwd(args: argparse.Namespace) -> int:
    return _user_change(args, "passwd")


@guarded
def _user_list(args: argparse.Namespace) -> int:
    from bot.render import table
    from storage import web as store

    with opened(args) as (_config, repo), repo.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = store.users(conn)
    rows_out: list[tuple[str, ...]] = [("name", "role", "leader", "created")]
    print(table(rows_out + [
        (u.name, u.role, u.leader_id or "-", u.created_at.strftime("%Y-%m-%d %H:%M")) for u in rows]))
    return 0


@guarded
def _web(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os

    from bot.config import split_listen
    from bot.runtime import PRIVATE_UMASK, stop_on_signals
    from bot.services.orders import OrderService
    from bot.web.serve import WebStartError, serve_until, server

    if args.listen is not None:
        try:
            split_listen(args.listen)
        except ValueError as e:
            raise Failed(f"--listen {e}") from None
    os.umask(PRIVATE_UMASK)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with opened(args) as (config, repo):

        async def main() -> None:
            stop = asyncio.Event()
            srv = server(config, repo, OrderService(repo), None, args.listen)

            def ready() -> None:
                print(f"tuan web: http://{args.listen or config.web.listen}/", file=sys.stderr, flush=True)

            with stop_on_signals(stop):
                await serve_until(srv, stop, ready)

        try:
            asyncio.run(main())
        except WebStartError as e:
            raise Failed(str(e), 1) from None
        except KeyboardInterrupt:
            return 130
    return 0
