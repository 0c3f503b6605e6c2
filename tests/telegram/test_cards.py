from __future__ import annotations

from adapters.telegram.cards import decode, encode, keyboard
from bot.model import Card, CardButton


def card() -> Card:
    return Card("今日团购", (
        (CardButton("葡萄 +1", "add", "grape"), CardButton("−1", "sub", "grape")),
        (CardButton("我的订单", "mine"),),
    ))


def test_round_trip() -> None:
    for row in card().rows:
        for button in row:
            data = encode(button)
            assert data is not None and decode(data) == (button.action, button.item_code)


def test_keyboard_rows() -> None:
    markup = keyboard(card())
    assert markup is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert rows == [[("葡萄 +1", "t:add:grape"), ("−1", "t:sub:grape")], [("我的订单", "t:mine")]]


def test_unencodable_buttons_are_left_out() -> None:
    long = CardButton("x", "add", "长" * 30)  # 90 bytes of UTF-8: over Telegram's 64
    assert encode(long) is None and encode(CardButton("x", "dance")) is None
    assert keyboard(Card("t", ((long,),))) is None
    assert keyboard(Card("t")) is None
