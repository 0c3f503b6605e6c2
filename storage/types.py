"""Column types that behave the same on SQLite and PostgreSQL: aware UTC datetimes and exact money."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator

from storage.values import CENTS, MONEY_DIGITS, MONEY_PLACES, check_aware, check_money

__all__ = ["MONEY_DIGITS", "MONEY_PLACES", "Money", "UTCDateTime", "check_aware", "check_money"]


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that stores UTC and always returns aware UTC datetimes.

    SQLite keeps no offset, so values are written as naive UTC and UTC is re-attached on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = check_aware(value).astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """``Numeric(12, 2)`` as ``Decimal``; refuses values it would have to round."""

    impl = Numeric(MONEY_DIGITS, MONEY_PLACES, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else check_money(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).quantize(CENTS)
