"""Exactly once across a crash: the bot process is SIGKILLed in a burst of 200 orders and restarted.

The fake Bot API runs in the test process, so it survives the bot; like Telegram it redelivers
every update the killed process had fetched but not confirmed. Every committed order is
acknowledged in the end: its ✅ was committed with it (the outbox) and is delivered after the
restart if the killed process had not.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.sql import open_repository
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import CHAT_ID, egg_card, stored
from tests.telegram.updates import Chat, residents

ROOT = Path(__file__).resolve().parents[2]
TEXTERS, PRESSERS = 160, 40


async def spawn(api: FakeBotApi, db: str, log: Path, *extra: str) -> asyncio.subprocess.Process:
    with log.open("ab") as err:  # the child keeps its own copy of the descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.telegram.run_bot", api.base_url, api.token, db, *extra,
            cwd=ROOT, stderr=err,
        )


def burst(api: FakeBotApi, db: str) -> tuple[list[int], list[int], dict[str, dict[str, int]]]:
    """200 orders at once: 160 by text, then 40 by the card's buttons.

    Returns the update ids, the text orders' message ids and the expected store.
    """
    group = Chat(api, CHAT_ID)
    repo = open_repository(db)
    try:
        card = egg_card(api, repo)
    finally:
        repo.close()
    data = api.bot_messages[(CHAT_ID, card)]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    people = residents(TEXTERS + PRESSERS)
    expected: dict[str, dict[str, int]] = {}
    said = []
    for n, who in enumerate(people[:TEXTERS]):
        qty = n % 3 + 1
        said.append(group.say(who, f"葡萄{qty}"))
        expected[str(who.id)] = {"1": qty}
    for who in people[TEXTERS:]:
        group.press(who, card, data)
        expected[str(who.id)] = {"4": 1}
    return [u["update_id"] for u in api.updates], said, expected


def acknowledged(api: FakeBotApi) -> int:
    return len(api.calls_to("setMessageReaction")) + len(api.calls_to("answerCallbackQuery"))


def all_acknowledged(api: FakeBotApi, db: str, said: list[int]) -> None:
    """Every text order got its ✅ (at least once: setting the same reaction again shows nothing new),
    and the outbox is empty: every effect was delivered and marked."""
    reactions = Counter(int(c.params["message_id"]) for c in api.calls_to("setMessageReaction"))
    missing = [mid for mid in said if reactions[mid] < 1]
    assert not missing, f"{len(missing)} committed orders never got their ✅: {missing[:10]}"
    repo = open_repository(db)
    try:
        assert repo.pending_effects(datetime.now(UTC) + timedelta(days=1)) == []
    finally:
        repo.close()


async def finish(api: FakeBotApi, db: str, log: Path, last: int) -> None:
    """Restart the bot, let it work through what is left, stop it cleanly."""
    proc = await spawn(api, db, log)
    try:
        await api.wait_for(lambda: api.confirmed > last, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0, log.read_text()


async def test_sigkill_in_a_burst_then_restart(api: FakeBotApi, tmp_path: Path) -> None:
    db, log = f"sqlite:///{tmp_path / 'tuan.db'}", tmp_path / "bot.log"
    ids, said, expected = burst(api, db)
    proc = await spawn(api, db, log)
    await api.wait_for(lambda: acknowledged(api) >= 60, timeout=60)
    proc.kill()
    assert await proc.wait() == -signal.SIGKILL
    assert api.confirmed <= ids[-1]  # killed mid-burst: updates remain for the next process
    await finish(api, db, log, ids[-1])
    repo = open_repository(db)
    try:
        assert stored(repo) == expected
    finally:
        repo.close()
    assert max(api.delivered[i] for i in ids) >= 2  # Telegram did redeliver some
    all_acknowledged(api, db, said)


async def test_killed_between_commit_and_acknowledgement(api: FakeBotApi, tmp_path: Path) -> None:
    db, log = f"sqlite:///{tmp_path / 'tuan.db'}", tmp_path / "bot.log"
    ids, said, expected = burst(api, db)
    proc = await spawn(api, db, log, "--die-after", "77")
    assert await asyncio.wait_for(proc.wait(), 60) == -signal.SIGKILL
    acked = {int(c.params["message_id"]) for c in api.calls_to("setMessageReaction")}
    assert len(acked) <= 76 and said[76] not in acked  # committed, never acknowledged
    await finish(api, db, log, ids[-1])
    repo = open_repository(db)
    try:
        assert stored(repo) == expected
    finally:
        repo.close()
    # redelivered after the restart (polls while an earlier update is in hand return it again, too)
    assert api.delivered[ids[76]] >= 2
    all_acknowledged(api, db, said)  # said[76] included: its ✅ came from the outbox
