"""The one rule for money entering Tuan (config, catalogs, leaders' deal posts): a price is a
finite, positive Decimal of yuan with at most 2 decimal places (fen), below 10^10 yuan — what the
store's ``Numeric(12, 2)`` column holds without rounding (storage/types.py), so a bad price is
refused where it enters, never at commit time.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation

PLACES = 2
FEN = Decimal(1).scaleb(-PLACES)  # 0.01
LIMIT = Decimal(10) ** 10  # prices are below this (Numeric(12, 2))

# Why a price is refused (wording for people: bot/messages.py for chats, English for config errors).
NOT_A_NUMBER = "not_a_number"
NOT_FINITE = "not_finite"
NOT_POSITIVE = "not_positive"
TOO_PRECISE = "too_precise"
TOO_LARGE = "too_large"

REASONS = {
    NOT_A_NUMBER: "is not a decimal number",
    NOT_FINITE: "is not a finite number",
    NOT_POSITIVE: "must be more than 0",
    TOO_PRECISE: f"has more than {PLACES} decimal places (money is counted in fen)",
    TOO_LARGE: f"must be less than {LIMIT:,}",
}


class MoneyError(ValueError):
    """A price that cannot be used; ``reason`` is one of the codes above."""

    def __init__(self, reason: str, value: object) -> None:
        super().__init__(f"{REASONS[reason]}: {value!r}")
        self.reason, self.value = reason, value


def price_problem(value: Decimal) -> str | None:
    """The reason code ``value`` is no valid price, or None when it is one."""
    if not value.is_finite():
        return NOT_FINITE
    if value <= 0:
        return NOT_POSITIVE
    if value >= LIMIT:
        return TOO_LARGE
    if value != value.quantize(FEN):
        return TOO_PRECISE
    return None


def amount_problem(value: Decimal, *, zero_ok: bool = False) -> str | None:
    """The reason code a sum a leader enters (a payment, a refund amount) is refused, or None: the
    price rule (:func:`price_problem`), 0 allowed when ``zero_ok`` (a payment of nothing)."""
    if zero_ok and value.is_finite() and value == 0:
        return None
    return price_problem(value)


def parse_amount(word: str, *, zero_ok: bool = False) -> Decimal:
    """A sum typed by a leader ("59.8", "¥59.80", "￥60元", full-width digits): Decimal yuan with 2
    places; raises MoneyError with the reason (:func:`amount_problem`) it is refused."""
    text = unicodedata.normalize("NFKC", word).strip().lstrip("¥￥").removesuffix("元").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MoneyError(NOT_A_NUMBER, word) from None
    problem = amount_problem(value, zero_ok=zero_ok)
    if problem is not None:
        raise MoneyError(problem, word)
    return value.quantize(FEN)


def parse_price(raw: object) -> Decimal:
    """A price from config or a catalog: a decimal string or an int ("29.9", 30); raises MoneyError.

    Floats are read through their shortest repr (TOML ``29.9`` → ``Decimal("29.9")``); booleans
    are refused.
    """
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Decimal)):
        raise MoneyError(NOT_A_NUMBER, raw)
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise MoneyError(NOT_A_NUMBER, raw) from None
    problem = price_problem(value)
    if problem is not None:
        raise MoneyError(problem, raw)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value  # 1E+3 → 1000
