"""Split a 接龙 copy into its numbered lines (§3.2): header, 例 lines, continuations."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARK = re.compile(
    r"^\s*(?:(?P<a>\d{1,3})\s*[.、:)](?!\d)|[(\[]\s*(?P<b>\d{1,3})\s*[)\]]|(?P<c>[\u2460-\u2473]))\s*"
)


@dataclass(frozen=True, slots=True)
class Unit:
    """One numbered line of a list with its continuation lines."""

    number: str
    key: str  # the unit's text, spaces collapsed: what "the same text" compares
    body: str  # the text after the list number (continuations joined by newlines)


def is_list(text: str) -> bool:
    """A list: a numbered line with an explicit marker, in a message of several lines or at its start."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return False
    if len(lines) == 1:  # a lone "③x1" is a short reply naming item 3; a lone "1. 王姐 葡萄1" is a list
        m = _MARK.match(lines[0])
        return m is not None and m.group("c") is None
    return any(_MARK.match(ln) for ln in lines)


def split_units(text: str) -> list[Unit]:
    """The numbered units of a list, in order; header and 例 lines dropped."""
    units: list[Unit] = []
    cur_num: str | None = None
    cur_key: list[str] = []
    cur_body: list[str] = []

    def flush() -> None:
        if cur_num is not None:
            units.append(Unit(cur_num, "\n".join(cur_key), "\n".join(cur_body)))

    for raw in text.split("\n"):
        line = " ".join(raw.split())
        if not line:
            continue
        if line.startswith(("例", "例:", "例如", "格式")):
            continue
        m = _MARK.match(line)
        if m:
            flush()
            cur_num = m.group("a") or m.group("b") or str(ord(m.group("c")) - 0x2460 + 1)
            cur_key = [line]
            cur_body = [line[m.end():]]
        elif cur_num is not None:
            cur_key.append(line)
            cur_body.append(line)
        # else: header line, never an entry
    flush()
    return units
