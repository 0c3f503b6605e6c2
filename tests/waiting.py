"""Waiting in tests for a condition to hold, instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(condition: Callable[[], T], timeout: float = 10.0, *, interval: float = 0.01,
                     what: str = "") -> T:
    """Poll ``condition`` every ``interval`` s until it returns a true value; return that value.

    Raises AssertionError (naming ``what``) when it is still false after ``timeout`` s. Polling
    starts at once, so a condition that already holds costs no wait.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := condition()):
        if loop.time() >= deadline:
            what = what or getattr(condition, "__name__", "condition")
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(interval)
    return value
