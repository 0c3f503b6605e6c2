"""Build Bot API update JSON as Telegram would send it, and inject it into the fake server."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from tests.telegram.fake_bot_api import FakeBotApi

_query_ids = itertools.count(1)


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            out["username"] = self.username
        if self.last_name:
            out["last_name"] = self.last_name
        return out


def residents(n: int, start: int = 1001) -> list[Person]:
    return [Person(start + i, f"邻居{i + 1}") for i in range(n)]


class Chat:
    """A group (negative id) or a private chat (positive id) on the fake server."""

    def __init__(self, api: FakeBotApi, chat_id: int = -1001234567890, title: str = "阳光花园团购群") -> None:
        self.api = api
        self.id = chat_id
        if chat_id < 0:
            self.json: dict[str, Any] = {"id": chat_id, "type": "supergroup", "title": title}
        else:
            self.json = {"id": chat_id, "type": "private", "first_name": title}
        api.chats[chat_id] = self.json

    def message(self, who: Person | None, text: str | None, **extra: Any) -> dict[str, Any]:
        msg: dict[str, Any] = {"message_id": self.api.message_id(self.id), "date": int(time.time()),
                               "chat": self.json, **extra}
        if who is not None:
            msg["from"] = who.json()
        if text is not None:
            msg["text"] = text
        self.api.user_messages[(self.id, msg["message_id"])] = msg
        return msg

    def say(self, who: Person | None, text: str | None, *, reply_to: int | None = None, **extra: Any) -> int:
        """Inject a new message; returns its message id."""
        if reply_to is not None:
            extra["reply_to_message"] = self.api.bot_messages.get((self.id, reply_to)) or self.api.user_messages[
                (self.id, reply_to)]
        msg = self.message(who, text, **extra)
        self.api.inject({"message": msg})
        return int(msg["message_id"])

    def edit(self, message_id: int, text: str) -> int:
        """The sender edits a message; returns the update id."""
        original = self.api.user_messages[(self.id, message_id)]
        edited = {**original, "text": text, "edit_date": int(time.time())}
        return self.api.inject({"edited_message": edited})

    def press(self, who: Person, card_message_id: int, data: str) -> str:
        """Press an inline button on a bot message; returns the callback query id."""
        query_id = str(next(_query_ids))
        card = self.api.bot_messages.get((self.id, card_message_id)) or {
            "message_id": card_message_id, "date": 0, "chat": self.json}
        self.api.inject({"callback_query": {"id": query_id, "from": who.json(), "chat_instance": "ci",
                                            "message": card, "data": data}})
        return query_id
