"""What a person types for a day, a time or a whole number on the command line (bot/cli_args.py) or in
the dashboard's address bar and forms (bot/web/params.py), parsed one way for both.

Only ASCII digits count: ``str.isdigit()`` also accepts ``²`` (which ``int()`` refuses) and ``int()``
accepts full-width ``１２`` and ``1_000``; a person who typed those gets told what is expected instead.
Days and times lie within :data:`FIRST_YEAR`..:data:`LAST_YEAR`, so what the callers do next (a day
added, a time zone applied, a period's end) cannot overflow ``datetime``'s years 1 to 9999.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

FIRST_YEAR, LAST_YEAR = 2000, 2100  # the years a day or a time may fall in: no orders outside, no date overflow
MAX_COUNT = 1_000_000_000  # the largest quantity taken (stock, a refund's units, a delivered count, days)
MAX_ID = 2**63 - 1  # the largest row id (a signed 64-bit integer, as SQLite and PostgreSQL's bigint store it)
MAX_DIGITS = 30  # longer digit strings are refused before int() reads them (its own limit is 4,300 digits)


class BadInput(ValueError):
    """Input that is not what was asked for; the message is an English predicate ("is not a date such as
    2026-11-30"). ``kind``: ``"form"`` (not a day, time or whole number at all) or ``"range"`` (one, but
    outside ``low``..``high``, given as text for a message of one's own)."""

    def __init__(self, kind: str, message: str, low: str = "", high: str = "") -> None:
        super().__init__(message)
        self.kind, self.low, self.high = kind, low, high


def day(raw: str) -> date:
    """``raw`` (``YYYY-MM-DD``, surrounding spaces ignored) as a date within the years
    :data:`FIRST_YEAR`..:data:`LAST_YEAR`. Raises :class:`BadInput` (an English phrase)."""
    text = raw.strip()
    try:
        if not text.isascii():
            raise ValueError
        value = date.fromisoformat(text)
    except ValueError:
        raise BadInput("form", "is not a date such as 2026-11-30") from None
    _years(value.year)
    return value


def moment(raw: str, tz: tzinfo) -> datetime:
    """``raw`` (``YYYY-MM-DD HH:MM``, or ISO 8601 with an offset) as an aware time: a time without an
    offset is in ``tz``. Within the years :data:`FIRST_YEAR`..:data:`LAST_YEAR` (in ``tz`` and in UTC).
    Raises :class:`BadInput` (an English phrase)."""
    text = raw.strip()
    try:
        if not text.isascii():
            raise ValueError
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput("form", 'is not a time such as "2026-11-30 21:00"') from None
    _years(value.year)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    _years(value.astimezone(tz).year)
    return value


def whole(raw: str, low: int, high: int) -> int:
    """``raw`` (ASCII digits, a leading ``-`` when ``low`` < 0; surrounding spaces ignored) as an int
    within ``low``..``high``. Raises :class:`BadInput` (an English phrase)."""
    text = raw.strip()
    digits = text[1:] if text.startswith("-") and low < 0 else text
    if not (digits.isascii() and digits.isdigit()):
        raise BadInput("form", "is not a whole number", str(low), str(high))
    if len(digits) > MAX_DIGITS or not low <= int(text) <= high:
        raise BadInput("range", f"is not a whole number from {low} to {high}", str(low), str(high))
    return int(text)


def _years(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadInput("range", f"is not within the years {FIRST_YEAR} to {LAST_YEAR}", str(FIRST_YEAR), str(LAST_YEAR))


def numeric_first(code: str) -> tuple[bool, int, str]:
    """A sort key for product codes: those of ASCII digits (``1``, ``12``) first in numeric order, then
    the others by text (``²`` and ``１２`` among the others: ``int()`` would refuse or misread them)."""
    numeric = code.isascii() and code.isdigit() and len(code) <= MAX_DIGITS
    return not numeric, int(code) if numeric else 0, code
