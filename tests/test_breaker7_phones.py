"""Breaker 7: a phone written with dots (138.5729.4613) is echoed whole in the group by 自提's
"no such pickup point" answer: bot/phones.py knows hyphens and spaces as separators, not dots
(full-width digits and hyphens are normalised before: they are masked)."""

from __future__ import annotations

from pathlib import Path

from tests.test_console_leaderday import BOT, PRIVATE, run


async def test_a_dotted_phone_given_as_a_pickup_point_is_masked_in_the_group(tmp_path: Path) -> None:
    out, _core = await run(["王姐: 3栋402 王姐 葡萄2", "王姐: 自提 138.5729.4613"], tmp_path)
    group = [o for o in out if o.startswith(BOT) and not o.startswith(PRIVATE)]
    assert any("自提点" in o for o in group), out
    assert not any("5729" in o for o in group), [o for o in group if "5729" in o]
