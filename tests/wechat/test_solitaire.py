"""The native 群接龙 parser, on XML samples in the shape WeChat sends."""

from __future__ import annotations

import pytest

from adapters.wechat.solitaire import SolitaireLine, parse_solitaire
from tests.wechat.samples import sample


def test_attributed_list_gives_each_line_its_author_and_time() -> None:
    sol = parse_solitaire(sample("tuan_attributed.xml"))
    assert sol is not None and sol.attributed and sol.creator == "wxid_leader01"
    # The header has emoji (two UTF-16 units each): the line ranges after it still land right.
    assert sol.header == "#接龙\n幸福里 周五团购🍇🍊\n阳光玫瑰葡萄 39.9元/盒，赣南脐橙 29.9元/箱\n例 3栋王姐 葡萄1 橙子2"
    assert sol.lines == (
        SolitaireLine(1, "wxid_alice", "3栋王姐 葡萄1 橙子2", ".", 1700000100),
        SolitaireLine(2, "wxid_bob", "5栋李哥 葡萄2", ".", 1700000200),
        SolitaireLine(3, "wxid_carol", "7栋小陈 橙子1 <加急> & 谢谢😊", ".", 1700000300),
    )
    assert [line.text for line in sol.lines][1] == "2. 5栋李哥 葡萄2"


def test_example_first_line_is_not_an_entry() -> None:
    sol = parse_solitaire(sample("tuan_example_first.xml"))
    assert sol is not None
    assert [(line.number, line.account, line.content) for line in sol.lines] == [(2, "wxid_alice", "3栋王姐 葡萄1")]


def test_line_text_in_c_and_a_line_without_author() -> None:
    sol = parse_solitaire(sample("tuan_partly_attributed.xml"))
    assert sol is not None and not sol.attributed
    assert [(line.account, line.text) for line in sol.lines] == [("wxid_alice", "1. 3栋王姐 葡萄1"),
                                                                 ("", "2. 5栋李哥 葡萄2")]


@pytest.mark.parametrize("text", [
    sample("link.xml"),
    sample("link_with_empty_solitaire.xml"),
    "葡萄2",
    "<msg><appmsg><title>x</title><extinfo><solitaire_info>",  # cut off
    "solitaire_info but no XML at all",
    sample("tuan_attributed.xml").replace("<type>53</type>", "<type>5</type>"),  # a link, not a 群接龙
    sample("tuan_attributed.xml").replace("<type>53</type>", ""),
])
def test_not_a_solitaire(text: str) -> None:
    assert parse_solitaire(text) is None


def test_ranges_outside_the_title_fall_back_to_c_or_drop_the_line() -> None:
    xml = ("<msg><appmsg><title>#接龙\n1. 王姐 葡萄1</title><type>53</type><extinfo><solitaire_info><![CDATA["
           "<solitaire><s>.</s><au>wxid_l</au><hrt>1</hrt><content>"
           "<i><u>wxid_a</u><r>4-999</r><c>王姐 葡萄1</c></i>"
           "<i><u>wxid_b</u><r>bad</r></i>"
           "</content></solitaire>]]></solitaire_info></extinfo></appmsg></msg>")
    sol = parse_solitaire(xml)
    assert sol is not None and sol.header == "#接龙"
    assert sol.lines == (SolitaireLine(1, "wxid_a", "王姐 葡萄1", ".", None),)


def test_solitaire_element_instead_of_cdata() -> None:
    xml = ("<msg><appmsg><title>接龙\n1. 李哥 橙子2</title><type>53</type><extinfo><solitaire_info>"
           "<solitaire><tt>0-2</tt><content><i><u>wxid_b</u><s>、</s><t>1700000000</t><r>6-6</r></i></content>"
           "</solitaire></solitaire_info></extinfo></appmsg></msg>")
    sol = parse_solitaire(xml)
    assert sol is not None and sol.header == "接龙"
    # The number and separator are taken as the list shows them.
    assert sol.lines == (SolitaireLine(1, "wxid_b", "李哥 橙子2", ".", 1700000000),)
