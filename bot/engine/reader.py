"""The pure entry point of the engine: text + catalog + the chat's earlier lines in, entries out."""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field

from bot.catalog import Catalog
from bot.engine.entry import EntryParse, EntryReader
from bot.engine.listing import Unit, body_key, is_list, iter_raw_units, make_unit, starts_unit, unit_key
from bot.engine.matcher import matcher_for
from bot.engine.normalize import normalize
from bot.engine.platform import is_notice, residents_words, strip_mentions
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


@dataclass(frozen=True, slots=True)
class ReadList:
    """A 接龙 copy read whole: ``text`` as sent, ``norm_len`` the length of what was read of it.

    Only a copy with no quote and no carriage return gets one: then normalising it is line by
    line, and a text that begins with it, a newline and a new numbered line, splits into its
    units and then that rest's (see ``done`` in :func:`read_message`).
    """

    text: str
    norm_len: int


@dataclass(slots=True)
class Reading:
    text: str  # normalised (a copy read after a known prefix: the rest only)
    is_list: bool
    units: list[UnitRead] = field(default_factory=list)
    entry: EntryParse | None = None  # a short reply
    read: ReadList | None = None  # a copy that a later one may begin with (see ``done``)


_READERS: dict[int, tuple[Catalog, EntryReader, dict[str, Reading]]] = {}
REPLY_MEMO_CHARS = 200
"""Short replies up to this long are remembered per catalog: the same words read the same."""
REPLY_MEMO_SIZE = 4096
"""Remembered short replies per catalog (all forgotten when full)."""


def _reader_and_memo(catalog: Catalog) -> tuple[EntryReader, dict[str, Reading]]:
    hit = _READERS.get(id(catalog))
    if hit is not None and hit[0] is catalog:
        return hit[1], hit[2]
    r = EntryReader(matcher_for(catalog))
    if len(_READERS) > 512:
        _READERS.clear()
    memo: dict[str, Reading] = {}
    _READERS[id(catalog)] = (catalog, r, memo)
    return r, memo


def reader_for(catalog: Catalog) -> EntryReader:
    return _reader_and_memo(catalog)[0]


def read_message(text: str, catalog: Catalog | None, seen: Container[str],
                 seen_bodies: Container[str] = (), done: Sequence[ReadList] = ()) -> Reading:
    """Read a message. ``seen`` holds the unit texts already posted in the chat, ``seen_bodies``
    their texts after the list number (a renumbered copy of a line is that line).

    ``done``: copies read before (:attr:`Reading.read`) each of whose units is in ``seen`` or
    has its body in ``seen_bodies`` (true of every copy the chat has handled: seen lines are
    never forgotten). A text that is one of them, a newline, and then a numbered line is split
    only after it: the units before are all seen, so the result is the same, without the cost
    of normalising and splitting what the chat has read already (a 接龙 copy chain).

    Lines of a copy that were seen before are not parsed again; new ones are read as entries.
    Without a catalog, units are split (so a leader's list can be indexed) but not read.
    Platform notices read as nothing; quotes and @mentions are taken out first (§3.7). The cost
    is linear in the text, and bounded: over :data:`MAX_REPLY_CHARS` (a reply) or
    :data:`MAX_LIST_CHARS` (a copy) the message is one ``too_long`` problem, and a line over
    :data:`MAX_UNIT_CHARS` is no entry.
    """
    if done:
        out = _read_after(text, catalog, seen, seen_bodies, done)
        if out is not None:
            return out
    if catalog is None or len(text) > REPLY_MEMO_CHARS:
        return _read(text, catalog, seen, seen_bodies)
    # A reply that is no list reads the same whatever the chat has seen: the same words of a
    # catalog are read once (葡萄2 comes back all day); a list depends on the seen lines.
    memo = _reader_and_memo(catalog)[1]
    hit = memo.get(text)
    if hit is None:
        hit = _read(text, catalog, seen, seen_bodies)
        if hit.is_list:
            return hit
        if len(memo) >= REPLY_MEMO_SIZE:
            memo.clear()
        memo[text] = hit
    e = hit.entry
    return Reading(hit.text, False, entry=None if e is None else EntryParse(
        e.label, list(e.actions), list(e.problems), e.has_room, e.all_questions))


def _read(text: str, catalog: Catalog | None, seen: Container[str], seen_bodies: Container[str]) -> Reading:
    if is_notice(text):
        return Reading(normalize(text), False)
    plain = normalize(text)
    norm = residents_words(plain)
    listed = len(norm) <= MAX_LIST_CHARS and is_list(norm)
    if not listed and len(norm) > MAX_REPLY_CHARS:
        out = Reading(norm, False)
        if catalog is not None:
            out.entry = EntryParse(problems=[Problem(TOO_LONG)])
        return out
    if listed:
        out = Reading(norm, True)
        if "\r" not in text and "「" not in plain:
            out.read = ReadList(text, len(norm))
        _read_units(out, norm, catalog, seen, seen_bodies)
        return out
    out = Reading(norm, False)
    if catalog is not None and norm.strip():
        out.entry = reader_for(catalog).read(norm, in_list=False)
    return out


def _read_units(out: Reading, norm: str, catalog: Catalog | None, seen: Container[str],
                seen_bodies: Container[str]) -> None:
    """Append the units of the list ``norm`` that the chat has not seen, read against ``catalog``."""
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


def _read_after(text: str, catalog: Catalog | None, seen: Container[str], seen_bodies: Container[str],
                done: Sequence[ReadList]) -> Reading | None:
    """``text`` read after the longest copy of ``done`` it begins with; None when none fits.

    Fits: ``text`` is that copy, a newline, then a rest with no carriage return and no quote whose
    first kept line is numbered (so no unit of the copy goes on in it), and the whole stays within
    :data:`MAX_LIST_CHARS`. Normalising is line by line then (NFKC leaves a newline alone and
    composes nothing across it; the other rules match within a line; a quote is the only
    whole-text rule), so the text's units are the copy's, all seen, and then the rest's.
    """
    best: ReadList | None = None
    for p in done:
        n = len(p.text)
        if (best is None or n > len(best.text)) and len(text) > n and text[n] == "\n" and text.startswith(p.text):
            best = p
    if best is None:
        return None
    rest = text[len(best.text) + 1:]
    if "\r" in rest:
        return None
    plain = normalize(rest)
    if "「" in plain:
        return None
    norm = strip_mentions(plain)
    total = best.norm_len + 1 + len(norm)
    if total > MAX_LIST_CHARS or not starts_unit(norm):
        return None
    out = Reading(norm, True, read=ReadList(text, total))
    _read_units(out, norm, catalog, seen, seen_bodies)
    return out
