"""Secrets never reach an output: one redaction filter for every log record, and for the errors
printed at start-up and at exit.

:func:`install` registers the run's secrets (Telegram token and webhook secret, WeChat puppet
token, the store URL's passwords: :func:`secrets_of`) and puts :class:`RedactFilter` on every
log record the process creates (through the record factory, so loggers with handlers of their
own and records that propagate are covered alike; the root handlers get it too), and a redacting
``sys.excepthook``. :func:`text` redacts any other text about to be shown (errors in the console
chat, ``tuan: …`` lines on stderr).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus

from bot.config import AppConfig

MASK = "***"
MIN_LENGTH = 4  # shorter "secrets" would mask ordinary text and protect nothing

_secrets: tuple[str, ...] = ()
_installed: RedactFilter | None = None


def _variants(secret: str) -> set[str]:
    """A secret as it may appear: as is, URL-encoded, and a Telegram token's secret half alone."""
    out = {secret, quote(secret, safe=""), quote_plus(secret)}
    head, sep, tail = secret.partition(":")
    if sep and head.isdigit() and len(tail) >= MIN_LENGTH:  # "<bot id>:<secret>": the id is public
        out.add(tail)
    return {s for s in out if len(s) >= MIN_LENGTH}


def secrets_of(config: AppConfig) -> list[str]:
    """Every secret a configuration holds (from the file or the environment)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from bot.store_url import passwords

    found = [config.telegram.token, config.telegram.webhook.secret_token, config.wechat.token, config.web.secret]
    try:
        found.extend(passwords(make_url(config.store.url)))
    except (ArgumentError, ValueError):
        pass
    return [s for s in found if s]


def register(secrets: Iterable[str]) -> None:
    """Add secrets to mask (longest first, so a secret containing another is masked whole)."""
    global _secrets
    more = {v for s in secrets if s for v in _variants(s)}
    _secrets = tuple(sorted(set(_secrets) | more, key=len, reverse=True))


def text(value: str) -> str:
    """``value`` with every registered secret replaced by ``***``."""
    for secret in _secrets:
        if secret in value:
            value = value.replace(secret, MASK)
    return value


class RedactFilter(logging.Filter):
    """Masks secrets in a record's message (arguments merged in), its exception and stack text."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets or getattr(record, "_tuan_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it when the record is emitted
            return True
        clean = text(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = text(record.exc_text)
        if record.stack_info:
            record.stack_info = text(record.stack_info)
        record._tuan_redacted = True
        return True


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    sys.stderr.write(text("".join(traceback.format_exception(kind, value, tb))))


def install(secrets: Iterable[str] = ()) -> RedactFilter:
    """Register ``secrets`` and redact every log record and uncaught exception from now on (idempotent)."""
    global _installed
    register(secrets)
    if _installed is None:
        _installed = RedactFilter()
        previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
        keep = _installed

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            keep.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        sys.excepthook = _excepthook
    for handler in logging.getLogger().handlers:
        if _installed not in handler.filters:
            handler.addFilter(_installed)
    return _installed
