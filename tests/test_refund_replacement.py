"""Whether a /refund reason asks for a replacement (bot/usecases/replacement.py): 补发 affirmed
and no refund word affirmed is one; a reason that rules it out (无法补发, 补发不了) or asks for money
back (补发太慢，退款) refunds."""

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


# The affirmation rule (module docstring): a replacement when 补发/换货/重发… is affirmed and no refund
# word (退款/退钱/返款…) is; a negation only counts when it governs the word, a rejection after it
# (太慢, 来不及, 不了, 算了, a closing 不要) rules it out.
AFFIRMED_REPLACEMENTS = [
    "不用退款，补发一盒", "不用退钱了 给她补发", "客户不要退款，要求补发", "不是退款，是补发", "补发不是退款",
    "退款太慢，补发吧", "退款就算了，补发一盒", "退款不用了，补发", "不要退钱，换货", "不需要退款 明天补发",
    "补发不能退款", "没有退款，补发", "补发，不退款", "换货可以，退款不行", "补发就行，不用退款",
    "补发一盒，无需退款", "客户拒绝退款，坚持换货", "别退钱了，补发", "换货 不退款 谢谢", "补发(不退款)",
    # a reassurance or a description of what went wrong, in front of the word, is no negation
    "没事，补发两盒", "没问题的，明天重发", "别着急，下午补发", "不好意思马上补发", "不用担心马上补发",
    "不急，明天补发", "补发没问题", "没收到的那盒补发", "没送的补发", "没到货的重新发一盒", "没到，重发",
    "漏发的补发", "少发一盒，补寄", "坏了两个，再发两个", "没熟透换新", "没拿到，补发", "补发两盒免运费",
    "补发不要钱", "压坏了补发一盒运费我出", "包装破了重发",
    # a double negation or a suggestion
    "不得不补发", "要不补发吧",
    # a delay alone is no rejection
    "补发要等一周",
]
REFUSED_REPLACEMENTS = [
    "补发太慢了退钱", "补发来不及了，退款", "补发等不了，退款", "客户等不及补发，要退款", "补发就算了，退钱吧",
    "补发没必要，退款", "换货太麻烦，直接退款", "不补发，退款", "不换货了，退钱", "客户不要补发，要退款",
    "不给补发，退钱", "不是补发，是退款", "不用重发了，退钱", "别补发了，退款", "放弃换货，全额退款",
    "不能补发了退款吧", "补发不成问题，退款吧", "坏了，把钱退给她", "没货了，退款", "退全款",
    # a replacement refused with no refund word
    "客户不想换货", "补发不要了", "换货不需要", "补发实在太慢", "补发就算了", "补发也来不及了", "重发来不及",
    "取消补发", "补发没有货了", "无法重发", "暂时没法补发", "不再补发", "别再发了",
    # both offered: money goes back
    "补发或者退款都行", "补发+退款",
    # neither affirmed
    "不补发也不退款", "下次再发现坏果就退款",
]


@pytest.mark.parametrize("reason", AFFIRMED_REPLACEMENTS)
def test_an_affirmed_replacement_without_an_affirmed_refund_is_a_replacement(reason: str) -> None:
    assert is_replacement(reason)


@pytest.mark.parametrize("reason", REFUSED_REPLACEMENTS)
def test_an_affirmed_refund_or_a_refused_replacement_refunds(reason: str) -> None:
    assert not is_replacement(reason)
