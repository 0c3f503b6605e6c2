"""The flood limiter throttles messages per group, but not reactions or lookups."""

from __future__ import annotations

import time
from typing import Any

from adapters.telegram.ratelimit import TuanRateLimiter, rate_limiter


async def run(limiter: TuanRateLimiter, endpoint: str, n: int, chat_id: int = -100) -> float:
    async def callback(*args: Any, **kwargs: Any) -> bool:
        return True

    started = time.perf_counter()
    for _ in range(n):
        await limiter.process_request(callback, (), {}, endpoint, {"chat_id": chat_id}, None)
    return time.perf_counter() - started


async def test_messages_wait_for_the_group_budget_reactions_do_not() -> None:
    limiter = TuanRateLimiter(overall_max_rate=1000, overall_time_period=1, group_max_rate=5, group_time_period=1)
    assert await run(limiter, "setMessageReaction", 30) < 0.1
    assert await run(limiter, "getChatAdministrators", 30) < 0.1
    assert await run(limiter, "sendMessage", 5) < 0.1  # the burst
    assert await run(limiter, "sendMessage", 2) > 0.2  # then 5 a second


async def test_the_overall_limit_still_applies() -> None:
    limiter = TuanRateLimiter(overall_max_rate=10, overall_time_period=1, group_max_rate=0, group_time_period=0)
    assert await run(limiter, "setMessageReaction", 12) > 0.1


def test_the_limiter_can_be_turned_off() -> None:
    assert rate_limiter(False, 20, 30) is None
    assert isinstance(rate_limiter(True, 20, 30), TuanRateLimiter)
