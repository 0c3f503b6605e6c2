"""No phone number is ever shown whole in the group: a scripted evening and morning in the console chat
where residents write their phones in their 接龙 labels (their own, a neighbour's they order for, one
the leader adds with /add, one written with a landline), and every command and scheduled job that
names a household in the group is run. Every group post is scanned for the numbers' middle digits
(the lists show 138****4613: the last four are kept, :func:`bot.phones.mask_phones`); the private
chats keep them whole (a resident's own neighbour, a leader's sorting list).

By hand (葡萄 29.90/盒, 鸡蛋 32/盒): 王姐 葡萄2, 刘奶奶 (小林 for her) 葡萄1, 小林 鸡蛋1, 老陈 (/add) 鸡蛋1,
赵伯 葡萄1.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot import messages as m
from tests.test_console_leaderday import BOT, PRIVATE, after, run

# the middle digits of each number: what masking hides (the ones kept are never checked)
PHONES = {"13857294613": "5729", "13963817025": "6381", "0755-8642-9753": "8642", "15872610394": "7261"}
HIDDEN = re.compile("|".join(re.escape(mid) for mid in PHONES.values()))


async def test_no_group_post_of_an_evening_shows_a_phone_in_a_label_whole(tmp_path: Path) -> None:
    out, _core = await run([
        "王姐: 3栋402 王姐 13857294613 葡萄2",
        "小林: 帮邻居 6栋101 刘奶奶 电话13963817025 葡萄1",
        "小林: 5栋101 小林 鸡蛋1",
        "赵伯: 7栋301 赵伯 0755-8642-9753 葡萄1",
        "赵伯: 7栋301 赵伯 0755-8642-9753 菠萝9",  # unclear: his words are echoed back
        "团长: /add 6栋102 老陈 15872610394 鸡蛋1",
        "小林: /my",
        "王姐: /my",
        "赵伯: 自提 13857294613",
        "团长: /list",
        "/tally",
        "/close",
        "-- job pickup",
        "-- morning",
        "/arrived",
        "/short 葡萄 3",
        "/verify 13857294613",
        "/picked 0755-8642-9753",
        "/picked 刘奶奶",
        "/unverify 刘奶奶",
        "/picked 101",
        "/picked 15872610394",
        "/paid 老陈",
        "/paid 13963817025 ¥1",
        "/unpaid",
        "/refund 王姐 葡萄 1 坏果",
        "/refund 0755-8642-9753 葡萄 1 坏果",
        "/unpicked",
        "小林: /my",
        "-- next day",
        "-- job unpicked",
        "团长: /deal",  # a new round: /my names the earlier one still to be picked up
        "小林: /my",
    ], tmp_path)

    group = [o for o in out if o.startswith(BOT) and not o.startswith(PRIVATE)]
    assert len(group) > 20
    leaked = [o for o in group if HIDDEN.search(o)]
    assert not leaked, leaked
    # the answers that name the households are there, masked (the lists' way)
    for n in range(3):  # before the cutoff, after it, and as an earlier round's
        at = [i for i, o in enumerate(out) if o == "小林: /my"][n]
        my = "\n".join(o for o in out[at:at + 3] if o.startswith(f"{BOT}@小林"))
        assert "#2(6栋101 刘奶奶 电话139****7025)" in my, (n, out[at:at + 3])
    assert any("0755-****9753" in o for o in after(out, "团长: /picked 0755-8642-9753")), out
    # a neighbour's whole number is the resident's own to read, privately
    private = [o for o in out if o.startswith(BOT + m.CONSOLE_PRIVATE_TO.format(name="小林"))]
    assert any("13963817025" in o for o in private), private
