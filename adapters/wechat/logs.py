"""Route python-wechaty's loggers into ours, quieter, and never with the token in them.

wechaty's ``get_logger`` gives each module logger its own stderr handler at INFO, with
``propagate = False`` (so the application's logging config never sees them), and
``PuppetService`` logs the token in a warning when both endpoint and token are set.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

SDK_LOGGERS = (
    "Wechaty", "PuppetService", "WechatyPuppet", "WechatyPuppetServiceConfig", "WechatyPuppet.Schema.Base",
    "WechatyPuppet.Schemas.Event", "Message", "Room", "Contact", "ContactSelf", "FriendShip", "Favorite",
    "Image", "MiniProgram", "RoomInvitation", "Tag", "UrlLink", "Accessory", "Config", "FileBox",
)


class Redact(logging.Filter):
    """Replaces each secret in a record's message with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def tame_sdk_loggers(secrets: Iterable[str]) -> None:
    """After ``wechaty`` is imported: propagate its logs, at WARNING unless ``WECHATY_LOG`` says otherwise."""
    level = None if os.environ.get("WECHATY_LOG") else logging.WARNING
    redactor = Redact(secrets)
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        if level is not None:
            logger.setLevel(level)
        for old in [f for f in logger.filters if isinstance(f, Redact)]:
            logger.removeFilter(old)
        logger.addFilter(redactor)
