"""A leader's commission (提成) and their upline's share: pure arithmetic on Decimal yuan.

The rule (issue 14, item 4):

- A leader's commission is ``rate`` × the net sales of the groups they lead (sales minus refunds,
  short-delivery refunds included; replacements count 0), the figures of the exports
  (:mod:`bot.export`, 金额 and 退款金额). A group led by several leaders is shared equally.
- Per-item commission (the hook): when a :data:`PerItem` function is given and returns an amount
  for an item of a deal, that item earns ``amount × (qty − refunded qty)`` instead of the rate on
  its net sales (refunded qty: refunds and short deliveries of that item). Items it returns None
  for earn the rate. The product library's variants can carry such an amount; pass a function
  reading it (``lambda deal_id, item_code: ...``) to :func:`exact_commission` and
  :func:`bot.usecases.settlement.settle`.
- Two tiers: an upline earns ``upline_share`` × each direct downline's commission, paid by the
  platform on top (the downline's own commission is not reduced). A downline of a downline earns
  the upline nothing (there is none: :mod:`bot.usecases.operators` refuses a third tier).
- Rounding: every figure is computed exactly in Decimal (28 significant digits) and rounded to
  the fen (0.01 yuan) once, at the end, half up (ROUND_HALF_UP: 0.125 → 0.13): the commission
  and the upline share each once; the amount due is their sum (so the row adds up to the fen).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
CENT = Decimal("0.01")

PerItem = Callable[[str, str], Decimal | None]
"""(deal id, item code) → commission in yuan per unit sold, or None: the leader's rate applies."""


def fen(value: Decimal) -> Decimal:
    """``value`` rounded to the fen, half up: the one rounding of a settlement figure."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class ItemSale:
    """One item of one deal in one group: ``qty`` ordered, ``sales`` yuan, ``refunded_qty`` and
    ``refunds`` yuan of its refunds and short deliveries; ``part``: the leader's part of it."""

    deal_id: str
    item_code: str
    qty: int
    sales: Decimal
    refunded_qty: int = 0
    refunds: Decimal = ZERO
    part: Decimal = Decimal(1)  # the leader's part of it (a group led by k leaders: 1/k)


def exact_commission(net: Decimal, rate: Decimal | None, items: Iterable[ItemSale] = (),
                     per_item: PerItem | None = None) -> Decimal:
    """The unrounded commission on ``net`` yuan of net sales at ``rate`` (None: 0), the items with a
    per-item amount (``per_item``) earning that amount per unit kept instead (module docstring)."""
    rated, fixed = net, ZERO
    if per_item is not None:
        for it in items:
            amount = per_item(it.deal_id, it.item_code)
            if amount is None:
                continue
            fixed += amount * max(0, it.qty - it.refunded_qty) * it.part  # never below 0 kept
            rated -= (it.sales - it.refunds) * it.part
    return fixed + rated * (rate or ZERO)


def upline_share(downline_commissions: Iterable[Decimal], share: Decimal | None) -> Decimal:
    """The unrounded share an upline earns of their direct downlines' (unrounded) commissions."""
    return sum(downline_commissions, ZERO) * (share or ZERO)
