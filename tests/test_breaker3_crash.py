"""`tuan run` killed with SIGKILL in the middle of a burst of console orders, then restarted (breaker3).

Every ✅ printed stands for an order in the store, nothing is doubled, and the restart neither
loses nor repeats an order; the ✅ a crash kept back is delivered at the restart.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.workers import BANNER, Worker, worker_config

ACK = "  ✅"


def stored(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT sender_name, SUM(qty) FROM entries WHERE NOT removed AND superseded_seq IS NULL "
            "GROUP BY chat_key, sender_id").fetchall()


# Regression (held): acknowledged orders survive SIGKILL; restarting loses and doubles nothing.
def test_sigkill_in_a_burst_keeps_every_acknowledged_order_once(tmp_path: Path) -> None:
    db = tmp_path / "tuan.db"
    config = worker_config(tmp_path / "tuan.toml", f"sqlite:///{db}")
    first = Worker(config, "first")
    try:
        first.wait_for(lambda: first.lines(BANNER), 60, "the console's banner")
        assert first.proc.stdin is not None
        first.proc.stdin.write("".join(f"住户{i}: 葡萄1\n" for i in range(400)))
        first.proc.stdin.flush()
        first.wait_for(lambda: len(first.lines(ACK)) >= 40, 60, "forty acknowledgements")
        first.kill()
    finally:
        first.stop()
    acked = len([line for _, line in first.out if line == ACK])
    rows = stored(db)
    assert acked >= 40 and len(rows) >= acked, (acked, len(rows))
    assert all(q == 1 for _, q in rows)  # nobody's order twice
    assert len(rows) < 400  # the kill did land in the middle of the burst

    second = Worker(config, "second")
    try:
        second.wait_for(lambda: second.lines(BANNER), 60, "the banner after the restart")
        assert second.proc.stdin is not None
        second.proc.stdin.write("住户0: 葡萄1\n")  # a new order of someone who already has one: adds
        second.proc.stdin.close()
        deadline = time.monotonic() + 30
        while second.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        second.stop()
    after = dict(stored(db))
    assert len(after) == len(rows) and after["住户0"] == 2
    assert all(q == 1 for name, q in after.items() if name != "住户0")
