"""`tuan leader|group add|list|edit|remove` and `tuan schedule add|list|remove`: operators manage
leaders (commission terms and upline included), groups and schedules in the store (a leader or group
removed is retired, never deleted: bot/usecases/retirement.py); `tuan settle` and `tuan stats` (bot/cli_settle.py)
come with them. Registered by bot/cli_run.py.

Like the other store commands, each first imports tuan.toml (groups, leaders, deal items, and now
schedules) into the store. Every change is one audit row (actor "cli:<user>"). Exit status: 0 done,
2 bad input (one line on stderr: an unknown id, a bad value, a third tier), 1 the store cannot be reached.
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.cli_store import config_option

if TYPE_CHECKING:
    from bot.config import AppConfig
    from bot.ports import Repository
    from bot.usecases.operators import OperatorChanges, OperatorRows
    from storage.operators import SqlOperatorStore

OpWork = Callable[["AppConfig", "Repository", "SqlOperatorStore"], int]


def actor() -> tuple[str, str]:
    """Who runs the command: ("cli:<login>", "<login>")."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}", user


def with_operator_store(args: argparse.Namespace, work: OpWork) -> int:
    """:func:`bot.cli_store.with_platform_store`, with tuan.toml's schedules imported too."""
    from bot.cli_store import with_platform_store
    from bot.usecases.schedules import import_schedules
    from storage.operators import SqlOperatorStore

    def run(config: AppConfig, repo: Repository, _store: Any) -> int:
        store = SqlOperatorStore(repo.engine)  # type: ignore[attr-defined]
        store.update(lambda rows: import_schedules(rows, config, datetime.now(UTC)), actor=("config", config.source))
        return work(config, repo, store)

    return with_platform_store(args, run)


def _change(args: argparse.Namespace, decide: Callable[[AppConfig, OperatorRows], OperatorChanges],
            nothing: str) -> int:
    def work(config: AppConfig, repo: Repository, store: SqlOperatorStore) -> int:
        done = store.update(lambda rows: decide(config, rows), actor=actor())
        print("\n".join(done.said) or nothing)
        return 0

    return with_operator_store(args, work)


def _list_arg(raw: str | None) -> tuple[str, ...] | None:
    from bot.usecases.operators import words

    return words(raw)


def _share(option: str, raw: str | None) -> Any:
    from bot.usecases.operators import UNSET, parse_share

    return UNSET if raw is None else parse_share(option, raw)


# --- tuan leader ----------------------------------------------------------------------------------

def _leader_add(args: argparse.Namespace) -> int:
    from bot.usecases.operators import Terms, add_leader, parse_accounts, parse_share

    def decide(config: AppConfig, rows: OperatorRows) -> OperatorChanges:
        upline = (args.upline or "").strip() or None
        terms = Terms(parse_share("--rate", args.rate or ""), upline, parse_share("--upline-share", args.upline_share or ""))
        return add_leader(rows, leader_id=args.id, name=args.name, role=args.role or "leader",
                          accounts=parse_accounts(args.account or ()), groups=_list_arg(args.groups) or (),
                          terms=terms, now=datetime.now(UTC))

    return _change(args, decide, "")


def _leader_edit(args: argparse.Namespace) -> int:
    from bot.usecases.operators import UNSET, OperatorError, edit_leader, parse_accounts

    def decide(config: AppConfig, rows: OperatorRows) -> OperatorChanges:
        if args.id not in rows.platform.leaders:  # before any value is read: the id is the first mistake
            raise OperatorError(f"no leader {args.id!r} (tuan leader list)")
        upline: object = UNSET
        if args.upline is not None:
            upline = None if args.upline.strip().lower() in ("", "none", "-") else args.upline.strip()
        return edit_leader(rows, args.id, name=args.name, role=args.role,
                           accounts=parse_accounts(args.account) if args.account else None,
                           groups=_list_arg(args.groups), rate=_share("--rate", args.rate), upline=upline,
                           upline_share=_share("--upline-share", args.upline_share), active=args.active)

    return _change(args, decide, f"leader {args.id}: nothing changed")


def _leader_remove(args: argparse.Namespace) -> int:
    from bot.usecases.retirement import retire_leader

    return _change(args, lambda config, rows: retire_leader(rows, args.id, datetime.now(UTC)),
                   f"leader {args.id}: retired already (tuan leader edit {args.id} --active to undo)")


def _leader_list(args: argparse.Namespace) -> int:
    def work(config: AppConfig, repo: Repository, store: SqlOperatorStore) -> int:
        rows = store.load()
        out: list[dict[str, Any]] = []
        for ld in sorted(rows.platform.leaders.values(), key=lambda ld: ld.id):
            t = rows.terms_of(ld.id)
            out.append({"id": ld.id, "name": ld.name, "role": ld.role, "source": ld.source,
                        "retired_at": ld.retired_at.isoformat() if ld.retired_at else None,
                        "accounts": sorted(f"{p}:{a}" for p, a in ld.accounts), "groups": sorted(ld.groups),
                        "rate": None if t.rate is None else str(t.rate), "upline": t.upline,
                        "upline_share": None if t.upline_share is None else str(t.upline_share),
                        "downlines": sorted(k for k, v in rows.terms.items() if v.upline == ld.id)})
        if args.json:
            print(json.dumps(out, ensure_ascii=False, indent=2))
            return 0
        if not out:
            print("no leaders (tuan leader add ID --name N)")
            return 0
        from bot.render import table

        print(table([("id", "name", "role", "accounts", "groups", "rate", "upline", "share", "from", "retired")] + [
            (r["id"], r["name"], r["role"], ",".join(r["accounts"]) or "-", ",".join(r["groups"]) or "-",
             r["rate"] or "-", r["upline"] or "-", r["upline_share"] or "-",
             "tuan.toml" if r["source"] == "config" else r["source"], (r["retired_at"] or "-")[:10]) for r in out]))
        return 0

    return with_operator_store(args, work)


# --- tuan group -----------------------------------------------------------------------------------

def _group_add(args: argparse.Namespace) -> int:
    from bot.usecases.operators import add_group

    def decide(config: AppConfig, rows: OperatorRows) -> OperatorChanges:
        return add_group(rows, config, group_id=args.id, platform=args.platform, chat=args.chat,
                         title=args.title or "", pickup_points=_list_arg(args.points) or (),
                         leaders=_list_arg(args.leaders) or (), timezone=args.timezone)

    return _change(args, decide, "")


def _group_edit(args: argparse.Namespace) -> int:
    from bot.usecases.operators import edit_group

    def decide(config: AppConfig, rows: OperatorRows) -> OperatorChanges:
        return edit_group(rows, config, args.id, title=args.title, pickup_points=_list_arg(args.points),
                          leaders=_list_arg(args.leaders), timezone=args.timezone, platform=args.platform,
                          chat=args.chat, active=args.active)

    return _change(args, decide, f"group {args.id}: nothing changed")


def _group_remove(args: argparse.Namespace) -> int:
    from bot.services.orders import OrderService
    from bot.usecases.retirement import remove_group

    def work(config: AppConfig, repo: Repository, store: SqlOperatorStore) -> int:
        done = remove_group(store, OrderService(repo), config, args.id, datetime.now(UTC), actor())
        print("\n".join(done.said) or f"group {args.id}: retired already (tuan group edit {args.id} --active to undo)")
        return 0

    return with_operator_store(args, work)


def _group_list(args: argparse.Namespace) -> int:
    from bot.cli_platform import _groups

    return _groups(args)


# --- tuan schedule --------------------------------------------------------------------------------

def _schedule_add(args: argparse.Namespace) -> int:
    from bot.usecases.schedules import add_schedule

    def decide(config: AppConfig, rows: OperatorRows) -> OperatorChanges:
        return add_schedule(rows, config, group_id=args.group, kind=args.kind, cron=args.cron, at=args.time,
                            text=args.text or "", now=datetime.now(UTC))

    return _change(args, decide, "")


def _schedule_remove(args: argparse.Namespace) -> int:
    from bot.usecases.schedules import remove_schedule

    return _change(args, lambda config, rows: remove_schedule(rows, args.id), "")


def _schedule_list(args: argparse.Namespace) -> int:
    def work(config: AppConfig, repo: Repository, store: SqlOperatorStore) -> int:
        rows = store.load()
        out: list[dict[str, Any]] = [{"id": s.id, "group": s.group_id, "kind": s.kind, "cron": s.cron, "second": s.second, "text": s.text,
                "source": s.source} for s in rows.schedules.values()]
        if args.json:
            print(json.dumps(out, ensure_ascii=False, indent=2))
            return 0
        if not out:
            print("no schedules (tuan schedule add --group G --kind reminder --time 20:00)")
            return 0
        from bot.render import table

        print(table([("id", "group", "kind", "cron", "text", "from")] + [
            (s["id"], s["group"], s["kind"], s["cron"] + (f" +{s['second']}s" if s["second"] else ""),
             s["text"] or "-", "tuan.toml" if s["source"] == "config" else s["source"]) for s in out]))
        return 0

    return with_operator_store(args, work)


# --- registration ---------------------------------------------------------------------------------

REMOVE_LEADER_HELP = (
    "Retire a leader: the row, terms and groups are kept, so past orders, payments, refunds, audit and "
    "settlement stay as they were (their commission on rounds opened before now is still settled). From "
    "now they lead nothing (chat commands, the web) and earn nothing. Refused for a leader from tuan.toml, "
    "the upline of an active leader, or a group's only leader. Undo: tuan leader edit ID --active.")
REMOVE_GROUP_HELP = (
    "Retire a group: the row is kept, so its past rounds stay readable and settle. From now no round "
    "opens there (tuan deal open|copy, the web, a deal post in the chat), nobody leads its chat (residents' "
    "orders get the usual 'no group buy open' reply) and its schedules do not run. Refused for a group "
    "from tuan.toml, or while a round is open or still has goods to pick up or money to collect. "
    "Undo: tuan group edit ID --active.")

def _leader_options(p: argparse.ArgumentParser, add: bool) -> None:
    p.add_argument("id", metavar="ID", help="the leader's id")
    p.add_argument("--name", required=add, help="name, e.g. 王姐")
    p.add_argument("--role", choices=["leader", "operator"], help="leader (default) or operator")
    p.add_argument("--account", action="append", metavar="PLATFORM:ACCOUNT",
                   help="a platform account (repeatable): telegram:12345, wechat:wxid_x, *:@name"
                        + ("" if add else "; replaces the accounts"))
    p.add_argument("--groups", metavar="G1,G2", help="the groups led (ids)" + ("" if add else "; replaces them"))
    p.add_argument("--rate", metavar="RATE", help="commission rate on the groups' net sales: 0.08 or 8%%"
                                                  + ("" if add else "; none to clear"))
    p.add_argument("--upline", metavar="LEADER", help="the leader who recruited this one (two tiers at most)"
                                                      + ("" if add else "; none to clear"))
    p.add_argument("--upline-share", metavar="SHARE",
                   help="this leader's share of each direct downline's commission: 0.1 or 10%%")
    if not add:
        p.add_argument("--active", action="store_true", help="reinstate a retired leader (undo `tuan leader remove`)")
    config_option(p)


def _group_options(p: argparse.ArgumentParser, add: bool) -> None:
    p.add_argument("id", metavar="ID", help="the group's id")
    p.add_argument("--platform", required=add, help="telegram, wechat or console")
    p.add_argument("--chat", required=add, help="the platform's chat id")
    p.add_argument("--title", help="the group's name, e.g. 幸福里")
    p.add_argument("--points", metavar="A,B", help="pickup points (自提点), the first is the default")
    p.add_argument("--leaders", metavar="L1,L2", help="the leaders' ids" + ("" if add else "; replaces them"))
    p.add_argument("--timezone", help="IANA time zone (default: [bot] timezone)")
    if not add:
        p.add_argument("--active", action="store_true", help="reinstate a retired group (undo `tuan group remove`)")
    config_option(p)


def add_operator_parsers(subparsers: Any) -> None:
    """Add ``leader``, ``group``, ``schedule``, ``settle`` and ``stats`` to the ``tuan`` subparsers."""
    leader = subparsers.add_parser("leader", help="leaders (团长): add, list, edit, remove; commission and upline")
    acts = leader.add_subparsers(dest="leader_command", required=True)
    p = acts.add_parser("add", help="add a leader")
    _leader_options(p, True)
    p.set_defaults(handler=_leader_add)
    p = acts.add_parser("edit", help="change a leader")
    _leader_options(p, False)
    p.set_defaults(handler=_leader_edit)
    p = acts.add_parser("list", help="every leader with their terms")
    p.add_argument("--json", action="store_true", help="print JSON")
    config_option(p)
    p.set_defaults(handler=_leader_list)
    p = acts.add_parser("remove", help="retire a leader: kept for the history, leads nothing from now",
                        description=REMOVE_LEADER_HELP)
    p.add_argument("id", metavar="ID", help="the leader's id (tuan leader list)")
    config_option(p)
    p.set_defaults(handler=_leader_remove)

    group = subparsers.add_parser("group", help="groups: add, list, edit, remove")
    acts = group.add_subparsers(dest="group_command", required=True)
    p = acts.add_parser("add", help="add a group")
    _group_options(p, True)
    p.set_defaults(handler=_group_add)
    p = acts.add_parser("edit", help="change a group")
    _group_options(p, False)
    p.set_defaults(handler=_group_edit)
    p = acts.add_parser("list", help="every group with its leaders (as `tuan groups`)")
    p.add_argument("--json", action="store_true", help="print JSON")
    config_option(p)
    p.set_defaults(handler=_group_list)
    p = acts.add_parser("remove", help="retire a group: kept for the history, no new rounds",
                        description=REMOVE_GROUP_HELP)
    p.add_argument("id", metavar="ID", help="the group's id (tuan groups)")
    config_option(p)
    p.set_defaults(handler=_group_remove)

    schedule = subparsers.add_parser("schedule", help="scheduled posts: add, list, remove (read at `tuan run`)")
    acts = schedule.add_subparsers(dest="schedule_command", required=True)
    p = acts.add_parser("add", help="add a scheduled post")
    p.add_argument("--group", required=True, help="the group's id")
    p.add_argument("--kind", required=True, help="deal_card, reminder, cutoff, pickup, unpicked or purchase (the purchase orders to the operators)")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", help='crontab expression in the bot\'s time zone, e.g. "0 20 * * *"')
    when.add_argument("--time", help="daily at HH:MM[:SS]")
    p.add_argument("--text", help="the post's own words")
    config_option(p)
    p.set_defaults(handler=_schedule_add)
    p = acts.add_parser("remove", help="remove a scheduled post (one added here)")
    p.add_argument("id", metavar="ID", help="the schedule's id (tuan schedule list)")
    config_option(p)
    p.set_defaults(handler=_schedule_remove)
    p = acts.add_parser("list", help="every scheduled post")
    p.add_argument("--json", action="store_true", help="print JSON")
    config_option(p)
    p.set_defaults(handler=_schedule_list)

    from bot.cli_settle import add_settle_parsers

    add_settle_parsers(subparsers)
