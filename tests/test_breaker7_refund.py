"""Breaker 7: /refund reasons that refuse a replacement (补发) in everyday words are read as a
replacement (amount 0): the household gets no money back (bot/usecases/replacement.py)."""

from __future__ import annotations

import pytest

from bot.usecases.replacement import is_replacement


@pytest.mark.parametrize("reason", ["不想补发,退钱", "不 补发", "不愿补发", "不同意补发,退款", "无需再次补发",
                                    "退款 非补发", "不想换货,退钱", "来不及补发了,退款"])
def test_a_reason_refusing_a_replacement_refunds(reason: str) -> None:
    assert not is_replacement(reason)
