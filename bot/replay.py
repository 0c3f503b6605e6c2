"""`tuan replay`: feed a JSONL transcript through the live pipeline and report the tally (spec §2)."""

from __future__ import annotations

import gc
import json
import re
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from sys import intern
from typing import Any, TextIO

from bot.catalog import Catalog, CatalogError, load_catalog
from bot.engine.normalize import scrub
from bot.model import InboundMessage
from bot.ports import EntryRow, Repository
from bot.services.orders import OrderService, build_tally
from bot.services.outcome import Outcome

PLATFORM = "replay"
REQUIRED = ("id", "ts", "chat", "sender_id", "sender")
BATCH = 500
GC_GEN0 = 100_000
"""Allocations between young-generation collections during a replay (Python's default: 700).

A replay makes no reference cycles (tests/test_replay_memory.py checks it), so a collection frees
nothing; this many objects is what cyclic garbage could grow to if a path ever made some. Each
collection walks every object allocated since the last, so fewer, larger ones cost the same in
all; a run that allocates less than this (the 1,000-resident copy chain) pays for none."""
GC_OLDER = 20
"""Collections of a generation between collections of the next older one (default: 10)."""


class TranscriptError(ValueError):
    """A transcript line that cannot be used; the message names the line and the field."""


_U_ESCAPE = re.compile(r"\\u")
"""A JSON ``\\u`` escape (searched for by the pattern: over twice as fast as ``in`` on a long line)."""


def _field(obj: dict[str, Any], name: str, where: str, escaped: bool = True) -> str:
    v = obj.get(name)
    if v is None:
        raise TranscriptError(f"{where}: missing field `{name}`")
    if isinstance(v, (dict, list, bool)):
        raise TranscriptError(f"{where}: field `{name}` must be a string")
    if type(v) is str:
        return scrub(v) if escaped else v
    return scrub(str(v))


def parse_line(raw: str, lineno: int, path: str) -> InboundMessage | None:
    """One transcript line (spec §1) as a message; None for a blank line.

    Raises TranscriptError naming the line and the field. ``raw`` is strict UTF-8 text (see
    :func:`read_transcript`): then a lone surrogate or a NUL can only come from a JSON ``\\u``
    escape (a raw control character is no valid JSON), so a line without one gives storable
    strings as they are and skips the message's search for them (tests/test_replay_lines.py).
    """
    if not raw or raw.isspace():  # (not raw.strip(): a copy of a long line)
        return None
    where = f"{path}:{lineno}"
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as e:
        raise TranscriptError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
    except RecursionError:
        raise TranscriptError(f"{where}: JSON nested too deeply to be a message") from None
    except ValueError as e:  # a number longer than Python reads (int_max_str_digits)
        raise TranscriptError(f"{where}: not a usable JSON line ({str(e).split(':')[0]})") from None
    if not isinstance(obj, dict):
        raise TranscriptError(f"{where}: a line must be a JSON object")
    escaped = _U_ESCAPE.search(raw) is not None
    # the same chats, senders and names recur on every line: one string each, not one per message
    got: list[Any] = [obj.get(k) for k in REQUIRED]
    if escaped or not all(type(v) is str for v in got):  # (else _field gives each as it is)
        got = [_field(obj, k, where, escaped) for k in REQUIRED]
    mid, ts_text, chat, sender_id, sender = map(intern, got)
    recall = obj.get("recall_of")
    text = obj.get("text")
    if text is None and recall is None:
        raise TranscriptError(f"{where}: missing field `text`")
    if text is not None and not isinstance(text, str):
        raise TranscriptError(f"{where}: field `text` must be a string")
    try:
        ts = datetime.fromisoformat(ts_text.replace("Z", "+00:00"))
    except ValueError:
        raise TranscriptError(f"{where}: field `ts` is not an ISO 8601 time: {ts_text!r}") from None
    if ts.tzinfo is None:
        raise TranscriptError(f"{where}: field `ts` needs a UTC offset: {ts_text!r}")
    role = obj.get("role")
    if role is not None and role != "leader":  # spec §1: "leader", or absent for a resident
        raise TranscriptError(f"{where}: field `role` must be \"leader\" or absent, not {str(role)[:40]!r}")
    edit_of = obj.get("edit_of")
    make = InboundMessage if escaped else InboundMessage.of_storable
    return make(
        platform=PLATFORM, chat_id=chat, message_id=mid, sender_id=sender_id,
        sender_name=sender, text=text or "", ts=ts, is_admin=role == "leader",
        edit_of=None if edit_of is None else str(edit_of),
        recall_of=None if recall is None else str(recall),
    )


def read_transcript(path: str) -> Iterator[InboundMessage]:
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as e:
        raise TranscriptError(f"{path}: cannot open ({e.strerror})") from None
    with fh:
        first_line: dict[str, int] = {}
        try:
            for n, raw in enumerate(fh, 1):
                m = parse_line(raw, n, path)
                if m is not None:
                    if m.message_id in first_line:  # spec §1: unique within the transcript
                        raise TranscriptError(f"{path}:{n}: field `id` {m.message_id[:40]!r} repeats line "
                                              f"{first_line[m.message_id]}")
                    first_line[m.message_id] = n
                    yield m
        except UnicodeDecodeError:
            raise TranscriptError(f"{path}: not UTF-8 text") from None


@dataclass
class ReplayResult:
    orders: list[dict[str, Any]]
    totals: dict[str, int]
    unclear: list[dict[str, str]]
    refused: list[dict[str, str]]
    names: dict[str, str]  # item code -> name

    def as_json(self) -> dict[str, Any]:
        return {"orders": self.orders, "totals": self.totals, "unclear": self.unclear, "refused": self.refused}


@dataclass
class Outcomes:
    """What the report needs of the handled messages' outcomes, kept as they come (not the
    outcomes themselves: 100,000 of them, each with its sender's totals, are a lot of memory)."""

    deal_ids: dict[str, None]
    unclear: list[dict[str, str]]
    refused: list[dict[str, str]]

    def add(self, outcomes: Iterable[Outcome]) -> None:
        for o in outcomes:
            if o.deal_id is not None:
                self.deal_ids[o.deal_id] = None
            if o.unclear:
                self.unclear.append({"message_id": o.message_id,
                                     "reason": "; ".join(p.replay_reason() for p in o.unclear)})
            if o.refused:
                self.refused.append({"message_id": o.message_id,
                                     "reason": "; ".join(p.replay_reason() for p in o.refused)})


def open_store(db_url: str | None) -> Repository:
    """The store a replay writes into: the database at ``db_url`` (``--db``; migrated first, see
    :func:`storage.sql.open_repository`, which raises ``StoreOpenError``), or with None a store in
    this process's memory (:class:`storage.memory.MemoryRepository`), thrown away at the end.
    Only a ``db_url`` imports SQLAlchemy."""
    if db_url is None:
        from storage.memory import MemoryRepository

        return MemoryRepository()
    from storage.sql import open_repository

    return open_repository(db_url)


def replay(messages: Iterator[InboundMessage], catalog: Catalog | None, db_url: str | None) -> ReplayResult:
    """Handle ``messages`` in batches of :data:`BATCH` through the order service on the store of
    ``db_url`` (:func:`open_store`: None is a store in memory) and report the tally (:func:`collect`)."""
    repo = open_store(db_url)
    try:
        svc = OrderService(repo, catalog=catalog)
        seen = Outcomes({}, [], [])
        batch: list[InboundMessage] = []
        for m in messages:
            batch.append(m)
            if len(batch) >= BATCH:
                seen.add(_handle_batch(svc, batch))
                batch = []
        if batch:
            seen.add(_handle_batch(svc, batch))
        del batch
        svc.drop_cache()  # the report reads the store; the cache would only double what is in memory
        return collect(svc, seen)
    finally:
        repo.close()


BATCH_ATTEMPTS = 30


def _handle_batch(svc: OrderService, batch: list[InboundMessage]) -> list[Outcome]:
    """One batch in one transaction; tried again when the store could not serve it (another process
    replaying into the same deals in another order deadlocks with this one: PostgreSQL rolls one
    back, and nothing of it was kept, so it is simply run again)."""
    from bot.ports import StoreUnavailable

    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            return svc.handle_many(batch)
        except StoreUnavailable:
            if attempt == BATCH_ATTEMPTS:
                raise
            import random  # only here: a replay whose store never refuses does not import it
            import time

            time.sleep(min(2.0, 0.05 * attempt) * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")


def collect(svc: OrderService, outcomes: Outcomes) -> ReplayResult:
    """The report: every deal's orders and totals (read from the store), the unclear and the refused."""
    orders: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    names: dict[str, str] = {}
    deal_ids = list(outcomes.deal_ids)
    if svc.shared_deal and svc.shared_deal not in deal_ids:
        deal_ids.append(svc.shared_deal)
    for did in deal_ids:
        cat = svc.catalog_of(did)
        entries = svc.repo.deal_entries(did)  # read once: the tally and the last messages both need them
        tally = build_tally(did, cat, entries)
        for it in cat.items:
            names.setdefault(it.code, it.name)
            totals[it.code] = totals.get(it.code, 0) + tally.totals.get(it.code, 0)
        last_msg = _last_messages(entries)
        for r in tally.rows:
            orders.append({
                "chat": r.chat_key.partition(":")[2], "sender_id": r.sender_id, "sender": r.sender_name,
                "label": r.label, "item": r.item_code, "qty": r.qty,
                "message_id": last_msg.get((r.chat_key, r.sender_id, r.item_code, r.label), ""),
            })
    return ReplayResult(orders, {k: v for k, v in totals.items()}, outcomes.unclear, outcomes.refused, names)


def _last_messages(entries: list[EntryRow]) -> dict[tuple[str, str, str, str], str]:
    out: dict[tuple[str, str, str, str], str] = {}
    for e in entries:
        if not e.removed and e.superseded_seq is None and e.qty > 0:
            out[(e.chat_key, e.sender_id, e.item_code, e.label)] = e.message_id
    return out


def _drain(messages: deque[InboundMessage]) -> Iterator[InboundMessage]:
    """The messages in order, each let go of as it is taken (the transcript is not kept to the end)."""
    while messages:
        yield messages.popleft()


def print_table(res: ReplayResult, out: TextIO) -> None:
    from bot.render import pad as width_pad

    out.write("Totals per item\n")
    for code, qty in res.totals.items():
        out.write(f"  {width_pad(code, 4)} {width_pad(res.names.get(code, ''), 26)} {qty:>6}\n")
    out.write("\nPer resident\n")
    for r in sorted(res.orders, key=lambda r: (r["chat"], r["sender"], r["item"])):
        out.write(f"  {width_pad(r['chat'], 10)} {width_pad(r['sender'], 14)} {width_pad(r['label'], 22)} "
                  f"{width_pad(r['item'], 4)} {width_pad(res.names.get(r['item'], ''), 22)} {r['qty']:>4}\n")
    for title, rows in (("Unclear (the bot would ask)", res.unclear), ("Refused", res.refused)):
        if rows:
            out.write(f"\n{title}\n")
            for row in rows:
                out.write(f"  {width_pad(row['message_id'], 10)} {row['reason']}\n")


def write_json(obj: Any, out: TextIO, pieces: int = 4096) -> None:
    """Write ``obj`` as ``json.dump(obj, out, ensure_ascii=False, indent=1)`` does, then a newline.

    The same text, but made faster (json's indenting encoder is pure Python: about 5 generator
    steps per value; here a dict of plain values, an order row, is one join) and written
    ``pieces`` pieces at a time, so the whole text is never one string in memory.
    """
    batch: list[str] = []
    for piece in _json_pieces(obj, 0):
        batch.append(piece)
        if len(batch) >= pieces:
            out.write("".join(batch))
            batch = []
    out.write("".join(batch))
    out.write("\n")


_STR = json.encoder.encode_basestring  # what json writes for a str when ensure_ascii is False
_CONSTANTS = {None: "null", True: "true", False: "false"}


def _json_scalar(v: Any) -> str | None:
    """The JSON text json.dumps writes for a str, an int, None, True or False; None otherwise."""
    t = type(v)
    if t is str:
        return _STR(v)  # type: ignore[no-any-return]
    if t is int:
        return int.__repr__(v)
    if t is bool or v is None:
        return _CONSTANTS[v]
    return None


@lru_cache(maxsize=64)
def _heads(keys: tuple[str, ...], inner: str) -> tuple[str, ...]:
    """What goes before each value of a dict with these keys (the rows share a few key tuples)."""
    return tuple(("{" if n == 0 else ",") + inner + _STR(k) + ": " for n, k in enumerate(keys))


def _json_pieces(obj: Any, level: int) -> Iterator[str]:
    """``obj`` as json.dumps(obj, ensure_ascii=False, indent=1) writes it at nesting ``level``, in pieces."""
    flat = _json_scalar(obj)
    if flat is not None:
        yield flat
        return
    inner, outer = "\n" + " " * (level + 1), "\n" + " " * level
    if isinstance(obj, dict) and all(type(k) is str for k in obj):
        if not obj:
            yield "{}"
            return
        values = list(map(_json_scalar, obj.values()))
        if None not in values:  # a dict of plain values (an order row): one piece
            heads = _heads(tuple(obj), inner)
            yield "".join(map(str.__add__, heads, values)) + outer + "}"  # type: ignore[arg-type]
            return
        for n, (k, v) in enumerate(obj.items()):
            yield ("{" if n == 0 else ",") + inner + _STR(k) + ": "
            yield from _json_pieces(v, level + 1)
        yield outer + "}"
    elif type(obj) in (list, tuple):
        if not obj:
            yield "[]"
            return
        for n, v in enumerate(obj):
            yield ("[" if n == 0 else ",") + inner
            yield from _json_pieces(v, level + 1)
        yield outer + "]"
    else:  # anything else (a float, a dict with other keys): json's own text for it
        text = json.dumps(obj, ensure_ascii=False, indent=1)
        yield text.replace("\n", outer) if level else text


@contextmanager
def fewer_collections(gen0: int = GC_GEN0, older: int = GC_OLDER) -> Iterator[None]:
    """Run the cyclic garbage collector less often inside the block; the old thresholds after.

    A replay allocates millions of objects that live to its end (the transcript, the chats' lines
    and entries) and creates next to no reference cycles, so with Python's default thresholds
    (700, 10, 10) most of its CPU went to full collections that walk the growing state and free
    nothing: 100,000 short replies took 22.2 CPU s, 16.2 with these.
    """
    old = gc.get_threshold()
    gc.set_threshold(gen0, older, older)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def run(transcript: str, catalog_path: str | None, as_json: bool, db: str | None) -> int:
    with fewer_collections():
        return _run(transcript, catalog_path, as_json, db)


def _run(transcript: str, catalog_path: str | None, as_json: bool, db: str | None) -> int:
    try:
        catalog = load_catalog(catalog_path) if catalog_path else None
        messages = deque(read_transcript(transcript))  # all read first: a bad line stops it before any work
    except (TranscriptError, CatalogError) as e:
        print(f"tuan replay: {e}", file=sys.stderr)
        return 2
    if db is None:  # a store in memory: nothing to open, nothing to refuse
        res = replay(_drain(messages), catalog, None)
    else:
        from storage.sql import StoreOpenError

        try:
            res = replay(_drain(messages), catalog, db)
        except StoreOpenError as e:
            print(f"tuan replay: --db: {e}", file=sys.stderr)
            return 2
    if as_json:
        write_json(res.as_json(), sys.stdout)
    else:
        print_table(res, sys.stdout)
    return 0
