"""A copy that extends a copy the chat has read is split only after it, with the same result.

read_message's ``done`` (and the order service's per-chat memory of read copies) must give
exactly what reading the whole copy gives (spec §3.3: copies merged, corresponding lines, the
author's own changed line, another's changed line changes nothing): checked against the slow
path on generated lists and on whole chats.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.listing import body_key
from bot.engine.reader import Reading, ReadList, read_message
from bot.model import InboundMessage
from bot.services import state
from bot.services.orders import OrderService
from tests.stores import memory_store
from tests.test_engine_props import CATALOG

LINES = st.sampled_from([
    "1. 3栋402 王姐 葡萄2", "2. 5-1-301 阿强 鸡蛋1", "2. 5-1-301 阿强 鸡蛋2", "3. 李阿姨 橙子1箱",
    "3、李阿姨 橙子1箱", "(4) 小陈 葡萄1 鸡蛋1", "⑤ Tom 脐橙x2", "１． 张叔 葡萄３", "6.  刘阿姨   葡萄1",
    "7.\t赵磊 鸡蛋1", "  备注:放门口", "例:3栋402 王姐 葡萄1", "#接龙 今日团购", "格式:楼号 名字 数量", "",
    "   ", "「王姐：葡萄2」", "- - -", "8. @小美 葡萄1", "9. 王姐 葡萄2\r", "10. 钟予馨 e\u0301 鸡蛋1",
    "11. 阿强 ｢鸡蛋1", "12. 小陈 葡萄1\u200b", "2️⃣ 阿强 葡萄1", "13. 王姐 [玫瑰] 葡萄1", "14. 王姐 葡萄2",
    "\u0301 接上一行", "1. 3栋402 王姐 葡萄2",
])
BLOCK = st.lists(LINES, min_size=0, max_size=8).map("\n".join)


def units(r: Reading) -> list[tuple[object, object]]:
    return [(u.unit, u.entry) for u in r.units]


def index(r: Reading, seen: set[str], bodies: set[str]) -> None:
    """What the order service indexes of a read copy: every unit it reads becomes a seen line."""
    for u in r.units:
        if u.unit.key.strip():
            seen.add(u.unit.key)
        if body_key(u.unit.key).strip():
            bodies.add(body_key(u.unit.key))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(BLOCK, min_size=1, max_size=4), st.sets(LINES, max_size=3), st.booleans())
def test_read_after_a_read_copy_is_the_whole_read(blocks: list[str], pre: set[str], with_catalog: bool) -> None:
    cat = CATALOG if with_catalog else None
    seen = {" ".join(p.split()) for p in pre if p.strip()}
    bodies = {body_key(k) for k in seen}
    done: list[ReadList] = []
    text = ""
    for block in blocks:
        text = block if not text else text + "\n" + block
        slow = read_message(text, cat, seen, bodies)
        fast = read_message(text, cat, seen, bodies, done)
        assert (fast.is_list, units(fast), fast.entry) == (slow.is_list, units(slow), slow.entry)
        assert (fast.read is None) == (slow.read is None)
        if fast.read is not None:
            assert fast.read == slow.read
        if slow.is_list:
            index(slow, seen, bodies)
            if slow.read is not None:
                done.insert(0, slow.read)


def test_a_chain_copy_reads_only_its_new_line() -> None:
    head = "#接龙 今日团购\n例:3栋402 王姐 葡萄1\n1. 3栋402 王姐 葡萄2"
    first = read_message(head, CATALOG, set())
    assert first.read is not None
    seen = {u.unit.key for u in first.units}
    nxt = read_message(head + "\n2. 阿强 鸡蛋1", CATALOG, seen, (), [first.read])
    assert [u.unit.key for u in nxt.units] == ["2. 阿强 鸡蛋1"]
    assert nxt.text == "2. 阿强 鸡蛋1"  # only the rest was normalised
    # a continuation of the known copy's last line is no new unit: read whole
    cont = read_message(head + "\n放门口", CATALOG, seen, (), [first.read])
    assert [u.unit.key for u in cont.units] == ["1. 3栋402 王姐 葡萄2\n放门口"]


CHAT = st.lists(st.tuples(st.integers(0, 3), BLOCK, st.sampled_from(["copy", "new", "edit", "recall"])),
                min_size=1, max_size=10)


def run_chat(steps: list[tuple[int, str, str]], remember: int, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setattr(state, "READ_LISTS", remember)
    svc = OrderService(memory_store(), catalog=CATALOG)
    text = ""
    outs = []
    for n, (who, block, how) in enumerate(steps):
        text = block if how == "new" or not text else text + "\n" + block
        ts = datetime(2026, 11, 25, 19, n, tzinfo=UTC)
        msg = InboundMessage("t", "g1", f"m{n}", f"u{who}", f"居民{who}", text, ts,
                             edit_of=f"m{n - 1}" if how == "edit" and n else None)
        if how == "recall" and n:
            msg = InboundMessage("t", "g1", f"m{n}", f"u{who}", f"居民{who}", "", ts, recall_of=f"m{n - 1}")
        o = svc.handle(msg)
        outs.append((o.kind, o.accepted, o.unclear, o.refused, o.totals))
    tally = svc.tally(svc.shared_deal or "")
    return outs, tally.rows, tally.totals


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(steps=CHAT)
def test_service_with_and_without_read_copies_agree(steps: list[tuple[int, str, str]],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_chat(steps, 3, monkeypatch) == run_chat(steps, 0, monkeypatch)
