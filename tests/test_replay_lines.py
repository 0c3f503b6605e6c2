"""`tuan replay` reads a transcript line as before when it skips the search for unstorable
characters: a strict UTF-8 line without a ``\\u`` escape has none (issue 11)."""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from datetime import UTC, datetime
from pathlib import Path
from sys import intern

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.normalize import scrub
from bot.model import InboundMessage, storable
from bot.replay import REQUIRED, TranscriptError, parse_line, read_transcript

# any code point, surrogates and controls included, and the characters JSON escapes
ANY_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=30)
ODD_TEXT = st.lists(st.sampled_from(["\ud800", "\udfff", "\ud83d\ude00", "\x00", "\x1f", "\\", "\"", "u", "\\u",
                                     "葡萄2", "\u2028", "😀", " ", "\n"]), max_size=8).map("".join)
TEXTS = st.one_of(ANY_TEXT, ODD_TEXT)


def _strings(obj: object) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in (k, *_strings(v))]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


JSON = st.recursive(st.none() | st.booleans() | st.integers() | TEXTS,
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(TEXTS, kids, max_size=3), max_leaves=8)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON, st.booleans())
def test_strict_utf8_json_without_a_u_escape_decodes_to_storable_strings(obj: object, ascii_only: bool) -> None:
    line = json.dumps(obj, ensure_ascii=ascii_only)
    try:
        line.encode("utf-8")  # what a strictly decoded file can hold: no lone surrogate
    except UnicodeEncodeError:
        return
    if "\\u" in line:
        return
    for s in _strings(json.loads(line)):
        assert storable(s) is s, repr(s)


def test_only_an_escape_makes_an_unstorable_string() -> None:
    for escaped, value in (('"\\ud800"', "\ud800"), ('"\\u0000"', "\x00"), ('"a\\udfffb"', "a\udfffb")):
        assert json.loads(escaped) == value and storable(value) != value
    with pytest.raises(json.JSONDecodeError):
        json.loads('"\x00"')  # a raw control character is no JSON string
    with pytest.raises(UnicodeDecodeError):
        b'"\xed\xa0\x80"'.decode("utf-8")  # an encoded surrogate is no strict UTF-8


MESSAGE = st.fixed_dictionaries(
    {"id": TEXTS, "ts": st.sampled_from(["2026-11-25T19:00:00Z", "2026-11-25T19:00:00+08:00"]), "chat": TEXTS,
     "sender_id": st.one_of(TEXTS, st.integers()), "sender": TEXTS, "text": TEXTS},
    optional={"role": st.just("leader"), "edit_of": st.one_of(TEXTS, st.integers()), "recall_of": TEXTS},
)


def _reference(raw: str) -> InboundMessage:
    """parse_line as it was before issue 11 (317b263), for a valid line: every field scrubbed,
    the message built by the constructor (which searches every str for unstorable characters)."""
    obj = json.loads(raw)
    vals = {k: intern(scrub(str(obj[k]))) for k in REQUIRED}
    recall = obj.get("recall_of")
    return InboundMessage(
        platform="replay", chat_id=vals["chat"], message_id=vals["id"], sender_id=vals["sender_id"],
        sender_name=vals["sender"], text=obj.get("text") or "",
        ts=datetime.fromisoformat(vals["ts"].replace("Z", "+00:00")), is_admin=obj.get("role") == "leader",
        edit_of=None if obj.get("edit_of") is None else str(obj["edit_of"]),
        recall_of=None if recall is None else str(recall),
    )


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGE, st.booleans())
def test_a_line_reads_as_the_checked_message(obj: dict[str, object], ascii_only: bool) -> None:
    raw = json.dumps(obj, ensure_ascii=ascii_only)
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return
    m = parse_line(raw, 1, "t")
    assert m is not None
    assert m == _reference(raw)
    for f in fields(InboundMessage):
        v = getattr(m, f.name)
        if isinstance(v, str):
            assert storable(v) == v


def test_of_storable_is_the_constructor() -> None:
    assert all(f.default_factory is MISSING for f in fields(InboundMessage))  # defaults are plain values
    kw = dict(platform="p", chat_id="c", message_id="m", sender_id="s", sender_name="n", text="t",
              ts=datetime(2026, 11, 25, tzinfo=UTC), recall_of="r")
    assert InboundMessage.of_storable(**kw) == InboundMessage(**kw)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs field 'text'"):
        InboundMessage.of_storable(**{k: v for k, v in kw.items() if k != "text"})
    with pytest.raises(TypeError, match="no field 'colour'"):
        InboundMessage.of_storable(**kw, colour="red")


def test_an_escaped_surrogate_is_still_replaced(tmp_path: Path) -> None:
    p = tmp_path / "t.jsonl"
    p.write_text('{"id": "m1", "ts": "2026-11-25T19:00:00Z", "chat": "g\\ud800", "sender_id": "u", "sender": "x",'
                 ' "text": "葡萄2\\udfff\\u0000"}\n', encoding="utf-8")
    (m,) = list(read_transcript(str(p)))
    assert m.text == "葡萄2\ufffd\ufffd" and m.chat_id == "g\ufffd"
    p.write_bytes(b'{"id": "m1", "ts": "2026-11-25T19:00:00Z", "chat": "g", "sender_id": "u", "sender": "x",'
                  b' "text": "\xed\xa0\x80"}\n')
    with pytest.raises(TranscriptError, match="not UTF-8"):
        list(read_transcript(str(p)))


def test_the_order_service_still_logs_as_bot_services_orders(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from bot.services import orders

    with caplog.at_level(logging.INFO, logger="bot.services.orders"):
        orders.log.info("deal %s revised: %s", "d1", "x")
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("bot.services.orders", "deal d1 revised: x")]
    assert len(orders._new_id()) == 15 and int(orders._new_id(), 16) >= 0


def test_a_one_message_replay_imports_no_logging_uuid_or_unused_pattern(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys, bot.replay, bot.engine.tokens as t; "
            "print(sorted(m for m in ('logging', 'uuid') if m in sys.modules)); "
            "print(sum(1 for _, rx, _n in t._MASKS if 'search' in vars(rx)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[1] == "0"  # no mask compiled before a clause needs one
    assert "uuid" not in out[0]
