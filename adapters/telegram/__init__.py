"""Telegram adapter (python-telegram-bot 22). See docs/telegram.md."""

import os

# Opt in to PTB's timedelta time periods (the v23 behaviour). Without it, PTB 22.2+ warns each
# time a RetryAfter is raised (its constructor reads the deprecated int attribute). Our code takes
# either form; an explicit PTB_TIMEDELTA in the environment is respected.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from adapters.telegram.adapter import TelegramAdapter, create  # noqa: E402

__all__ = ["TelegramAdapter", "create"]
