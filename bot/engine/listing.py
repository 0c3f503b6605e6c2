"""Split a 接龙 copy into its numbered lines (§3.2): header, 例 lines, continuations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_MARK = re.compile(
    r"^\s*(?:(?P<a>\d{1,4})\s*(?:[.:](?!\d)|\.(?=\d+\s*(?:栋|幢|座|号楼|单元|#|-))|[、)])|[(\[]\s*(?P<b>\d{1,4})\s*[)\]]|(?P<c>[\u2460-\u2473]))\s*"
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


def is_numbered(line: str) -> bool:
    """True when ``line`` starts with a list number and its marker (1. 1、 (2) ③)."""
    return _MARK.match(line) is not None


def iter_raw_units(text: str) -> Iterator[list[str]]:
    """Each numbered unit as its lines (spaces collapsed); header and 例 lines dropped.

    Cheap on purpose: a copy of a long list is mostly lines the chat has seen, and those
    must cost a lookup, not a parse.
    """
    cur: list[str] | None = None
    for line in _kept_lines(text):
        if _MARK.match(line):
            if cur is not None:
                yield cur
            cur = [line]
        elif cur is not None:
            cur.append(line)
        # else: a header line, never an entry
    if cur is not None:
        yield cur


def starts_unit(text: str) -> bool:
    """True when the first line of ``text`` that :func:`iter_raw_units` keeps is a numbered line.

    Then ``text`` after a list adds whole units to it: it does not continue the list's last unit.
    False when it keeps no line at all.
    """
    for line in _kept_lines(text):
        return _MARK.match(line) is not None
    return False


def _kept_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` a list is read from: stripped, inner spaces collapsed; blank lines and
    the example (例…) and format (格式…) lines left out."""
    for raw in text.split("\n"):
        line = raw.strip()
        if "  " in line:
            line = " ".join(line.split())
        if not line or line[0] == "例" or line.startswith("格式"):
            continue
        yield line


def body_key(key: str) -> str:
    """A unit's text without its list number: a renumbered copy of a line is still that line."""
    m = _MARK.match(key)
    return key[m.end():] if m else key


def unit_key(lines: list[str]) -> str:
    return lines[0] if len(lines) == 1 else "\n".join(lines)


def make_unit(lines: list[str]) -> Unit:
    m = _MARK.match(lines[0])
    assert m is not None
    number = m.group("a") or m.group("b") or str(ord(m.group("c")) - 0x2460 + 1)
    body = "\n".join([lines[0][m.end():], *lines[1:]])
    return Unit(number, unit_key(lines), body)


def split_units(text: str) -> list[Unit]:
    """The numbered units of a list, in order; header and 例 lines dropped."""
    return [make_unit(u) for u in iter_raw_units(text)]
