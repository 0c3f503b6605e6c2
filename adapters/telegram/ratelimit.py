"""Flood limits: PTB's ``AIORateLimiter``, with the per-group budget kept for messages.

``AIORateLimiter`` charges every call that names a ``chat_id`` to that group's 20-a-minute
budget, reactions and ``getChatAdministrators`` included; a burst of 200 orders would then take
ten minutes to acknowledge. Telegram's per-group limit is about messages, so here only sends and
edits use it; every chat call still counts towards the overall 30 a second.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import AIORateLimiter

JSONDict = dict[str, Any]

GROUP_LIMITED = frozenset({
    "sendMessage", "sendDocument", "sendPhoto", "sendMediaGroup", "copyMessage", "forwardMessage",
    "editMessageText", "editMessageReplyMarkup", "editMessageCaption",
})


class TuanRateLimiter(AIORateLimiter):
    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        if endpoint not in GROUP_LIMITED and data.get("chat_id") is not None:
            # ``data`` only steers the limiter (``args`` carries the request): chat id 0 means
            # "a chat, but no group", i.e. the overall limit alone.
            data = {"chat_id": 0}
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


def rate_limiter(enabled: bool, group_per_minute: int, overall_per_second: int) -> TuanRateLimiter | None:
    if not enabled:
        return None
    return TuanRateLimiter(
        overall_max_rate=overall_per_second, overall_time_period=1,
        group_max_rate=group_per_minute, group_time_period=60, max_retries=0,
    )
