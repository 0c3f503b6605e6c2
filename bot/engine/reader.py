"""The pure entry point of the engine: text + catalog + the chat's earlier lines in, entries out."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field

from bot.catalog import Catalog
from bot.engine.entry import EntryParse, EntryReader
from bot.engine.listing import Unit, body_key, is_list, iter_raw_units, make_unit, unit_key
from bot.engine.matcher import matcher_for
from bot.engine.normalize import normalize
from bot.engine.platform import is_notice, residents_words
from bot.services.outcome import TOO_LONG, Problem

MAX_REPLY_CHARS = 1_000
"""A short reply longer than this is not read as an order: the bot asks for a shorter one."""
MAX_LIST_CHARS = 400_000
"""A 接龙 copy longer than this (about 8,000 lines) is not read either."""
MAX_UNIT_CHARS = 400
"""A numbered line (with its continuation lines) longer than this is no entry."""


@dataclass(slots=True)
class UnitRead:
    unit: Unit
    seen: bool  # always False: units whose text the chat has seen are left out of a Reading
    entry: EntryParse | None = None  # read only when not seen (and a catalog is known)


@dataclass(slots=True)
class Reading:
    text: str  # normalised
    is_list: bool
    units: list[UnitRead] = field(default_factory=list)
    entry: EntryParse | None = None  # a short reply


_READERS: dict[int, tuple[Catalog, EntryReader]] = {}


def reader_for(catalog: Catalog) -> EntryReader:
    hit = _READERS.get(id(catalog))
    if hit is not None and hit[0] is catalog:
        return hit[1]
    r = EntryReader(matcher_for(catalog))
    if len(_READERS) > 512:
        _READERS.clear()
    _READERS[id(catalog)] = (catalog, r)
    return r


def read_message(text: str, catalog: Catalog | None, seen: Container[str],
                 seen_bodies: Container[str] = ()) -> Reading:
    """Read a message. ``seen`` holds the unit texts already posted in the chat, ``seen_bodies``
    their texts after the list number (a renumbered copy of a line is that line).

    Lines of a copy that were seen before are not parsed again; new ones are read as entries.
    Without a catalog, units are split (so a leader's list can be indexed) but not read.
    Platform notices read as nothing; quotes and @mentions are taken out first (§3.7). The cost
    is linear in the text, and bounded: over :data:`MAX_REPLY_CHARS` (a reply) or
    :data:`MAX_LIST_CHARS` (a copy) the message is one ``too_long`` problem, and a line over
    :data:`MAX_UNIT_CHARS` is no entry.
    """
    if is_notice(text):
        return Reading(normalize(text), False)
    norm = residents_words(normalize(text))
    listed = len(norm) <= MAX_LIST_CHARS and is_list(norm)
    if not listed and len(norm) > MAX_REPLY_CHARS:
        out = Reading(norm, False)
        if catalog is not None:
            out.entry = EntryParse(problems=[Problem(TOO_LONG)])
        return out
    if listed:
        out = Reading(norm, True)
        local: set[str] = set()
        reader = reader_for(catalog) if catalog is not None else None
        for lines in iter_raw_units(norm):
            key = unit_key(lines)
            if key in seen or key in local:
                continue  # a line the chat has seen: a lookup, not a parse
            local.add(key)
            if body_key(key) in seen_bodies:
                continue
            unit = make_unit(lines)
            ur = UnitRead(unit, False)
            if reader is not None and unit.body.strip() and len(unit.body) <= MAX_UNIT_CHARS:
                ur.entry = reader.read(unit.body, in_list=True)
            out.units.append(ur)
        return out
    out = Reading(norm, False)
    if catalog is not None and norm.strip():
        out.entry = reader_for(catalog).read(norm, in_list=False)
    return out
