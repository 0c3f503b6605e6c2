"""The dashboard's days, times and whole numbers from the address bar and forms, parsed by
:mod:`bot.inputs` (as the command line parses them): a bad one is a 400 page in Chinese saying what
is wrong (:func:`day`, :func:`whole`), or that sentence for a form to show (:func:`problem`)."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from starlette.exceptions import HTTPException

from bot import inputs
from bot.web import texts as t

SHOWN = 40
"""At most this many characters of what was typed are shown back."""


def problem(e: inputs.BadInput, what: str, raw: str, *, number: bool = False, time: bool = False) -> str:
    """The Chinese sentence for ``e`` (from :mod:`bot.inputs`), about the field ``what`` holding ``raw``."""
    text = raw.strip()[:SHOWN]
    if e.kind == "range":
        return (t.OUT_OF_RANGE if number else t.OUT_OF_YEARS).format(what=what, low=e.low, high=e.high, text=text)
    return (t.BAD_NUMBER if number else t.BAD_TIME if time else t.BAD_DATE).format(what=what, text=text)


def day(raw: str, what: str) -> date:
    """``raw`` as a day (:func:`bot.inputs.day`); else HTTP 400 naming ``what`` (e.g. 送货日期)."""
    try:
        return inputs.day(raw)
    except inputs.BadInput as e:
        raise HTTPException(400, problem(e, what, raw)) from None


def moment(raw: str, tz: tzinfo, what: str) -> datetime:
    """``raw`` as an aware time, in ``tz`` unless it has an offset (:func:`bot.inputs.moment`); else
    HTTP 400 naming ``what``."""
    try:
        return inputs.moment(raw, tz)
    except inputs.BadInput as e:
        raise HTTPException(400, problem(e, what, raw, time=True)) from None


def whole(raw: str, what: str, low: int, high: int) -> int:
    """``raw`` as an int within ``low``..``high`` (:func:`bot.inputs.whole`); else HTTP 400 naming ``what``."""
    try:
        return inputs.whole(raw, low, high)
    except inputs.BadInput as e:
        raise HTTPException(400, problem(e, what, raw, number=True)) from None


class Refused(Exception):
    """A form field that is not what it should be; the message is the Chinese sentence to show back
    on the page the form came from (a flash), not a 400 page."""


def form_whole(raw: str, what: str, low: int, high: int) -> int:
    """A form field's ``raw`` as an int within ``low``..``high``; else :class:`Refused` naming ``what``."""
    try:
        return inputs.whole(raw, low, high)
    except inputs.BadInput as e:
        raise Refused(problem(e, what, raw, number=True)) from None
