"""Which catalog item a word names: codes, names, aliases and unique parts of names (§3.4)."""

from __future__ import annotations

import re
import threading
from collections.abc import Container, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.catalog import Catalog
from bot.engine.normalize import normalize

# A spec inside a name (2斤装, 30枚, 250ml*12盒, 5kg): not part of what residents call the item.
_SPEC = re.compile(
    r"\d+(?:\.\d+)?\s*(?:[a-zA-Z]+|[\u4e00-\u9fff])?(?:\s*[*x×/]\s*\d+(?:\.\d+)?\s*(?:[a-zA-Z]+|[\u4e00-\u9fff])?)*\s*装?"
)
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z]+")
_COUNT_IN_NAME = re.compile(
    r"(?<![\d.])(\d+)\s*(毫升|公斤|千克|ml|kg|瓶|枚|个|只|袋|包|盒|支|片|颗|粒|斤|克|g|l|升|罐|听|条|块|根|卷|包)", re.I)
_SPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to items found in text: which item codes it fits (empty: none; 2+: ambiguous)."""

    start: int
    end: int
    codes: frozenset[str]
    word: str


def spec_key(spec: str) -> str:
    """A spec as compared with another: no spaces, lower case, no trailing 装 (5斤装 -> 5斤)."""
    key = "".join(normalize(spec).split()).lower()
    return key[:-1] if key.endswith("装") else key


def core_words(name: str) -> list[str]:
    """The words of a name once specs are taken out: 阳光玫瑰葡萄 2斤装 -> [阳光玫瑰葡萄]."""
    return _WORD.findall(_SPEC.sub(" ", normalize(name)))


class ItemMatcher:
    """Finds item references in normalised text for one catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.codes = {it.code for it in catalog.items}
        self.only_code = catalog.items[0].code if len(catalog.items) == 1 else None
        full: dict[str, set[str]] = {}
        parts: dict[str, set[str]] = {}
        singles: dict[str, set[str]] = {}
        jieba_words: set[str] = set()
        self.units: set[str] = set()
        self.specs: dict[str, re.Pattern[str]] = {}
        self.item_unit: dict[str, str] = {}
        # the specs written in each item's name, as residents write them (5斤装 -> 5斤, 550ml*24瓶)
        self.name_specs: dict[str, tuple[str, ...]] = {}
        # (number, measure word) pairs inside a name (500ml*24瓶 → (24, 瓶), 土鸡蛋30枚 → (30, 枚)):
        # written beside the item, they repeat its spec and are no quantity (§3.5)
        self.name_counts: dict[str, frozenset[tuple[int, str]]] = {}
        for it in catalog.items:
            name = normalize(it.name)
            own = normalize(it.unit).strip() if it.unit else ""
            counts = {(int(m.group(1)), m.group(2).lower()) for m in _COUNT_IN_NAME.finditer(name)
                      if m.group(2).lower() != own.lower()}
            if counts:
                self.name_counts[it.code] = frozenset(counts)
            forms = {"".join(name.split())}
            words = core_words(it.name)
            jieba_words.update(w for w in words if len(w) >= 2)
            for alias in it.aliases:
                a = "".join(normalize(alias).split())
                if len(a) >= 2:
                    jieba_words.add(a)
                if a:
                    forms.add(a)
                    words.extend(core_words(alias))  # 5斤装 is a form, 斤装 no word of it
            for w in words:
                forms.add(w)
            for f in forms:
                full.setdefault(f, set()).add(it.code)
            for w in words:
                for i in range(len(w)):
                    for j in range(i + 2, len(w) + 1):
                        parts.setdefault(w[i:j], set()).add(it.code)
                    if "\u4e00" <= w[i] <= "\u9fff":  # a CJK character ([\u4e00-\u9fff])
                        singles.setdefault(w[i], set()).add(it.code)
            specs = ["".join(m.group(0).split()) for m in _SPEC.finditer(name) if m.group(0).strip()]
            self.name_specs[it.code] = tuple(spec_key(sp) for sp in specs)
            if specs:
                self.specs[it.code] = re.compile(
                    r"\s*(?:" + "|".join(r"\s*".join(re.escape(ch) for ch in sp) for sp in specs) + ")", re.I
                )
            if it.unit:
                u = normalize(it.unit).strip()
                self.units.add(u)
                self.item_unit[it.code] = u
        # Full forms (names with specs, aliases, core words) are found first, longest first,
        # spaces allowed between their characters ("阳光玫瑰葡萄 2斤装").
        ordered = sorted(full, key=len, reverse=True)
        self.full = {f: frozenset(c) for f, c in full.items()}
        self._full_re = re.compile(
            "|".join(r"\s*".join(re.escape(ch) for ch in f) for f in ordered), re.IGNORECASE
        ) if ordered else None
        self._full_lookup = {f.lower(): f for f in ordered}
        self.parts = {p: frozenset(c) for p, c in parts.items()}
        self.max_part = max((len(p) for p in parts), default=0)
        # the first characters of parts: where a part can start (a search skips to them)
        self._part_firsts = frozenset(p[0] for p in parts)
        self._part_start = re.compile(
            "[" + "".join(re.escape(c) for c in sorted(self._part_firsts)) + "]") if parts else None
        self.singles = {s: frozenset(c) for s, c in singles.items()}
        self._words_for_jieba = sorted(jieba_words)  # added to jieba's dictionary

    def spec_fits(self, code: str, written: str) -> bool:
        """True when ``written`` (a spec such as 5斤装, 500g) is the spec in item ``code``'s name,
        or its first part (550ml for 550ml*24瓶)."""
        key = spec_key(written)
        return any(sp == key or sp.startswith(key) and not sp[len(key)].isdigit()
                   for sp in self.name_specs.get(code, ()))

    # -- searching -------------------------------------------------------------------------

    def find_full(self, text: str) -> list[Ref]:
        if self._full_re is None:
            return []
        out = []
        for m in self._full_re.finditer(text):
            key = "".join(m.group(0).split()).lower()
            form = self._full_lookup.get(key)
            if form is None:
                continue
            out.append(Ref(m.start(), m.end(), self.full[form], m.group(0)))
        return out

    def widen(self, text: str, ref: Ref) -> Ref:
        """The longest part of a name around ``ref`` (a full form): the written name is one reference.

        ``红富士苹果`` where ``苹果`` is another item's alias but ``红富士苹果`` is part of item 1's
        name is item 1 (§3.4: a written name that contains an alias is one reference). Cost:
        O(max_part²) dictionary lookups.
        """
        s0, e0 = ref.start, ref.end
        mp = self.max_part
        if e0 - s0 >= mp or _SPACE.search(text, s0, e0) is not None:  # \s is str.isspace()
            return ref
        best: Ref | None = None
        parts, firsts, n = self.parts, self._part_firsts, len(text)
        for s in range(max(0, e0 - mp), s0 + 1):
            if text[s] not in firsts:
                continue  # no part starts with this character
            for e in range(min(n, s + mp), e0 - 1, -1):
                if e - s <= e0 - s0 or (best is not None and e - s <= best.end - best.start):
                    break
                codes = parts.get(text[s:e])
                if codes is not None:
                    best = Ref(s, e, codes, text[s:e])
                    break
        return best or ref

    def find_parts(self, text: str, start: int, end: int) -> list[Ref]:
        """Unique-or-ambiguous parts of 2+ characters in text[start:end], longest leftmost first.

        From each position where a part may start (its first character is one of a part's), the
        longest part there is taken and the search goes on after it."""
        out: list[Ref] = []
        find = self._part_start.search if self._part_start is not None else None
        if find is None:
            return out
        parts, mp = self.parts, self.max_part
        i = start
        while i < end - 1:
            hit = find(text, i, end - 1)
            if hit is None:
                break
            i = hit.start()
            for j in range(min(end, i + mp), i + 1, -1):
                codes = parts.get(text[i:j])
                if codes is not None:
                    out.append(Ref(i, j, codes, text[i:j]))
                    i = j
                    break
            else:
                i += 1
        return out

    def find_singles(self, text: str, spans: list[tuple[int, int]],
                     touching: Container[int] = ()) -> list[Ref]:
        """Single characters of item names that stand alone as a word (jieba decides).

        ``touching``: positions of characters that belong to a reference already found; a
        single character right next to one is left over from that written name, not a
        reference of its own (§3.4).
        """
        candidates = [(s, e) for s, e in spans if any(text[k] in self.singles for k in range(s, e))]
        if not candidates:
            return []
        out = []
        with catalog_words(self._words_for_jieba) as tok:
            for s, e in candidates:
                pos = s
                for word in tok.lcut(text[s:e], HMM=False):
                    if (len(word) == 1 and word in self.singles and pos - 1 not in touching
                            and pos + 1 not in touching):
                        out.append(Ref(pos, pos + 1, self.singles[word], word))
                    pos += len(word)
        return out


_JIEBA_LOCK = threading.Lock()
_JIEBA = None
_MISSING = object()


def base_tokenizer():  # type: ignore[no-untyped-def]
    """jieba's tokenizer with its own dictionary only, loaded once (about 1 s; call it at start-up,
    off the event loop, so no message pays for it)."""
    global _JIEBA
    with _JIEBA_LOCK:
        if _JIEBA is None:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.initialize()
            _JIEBA = tok
        return _JIEBA


@contextmanager
def catalog_words(words: list[str]) -> Iterator[Any]:
    """jieba's tokenizer with one catalog's names and aliases added, for the ``with`` block only.

    The words are taken out again afterwards, exactly (jieba's frequency table and total as they
    were), so what a message reads as never depends on which catalogs the process saw before
    (the engine is pure: same text and catalog, same result). Blocks run one at a time.
    """
    tok = base_tokenizer()
    with _JIEBA_LOCK:
        freq = tok.FREQ
        saved: dict[str, object] = {}
        for w in words:
            for i in range(1, len(w) + 1):
                saved.setdefault(w[:i], freq.get(w[:i], _MISSING))
        total = tok.total
        try:
            for w in words:
                tok.add_word(w, freq=100000)
            yield tok
        finally:
            for frag, value in saved.items():
                if value is _MISSING:
                    freq.pop(frag, None)
                else:
                    freq[frag] = value
            tok.total = total


@lru_cache(maxsize=256)
def matcher_for(catalog: Catalog) -> ItemMatcher:
    return ItemMatcher(catalog)
