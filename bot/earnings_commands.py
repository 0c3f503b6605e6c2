"""/earnings (/收益, /佣金): a leader's own settlement of this month, in a private chat; and
/settlement (/结算): the platform's settlement of this month, for operators only.

Registered with :func:`bot.registry.command` when :mod:`bot.commands` loads. The registry lets only
leaders (operators included) run them (residents are refused as for every leader command); in a
group they say to ask in private (earnings are nobody else's business). /earnings finds the
caller's leader row by platform account (an operator has no commission and is told only leaders
have earnings); /settlement refuses a caller whose row is not an operator's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import platform_messages as pm
from bot.commands import Invocation
from bot.context import Core
from bot.registry import command
from bot.usecases.operators import OperatorRows
from bot.usecases.platform_data import ANY_PLATFORM, LEADER, OPERATOR, LeaderRow

if TYPE_CHECKING:
    from datetime import date

    from bot.usecases.settlement import Period, Settlement


def leader_of(rows: OperatorRows, platform: str, user_id: str, username: str | None,
              role: str = LEADER) -> LeaderRow | None:
    """The active leader of ``role`` with this account (user id or "@username", case-insensitive; on
    the platform or on every platform), or None (a retired leader's row is not theirs to ask about)."""
    names = {user_id.lower()} | ({"@" + username.lower()} if username else set())
    for ld in sorted(rows.platform.leaders.values(), key=lambda ld: ld.id):
        if ld.role == role and ld.retired_at is None and any(p in (platform, ANY_PLATFORM) and a.lower() in names for p, a in ld.accounts):
            return ld
    return None


def _rate(rate: object) -> str:
    from decimal import Decimal

    return f"{(rate * 100).normalize():f}%" if isinstance(rate, Decimal) else pm.EARNINGS_NO_RATE


def _day(d: date) -> str:
    return f"{d.month}月{d.day}日"


async def _this_month(core: Core, inv: Invocation, *, in_group: str, role: str, refused: str,
                      own: bool) -> tuple[Settlement, Period] | None:
    """What both commands share: in a group, ``in_group`` is said; without a SQL store, or when the
    caller has no leader row of ``role``, ``refused`` (or the no-store text) is said; else the
    settlement of this month (in the bot's time zone) and its period, of the caller's own line when
    ``own``. Returns None when something was said instead."""
    from bot.usecases.settlement import Period, settlement
    from storage.operators import SqlOperatorStore

    if not inv.private:
        await core.send(inv.chat, in_group, reply_to=inv.msg.message_id)
        return None
    engine = getattr(core.service.repo, "engine", None)
    if engine is None:
        await core.send(inv.chat, pm.EARNINGS_NO_STORE)
        return None
    msg = inv.msg
    async with core.lock:
        rows = SqlOperatorStore(engine).load()
        leader = leader_of(rows, msg.platform, msg.sender_id, msg.sender_username, role)
        if leader is None:
            await core.send(inv.chat, refused)
            return None
        period = Period.month_of(core.now().astimezone(core.config.bot.tz).date())
        return settlement(core.service, core.config, rows, period, leader=leader.id if own else None), period


@command("earnings", aliases=("收益", "佣金"), help=pm.HELP_EARNINGS)
async def cmd_earnings(core: Core, inv: Invocation) -> None:
    got = await _this_month(core, inv, in_group=pm.EARNINGS_PRIVATE_ONLY, role=LEADER,
                            refused=pm.EARNINGS_NOT_LEADER, own=True)
    if got is None:
        return
    s, period = got
    line = s.lines[0]
    await core.send(inv.chat, pm.EARNINGS.format(
        name=line.name, start=_day(period.start), end=_day(period.end),
        sales=_money(line.sales), refunds=_money(line.refunds), net=_money(line.net), rate=_rate(line.rate),
        commission=_money(line.commission), share=_money(line.upline_share), due=_money(line.due)))


def _money(v: object) -> str:
    return f"{v:.2f}"


@command("settlement", aliases=("结算",), help=pm.HELP_SETTLEMENT)
async def cmd_settlement(core: Core, inv: Invocation) -> None:
    got = await _this_month(core, inv, in_group=pm.SETTLEMENT_PRIVATE_ONLY, role=OPERATOR,
                            refused=pm.SETTLEMENT_OPERATOR_ONLY, own=False)
    if got is None:
        return
    s, period = got
    lines = [pm.SETTLEMENT_TITLE.format(start=_day(period.start), end=_day(period.end))]
    lines += [pm.SETTLEMENT_LINE.format(name=ln.name, net=_money(ln.net), commission=_money(ln.commission),
                                        share=_money(ln.upline_share), due=_money(ln.due)) for ln in s.lines]
    lines.append(pm.SETTLEMENT_TOTAL.format(sales=_money(s.sales), refunds=_money(s.refunds), net=_money(s.net),
                                            due=_money(s.due), commission=_money(s.commission),
                                            share=_money(s.upline_share), kept=_money(s.kept)))
    await core.send(inv.chat, "\n".join(lines))
