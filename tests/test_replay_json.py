"""`tuan replay --json` writes exactly what json.dump(indent=1, ensure_ascii=False) writes."""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.replay import write_json

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.dictionaries(st.text(max_size=6), inner, max_size=4),
                            st.dictionaries(st.integers(-3, 3), inner, max_size=3)),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(values, st.integers(1, 5))
def test_write_json_is_json_dump(obj: Any, pieces: int) -> None:
    out = io.StringIO()
    write_json(obj, out, pieces)
    assert out.getvalue() == json.dumps(obj, ensure_ascii=False, indent=1) + "\n"


def test_a_report_row() -> None:
    obj = {"orders": [{"chat": "g1", "sender": "王姐\"\n", "qty": 2, "label": ""}], "totals": {"1": 2},
           "unclear": [], "refused": []}
    out = io.StringIO()
    write_json(obj, out)
    assert out.getvalue() == json.dumps(obj, ensure_ascii=False, indent=1) + "\n"
