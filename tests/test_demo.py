"""`tuan demo`: the final tally equals what its script says, for several seeds."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from bot import messages as m
from bot.demo import play
from bot.demo_script import ITEMS, build_script, verified

PRICES = {"1": Decimal("29.9"), "2": Decimal("25.8"), "3": Decimal("22"), "4": Decimal("32")}


@pytest.mark.parametrize("seed", [2026, 1, 7])
async def test_demo_tally_matches_its_script(seed: int) -> None:
    out: list[str] = []
    result = await play(speed=1e9, seed=seed, write=out.append)
    expected = build_script(seed).expected()
    assert result.got == expected and result.ok
    assert len(expected) >= 25 and len(result.script.residents()) >= 30
    text = "\n".join(out)
    totals = result.script.totals()
    amount = sum((PRICES[c] * q for c, q in totals.items()), Decimal(0))
    assert f"合计 ¥{amount:.2f},共{len(expected)}户" in text  # the final tally posted at the cutoff
    for code, (_name, unit) in ITEMS.items():
        assert f"{totals.get(code, 0)}{unit}" in text
    assert m.ASK_AMBIGUOUS.format(word="橙", options="脐橙还是血橙") in text  # the unclear one was asked
    assert m.REFUSED_AFTER_CUTOFF in text  # the late order
    assert m.CLOSED in text and "⏰ 还有1小时截单" in text and "取货清单" in text
    assert text.index(m.CLOSED) < text.index(m.REFUSED_AFTER_CUTOFF) < text.index("取货清单")
    # the morning after: the arrival names every household, three are verified (by code, by name, by a
    # reply 已取), and the roll-call names the others
    after = text[text.index(m.DEMO_NEXT_DAY):]
    assert m.ARRIVED_TITLE.format(point="3栋楼下", n=len(expected)) in after  # the group's only point
    three = verified(result.script)
    assert len(set(three)) == 3 and after.count("✅ 已核销:") == 3
    assert m.UNPICKED_TITLE.format(n=len(expected) - 3) in after
    roll = after[after.index(m.UNPICKED_TITLE.format(n=len(expected) - 3)):]
    assert not any(f"@{who} " in roll for who in three)
    assert all(f"@{who} " in roll for who in expected if who not in three)


def test_script_has_the_day_it_promises() -> None:
    script = build_script(3)
    texts = [e.text for e in script.events if e.who]
    copies = [t for t in texts if t.startswith("#接龙") and "\n1. " in t]
    fours = [t for t in copies if "\n4. " in t and "\n5. " not in t]
    assert len(copies) >= 6 and len(fours) == 2  # a copy chain with two simultaneous copies
    assert "葡萄甜吗?" in texts and "橙1" in texts and "不好意思,我的取消" in texts
    assert any("改成" in t for t in texts)
    assert [e.job for e in script.events if e.job] == ["deal_card", "reminder", "cutoff", "pickup"]
    morning = [e.text for e in script.events if e.day == 1]
    assert morning[0] == "/arrived" and morning[-1] == "/unpicked" and any(t.startswith("/核销 ") for t in morning)
    assert not any("{code}" in t or t.startswith("/verify") for t in morning)  # no code typed in the group
    assert len(set(verified(script))) == 3
    assert build_script(3).expected() == script.expected() != build_script(4).expected()


def test_tuan_demo_command_exits_0_quickly() -> None:
    done = subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--speed", "1000000", "--seed", "5"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith(m.DEMO_MATCH) and not done.stderr
