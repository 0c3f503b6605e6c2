"""The pure entry point of the engine: text + catalog + the chat's earlier lines in, entries out."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field

from bot.catalog import Catalog
from bot.engine.entry import EntryParse, EntryReader
from bot.engine.listing import Unit, body_key, is_list, iter_raw_units, make_unit, unit_key
from bot.engine.matcher import matcher_for
from bot.engine.normalize import normalize


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
    """
    norm = normalize(text)
    if is_list(norm):
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
            if reader is not None and unit.body.strip():
                ur.entry = reader.read(unit.body, in_list=True)
            out.units.append(ur)
        return out
    out = Reading(norm, False)
    if catalog is not None and norm.strip():
        out.entry = reader_for(catalog).read(norm, in_list=False)
    return out
