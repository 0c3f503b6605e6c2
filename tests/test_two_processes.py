"""Two processes, one PostgreSQL store, one chat at once (issue 9): the deal's lock orders them.

No failed commit, no lost or doubled order, stock never oversold, and no order accepted once the
other process closed the deal.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from bot.catalog import Catalog, Item
from bot.services.orders import OrderService
from storage.sql import SqlRepository, open_repository
from tests.two_workers import work

CHAT = "t:g1"
STOCK = 150


@pytest.fixture
def store(pg_url: str) -> Iterator[tuple[str, SqlRepository, str]]:
    repo = open_repository(pg_url)
    catalog = Catalog(items=(Item("1", "土鸡蛋 30枚", "盒", Decimal("19.9"), aliases=("鸡蛋",), stock=STOCK),
                             Item("2", "脐橙", "箱", Decimal("39"), aliases=("脐橙",))))
    did = OrderService(repo).open_deal(catalog, [CHAT], title="周日团")
    yield pg_url, repo, did
    repo.close()


def run(url: str, did: str, jobs: list[tuple[list[tuple[str, str, str]], int | None]]) -> list[Any]:
    """Run each job (messages, close after) in its own process at once; every result they put."""
    ctx = multiprocessing.get_context("spawn")
    results, closed = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=work, args=(url, "g1", msgs, closed, close_after, did, results))
             for msgs, close_after in jobs]
    for p in procs:
        p.start()
    out: list[Any] = []
    done = 0
    while done < len(procs):
        item = results.get(timeout=120)
        if item is None:
            done += 1
        else:
            out.append(item)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0, "a worker failed (a failed commit would have raised)"
    return out


def stored(repo: SqlRepository, did: str) -> tuple[int, int, int]:
    """(active eggs, active oranges, messages stored) of the deal, read from the store."""
    eggs = oranges = 0
    for e in repo.deal_entries(did):
        if not e.removed and e.superseded_seq is None:
            eggs += e.qty if e.item_code == "1" else 0
            oranges += e.qty if e.item_code == "2" else 0
    from sqlalchemy import func, select

    from storage.models import MESSAGES

    with repo.engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(MESSAGES).where(MESSAGES.c.deal_id == did))
    return eggs, oranges, int(n or 0)


def test_two_processes_share_one_chat_without_losing_doubling_or_overselling(
        store: tuple[str, SqlRepository, str]) -> None:
    url, repo, did = store
    shared = [(f"s{k}", f"r{k}", "鸡蛋1 脐橙1") for k in range(40)]  # both processes get these (a redelivery)
    a = [(f"a{k}", f"a{k}", "鸡蛋1 脐橙1") for k in range(80)] + shared
    b = shared[::-1] + [(f"b{k}", f"b{k}", "鸡蛋1 脐橙1") for k in range(80)]
    results = run(url, did, [(a, None), (b, None)])
    by_id: dict[str, list[Any]] = {}
    for mid, kind, accepted, refused, _ in results:
        by_id.setdefault(mid, []).append((kind, accepted, refused))
    assert len(by_id) == 200  # 80 + 80 + 40 distinct messages
    for mid, outs in by_id.items():  # a shared message: handled by one process, a duplicate for the other
        kinds = sorted(k for k, _, _ in outs)
        assert kinds in (["order"], ["duplicate", "order"]), (mid, outs)
    accepted_eggs = sum(1 for outs in by_id.values() for k, acc, ref in outs if k == "order" and "sold_out" not in ref)
    eggs, oranges, messages = stored(repo, did)
    assert eggs == STOCK  # demand 200 > stock 150: exactly the stock, never more
    assert oranges == 200  # every distinct message's orange, once
    assert messages == 200  # each message stored once
    assert accepted_eggs == STOCK  # what residents were told matches the store
    assert OrderService(repo).tally(did).totals == {"1": STOCK, "2": 200}


def test_no_order_is_accepted_after_the_other_process_closed_the_deal(
        store: tuple[str, SqlRepository, str]) -> None:
    url, repo, did = store
    a = [(f"a{k}", f"a{k}", "脐橙1") for k in range(120)]
    b = [(f"b{k}", f"b{k}", "脐橙1") for k in range(120)]
    results = run(url, did, [(a, 40), (b, None)])
    after = [r for r in results if r[4]]
    assert after, "the close happened while both were still sending"
    for mid, kind, accepted, refused, _ in after:
        assert accepted == 0 and refused == ["deal_closed"], (mid, kind, accepted, refused)
    _, oranges, messages = stored(repo, did)
    assert oranges == sum(r[2] for r in results)  # what was acknowledged is what the store holds
    assert messages == 240
