"""Statistics per day and group: orders, households, amount and repeat buyers; a PNG chart of sales.

A deal counts on the day it was opened (the bot's time zone), in each group it has orders from (a
group by its chats when the deal opened, a former chat key too: :mod:`bot.usecases.group_chats`).
``orders``: households with an order, summed over the group's deals of the day; ``households``:
distinct households among them; ``amount``: their order amounts in yuan (the exports' 金额, before
refunds); ``repeat``: those of the day's households that had an order in a round of the same group
opened on an earlier day (any earlier day, also before the period).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from bot.config import AppConfig
from bot.services.orders import OrderService
from bot.usecases.operators import OperatorRows
from bot.usecases.settlement import Period

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class DayStats:
    """One group's figures of one day."""

    day: date
    group_id: str
    orders: int
    households: int
    amount: Decimal
    repeat: int


def day_stats(service: OrderService, config: AppConfig, rows: OperatorRows, period: Period) -> list[DayStats]:
    """Per day and group (store groups only), days with orders only, by day then group id."""
    from bot import leaderlists as ll
    from bot.usecases.history import engine_of
    from storage import history
    from storage.group_chats import group_chats
    from storage.settlement import chats_of_deals, deals_opened

    tz = config.bot.tz
    since, until = period.bounds(config)
    with history.reading(engine_of(service.repo)) as conn:
        deals = deals_opened(conn, until)
        chats = chats_of_deals(conn, [d for d, _ in deals])
        # a round is its group's by the chat the group had when it opened (bot/usecases/group_chats.py)
        owners = group_chats(conn, {g.chat_key: g.id for g in rows.platform.groups.values()})
    # a household within its group: (sender id, proxy), whichever chat key the group had then
    first_day: dict[tuple[str, tuple[str, str]], date] = {}  # (group, household) → first day with an order
    orders: dict[tuple[date, str], int] = defaultdict(int)
    homes: dict[tuple[date, str], set[tuple[str, str]]] = defaultdict(set)
    amount: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for deal_id, opened in deals:
        day = opened.astimezone(tz).date()
        mine = {gid: keys for gid, keys in owners.groups_of(chats.get(deal_id, ()), opened, deal_id).items()
                if gid in rows.platform.groups}
        if not mine:
            continue
        every = ll.household_views(service.tally(deal_id), service.catalog_of(deal_id))
        for gid, keys in sorted(mine.items()):
            views = [v for v in every if v.chat_key in keys]
            for v in views:
                first_day.setdefault((gid, (v.sender_id, v.proxy)), day)
            if opened < since:
                continue
            orders[(day, gid)] += len(views)
            homes[(day, gid)].update((v.sender_id, v.proxy) for v in views)
            amount[(day, gid)] += sum((v.amount for v in views), ZERO)
    return [DayStats(day, gid, orders[(day, gid)], len(homes[(day, gid)]), amount[(day, gid)],
                     sum(1 for h in homes[(day, gid)] if first_day[(gid, h)] < day))
            for day, gid in sorted(orders)]


def write_chart(stats: list[DayStats], period: Period, path: Path, *, titles: dict[str, str] | None = None) -> None:
    """A PNG line chart of sales (yuan) per day, one line per group, over every day of ``period``.

    Drawn with matplotlib's Agg backend (no display needed); a CJK font is used when one is
    installed, and a title whose glyphs are missing is drawn without them rather than failing.
    """
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt
    from matplotlib.dates import AutoDateFormatter, AutoDateLocator, date2num

    names = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [n for n in ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
                       "Source Han Sans SC", "AR PL UMing CN") if n in names]
    days = [period.start + timedelta(days=n) for n in range((period.end - period.start).days + 1)]
    per: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for s in stats:
        per[s.group_id][s.day] = s.amount
    with warnings.catch_warnings(), matplotlib.rc_context({"font.family": [*cjk, "DejaVu Sans"]}):
        warnings.simplefilter("ignore", UserWarning)  # "Glyph … missing from font(s)"
        fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(days) + 3), 4.5), dpi=100)
        try:
            for gid in sorted(per):
                label = (titles or {}).get(gid, gid)
                ax.plot(date2num(days), [float(per[gid].get(d, ZERO)) for d in days], marker="o", label=label)
            if len(days) == 1:  # one day: a day either side, not matplotlib's years around one point
                ax.set_xlim(date2num(days[0] - timedelta(days=1)), date2num(days[0] + timedelta(days=1)))
            locator = AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(AutoDateFormatter(locator))
            ax.set_title(f"Sales per day per group, {period.start.isoformat()} .. {period.end.isoformat()}")
            ax.set_ylabel("yuan")
            ax.grid(True, alpha=0.3)
            if per:
                ax.legend()
            fig.autofmt_xdate()
            fig.tight_layout()
            fig.savefig(path, format="png")
        finally:
            plt.close(fig)
