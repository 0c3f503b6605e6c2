"""No text, however odd, makes the engine or the order service raise."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalog import Catalog, Item
from bot.engine.dealpost import parse_deal_post
from bot.engine.reader import read_message
from bot.model import InboundMessage
from bot.services.orders import OrderService
from tests.stores import memory_store

CATALOG = Catalog(items=(
    Item("1", "阳光玫瑰葡萄 2斤装", "盒", aliases=("葡萄", "阳光玫瑰")),
    Item("2", "赣南脐橙 5斤", "箱", aliases=("脐橙", "橙子")),
    Item("3", "土鸡蛋 30枚", "盒", aliases=("鸡蛋",)),
    Item("4", "塔罗科血橙", "箱"),
))
ONE = Catalog(items=(Item("1", "百香果 5斤", "箱"),))

pieces = st.sampled_from([
    "葡萄", "2", "两盒", "x3", "×", "+1", "-", "改成", "不要了", "取消", "各", "、", "橙", "3栋402", "1.", "(2)",
    "③", "①", "\n", " ", "例:", "#接龙", "?", "吗", "2️⃣", "２", "半", "0", "1.5", "号", "#", "13812345678",
    "下午3点", "王姐", "🌸", "\u200b", "\u0000", "\x1b[31m", "\ud7ff", "\U0001F600", "ـ", "한국어", "ﷺ", "1号楼",
])
texts = st.one_of(
    st.text(max_size=300),
    st.lists(pieces, max_size=60).map("".join),
    st.text(alphabet="0123456789", max_size=2000),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=500),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_reader_never_raises(text: str) -> None:
    for cat in (CATALOG, ONE, None):
        r = read_message(text, cat, set())
        assert r.text is not None
    parse_deal_post(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(texts, st.booleans()), min_size=1, max_size=8))
def test_service_never_raises(batch: list[tuple[str, bool]]) -> None:
    svc = OrderService(memory_store(), catalog=CATALOG)
    for n, (text, leader) in enumerate(batch):
        msg = InboundMessage("t", "g1", f"m{n}", "lead" if leader else f"u{n % 3}", "x", text,
                             datetime(2026, 11, 25, 19, n, tzinfo=UTC), is_admin=leader,
                             edit_of=f"m{n - 1}" if n % 4 == 3 else None)
        out = svc.handle(msg)
        assert all(a.total >= 0 for a in out.accepted)
    tally = svc.tally(svc.shared_deal or "")
    assert all(r.qty > 0 for r in tally.rows)


def test_huge_text_is_read_quickly_and_safely() -> None:
    text = ("1. 3栋402 王姐 葡萄2\n" * 3000)[:100_000] + "\x00\x07" + "8" * 5000
    r = read_message(text, CATALOG, set())
    assert r.is_list
    assert len(r.units) == 2  # one distinct line repeated (read once) and the cut-off last line


def test_only_digits_is_not_an_order_in_a_multi_item_deal() -> None:
    r = read_message("1234567890" * 100, CATALOG, set())
    assert r.entry is not None and not r.entry.actions


_MASK_ALPHABET = "0123456789 .:：-#/*x×¥$元块钱rmbRMB栋幢座号楼单元室房户层年月日号点半分钟小时天周星期一二两三十初AaBb葡萄鸡蛋"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_MASK_ALPHABET, max_size=14))
def test_a_mask_skipped_for_want_of_its_needed_characters_finds_nothing(text: str) -> None:
    from bot.engine.tokens import _masks

    for _kind, rx, needs in _masks():
        if needs is not None and needs.isdisjoint(text):
            assert rx.search(text) is None, (rx.pattern, text)


def test_every_mask_kind_is_searched_for() -> None:
    from bot.engine.tokens import _masks

    for text in ("250ML*12盒", "¥29.9", "13812345678", "11月25日", "8点半", "3号前取", "3天", "三点",
                 "周三", "3栋402", "9-1-302", "B1203", "1203室", "葡萄2", "鸡蛋1盒"):
        found = any(rx.search(text) for _, rx, needs in _masks() if needs is None or not needs.isdisjoint(text))
        assert found == (text not in ("葡萄2", "鸡蛋1盒")), text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_a_remembered_reply_reads_as_a_new_one(text: str) -> None:
    from bot.engine import reader

    first = read_message(text, CATALOG, set())
    again = read_message(text, CATALOG, set())  # from the memo, when it is a short reply
    reader._READERS.clear()
    assert first == again == read_message(text, CATALOG, set())
    if again.entry is not None:  # a copy: what a caller does to it never reaches the memo
        again.entry.actions.clear()
        again.entry.problems.clear()
        assert read_message(text, CATALOG, set()) == first


def test_the_memo_copies_every_field_of_a_reading() -> None:
    from dataclasses import fields

    from bot.engine.entry import EntryParse
    from bot.engine.reader import Reading

    # reader.read_message builds its copies field by field: a new field must be copied there too
    assert [f.name for f in fields(EntryParse)] == ["label", "actions", "problems", "has_room", "all_questions"]
    assert [f.name for f in fields(Reading)] == ["text", "is_list", "units", "entry", "read"]


def _storable_by_encoding(text: str) -> str:
    """bot.model.storable as it was: try to encode, else mend."""
    if "\x00" not in text:
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            pass
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").replace("\x00", "\ufffd")


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, st.text(alphabet=st.sampled_from(["a", "王", "\x00", "\ud800", "\udc00", "\ud83d", "\ude00"]))))
def test_storable_keeps_what_encodes_and_mends_the_rest(text: str) -> None:
    from bot.model import storable

    assert storable(text) == _storable_by_encoding(text)
