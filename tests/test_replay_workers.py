"""`tuan replay --db postgresql+… --catalog` run by 4 processes at once into one chat (issue 10).

Real `tuan` subprocesses, one shared catalog with a stock-limited item, each with its own transcript
(plus messages every transcript holds, as a redelivery): every process exits 0, each distinct message
is stored once, and the deal's total in the store never exceeds the stock.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sqlalchemy import func, select

from storage.models import DEALS, ENTRIES, MESSAGES
from storage.sql import open_repository
from tests.replaytool import to_toml, tuan_cmd

PROCESSES = 4
OWN = 1_200  # messages only one transcript holds (three of the replay's 500-message transactions)
SHARED = 100  # messages every transcript holds (the same ids): stored and counted once
STOCK = 2_000  # eggs, for 4 × 1,200 + 100 orders of one egg each


def transcript(path: Path, p: int) -> Path:
    """Process ``p``'s transcript: its own orders with the shared ones spread among them."""
    lines = []
    shared = [(f"s{k}", f"rs{k}") for k in range(SHARED)]
    if p % 2:
        shared.reverse()
    own = [(f"p{p}m{k}", f"r{p}_{k}") for k in range(OWN)]
    step = OWN // SHARED
    mixed = [x for k in range(SHARED) for x in ([shared[k]] + own[k * step:(k + 1) * step])]
    for n, (mid, sender) in enumerate(mixed):
        lines.append(json.dumps({"id": mid, "ts": f"2026-11-29T19:{n // 3600 % 60:02d}:{n // 60 % 60:02d}+08:00",
                                 "chat": "hot", "sender_id": sender, "sender": sender, "text": "鸡蛋1 脐橙2"},
                                ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_four_replays_into_one_chat_share_the_stock(tmp_path: Path, pg_url: str) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(to_toml({"items": [
        {"code": "1", "name": "土鸡蛋 30枚", "unit": "盒", "price": "19.9", "aliases": ["鸡蛋"], "stock": STOCK},
        {"code": "2", "name": "脐橙", "unit": "箱", "price": "39", "aliases": ["脐橙"]},
    ]}), encoding="utf-8")
    procs = [subprocess.Popen([*tuan_cmd(), "replay", str(transcript(tmp_path / f"t{p}.jsonl", p)),
                               "--catalog", str(catalog), "--db", pg_url, "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
             for p in range(PROCESSES)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    distinct = PROCESSES * OWN + SHARED
    for out, _ in outs:  # each process's view: the shared deal's totals when it ended
        totals = json.loads(out)["totals"]
        assert totals["1"] <= STOCK
    repo = open_repository(pg_url)
    try:
        with repo.engine.connect() as conn:
            deals = conn.execute(select(DEALS.c.id, DEALS.c.version)).all()
            live = ~ENTRIES.c.removed & ENTRIES.c.superseded_seq.is_(None)
            totals = dict(conn.execute(select(ENTRIES.c.item_code, func.sum(ENTRIES.c.qty)).where(live)
                                       .group_by(ENTRIES.c.item_code)).all())
            stored = conn.scalar(select(func.count()).select_from(MESSAGES))
            ids = conn.scalar(select(func.count(func.distinct(MESSAGES.c.message_id))))
            order = [m[:2] for m in conn.scalars(select(MESSAGES.c.message_id).order_by(MESSAGES.c.seq))
                     if m.startswith("p")]
    finally:
        repo.close()
    runs = 1 + sum(a != b for a, b in zip(order, order[1:], strict=False))
    print(f"{runs} runs of one process's messages in commit order")
    assert len(deals) == 1, deals  # one shared deal, however many processes created it at once
    assert stored == ids == distinct  # each message once
    assert totals == {"1": STOCK, "2": 2 * distinct}  # never oversold; sold out since demand > stock
    assert json.loads(outs[-1][0])["totals"]["1"] <= STOCK


def test_four_replays_into_two_chats_with_their_own_deals(tmp_path: Path, pg_url: str) -> None:
    """Without --catalog each chat's deal comes from its leader's post; a replay commits 500 messages
    a transaction, so a transaction may lock two deals. Half the processes meet chat A first, half
    chat B: each process must still exit 0, with each message stored once."""
    posts = {"A": "#接龙\n1. 鸡蛋 19.9元\n2. 脐橙 39元", "B": "#接龙\n1. 鸡蛋 19.9元\n2. 脐橙 39元"}
    per_chat = 1_000
    paths = []
    for p in range(PROCESSES):
        first, second = ("A", "B") if p % 2 == 0 else ("B", "A")
        rows = [{"id": f"post{c}", "chat": c, "sender_id": "lead", "sender": "团长", "text": posts[c],
                 "role": "leader"} for c in (first, second)]
        for k in range(per_chat // 250):  # in each 500-message transaction: 250 of one chat, then 250 of the other
            for c in (first, second):
                rows += [{"id": f"p{p}{c}{k}_{j}", "chat": c, "sender_id": f"r{p}{c}{k}_{j}",
                          "sender": "居民", "text": "鸡蛋1 脐橙2"} for j in range(250)]
        path = tmp_path / f"two{p}.jsonl"
        path.write_text("".join(json.dumps({**r, "ts": "2026-11-29T19:00:00+08:00"}, ensure_ascii=False) + "\n"
                                for r in rows), encoding="utf-8")
        paths.append(path)
    procs = [subprocess.Popen([*tuan_cmd(), "replay", str(path), "--db", pg_url, "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
             for path in paths]
    outs = [p.communicate(timeout=300) for p in procs]
    failed = [[ln for ln in err.splitlines() if "Error" in ln][-2:] for p, (_, err) in zip(procs, outs, strict=True)
              if p.returncode != 0]
    assert not failed, failed
    repo = open_repository(pg_url)
    try:
        with repo.engine.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(MESSAGES))
            ids = conn.scalar(select(func.count(func.distinct(MESSAGES.c.message_id))))
            deals = conn.scalar(select(func.count()).select_from(DEALS))
    finally:
        repo.close()
    assert deals == 2
    assert stored == ids == 2 + PROCESSES * 2 * per_chat
