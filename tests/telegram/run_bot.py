"""The bot as its own process, for the crash test: ``python -m tests.telegram.run_bot URL TOKEN DB``.

``--die-after N`` kills the process (SIGKILL, no cleanup) right after the N-th order was
committed, before it is acknowledged: the worst moment for exactly-once.
``--settings JSON`` passes keyword arguments to ``tests.telegram.stack.build`` (``chats``, and
``[telegram]`` keys such as ``mode`` and ``webhook``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

from bot.services.outcome import Outcome
from storage.sql import open_repository
from tests.telegram.stack import build


def dying(handle: Callable[..., Outcome], counter: list[int], after: int) -> Callable[..., Outcome]:
    def wrapper(*args: Any, **kwargs: Any) -> Outcome:
        outcome = handle(*args, **kwargs)
        if outcome.changed:
            counter[0] += 1
            if counter[0] == after:
                os.kill(os.getpid(), signal.SIGKILL)
        return outcome
    return wrapper


async def main(base_url: str, token: str, db: str, die_after: int, settings: dict[str, Any]) -> None:
    repo = open_repository(db)
    stack = build(repo, base_url, token, **{"poll_timeout": 2, **settings})
    if die_after:
        service, counter = stack.core.service, [0]
        service.handle = dying(service.handle, counter, die_after)  # type: ignore[method-assign]
        service.press = dying(service.press, counter, die_after)  # type: ignore[method-assign]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stack.start()
    await stop.wait()
    await stack.stop()
    repo.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("db")
    parser.add_argument("--die-after", type=int, default=0)
    parser.add_argument("--settings", default="{}", help="JSON: keyword arguments of stack.build")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(process)d %(levelname)s %(name)s: %(message)s")
    asyncio.run(main(args.base_url, args.token, args.db, args.die_after, json.loads(args.settings)))
