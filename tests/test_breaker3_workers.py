"""Two workers on one store (breaker3): what one does between another's check and its write.

Each test runs the interleaving on purpose: the second worker's step is run inside the first
worker's, after its check and before its transaction, as two processes can order them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from adapters.base import Capabilities
from bot import messages as m
from bot.config import config_from_dict
from bot.context import Core
from bot.demo_script import demo_config
from bot.services.orders import OrderService
from storage.sql import SqlRepository, open_repository
from tests.pipeline import LEADER, make_pipeline

BUTTONS = Capabilities(buttons=True, edits=True, reactions=True, direct=True, files=True)


@pytest.fixture
def pg_repo(pg_url: str) -> Iterator[SqlRepository]:
    repo = open_repository(pg_url)
    yield repo
    repo.close()


def core_on(repo: SqlRepository) -> Core:
    """A worker's core: its own OrderService (its own cache) over the shared store."""
    config = config_from_dict(demo_config(chat="console"), "tuan.toml", env={})
    return Core(service=OrderService(repo), config=config, clock=lambda: datetime.now(UTC))


def open_rounds(repo: SqlRepository, chat_key: str) -> list[str]:
    with repo.engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT d.id FROM deals d JOIN deal_chats c ON c.deal_id = d.id "
            "WHERE c.chat_key = :ck AND d.status = 'open'"), {"ck": chat_key}).scalars())


# User sees: two `tuan run` workers started together on a new database open the configured deal twice;
# `tuan deals` and /history show a second "进行中" round that no /close or cutoff ever closes.
def test_two_workers_starting_at_once_open_one_round(pg_repo: SqlRepository) -> None:
    first, second = core_on(pg_repo), core_on(pg_repo)
    real_open = first.service.open_deal

    def open_after_the_other(*args: Any, **kw: Any) -> str:
        second.open_configured_deals()  # the other worker starts in between this one's check and its open
        return real_open(*args, **kw)

    first.service.open_deal = open_after_the_other  # type: ignore[method-assign]
    first.open_configured_deals()
    assert len(open_rounds(pg_repo, "console:console")) == 1


# Regression (held): started one after the other, the second worker keeps the first one's round.
def test_two_workers_starting_one_after_the_other_share_the_round(pg_repo: SqlRepository) -> None:
    first, second = core_on(pg_repo), core_on(pg_repo)
    opened = first.open_configured_deals()
    assert second.open_configured_deals() == []
    assert open_rounds(pg_repo, "console:console") == opened


# User sees: a +1 pressed on yesterday's card lands in today's round when another worker's /close and
# /deal commit between this worker's "is the card's deal still open" check and the press.
async def test_a_press_on_a_card_whose_round_was_replaced_meanwhile_orders_nothing(sqlite_url: str) -> None:
    repo = open_repository(sqlite_url)
    p = await make_pipeline(BUTTONS, repo=repo)
    try:
        await p.chat.push("/deal", sender=LEADER)
        card = p.chat.pop()
        old = p.deal_id
        other = OrderService(repo)  # another worker on the same store
        real_press = p.core.service.press

        def press_after_a_new_round(press: Any) -> Any:
            other.close_deal(old)
            other.open_deal(other.catalog_of(old), ["fake:g1"], title="明天团")
            return real_press(press)

        p.core.service.press = press_after_a_new_round  # type: ignore[method-assign]
        await p.chat.press_on(card, "add", "1", sender="王姐")
        assert p.deal_id != old
        assert p.stored() == {}  # today's round: nothing of yesterday's card
    finally:
        await p.close()
        repo.close()


# Regression (held): a press on a card of a closed round, with no new round, is refused and counts nothing.
async def test_a_press_on_a_closed_rounds_card_changes_nothing(sqlite_url: str) -> None:
    repo = open_repository(sqlite_url)
    p = await make_pipeline(BUTTONS, repo=repo)
    try:
        await p.chat.push("/deal", sender=LEADER)
        card = p.chat.pop()
        await p.chat.push("/close", sender=LEADER)
        p.chat.pop_all()
        said = await p.chat.press_on(card, "add", "1", sender="王姐")
        assert said != m.PRESS_UNKNOWN and p.stored() == {}
    finally:
        await p.close()
        repo.close()


# User sees: 阳光花园's leader runs a 蔬菜团 round (tuan deal open) with orders; 幸福里's leader types
# /deal in his own group, and 阳光花园's round is gone from its chat: 李姐's 青菜 vanishes from
# /tally there, and the next "青菜1" is answered 没找到"青菜".
async def test_deal_in_one_group_leaves_another_groups_open_round_alone() -> None:
    from decimal import Decimal

    from adapters.fake import sender_id_of
    from bot.catalog import Catalog, Item
    from bot.demo_script import sample_deal

    home_leader = "幸福里团长"
    config = config_from_dict({
        "bot": {"digest_minutes": 0},
        "groups": [{"id": "home", "platform": "fake", "chat": "g1", "title": "幸福里",
                    "leaders": [sender_id_of(home_leader)]},
                   {"id": "park", "platform": "fake", "chat": "g2", "title": "阳光花园"}],
        "deals": [{**sample_deal(egg_stock=50), "groups": ["home", "park"]}],
    }, "test.toml", env={})
    p = await make_pipeline(BUTTONS, config=config)
    try:
        svc = p.core.service
        shared = svc.deal_of("fake:g1")
        assert shared is not None
        svc.close_deal(shared.id)  # yesterday's shared round is over
        veg = Catalog(items=(Item("1", "上海青", "斤", Decimal("3.5"), aliases=("青菜",)),))
        park_round = svc.open_deal(veg, ["fake:g2"], title="蔬菜团", source="cli")
        await p.chat.push("青菜2", sender="李姐", chat_id="g2")
        assert svc.sender_totals("fake:g2", sender_id_of("李姐")) == {"1": 2}
        await p.chat.push("/deal", sender=home_leader, chat_id="g1")
        park = svc.deal_of("fake:g2")
        assert park is not None and park.id == park_round
    finally:
        await p.close()
