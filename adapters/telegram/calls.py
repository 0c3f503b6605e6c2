"""Bot API calls with retries: ``RetryAfter`` waits as told, network errors back off.

A send that timed out may have reached Telegram, so sends are not retried after a timeout
(a lost reply is better than a doubled deal card); idempotent calls are.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_RETRY_AFTER = 60.0


def retry_after_seconds(exc: RetryAfter) -> float:
    """``exc.retry_after`` as seconds (PTB 22 warns that it becomes a timedelta; we take either)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def call(
    what: str,
    make: Callable[[], Awaitable[T]],
    *,
    idempotent: bool,
    attempts: int = 4,
    backoff: float = 0.5,
) -> T | None:
    """Run ``make()`` until it succeeds; None when it fails for good (logged)."""
    delay = backoff
    for attempt in range(1, attempts + 1):
        try:
            return await make()
        except RetryAfter as exc:
            wait = min(retry_after_seconds(exc), MAX_RETRY_AFTER)
            log.info("%s: flood limit, retrying in %.1fs", what, wait)
        except BadRequest as exc:
            log.warning("%s refused: %s", what, exc.message)
            return None
        except Forbidden as exc:
            log.warning("%s forbidden: %s", what, exc.message)
            return None
        except TimedOut as exc:
            if not idempotent:
                log.warning("%s timed out; not retried (it may have gone through): %s", what, exc)
                return None
            wait = delay
            log.info("%s timed out, retrying in %.1fs", what, wait)
        except NetworkError as exc:
            wait = delay
            log.info("%s: network error %s, retrying in %.1fs", what, exc.message, wait)
        except TelegramError as exc:
            log.warning("%s failed: %s", what, exc)
            return None
        if attempt == attempts:
            break
        await asyncio.sleep(wait)
        delay *= 2
    log.warning("%s: gave up after %d attempts", what, attempts)
    return None
