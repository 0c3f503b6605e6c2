"""What every store refuses or normalises, without SQLAlchemy: aware instants and exact money.

:mod:`storage.types` (the SQL column types) and :mod:`storage.memory` (the in-process store)
share these rules, so both stores refuse the same values and hand back the same ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

MONEY_PLACES = 2
MONEY_DIGITS = 12
CENTS = Decimal(1).scaleb(-MONEY_PLACES)


def check_aware(value: datetime) -> datetime:
    """Refuse naive datetimes: a stored instant must say which instant it is.

    Raises ``ValueError`` for a datetime without a UTC offset; returns ``value`` unchanged.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: store timezone-aware datetimes")
    return value


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC (what a store hands back: SQLite keeps no offset, PostgreSQL reads
    ``timestamptz`` as UTC); ``ValueError`` for a naive datetime."""
    if value.tzinfo is UTC:
        return value
    return check_aware(value).astimezone(UTC)


def check_money(value: Decimal) -> Decimal:
    """Refuse what ``Numeric(12, 2)`` would round or overflow, instead of silently changing it."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"price {value!r}: expected a finite Decimal")
    if abs(value) >= Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES):
        raise ValueError(f"price {value}: too large for Numeric({MONEY_DIGITS},{MONEY_PLACES})")
    if value != value.quantize(CENTS):
        raise ValueError(f"price {value}: more than {MONEY_PLACES} decimal places")
    return value


def as_money(value: Decimal) -> Decimal:
    """A price as a store hands it back: checked (:func:`check_money`), with exactly two places
    (``Decimal("35")`` comes back as ``Decimal("35.00")``)."""
    return check_money(value).quantize(CENTS)
