"""Attacks by a hostile resident or outsider that the pipeline withstands (regression guards).

Written by the breaker session: each test drives the real pipeline (fake adapter → Dispatcher →
OrderService) the way an attacker would and checks that nothing of anyone else changes or leaks.
"""

from __future__ import annotations

import io
import random
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.base import Capabilities
from bot import messages as m
from bot.catalog import catalog_from_dict
from bot.model import InboundMessage
from bot.services.orders import OrderService
from storage.sql import open_repository
from tests.pipeline import LEADER, make_pipeline
from tests.sheets import xlsx_rows
from tests.test_permissions import LEADER_A, LEADER_COMMANDS, setup

CAPS = Capabilities(reactions=True, files=True, direct=True)


@pytest.mark.parametrize("name", LEADER_COMMANDS)
async def test_a_resident_named_like_the_leader_is_no_leader(name: str) -> None:
    p = await setup()
    await p.chat.push(f"/{name}", sender=LEADER_A, sender_id="impostor", chat_id="g1")
    assert [s.text for s in p.chat.pop_all()] == [m.NOT_LEADER]
    await p.chat.push(f"/{name}", sender=LEADER_A, sender_id="impostor", chat_id="dm-x", is_private=True)
    assert [s.text for s in p.chat.pop_all()] == [m.PRIVATE_NO_GROUP]
    assert p.core.service.deal_of("fake:g1").status == "open"
    await p.close()


async def test_edits_and_withdrawals_of_anothers_message_leave_their_order() -> None:
    p = await make_pipeline(CAPS)
    victim = await p.chat.push("葡萄3", sender="李姐")
    await p.chat.push("葡萄1", sender="阿强", edit_of=victim.message_id)
    await p.chat.push("", sender="阿强", recall_of=victim.message_id)
    await p.chat.push("/close", sender=LEADER)
    assert p.stored()["李姐"] == {"1": 3}
    await p.close()


async def test_a_copy_that_changes_or_drops_anothers_line_changes_nothing() -> None:
    p = await make_pipeline(CAPS)
    await p.chat.push("#接龙\n1. 3栋402 王姐 葡萄2", sender="王姐")
    await p.chat.push("#接龙\n1. 3栋402 王姐 葡萄0\n2. 5栋1 坏人 鸡蛋1", sender="坏人")
    await p.chat.push("#接龙\n1. 5栋1 坏人 鸡蛋1\n2. 3栋402 王姐 葡萄9", sender="坏人")
    await p.chat.push("#接龙\n2. 5栋1 坏人 鸡蛋1", sender="坏人")
    assert p.stored()["王姐"] == {"1": 2}
    await p.close()


async def test_a_residents_formula_name_and_label_reach_the_export_as_text() -> None:
    p = await make_pipeline(CAPS)
    await p.chat.push('=HYPERLINK("http://x","a") 葡萄1', sender="-2+3")
    await p.chat.push("@SUM(A1) 鸡蛋1", sender="+cmd")
    p.chat.pop_all()
    await p.chat.push("/export", sender=LEADER)
    [doc] = [s for s in p.chat.pop_all() if s.kind == "file"]  # sent to the leader privately
    # (`@SUM(A1)` is an @mention, an address and no label since spec §3.7, so it is not in the file)
    rows = xlsx_rows(doc.data)
    assert {"-2+3", "+cmd"} <= {r[1] for r in rows} and any(str(r[2]).startswith("=HYPERLINK") for r in rows)
    with zipfile.ZipFile(io.BytesIO(doc.data)) as z:  # every such cell is text: no formula in any sheet
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    await p.close()


async def test_orders_said_in_a_private_chat_are_not_orders() -> None:
    p = await make_pipeline(CAPS)
    await p.chat.push("葡萄2", sender="王姐", chat_id="dm-w", is_private=True)
    await p.chat.push("葡萄1", sender="阿强")
    assert p.stored() == {"阿强": {"1": 1}}
    await p.close()


async def test_after_the_cutoff_edits_and_withdrawals_change_nothing() -> None:
    p = await make_pipeline(CAPS)
    first = await p.chat.push("葡萄2", sender="王姐")
    await p.chat.push("/close", sender=LEADER)
    p.chat.pop_all()
    await p.chat.push("葡萄9", sender="王姐", edit_of=first.message_id)
    await p.chat.push("", sender="王姐", recall_of=first.message_id)
    await p.chat.push("取消", sender="王姐")
    # said once (the after-cutoff answer is given at most once an hour per resident), changed nothing
    assert [s.text for s in p.chat.pop_all()] == [m.REFUSED_AFTER_CUTOFF]
    assert p.stored() == {"王姐": {"1": 2}}
    await p.close()


CAT = catalog_from_dict({"max_qty": 5, "items": [
    {"code": "1", "name": "阳光玫瑰葡萄", "unit": "盒", "price": "29.9", "aliases": ["葡萄"], "stock": 6},
    {"code": "2", "name": "土鸡蛋", "unit": "盒", "price": "32", "aliases": ["鸡蛋"], "stock": 4},
    {"code": "3", "name": "血橙", "unit": "箱", "price": "22", "aliases": ["血橙"]}]})


def random_chat(rng: random.Random, n: int) -> list[InboundMessage]:
    """Three residents ordering, changing, editing and withdrawing their own messages at random."""
    out: list[InboundMessage] = []
    mine: dict[str, list[str]] = {}
    t = datetime(2026, 11, 25, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    for i in range(n):
        who, item, q = rng.choice(["u1", "u2", "u3"]), rng.choice(["葡萄", "鸡蛋", "血橙"]), rng.randint(0, 6)
        text = rng.choice([f"{item}{q}", f"{item}改成{q}", f"{item}再加{q}", f"{item}减{q}", f"{item}不要了",
                           "取消", f"改成{q}", item, f"{item}-{q}", f"{item}+{q}", f"{item}{q} 鸡蛋{rng.randint(1, 3)}"])
        edit = recall = None
        roll = rng.random()
        if roll < 0.15 and mine.get(who):
            edit = rng.choice(mine[who])
        elif roll < 0.3 and mine.get(who):
            recall, text = rng.choice(mine[who]), ""
        mine.setdefault(who, []).append(f"m{i}")
        t += timedelta(seconds=5)
        out.append(InboundMessage(platform="replay", chat_id="g", message_id=f"m{i}", sender_id=who,
                                  sender_name=who, text=text, ts=t, edit_of=edit, recall_of=recall))
    return out


def holdings(svc: OrderService, deal_id: str) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for r in svc.tally(deal_id).rows:
        out[(r.sender_id, r.item_code)] = out.get((r.sender_id, r.item_code), 0) + r.qty
    return out


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_stock_and_limits_hold_after_every_message_and_a_restart(seed: int, tmp_path: Path) -> None:
    repo = open_repository(f"sqlite:///{tmp_path}/x.db")
    svc = OrderService(repo, catalog=CAT)
    deal_id = None
    for msg in random_chat(random.Random(seed), 25):
        for o in svc.handle_many([msg]):
            deal_id = deal_id or o.deal_id
        if deal_id is None:
            continue
        held = holdings(svc, deal_id)
        assert all(0 <= q <= 5 for q in held.values()), held
        for it in CAT.items:
            if it.stock is not None:
                assert sum(q for (_, c), q in held.items() if c == it.code) <= it.stock
    if deal_id is not None:
        assert holdings(OrderService(repo, catalog=CAT), deal_id) == holdings(svc, deal_id)
    repo.close()
