"""Breaker 8: the refund reason rule (bot/usecases/replacement.py): a /refund whose reason asks for
a replacement (补发, amount 0) or money back. Each phrasing below was read wrong by the
negation-window rule of dcaa323; the affirmation rule (what the reason affirms) reads it right."""

from __future__ import annotations

import pytest

from bot.usecases.replacement import is_replacement


@pytest.mark.parametrize("reason", ["补发不退款", "换货不退款"])
def test_replace_and_do_not_refund_is_a_replacement(reason: str) -> None:
    assert is_replacement(reason)


@pytest.mark.parametrize("reason", ["不退钱补发", "客户说不要退款要补发"])
def test_no_refund_but_a_replacement_is_a_replacement(reason: str) -> None:
    assert is_replacement(reason)


@pytest.mark.parametrize("reason", ["没问题补发", "没关系补发一个", "别担心马上补发"])
def test_a_reassurance_before_the_replacement_is_no_negation(reason: str) -> None:
    assert is_replacement(reason)


@pytest.mark.parametrize("reason", ["没到的补发", "没发的补发", "免运费补发"])
def test_what_went_wrong_before_the_replacement_is_no_negation(reason: str) -> None:
    assert is_replacement(reason)


@pytest.mark.parametrize("reason", ["补发太慢，直接退款", "补发要等一周，客户要退款"])
def test_a_replacement_turned_down_for_a_refund_is_a_refund(reason: str) -> None:
    assert not is_replacement(reason)
