from __future__ import annotations

from adapters.telegram.cards import MAX_DATA_BYTES, Pressed, decode, encode, keyboard
from bot import buttons
from bot.model import Card, CardButton

KEY = b"k" * 32


def signed(label: str, action: str, code: str | None, deal: str = "d0123456789abcde") -> CardButton:
    return CardButton(label, action, code, buttons.sign(KEY, deal, action, code) or "")


def card() -> Card:
    return Card("今日团购", (
        (signed("葡萄 +1", "add", "1"), signed("−1", "sub", "1")),
        (signed("我的订单", "mine", None),),
    ), deal_id="d0123456789abcde")


def test_round_trip_carries_the_deal_and_a_signature_that_verifies() -> None:
    for row in card().rows:
        for button in row:
            data = encode(button)
            assert data is not None and len(data.encode()) <= MAX_DATA_BYTES
            pressed = decode(data)
            assert pressed is not None and (pressed.action, pressed.item_code) == (button.action, button.item_code)
            assert pressed.deal_id == "d0123456789abcde"
            assert buttons.verify(KEY, pressed.deal_id, pressed.action, pressed.item_code, pressed.signature)


def test_the_longest_deal_ids_fit_telegrams_64_bytes() -> None:
    for deal in ("catalog-0123456789abcdef", "p0123456789abcde"):
        for action, code in (("add", "12"), ("sub", "ab-123"), ("mine", None)):
            data = encode(signed("x", action, code, deal))
            assert data is not None and len(data.encode()) <= MAX_DATA_BYTES, (deal, action, code)


def test_a_changed_deal_action_or_item_does_not_verify() -> None:
    pressed = decode(encode(signed("葡萄 +1", "add", "1")) or "")
    assert pressed is not None
    assert not buttons.verify(KEY, "d_other_deal_000", "add", "1", pressed.signature)
    assert not buttons.verify(KEY, pressed.deal_id, "sub", "1", pressed.signature)
    assert not buttons.verify(KEY, pressed.deal_id, "add", "3", pressed.signature)
    assert not buttons.verify(b"x" * 32, pressed.deal_id, "add", "1", pressed.signature)


def test_keyboard_rows() -> None:
    markup = keyboard(card())
    assert markup is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert [[text for text, _ in row] for row in rows] == [["葡萄 +1", "−1"], ["我的订单"]]
    assert rows[0][0][1].startswith("t:d0123456789abcde:add:1:")


def test_legacy_and_foreign_data() -> None:
    assert decode("t:add:3") == Pressed("add", "3")  # a card from before signing: read, never trusted
    assert decode("t:mine") == Pressed("mine", None)
    assert decode("t:add") is None and decode("t:mine:1") is None and decode("x:add:1") is None
    assert decode("garbage") is None and decode("t:d1:add:1") is None


def test_unencodable_buttons_are_left_out() -> None:
    long = signed("x", "add", "长" * 30)  # over Telegram's 64 bytes
    unsigned = CardButton("x", "add", "1")
    assert encode(long) is None and encode(unsigned) is None and encode(CardButton("x", "dance")) is None
    assert keyboard(Card("t", ((long, unsigned),))) is None
    assert keyboard(Card("t")) is None
