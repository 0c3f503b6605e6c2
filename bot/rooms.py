"""Building, unit and room read from a resident's label, for sorting lists the way leaders walk them.

Pure functions. A label is what a resident wrote before their items (``3栋402 王姐``). The shapes
read, after NFKC (full-width digits and dashes become ASCII):

==================  ===========================
``3栋402``           building 3, room 402 (also 幢 座 号楼 楼 #, and 室/号 after the room)
``3栋2单元402``      building 3, unit 2, room 402
``5号楼2单元301``    building 5, unit 2, room 301
``3-402``            building 3, room 402
``9-1-302``          building 9, unit 1, room 302
``李姐 5-1-302``     the room anywhere in the label
==================  ===========================

A run of digits longer than five (a phone number, ``13800138000``) is never a building or a room.
A label with no room sorts after every label with one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_BUILDING = r"(?<!\d)(\d{1,3})\s*(?:栋|幢|座|号楼|楼|#)"
_UNIT = r"(?:\s*-?\s*(\d{1,2})\s*单元)?"
_ROOM = r"\s*-?\s*(\d{1,5})(?!\d)"
_NAMED = re.compile(_BUILDING + _UNIT + _ROOM)
_DASHED3 = re.compile(r"(?<![\d-])(\d{1,3})-(\d{1,2})-(\d{1,5})(?![\d-])")
_DASHED2 = re.compile(r"(?<![\d-])(\d{1,3})-(\d{1,5})(?![\d-])")
_DASHES = re.compile("[\u2010-\u2015\u2212\u30fc\uff70—]")


@dataclass(frozen=True, slots=True, order=True)
class Room:
    """A door: building, unit (0 when the label names none) and room number, ints."""

    building: int
    unit: int
    room: int

    def text(self) -> str:
        """``3-402`` or ``9-1-302``: the short form leaders write on bags."""
        return f"{self.building}-{self.unit}-{self.room}" if self.unit else f"{self.building}-{self.room}"


def parse_room(label: str) -> Room | None:
    """The first building/unit/room the label names (see the module docstring), or None."""
    text = _DASHES.sub("-", unicodedata.normalize("NFKC", label))
    found = _NAMED.search(text)
    if found:
        b, u, r = found.groups()
        return Room(int(b), int(u or 0), int(r))
    found = _DASHED3.search(text)
    if found:
        b, u, r = found.groups()
        return Room(int(b), int(u), int(r))
    found = _DASHED2.search(text)
    if found:
        b, r = found.groups()
        return Room(int(b), 0, int(r))
    return None


def room_sort_key(label: str) -> tuple[bool, Room, str]:
    """Sort key: labels with a room first, by building, unit and room (numerically: 3栋402 before
    12栋101, 402 before 1101), then the label's text; labels with no room last, by their text."""
    room = parse_room(label)
    return room is None, room or Room(0, 0, 0), label
