"""Bot API calls with retries until delivered or expired.

- ``RetryAfter`` (429) waits as long as Telegram says;
- a 5xx answer, a network error or a timeout backs off exponentially (doubling from ``backoff``,
  capped at :data:`MAX_BACKOFF`, with jitter so that many chats do not retry in lock step);
- a refusal (400, 403, other errors) is final;
- past ``deadline`` (``time.monotonic()`` seconds) the call is given up and logged at WARNING
  with what was lost.

A call that is not idempotent (``sendMessage``, ``sendDocument``) is repeated only when the
request certainly did not reach Telegram: a connection that could not be opened, a pool timeout,
or an error answer from the server (429, 5xx). A read timeout or a connection dropped after the
request was written is ambiguous: the message may have been posted, and repeating it would
double a reply or a deal card, so it is not repeated (logged at WARNING).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import httpx
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BACKOFF = 30.0  # seconds between two attempts at most (besides what a 429 asks for)
# httpx errors raised before the request was sent: repeating such a call cannot double it.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def retry_after_seconds(exc: RetryAfter) -> float:
    """``exc.retry_after`` as seconds (PTB 22 warns that it becomes a timedelta; we take either)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def surely_not_sent(exc: NetworkError) -> bool:
    """Whether a failed call certainly did not reach Telegram, so repeating it is safe.

    PTB raises ``NetworkError`` (``TimedOut`` is one) for an error answer of the server (no
    cause: Telegram answered, e.g. 500 or 502) and for httpx transport errors (the httpx error
    as ``__cause__``). Only a server answer or a failure to connect is certain.
    """
    cause = exc.__cause__
    if cause is None:
        return True
    return isinstance(cause, NOT_SENT)


def backoff_delay(attempt: int, base: float, cap: float = MAX_BACKOFF) -> float:
    """The wait before attempt ``attempt + 1`` (``attempt`` ≥ 1): ``base·2^(attempt-1)``, capped,
    with "equal jitter" (between half and all of it)."""
    full = min(cap, base * 2 ** min(attempt - 1, 30))
    return full / 2 + random.uniform(0, full / 2)


async def call(
    what: str,
    make: Callable[[], Awaitable[T]],
    *,
    idempotent: bool,
    deadline: float,
    backoff: float = 0.5,
    lost: str = "",
    slot: asyncio.Semaphore | None = None,
) -> T | None:
    """Run ``make()`` until it succeeds; None when it fails for good or ``deadline`` passes (logged).

    A call already past ``deadline`` (it waited behind others in its chat) is not tried at all.

    ``what`` names the call in the log ("sendMessage to -100123"), ``lost`` says what was not
    delivered if it expires. ``slot``, when given, is held during each attempt only (not while
    waiting to retry), so a chat that waits out a flood limit does not hold up other chats.
    """
    if time.monotonic() >= deadline:  # it waited its turn too long: too old to be of use
        log.warning("%s: expired before its turn came, not sent%s", what, f"; lost: {lost}" if lost else "")
        return None
    attempt = 0
    while True:
        attempt += 1
        try:
            if slot is None:
                return await make()
            async with slot:
                return await make()
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            log.info("%s: flood limit, retrying in %.1fs", what, wait)
        except BadRequest as exc:
            log.warning("%s refused: %s", what, exc.message)
            return None
        except Forbidden as exc:
            log.warning("%s forbidden: %s", what, exc.message)
            return None
        except NetworkError as exc:  # TimedOut included
            if isinstance(exc.__cause__, RuntimeError):  # our HTTP client is shut down (the bot stops): final
                log.warning("%s: the bot is stopping, not sent (%s)%s", what, exc.__cause__,
                            f"; lost: {lost}" if lost else "")
                return None
            if not idempotent and not surely_not_sent(exc):
                log.warning("%s: %s after the request was sent; not repeated, as it may have gone through%s",
                            what, exc.message, f" ({lost})" if lost else "")
                return None
            wait = backoff_delay(attempt, backoff)
            log.info("%s: %s, retrying in %.2fs", what, exc.message, wait)
        except TelegramError as exc:
            log.warning("%s failed: %s", what, exc)
            return None
        left = deadline - time.monotonic()
        if wait >= left:
            log.warning("%s: not delivered within its expiry, given up after %d attempts%s",
                        what, attempt, f"; lost: {lost}" if lost else "")
            return None
        await asyncio.sleep(wait)
