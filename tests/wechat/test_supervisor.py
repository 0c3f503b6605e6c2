"""Reconnecting with backoff."""

from __future__ import annotations

import asyncio

import pytest

from adapters.wechat.supervisor import Backoff, Supervisor, describe


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    b = Backoff(initial=1, factor=2, maximum=10, jitter=0.1)
    assert [b.delay(n, rand=lambda: 0.5) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert b.delay(1, rand=lambda: 0.0) == pytest.approx(0.9) and b.delay(1, rand=lambda: 1.0) == pytest.approx(1.1)


async def test_failures_in_a_row_wait_longer_and_success_resets() -> None:
    waits: list[float] = []
    script = ["fail", "fail", "up-then-lost", "fail", "stop"]

    async def attempt(sup: Supervisor) -> None:
        step = script.pop(0)
        if step == "stop":
            sup.stop()
            return
        if step == "up-then-lost":
            sup.mark_up()
            assert sup.up.is_set()
            return
        raise ConnectionError("refused")

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    sup = Supervisor("test", attempt, Backoff(initial=1, maximum=60, jitter=0), sleep=sleep)
    await asyncio.wait_for(sup.run(), 2)
    assert waits == [1, 2, 1, 2] and not sup.up.is_set() and sup.attempts == 5


async def test_a_failing_attempt_does_not_stop_the_loop(caplog) -> None:
    calls = 0

    async def attempt(sup: Supervisor) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            sup.stop()
        raise RuntimeError("boom\nsecond line")

    sup = Supervisor("test", attempt, Backoff(initial=0.01, maximum=0.01, jitter=0))
    await asyncio.wait_for(sup.run(), 2)
    assert calls == 3 and "cannot connect: RuntimeError: boom" in caplog.text and "second line" not in caplog.text


def test_describe() -> None:
    assert describe(TimeoutError()) == "TimeoutError"
    assert describe(ConnectionError("refused")) == "ConnectionError: refused"
