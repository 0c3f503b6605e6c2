"""The `tuan` command's days, times and whole numbers (parsed by :mod:`bot.inputs`): a bad one is
:class:`BadArgument`, which bot/cli.py prints as one line (``tuan: --date '9999-12-31' is not within the years 2000 to 2100``) with
exit status 2, whether argparse met it (``type=day("--date")``) or a handler did (:func:`parse_day`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo

from bot import inputs

MAX_COUNT = inputs.MAX_COUNT
"""The largest quantity a command takes (a refund's units, a delivered count, ``--days``)."""


class BadArgument(Exception):
    """A command-line argument that is not what the option takes: one line, exit status 2.

    Not a ValueError on purpose: argparse would turn that into its own two-line usage message."""


def parse_day(option: str, raw: str) -> date:
    """``raw`` of ``option`` as a day (:func:`bot.inputs.day`); raises :class:`BadArgument`."""
    try:
        return inputs.day(raw)
    except inputs.BadInput as e:
        raise BadArgument(f"{option} {raw!r} {e}") from None


def parse_moment(option: str, raw: str, tz: tzinfo) -> datetime:
    """``raw`` of ``option`` as an aware time, in ``tz`` unless it has an offset (:func:`bot.inputs.moment`);
    raises :class:`BadArgument`."""
    try:
        return inputs.moment(raw, tz)
    except inputs.BadInput as e:
        raise BadArgument(f"{option} {raw!r} {e}") from None


def parse_whole(option: str, raw: str, low: int, high: int) -> int:
    """``raw`` of ``option`` as an int within ``low``..``high`` (:func:`bot.inputs.whole`);
    raises :class:`BadArgument`."""
    try:
        return inputs.whole(raw, low, high)
    except inputs.BadInput as e:
        raise BadArgument(f"{option} {raw!r} {e}") from None


def day(option: str) -> Callable[[str], date]:
    """An argparse ``type=`` for ``option``: a day (see :func:`parse_day`)."""
    return lambda raw: parse_day(option, raw)


def whole(option: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type=`` for ``option``: an int within ``low``..``high`` (see :func:`parse_whole`)."""
    return lambda raw: parse_whole(option, raw, low, high)
