"""Breaker round 5: pickup codes and 跟团号 in the console chat, as a leader and residents would type
them (bugs kept as strict xfails). Harness: tests/test_console_leaderday.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.console import sender_id_of
from bot import messages as m
from bot.leaderday_commands import leaderday_of
from tests.test_console_leaderday import BOT, after, code_of, run

ORDERS = ["王姐: 3栋402 王姐 葡萄2", "李阿姨: 5-1-302 李阿姨 脐橙1 鸡蛋1", "阿强: 12栋101 阿强 葡萄1", "团长: /close",
          "-- morning"]
KEY = "console:console"


def _marks(core):  # type: ignore[no-untyped-def]
    day = leaderday_of(core)
    assert day is not None
    deal = core.service.deal_of(KEY)
    assert deal is not None
    return day.marks_for_deal(deal.id)


# User sees: the leader types /核销 #2 (or /verify 2号, /verify 跟团号2) for the resident who says
# "我是2号" at the pickup point, as the README's /picked and the help's 跟团号 teach; the bot answers
# 「本期没有取货码为「2号」的住户」 and nothing is verified. /verify is the command its Chinese name
# (核销) makes a leader reach for, and "#2" / "2号" can never be a 4-digit code.
@pytest.mark.parametrize("typed", ["/verify #2", "/核销 2号", "/verify 跟团号2"])
async def test_verify_by_group_number_verifies_that_household(tmp_path: Path, typed: str) -> None:
    out, core = await run([*ORDERS, f"团长: {typed}"], tmp_path)
    said = after(out, f"团长: {typed}")
    assert said == [BOT + m.VERIFIED.format(who="5-1-302 李阿姨", number=2)], said
    assert _marks(core)[(KEY, sender_id_of("李阿姨"))].picked


# User sees: the resident shows her code, the leader types `/verify 6071` in the group (the only place
# /verify works: privately it is refused with 「请在团购群里发」), so every neighbour now reads 王姐's
# code. The leader taps the wrong household and undoes it with /unverify: 王姐's code is valid again,
# the same 4 digits the whole group has read, and a neighbour who says them at the pickup point takes
# her grapes. A code that was said in the group should not come back to life.
async def test_a_code_typed_in_the_group_is_dead_after_unverify(tmp_path: Path) -> None:
    out, core = await run([
        *ORDERS,
        "王姐: /my",
        lambda said: f"团长: /verify {code_of(said, '王姐')}",
        "团长: /unverify",
        "王姐: /my",
    ], tmp_path)
    shown = code_of(out, "王姐")  # her code after the undo, privately
    typed = [o for o in out if o.startswith("团长: /verify ")]
    old = re.search(r"\d{4}", typed[0])
    assert old is not None
    assert after(out, "团长: /unverify") == [BOT + m.UNVERIFIED.format(who="3栋402 王姐")]
    assert not _marks(core)[(KEY, sender_id_of("王姐"))].picked
    assert shown != old.group(0), "the code the group read is her live code again"


# User sees: the leader marks 王姐 picked by her room (`/picked 402`, as the help teaches), sees it
# was the wrong one and undoes it the same way (`/unverify 402`; the help says /unverify [房号/名字/取货码]);
# the bot answers 「本期没有取货码为「402」的住户」 and 王姐 stays verified: any all-digit room is
# taken for a pickup code.
async def test_unverify_by_the_room_that_picked_it(tmp_path: Path) -> None:
    out, core = await run([*ORDERS, "团长: /picked 402", "团长: /unverify 402"], tmp_path)
    assert after(out, "团长: /picked 402") == [BOT + m.VERIFIED.format(who="3栋402 王姐", number=1)]
    assert after(out, "团长: /unverify 402") == [BOT + m.UNVERIFIED.format(who="3栋402 王姐")]
    assert not _marks(core)[(KEY, sender_id_of("王姐"))].picked


# User sees: the usual rhythm, tonight's round opens while yesterday's goods are being picked up.
# Yesterday's round closed and arrived (/arrived names 王姐 and 李阿姨); the leader posts tonight's
# card (/deal). From then on the chat only knows tonight's round: /unpicked says
# 「🎉 全部住户都已取货」 (nobody has picked up), /picked 王姐 says 「本期没有找到「王姐」这一户」, and
# 王姐's /my says 「您在本期还没有订」, so she can no longer get the code for the goods waiting for her.
async def test_the_arrived_round_is_still_picked_up_after_the_next_round_opens(tmp_path: Path) -> None:
    # she asks for her code before she picks up (after, it is used up and /my says 已取货)
    out, core = await run([*ORDERS, "团长: /arrived", "团长: /deal", "团长: /unpicked", "王姐: /my",
                           "团长: /picked 王姐"], tmp_path)
    assert after(out, "团长: /unpicked") != [BOT + m.UNPICKED_NONE], "3 households are still to pick up"
    assert after(out, "团长: /picked 王姐") == [BOT + m.VERIFIED.format(who="3栋402 王姐", number=1)]
    assert any("取货码" in o for o in after(out, "王姐: /my"))
    assert code_of(out, "王姐")
