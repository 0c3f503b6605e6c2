"""Whether a /refund reason asks for a replacement (bot/usecases/replacement.py): 补发 said
affirmatively is one; a reason that rules it out (无法补发, 补发不了) refunds."""

from __future__ import annotations

import pytest

from bot.usecases.replacement import is_replacement

REPLACES = ["补发", "坏了补发", "坏果，补发1盒", "不新鲜补发", "质量不对换货", "给换新", "更换一盒", "不退款，补发",
            "无法补发，换货", "补发缺货的那盒", "少了不少补发", "明天补发",
            # a negating character that only describes the goods or the delivery is no refusal
            "不太新鲜 补发", "没收到，补发一盒", "没收到补发", "未送达补发", "数量不够补发", "不满意换货", "不合格换新",
            "免费补发", "非常不好，换货", "补发别的口味", "葡萄不甜换货", "补发一盒不新鲜的那种", "都不能吃了，补发",
            "没有收到补发", "坏了3个 补发3个", "今晚补发", "补发，谢谢", "同意补发", "可以换货"]
REFUNDS = ["坏果", "", "退款", "无法补发", "不补发了直接退款", "没法补发", "不用补发", "补发不了", "不能再补发",
           "没办法补发", "无需补发,退钱", "不需要换货", "换货不行，退款", "补发取消", "无货可补发", "暂不补发",
           "没有补发", "不给更换", "补发没货了", "无法再进行补发", "补发不成 退款", "不补发 不换货"]


@pytest.mark.parametrize("reason", REPLACES)
def test_a_reason_saying_replace_is_a_replacement(reason: str) -> None:
    assert is_replacement(reason)


@pytest.mark.parametrize("reason", REFUNDS)
def test_a_reason_ruling_a_replacement_out_is_a_refund(reason: str) -> None:
    assert not is_replacement(reason)
