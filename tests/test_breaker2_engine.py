"""Resident messages the 接龙 engine reads right (regression guards from the breaker2 session).

Each test replays a short transcript through ``bot.replay.run`` (what `tuan replay --json` calls)
and checks the tally against the contract (../shared/spec/jielong.md, section named per test).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot import replay as replay_module
from tests.replaytool import to_toml

FRUIT = {"items": [
    {"code": "1", "name": "阳光玫瑰葡萄 2斤装", "unit": "盒", "price": "29.9", "aliases": ["葡萄", "阳光玫瑰"]},
    {"code": "2", "name": "砂糖桔", "unit": "箱", "price": "25", "aliases": ["桔"]},
    {"code": "3", "name": "赣南贡柑", "unit": "箱", "price": "30", "aliases": ["贡柑", "贡"]},
    {"code": "4", "name": "红富士苹果", "unit": "箱", "price": "40", "aliases": ["苹果"]},
]}


def run_replay(tmp_path: Path, lines: list[tuple[str, str]], catalog: dict[str, Any] | None = None,
               minutes: list[int] | None = None, extra: dict[int, dict[str, str]] | None = None) -> dict[str, Any]:
    """Replay (sender, text) lines, one minute apart (or at ``minutes``), in chat g1; the JSON result."""
    rows = []
    for k, (sender, text) in enumerate(lines):
        minute = minutes[k] if minutes else k
        row = {"id": f"m{k + 1}", "ts": f"2026-11-25T{18 + minute // 60:02d}:{minute % 60:02d}:00+08:00",
               "chat": "g1", "sender_id": f"u-{sender}", "sender": sender, "text": text}
        if sender == "团长":
            row["role"] = "leader"
        row.update((extra or {}).get(k + 1, {}))
        rows.append(json.dumps(row, ensure_ascii=False))
    transcript = tmp_path / "t.jsonl"
    transcript.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cat_path = None
    if catalog is not None:
        cat_path = tmp_path / "c.toml"
        cat_path.write_text(to_toml(catalog), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert replay_module.run(str(transcript), str(cat_path) if cat_path else None, True, None) == 0
    return json.loads(out.getvalue())


def per_sender(res: dict[str, Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for o in res["orders"]:
        per = out.setdefault(o["sender"], {})
        per[o["item"]] = per.get(o["item"], 0) + o["qty"]
    return out


def ids(res: dict[str, Any], key: str) -> list[str]:
    return [u["message_id"] for u in res[key]]


QUOTE_RULE = "- - - - - - - - - - - - - - -"


def test_quotes_notices_mentions_and_pointers_are_not_the_residents_order(tmp_path: Path) -> None:
    """§3.7: only a quote's reply part counts; notices never order; @name is an address; 同上 asks."""
    res = run_replay(tmp_path, [
        ("王姐", f"「李姐：葡萄2」\n{QUOTE_RULE}\n好的"),
        ("阿强", f"「王姐：#接龙\n1. 王姐 葡萄2\n2. 李 桔1」\n{QUOTE_RULE}\n桔1"),
        ("小美", f"「王姐：葡萄2」\n{QUOTE_RULE}\n同上"),
        ("邻居", '"葡萄5" 拍了拍 "团长"'),
        ("邻居", '"桔3" 邀请 "葡萄2" 加入了群聊'),
        ("邻居", '"葡萄2" 撤回了一条消息'),
        ("邻居", '"桔子" 修改群名为"葡萄2团"'),
        ("刘", "@小美2号团长 桔2"),
        ("赵", "@桔 2盒葡萄"),
    ], FRUIT)
    assert per_sender(res) == {"阿强": {"2": 1}, "刘": {"2": 2}, "赵": {"1": 2}}
    assert ids(res, "unclear") == ["m3"] and res["refused"] == []


def test_quantity_first_clauses_references_and_each(tmp_path: Path) -> None:
    """§3.4 one reference per written name, 各; §3.5 quantity before the item word."""
    res = run_replay(tmp_path, [
        ("a", "2桔"), ("b", "1贡3桔"), ("c", "红富士苹果2"), ("d", "苹果、桔各2"),
        ("e", "两箱砂糖桔"), ("f", "葡萄两盒桔一箱"), ("g", "桔子3箱"), ("h", "来2盒葡萄"),
        ("i", "葡萄2,几点到?"), ("j", "葡萄甜不甜"), ("k", "二号三箱"), ("l", "刘阿姨 葡萄1"),
    ], FRUIT)
    assert per_sender(res) == {
        "a": {"2": 2}, "b": {"3": 1, "2": 3}, "c": {"4": 2}, "d": {"4": 2, "2": 2}, "e": {"2": 2},
        "f": {"1": 2, "2": 1}, "g": {"2": 3}, "h": {"1": 2}, "i": {"1": 2}, "k": {"2": 3}, "l": {"1": 1}}
    assert res["unclear"] == [] and res["refused"] == []


def test_item_unit_quantities_in_a_one_item_deal(tmp_path: Path) -> None:
    """§3.4/§3.5: 刘小西3斤 in a deal sold by the 斤 is 3; rooms and times are not quantities."""
    deal = {"items": [{"code": "1", "name": "沃柑", "unit": "斤", "price": "5", "aliases": []}]}
    res = run_replay(tmp_path, [
        ("刘小西", "刘小西3斤"), ("b", "3栋402 王姐 5斤"), ("c", "9-1-302 2"), ("d", "3-402"),
        ("e", "沃柑3斤 明天下午3点取"), ("f", "5号楼2单元 李 3斤"), ("g", "刘阿姨 两斤"),
    ], deal)
    assert per_sender(res) == {"刘小西": {"1": 3}, "b": {"1": 5}, "c": {"1": 2}, "d": {"1": 1},
                               "e": {"1": 3}, "f": {"1": 3}, "g": {"1": 2}}


def test_spec_suffix_x12_and_price_on_the_next_line(tmp_path: Path) -> None:
    """§3.1 price on the next line, tier price, cutoff line; §3.5 `x12` after a name ending in its spec."""
    post = ("#接龙 周三水果团 今晚8点截单\n1. 阳光玫瑰葡萄 2斤装 29.9元/盒\n(2)砂锅鱼头\n一包23元\n"
            "3. 可乐550ml*24瓶 22元/箱2箱42元\n例:3栋402 王姐 葡萄1\n1.\n2.")
    res = run_replay(tmp_path, [("团长", post), ("a", "鱼头2"), ("b", "可乐550ml*24瓶 x12"),
                                ("c", "葡萄1"), ("d", "葡萄1")], minutes=[0, 1, 2, 120, 121])
    assert per_sender(res) == {"a": {"2": 2}, "b": {"3": 12}, "c": {"1": 1}}  # 20:00 is not after it
    assert ids(res, "refused") == ["m5"]  # 20:01: after the post's 今晚8点 cutoff


@pytest.mark.parametrize("answer, minute, grapes, tangerines", [
    ("葡萄", 3, 3, 1),    # within 10 minutes: the answer sets 葡萄 to 3
    ("桔子", 3, 2, 3),    # a name holding an alias answers too
    ("桔", 20, 2, 2),     # too late: a new entry of one
])
def test_an_itemless_change_is_answered_within_ten_minutes(tmp_path: Path, answer: str, minute: int,
                                                          grapes: int, tangerines: int) -> None:
    """§3.6: `改成3` with two items is unclear; the next message within 10 minutes naming an item answers it."""
    res = run_replay(tmp_path, [("a", "葡萄2"), ("a", "桔1"), ("a", "改成3"), ("a", answer)],
                     FRUIT, minutes=[0, 1, 2, minute])
    assert per_sender(res)["a"] == {"1": grapes, "2": tangerines}
    assert ids(res, "unclear") == ["m3"]


def test_an_unrelated_message_ends_the_question(tmp_path: Path) -> None:
    """§3.6: only the sender's *next* message answers; after 谢谢, 桔 is a new entry."""
    res = run_replay(tmp_path, [("a", "葡萄2"), ("a", "桔1"), ("a", "改成3"), ("a", "谢谢"), ("a", "桔")], FRUIT)
    assert per_sender(res)["a"] == {"1": 2, "2": 2}


def test_huge_quantities_are_asked_never_guessed(tmp_path: Path) -> None:
    """§2 unclear (README: max_line_qty): 葡萄一万 and 要1234567盒葡萄 order nothing."""
    res = run_replay(tmp_path, [("a", "葡萄一万"), ("b", "要1234567盒葡萄"), ("c", "葡萄99")], FRUIT)
    assert per_sender(res) == {"c": {"1": 99}}
    assert ids(res, "unclear") == ["m1", "m2"]


def test_edits_and_withdrawals_under_stock_and_max_qty(tmp_path: Path) -> None:
    """§3.6/§3.8: an edit re-applies under the stock then; a withdrawn cancel gives back within limits."""
    deal = {"max_qty": 5, "items": [
        {"code": "1", "name": "阳光玫瑰葡萄", "unit": "盒", "price": "29.9", "aliases": ["葡萄"], "stock": 6},
        {"code": "2", "name": "砂糖桔", "unit": "箱", "price": "25", "aliases": ["桔"]}]}
    res = run_replay(tmp_path, [
        ("a", "葡萄2 桔4"), ("b", "葡萄4"), ("a", "葡萄3 桔5"),
        ("c", "桔2"), ("c", "桔改成0"), ("c", ""),
        ("a", "不要了"), ("a", ""),
    ], deal, extra={3: {"edit_of": "m1"}, 6: {"recall_of": "m5"}, 8: {"recall_of": "m7"}})
    assert per_sender(res) == {"a": {"2": 5}, "b": {"1": 4}, "c": {"2": 2}}
    assert ids(res, "refused") == ["m3"]
    assert res["totals"]["1"] <= 6


@pytest.mark.parametrize("line, cutoff", [
    ("#接龙 今晚8点半截单", "2026-11-25T20:30:00+08:00"),
    ("#接龙 截止今晚8点", "2026-11-25T20:00:00+08:00"),
    ("#接龙 20点截团", "2026-11-25T20:00:00+08:00"),
    ("#接龙 8点截单", "2026-11-25T20:00:00+08:00"),  # posted at 18:00: the evening one
    ("#接龙 明早10点截单", "2026-11-26T10:00:00+08:00"),
    ("#接龙 今晚24点截单", "2026-11-26T00:00:00+08:00"),
    ("#接龙 明天上午10点到货 今晚8点截单", "2026-11-25T20:00:00+08:00"),
    ("#接龙 11月26日20:00截单", "2026-11-26T20:00:00+08:00"),
])
def test_cutoff_lines_of_a_deal_post(line: str, cutoff: str) -> None:
    """§3.1: a line stating the cutoff sets it, on the post's day (明天/明早: the next), in its zone."""
    from datetime import datetime

    from bot.engine.dealpost import parse_deal_post

    catalog = parse_deal_post(f"{line}\n1. 阳光玫瑰葡萄 29.9元/盒\n2. 砂糖桔 ¥25",
                              datetime.fromisoformat("2026-11-25T18:00:00+08:00"))
    assert catalog is not None and catalog.cutoff == datetime.fromisoformat(cutoff)
    assert [(it.name, it.unit, str(it.price)) for it in catalog.items] == [
        ("阳光玫瑰葡萄", "盒", "29.9"), ("砂糖桔", "", "25")]
