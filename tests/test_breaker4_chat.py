"""Breaker round 4: the leader's day typed into the console chat, as strict xfails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_console_leaderday import run

BOT = "🤖 Tuan: "


# User sees: the leader types `/paid 王姐 99999999999` or `/refund 王姐 葡萄 1 坏果 ¥99999999999` (an
# extra digit or two) and the bot says nothing at all: the handler dies on the store's
# Numeric(12,2) ("replying failed" in the log). Expected: a one-line refusal, as a bad quantity gets.
@pytest.mark.parametrize("command", ["/paid 王姐 99999999999", "/refund 王姐 葡萄 1 坏果 ¥99999999999"])
async def test_a_huge_amount_is_answered_not_dropped(tmp_path: Path, command: str) -> None:
    out, _core = await run(["王姐: 3栋402 王姐 葡萄2", "团长: /close", "-- morning", f"团长: {command}"], tmp_path)
    said = out[out.index(f"团长: {command}") + 1:]
    assert any(line.startswith(BOT) for line in said), f"no answer to {command!r}: {said}"
