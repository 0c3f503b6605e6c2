"""The ``[telegram]`` config section, read into a frozen dataclass (fails fast, naming the key)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import WEBHOOK_SECRET, ConfigError, webhook_port

TOKEN_ENV = "TUAN_TELEGRAM_TOKEN"
SECRET_ENV = "TUAN_TELEGRAM_WEBHOOK_SECRET"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"


class TelegramConfigError(ValueError):
    """A ``[telegram]`` section that cannot be used; the message names the key."""


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Webhook mode: Telegram POSTs updates to ``url``; we listen on ``listen:port`` + ``path``.

    ``url`` may be empty: then this worker does not call setWebhook (one of several workers behind
    a load balancer, or the balancer's owner sets it once); ``max_connections`` only goes with it.
    """

    secret_token: str
    url: str = ""
    listen: str = "127.0.0.1"
    port: int = 8443
    path: str = "/telegram"
    max_connections: int = 1  # 1 keeps a chat's updates in order


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    token: str
    base_url: str = DEFAULT_BASE_URL
    base_file_url: str = "https://api.telegram.org/file/bot"
    local_mode: bool = False  # a self-hosted Bot API server started with --local
    mode: str = "polling"  # "polling" | "webhook"
    poll_timeout: int = 30  # seconds a getUpdates long poll may wait
    leaders: frozenset[str] = frozenset()  # user ids or "@username"s, leaders in every chat
    admin_cache_seconds: float = 600.0
    rate_limit: bool = True  # AIORateLimiter; tests and benchmarks may turn it off
    group_per_minute: int = 20
    overall_per_second: int = 30
    ack_emoji: str = "👌"  # Telegram's reaction set has no ✅; the core's ✅ becomes this
    ack_concurrency: int = 8  # reactions / callback answers in flight at once
    max_attempts: int = 5  # a failing update is retried this often, then skipped (logged)
    retry_base: float = 1.0  # first backoff, seconds; doubles per attempt
    send_expiry: float = 600.0  # seconds an outgoing call is retried before it is dropped (logged)
    max_in_flight: int = 1000  # updates being handled or waiting for their chat's turn, all chats together
    webhook: WebhookConfig | None = None


def _bot_url(url: str, kind: str) -> str:
    """Accept ``http://host:8081`` as well as ``http://host:8081/bot`` (PTB appends the token)."""
    url = url.strip()
    if "{token}" in url or url.endswith(f"/{kind}"):
        return url
    return url.rstrip("/") + f"/{kind}"


def _get(section: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    value = section.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if value is not None and not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TelegramConfigError(f"[telegram] `{key}` must be a {kind.__name__}, got {value!r}")
    return value


def _port(raw: Mapping[str, Any], env: Mapping[str, str]) -> int:
    try:
        return webhook_port(env, _get(raw, "port", int, 8443))
    except ConfigError as exc:
        raise TelegramConfigError(str(exc)) from None


def _webhook(section: Mapping[str, Any], env: Mapping[str, str]) -> WebhookConfig:
    raw = section.get("webhook", {})
    if not isinstance(raw, Mapping):
        raise TelegramConfigError("[telegram] `webhook` must be a table ([telegram.webhook])")
    url = _get(raw, "url", str, "")
    secret = env.get(SECRET_ENV) or _get(raw, "secret_token", str, "")
    if not secret:
        raise TelegramConfigError(f"[telegram.webhook] `secret_token` is missing (or set {SECRET_ENV})")
    if not WEBHOOK_SECRET.fullmatch(secret):
        raise TelegramConfigError("[telegram.webhook] `secret_token` must be 1-256 characters of A-Z a-z 0-9 _ -")
    path = _get(raw, "path", str, "/telegram")
    return WebhookConfig(
        url=url, secret_token=secret, listen=_get(raw, "listen", str, "127.0.0.1"),
        port=_port(raw, env), path=path if path.startswith("/") else "/" + path,
        max_connections=_get(raw, "max_connections", int, 1),
    )


def from_section(section: Mapping[str, Any], env: Mapping[str, str] | None = None) -> TelegramConfig:
    """Read ``[telegram]``; the token comes from ``TUAN_TELEGRAM_TOKEN`` or ``token``."""
    env = os.environ if env is None else env
    token = env.get(TOKEN_ENV) or _get(section, "token", str, "")
    if not token:
        raise TelegramConfigError(f"[telegram] `token` is missing (or set {TOKEN_ENV})")
    mode = _get(section, "mode", str, "polling")
    if mode not in ("polling", "webhook"):
        raise TelegramConfigError(f"[telegram] `mode` must be \"polling\" or \"webhook\", got {mode!r}")
    base_url = _bot_url(_get(section, "base_url", str, DEFAULT_BASE_URL), "bot")
    default_file_url = base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url
    leaders = _get(section, "leaders", list, [])
    send_expiry = _get(section, "send_expiry", float, 600.0)
    if send_expiry <= 0:
        raise TelegramConfigError(f"[telegram] `send_expiry` must be more than 0 seconds, got {send_expiry!r}")
    return TelegramConfig(
        token=token,
        base_url=base_url,
        base_file_url=_bot_url(_get(section, "base_file_url", str, default_file_url), "bot"),
        local_mode=_get(section, "local_mode", bool, False),
        mode=mode,
        poll_timeout=_get(section, "poll_timeout", int, 30),
        leaders=frozenset(str(x).strip().lower() for x in leaders),
        admin_cache_seconds=_get(section, "admin_cache_seconds", float, 600.0),
        rate_limit=_get(section, "rate_limit", bool, True),
        group_per_minute=_get(section, "group_per_minute", int, 20),
        overall_per_second=_get(section, "overall_per_second", int, 30),
        ack_emoji=_get(section, "ack_emoji", str, "👌"),
        ack_concurrency=max(1, _get(section, "ack_concurrency", int, 8)),
        max_attempts=max(1, _get(section, "max_attempts", int, 5)),
        retry_base=_get(section, "retry_base", float, 1.0),
        send_expiry=send_expiry,
        max_in_flight=max(1, _get(section, "max_in_flight", int, 1000)),
        webhook=_webhook(section, env) if mode == "webhook" else None,
    )
