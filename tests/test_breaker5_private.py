"""Breaker round 5: what a resident is told when the bot cannot write to them privately and the
platform says so by raising (WeChat: "A failed send raises", adapters/wechat/adapter.py send_text, e.g.
a resident who is not the bot's friend): the group answer says how to ask privately instead."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.base import Capabilities
from bot import messages as m
from tests.pipeline import LEADER, make_pipeline


async def _unreachable_privately(caps: Capabilities) -> Any:
    p = await make_pipeline(caps)
    group_send = p.chat.send_text

    async def send_text(chat_id: str, text: str, **kw: Any) -> str | None:
        if chat_id != p.chat.chat_id:
            raise RuntimeError("the puppet refused: not a friend")  # as WechatAdapter.send_text does
        return await group_send(chat_id, text, **kw)

    p.chat.send_text = send_text  # type: ignore[method-assign]
    return p


# User sees: on WeChat, 王姐 (not the bot's friend) asks 「我的订单」 in the room and gets no answer at
# all: the private send of her code raises, the command dies ("replying failed" in the log), and the
# room never gets her order nor MY_CODE_HOW["wechat"] 「请加我为好友,私聊发 /my」, the very words written
# for her case.
async def test_my_in_the_group_still_answers_when_the_private_send_fails() -> None:
    p = await _unreachable_privately(Capabilities(direct=True))
    await p.chat.push("3栋402 王姐 葡萄2", sender="王姐")
    await p.chat.push("/close", sender=LEADER)
    p.chat.pop_all()
    await p.chat.push("我的订单", sender="王姐")
    said = [s for s in p.chat.pop_all() if s.kind == "text"]
    await p.close()
    assert said and said[-1].chat_id == "g1" and said[-1].mention is not None, said
    assert said[-1].text.endswith(m.MY_CODE_HOW_DEFAULT) and "取货码" not in said[-1].text.replace(
        m.MY_CODE_HOW_DEFAULT, "")


# User sees: the leader sends /pickup in the room (WeChat, the bot cannot write to them privately);
# nothing comes back, neither the list privately nor 「请私聊我…」 in the room.
@pytest.mark.parametrize("name", ["pickup", "export"])
async def test_pickup_in_the_group_says_how_when_the_private_send_fails(name: str) -> None:
    p = await _unreachable_privately(Capabilities(direct=True))
    await p.chat.push("3栋402 王姐 葡萄2", sender="王姐")
    p.chat.pop_all()
    await p.chat.push(f"/{name}", sender=LEADER)
    said = [s for s in p.chat.pop_all() if s.kind in ("text", "file")]
    await p.close()
    assert [s.text for s in said] == [m.PRIVATE_HOW_DEFAULT.format(name=name)]
