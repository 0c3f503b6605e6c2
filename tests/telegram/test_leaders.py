from __future__ import annotations

import asyncio
from collections.abc import Iterable

from adapters.telegram.leaders import Leaders


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_admins_are_cached_until_they_expire() -> None:
    fetched: list[str] = []

    async def fetch(chat_id: str) -> Iterable[int]:
        fetched.append(chat_id)
        await asyncio.sleep(0.01)
        return [1, 2]

    clock = Clock()
    leaders = Leaders(fetch, ["@Carol", "9"], ttl=600, clock=clock)
    results = await asyncio.gather(*(leaders.is_leader("-1", "1") for _ in range(5)))
    assert all(results) and fetched == ["-1"]  # one lookup for concurrent callers
    assert not await leaders.is_leader("-1", "3")
    assert await leaders.is_leader("-1", "3", "carol") and await leaders.is_leader("-1", "9")
    clock.now = 601
    await leaders.is_leader("-1", "1")
    assert fetched == ["-1", "-1"]
    assert await leaders.admins("-1") == {"1", "2"}


async def test_a_failed_lookup_keeps_the_old_list_and_retries_soon() -> None:
    answers: list[object] = [[1], RuntimeError("network"), [2]]

    async def fetch(chat_id: str) -> Iterable[int]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, list)
        return answer

    clock = Clock()
    leaders = Leaders(fetch, ttl=600, clock=clock)
    assert await leaders.is_leader("-1", "1")
    clock.now = 601
    assert await leaders.is_leader("-1", "1")  # stale list kept
    clock.now = 601 + 61
    assert await leaders.is_leader("-1", "2") and not await leaders.is_leader("-1", "1")
