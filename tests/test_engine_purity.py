"""The engine is pure: the same message against the same catalog reads the same, whatever ran before."""

from __future__ import annotations

from bot.catalog import Catalog, Item
from bot.engine import matcher
from bot.engine.reader import read_message

FRUIT = Catalog(items=(
    Item("1", "阿克苏苹果", "箱", aliases=("苹果",)),
    Item("2", "土鸡", "只"),
    Item("3", "血橙", "箱"),
))
# Another catalog whose words, once added to a shared dictionary, change how jieba cuts FRUIT's texts:
# with 大克 a word, 克 no longer stands alone in 大克2 (which, against FRUIT alone, orders 阿克苏苹果).
OTHER = Catalog(items=(
    Item("1", "大克", "袋", aliases=("小苏", "要一只")),
    Item("2", "鸡2号", "只", aliases=("一只鸡", "橙1")),
))
MESSAGES = ["大克2", "小苏1", "要一只鸡", "橙1", "鸡2", "苏2", "克1", "刘阿姨 苹果2"]


def reading(text: str, catalog: Catalog) -> tuple:
    r = read_message(text, catalog, set(), set())
    entry = r.entry
    if entry is None:
        return ()
    return (tuple(sorted(repr(a) for a in entry.actions)), tuple(sorted(repr(p) for p in entry.problems)),
            entry.label)


def test_a_message_reads_the_same_before_and_after_another_catalog() -> None:
    before = {t: reading(t, FRUIT) for t in MESSAGES}
    assert before["大克2"][0]  # 克 standing alone names 阿克苏苹果 (§3.4)
    other = {t: reading(t, OTHER) for t in MESSAGES}
    after = {t: reading(t, FRUIT) for t in MESSAGES}
    assert after == before
    assert {t: reading(t, OTHER) for t in MESSAGES} == other


def test_the_shared_dictionary_is_left_as_it_was() -> None:
    tok = matcher.base_tokenizer()
    size, total = len(tok.FREQ), tok.total
    probe = dict.fromkeys(["阿克苏", "大克", "小苏", "要一只", "一只鸡", "鸡2号"])
    for w in probe:
        probe[w] = tok.FREQ.get(w)
    for t in MESSAGES:
        reading(t, FRUIT)
        reading(t, OTHER)
    assert (len(tok.FREQ), tok.total) == (size, total)
    assert {w: tok.FREQ.get(w) for w in probe} == probe
