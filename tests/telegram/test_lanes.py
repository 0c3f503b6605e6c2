"""Per-key lanes: in order within a key, side by side across keys, bounded, retired when idle."""

from __future__ import annotations

import asyncio

from adapters.telegram.lanes import Lanes


async def test_one_key_in_order_keys_side_by_side_and_retired_when_idle() -> None:
    lanes = Lanes(100, "test")
    done: list[str] = []
    gate = asyncio.Event()

    async def step(name: str, wait: bool = False) -> str:
        if wait:
            await gate.wait()
        done.append(name)
        return name

    a1 = await lanes.submit("a", lambda: step("a1", wait=True))
    a2 = await lanes.submit("a", lambda: step("a2"))
    b1 = await lanes.submit("b", lambda: step("b1"))
    assert await b1 == "b1" and done == ["b1"]  # b does not wait behind a
    assert lanes.lanes == 1 and lanes.pending == 2  # b's lane is gone once empty
    gate.set()
    assert (await a1, await a2) == ("a1", "a2") and done == ["b1", "a1", "a2"]
    assert lanes.lanes == 0 and lanes.pending == 0


async def test_a_failure_is_the_callers_and_the_lane_goes_on() -> None:
    lanes = Lanes(10, "test")

    async def boom() -> None:
        raise RuntimeError("boom")

    async def fine() -> str:
        return "ok"

    failed = await lanes.submit("a", boom)
    after = await lanes.submit("a", fine)
    assert await after == "ok"
    assert isinstance(failed.exception(), RuntimeError)
    await lanes.submit("a", boom)  # nobody awaits this one: logged, no "never retrieved" warning
    await lanes.drain(1.0)


async def test_submit_waits_for_room() -> None:
    lanes = Lanes(2, "test")
    gate = asyncio.Event()

    async def held() -> None:
        await gate.wait()

    await lanes.submit("a", held)
    await lanes.submit("b", held)
    third = asyncio.create_task(lanes.submit("c", held))
    await asyncio.sleep(0.05)
    assert not third.done() and lanes.pending == 2
    gate.set()
    await (await third)
    assert lanes.pending == 0


async def test_drain_cancels_what_is_left_after_its_timeout() -> None:
    lanes = Lanes(10, "test")
    forever = asyncio.Event()
    first = await lanes.submit("a", forever.wait)
    queued = await lanes.submit("a", forever.wait)
    await lanes.drain(0.05)
    assert first.cancelled() and queued.cancelled()
    assert lanes.pending == 0 and lanes.lanes == 0
