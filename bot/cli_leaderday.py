"""`tuan marks`, `tuan audit`, `tuan verify`, `tuan paid`, `tuan refund`, `tuan short`: the leader's day
(:mod:`bot.usecases.leaderday`) from the command line, on the store of ``--config``.

Actions are recorded in the audit as done by ``--by NAME`` (user id ``cli:NAME``) in the group
``--group`` (a group id, of tuan.toml or ``tuan group add``, or a chat key: :func:`bot.usecases.history.chats_named`;
default: the deal's only group).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from bot import cli_args
from bot.cli_history import _guarded, _store
from bot.cli_store import Failed, config_option


def add_leaderday_parsers(subparsers: Any) -> None:
    """Add the leader's-day subcommands to ``tuan`` (each sets ``handler``)."""
    marks = subparsers.add_parser("marks", help="a round's households: pickup code and point, paid, picked, refunds")
    marks.add_argument("--deal", required=True, metavar="ID")
    marks.add_argument("--json", action="store_true", help="print JSON (one object per household)")
    marks.set_defaults(handler=_marks)
    audit = subparsers.add_parser("audit", help="the leader actions recorded for a round (who, when, what)")
    audit.add_argument("--deal", required=True, metavar="ID")
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(handler=_audit)
    for name, helptext, fn in (("verify", "mark a household picked up, by its pickup code", _verify),
                               ("paid", "record what a household paid (default: what it owes)", _paid),
                               ("refund", "record a refund (or a replacement: reason 补发)", _refund),
                               ("short", "record a short delivery (after the cutoff): units filled first come first served",
                                _short)):
        p = subparsers.add_parser(name, help=helptext)
        p.add_argument("--deal", required=True, metavar="ID")
        p.add_argument("--group", metavar="G", help="group id or chat key (default: the deal's only group)")
        p.add_argument("--by", required=True, metavar="NAME", help="who does it (for the audit)")
        if name == "verify":
            p.add_argument("code")
        elif name == "paid":
            p.add_argument("who", help="a name or label (3栋402)")
            p.add_argument("amount", nargs="?")
        elif name == "refund":
            p.add_argument("who")
            p.add_argument("item")
            p.add_argument("qty", type=cli_args.whole("qty", 0, cli_args.MAX_COUNT))
            p.add_argument("reason", nargs="?", default="")
            p.add_argument("--amount", help="yuan (default: qty × price)")
        else:
            p.add_argument("item")
            p.add_argument("delivered", type=cli_args.whole("delivered", 0, cli_args.MAX_COUNT))
        config_option(p)
        p.set_defaults(handler=fn)
    for p in (marks, audit):
        config_option(p)


def _day(config: Any, repo: Any) -> Any:
    from bot.usecases.history import NoSqlStore
    from bot.usecases.leaderday import LeaderDay

    if not hasattr(repo, "engine"):
        raise NoSqlStore("the store is not a SQL store")

    def points(chat_key: str) -> tuple[str, ...]:
        group = config.group_of_chat(chat_key)
        return group.pickup_points if group is not None else ()

    return LeaderDay(repo, points)


def _money(text: str | None, *, zero_ok: bool = False) -> Decimal | None:
    """An amount argument (:func:`bot.money.parse_amount`); raises Failed with the reason."""
    from bot.money import MoneyError, parse_amount

    if text is None:
        return None
    try:
        return parse_amount(text, zero_ok=zero_ok)
    except MoneyError as e:
        raise Failed(f"not an amount: {e}") from None


def _unknown(e: Exception) -> Failed:
    return Failed(f"no deal {e.args[0]!r} in the store (see `tuan deals --all`)")


def _actor(args: argparse.Namespace, config: Any, day: Any) -> Any:
    from bot.usecases.leaderday import Actor

    if args.group:
        from bot.usecases.history import chats_named

        with day.repo.engine.connect() as conn:
            (key,) = chats_named(conn, config, args.group)
    else:
        chats = {h.chat_key for h in day.households(args.deal)}
        if len(chats) != 1:
            raise Failed(f"the deal has {len(chats)} groups with orders: name one with --group")
        key = chats.pop()
    return Actor(key, f"cli:{args.by}", args.by)


@_guarded
def _marks(args: argparse.Namespace) -> int:
    from bot.render import table
    from bot.usecases.leaderday import DealUnknown

    with _store(args) as (config, repo):
        day = _day(config, repo)
        try:
            households = day.households(args.deal)
            marks = day.marks_for_deal(args.deal)
        except DealUnknown as e:
            raise _unknown(e) from None
    out = []
    for h in households:
        mk = marks[h.key]
        out.append({"no": h.number, "chat_key": h.chat_key, "sender_id": h.sender_id, "proxy": h.proxy,
                    "name": h.name, "label": h.label,
                    "amount": str(h.amount), "refund": str(mk.refund_amount), "owed": str(mk.owed),
                    "paid_amount": None if mk.paid_amount is None else str(mk.paid_amount), "paid": mk.paid,
                    "picked_at": mk.picked_at.isoformat() if mk.picked_at else None, "picked_by": mk.picked_by_name,
                    "pickup_code": mk.pickup_code, "pickup_point": mk.pickup_point})
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    rows: list[tuple[str, ...]] = [("no", "group", "household", "code", "point", "amount", "refund", "paid", "picked")]
    rows += [(str(r["no"]), r["chat_key"], r["label"], r["pickup_code"], r["pickup_point"] or "-", r["amount"],
              r["refund"], r["paid_amount"] or "-", r["picked_by"] or "-") for r in out]
    print(table(rows))
    return 0


@_guarded
def _audit(args: argparse.Namespace) -> int:
    with _store(args) as (config, repo):
        rows = _day(config, repo).audit(args.deal)
    if args.json:
        print(json.dumps([{**r, "at": r["at"].isoformat()} for r in rows], ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        who = f" {r['household_chat']}/{r['household_sender']}" if r["household_sender"] else ""
        print(f"{r['at']:%Y-%m-%d %H:%M:%S} {r['actor_name']} {r['action']}{who} {r['detail']}")
    return 0


def _act(args: argparse.Namespace, act: Any) -> int:
    from bot.usecases.leaderday import DealUnknown, ShortResult

    with _store(args) as (config, repo):
        day = _day(config, repo)
        try:
            res = act(day, _actor(args, config, day), datetime.now(UTC))
        except DealUnknown as e:
            raise _unknown(e) from None
    if isinstance(res, ShortResult):
        for ln in res.lines:
            print(f"{ln.household.label}: ordered {ln.ordered}, got {ln.got}, short {ln.short}, refund {ln.amount}")
        print(f"{res.item.name}: ordered {res.ordered}, delivered {res.delivered}, refunded {res.refunded}")
        return 0
    if res.status != "ok":
        raise Failed(failure(res, args, config.bot.tz), 1)
    marks = res.marks
    print(f"{res.household.label}: code {marks.pickup_code}, owed {marks.owed}, paid {marks.paid_amount or '-'}, "
          f"refund {marks.refund_amount}, picked {marks.picked_by_name or '-'}")
    return 0


FAILURES = {
    "none": "no household {who} in deal {deal}{group} (see `tuan marks --deal {deal}`)",
    "ambiguous": "{who} matches {n} households: {candidates}; name one by its number (e.g. '#{example}')",
    "already": "{label} was already picked up ({when} by {by})",
    "not_picked": "{label} is not picked up",
    "late": "{label} was picked up more than 10 minutes ago ({when}): too late to undo",
    "bad_item": "deal {deal} sells no item {item!r}",
    "bad_qty": "{qty_word} must be {least} or more (got {qty})",
    "too_many": "{label}: at most {left} more of {item} can be refunded",
    "too_much": "{label}: at most {left} yuan more can be refunded for {item}",
    "bad_amount": "the amount {why}",
    "open": "deal {deal} still takes orders: record a short delivery after its cutoff (its schedule, or /close in "
            "the group)",
}
"""Why a leader's-day action changed nothing, per :class:`~bot.usecases.leaderday_model.Result` status: one
line for stderr (``tuan: …``), filled by :func:`failure`."""


def failure(res: Any, args: argparse.Namespace, tz: tzinfo | None = None) -> str:
    """The line saying why ``res`` (a Result whose status is not "ok") changed nothing, for the
    command ``args`` (verify, paid, refund or short); times in ``tz`` (default: the machine's). An
    unknown status is named as it is."""
    from bot.money import REASONS

    h, marks, item = res.household, res.marks, res.item
    code = getattr(args, "code", None)
    who = f"with pickup code {code!r}" if code is not None else repr(getattr(args, "who", ""))
    picked_at = marks.picked_at if marks is not None else None
    values = {
        "deal": args.deal, "who": who, "group": f" in group {args.group!r}" if args.group else "",
        "n": len(res.candidates), "example": res.candidates[0].number if res.candidates else "",
        "candidates": ", ".join(f"#{c.number} {c.label}" for c in res.candidates),
        "label": h.label if h is not None else who, "by": (marks.picked_by_name if marks is not None else "") or "-",
        "when": f"{picked_at.astimezone(tz):%Y-%m-%d %H:%M}" if picked_at is not None else "-",
        "item": item.name if item is not None else getattr(args, "item", ""),
        "qty_word": "delivered" if args.handler is _short else "the quantity",
        "least": 0 if args.handler is _short else 1,
        "qty": getattr(args, "delivered", getattr(args, "qty", "")),
        "left": res.detail.get("left", ""), "why": REASONS.get(res.detail.get("why", ""), "is not a sum of money"),
    }
    text = FAILURES.get(res.status)
    return text.format(**values) if text is not None else res.status


@_guarded
def _verify(args: argparse.Namespace) -> int:
    return _act(args, lambda day, actor, now: day.verify(args.deal, actor, now, code=args.code))


@_guarded
def _paid(args: argparse.Namespace) -> int:
    amount = _money(args.amount, zero_ok=True)
    return _act(args, lambda day, actor, now: day.mark_paid(args.deal, actor, now, args.who, amount))


@_guarded
def _refund(args: argparse.Namespace) -> int:
    amount = _money(args.amount)
    return _act(args, lambda day, actor, now: day.refund(args.deal, actor, now, args.who, args.item, args.qty,
                                                         args.reason, amount))


@_guarded
def _short(args: argparse.Namespace) -> int:
    return _act(args, lambda day, actor, now: day.short(args.deal, actor, now, args.item, args.delivered))


__all__ = ["add_leaderday_parsers"]
