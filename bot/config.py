"""The run configuration: one TOML file read into frozen dataclasses, one section per part.

Every problem (unknown key, missing key, wrong type) raises :class:`ConfigError` whose
message names the file and the key, e.g. ``tuan.toml: `telegram.mode` must be one of …``.
Secrets may come from the environment instead of the file (see ``ENV_*``).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.catalog import Catalog

ENV_TELEGRAM_TOKEN = "TUAN_TELEGRAM_TOKEN"
ENV_TELEGRAM_SECRET = "TUAN_TELEGRAM_WEBHOOK_SECRET"  # the webhook's secret_token, checked on every request
# The webhook port of this worker, over the file's: several workers on one machine share one config file.
ENV_TELEGRAM_WEBHOOK_PORT = "TUAN_TELEGRAM_WEBHOOK_PORT"
# What setWebhook accepts as ``secret_token``; checked at start-up, since without ``url`` it is never sent.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

ENV_WECHATY_ENDPOINT = "WECHATY_PUPPET_SERVICE_ENDPOINT"
ENV_WECHATY_TOKEN = "WECHATY_PUPPET_SERVICE_TOKEN"
PLATFORMS = ("console", "telegram", "wechat", "fake")  # "fake": the in-memory test adapter
SCHEDULE_KINDS = ("deal_card", "reminder", "cutoff", "pickup", "unpicked", "purchase")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""


def webhook_port(env: Mapping[str, str], default: int) -> int:
    """``TUAN_TELEGRAM_WEBHOOK_PORT`` when set, else ``default``.

    Raises :class:`ConfigError` naming the variable when it is not a port number (0-65535; 0 is
    any free port, as in the file).
    """
    raw = env.get(ENV_TELEGRAM_WEBHOOK_PORT, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 65535:
        raise ConfigError(f"the environment variable {ENV_TELEGRAM_WEBHOOK_PORT} must be a port number, "
                          f"not {raw!r}")
    return int(raw)


@dataclass(frozen=True, slots=True)
class StoreConfig:
    url: str = "sqlite:///tuan.db"
    # PostgreSQL with several workers: how often a follower tries to take the scheduler's role
    # (and the leader checks it still holds it), in seconds.
    election_retry_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class BotConfig:
    timezone: str = "Asia/Shanghai"
    digest_minutes: float = 5.0
    leaders: tuple[str, ...] = ()  # sender ids that lead every group
    # An acknowledgement or answer committed but not delivered (the process was killed) is delivered
    # at the next start-up while younger than this; older ones are dropped and logged.
    reply_expiry_seconds: float = 600.0
    # A worker holds the effects it committed (or claimed) this long while it delivers them; once
    # the lease ends, any worker's sweeper (every outbox_sweep_seconds) takes what is left.
    outbox_lease_seconds: float = 60.0
    outbox_sweep_seconds: float = 5.0
    # Group commit: order messages queued while the service is busy are handled together, at most
    # this many in one transaction (bot/batcher.py); 1 commits each message alone.
    batch_max: int = 100

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    enabled: bool = True
    chat: str = "console"
    title: str = "Tuan 控制台群"
    leaders: tuple[str, ...] = ("团长",)  # names that speak as leaders
    reactions: bool = True


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    listen: str = "127.0.0.1"
    port: int = 8443
    path: str = "/telegram"
    url: str = ""  # the public URL Telegram posts to; "" = this worker does not call setWebhook
    secret_token: str = ""


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """The keys the core reads; ``raw`` (the checked TOML table) goes to ``adapters.telegram.create``."""

    enabled: bool = False
    token: str = ""
    base_url: str = "https://api.telegram.org/bot"
    mode: str = "polling"  # "polling" | "webhook"
    webhook: WebhookConfig = WebhookConfig()
    leaders: tuple[str, ...] = ()  # Telegram user ids or @usernames
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class WechatConfig:
    enabled: bool = False
    endpoint: str = ""
    token: str = ""
    rooms: tuple[str, ...] = ()  # room ids to serve; empty: every room the bot is in
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class GroupConfig:
    id: str
    platform: str
    chat: str
    title: str = ""
    leaders: tuple[str, ...] = ()
    timezone: str = ""  # the group's time zone; "" = [bot] timezone
    pickup_points: tuple[str, ...] = ()  # where residents collect their goods (自提点)

    @property
    def chat_key(self) -> str:
        return f"{self.platform}:{self.chat}"


@dataclass(frozen=True, slots=True)
class DealConfig:
    id: str
    groups: tuple[str, ...]
    catalog: Catalog

    @property
    def title(self) -> str:
        return self.catalog.title


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    group: str
    kind: str
    cron: str  # a crontab expression; ``time = "HH:MM"`` becomes "M H * * *"
    text: str = ""
    second: int = 0  # ``time = "HH:MM:SS"``: the second within the minute (crontab has none)


def schedule_id_base(group: str, kind: str, cron: str, second: int = 0) -> str:
    """The id a schedule's job and its sent marks carry, before any ``#2`` for a repeat.

    ``group:kind:<cron fields joined by _>``, with ``+<second>s`` only when ``second`` is not 0
    (``home:cutoff:0_21_*_*_*``, ``home:cutoff:0_21_*_*_*+30s``). The same for a schedule from the
    config file and one added with ``tuan schedule add``; it must not change across releases, or a
    restarted bot would post again what it already posted (the sent mark is keyed by it).
    """
    return f"{group}:{kind}:{'_'.join(cron.split())}" + (f"+{second}s" if second else "")


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The web dashboard (bot/web/): served by `tuan web`, and by `tuan run` when ``enabled``."""

    enabled: bool = False
    listen: str = "127.0.0.1:8080"  # host:port
    secret: str = ""  # signs session cookies; "" = TUAN_WEB_SECRET, else a random one per process
    secure_cookies: bool = False  # Secure cookies even on plain http (behind a TLS proxy); https always sets it
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (``"127.0.0.1"``, ``"10.0.0.0/8"``) of the reverse proxies whose
    ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed; empty: none (the peer's own address)."""


ENV_WEB_SECRET = "TUAN_WEB_SECRET"


def split_listen(listen: str) -> tuple[str, int]:
    """``"host:port"`` (an IPv6 host in brackets: ``"[::1]:8080"``) as (host without brackets, port
    1..65535). Raises ValueError ('must be "host:port", not ...') for anything else: ``[web] listen``
    and ``tuan web --listen`` both check it here."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host.strip("[]") or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ValueError(f'must be "host:port", not {listen!r}')
    return host.strip("[]"), int(port)


@dataclass(frozen=True, slots=True)
class AppConfig:
    source: str = "<defaults>"
    store: StoreConfig = StoreConfig()
    bot: BotConfig = BotConfig()
    console: ConsoleConfig = ConsoleConfig()
    telegram: TelegramConfig = TelegramConfig()
    wechat: WechatConfig = WechatConfig()
    groups: tuple[GroupConfig, ...] = ()
    deals: tuple[DealConfig, ...] = ()
    schedules: tuple[ScheduleConfig, ...] = ()
    web: WebConfig = WebConfig()

    def group(self, group_id: str) -> GroupConfig | None:
        return next((g for g in self.groups if g.id == group_id), None)

    def group_of_chat(self, chat_key: str) -> GroupConfig | None:
        return next((g for g in self.groups if g.chat_key == chat_key), None)

    def deal_of_chat(self, chat_key: str) -> DealConfig | None:
        group = self.group_of_chat(chat_key)
        if group is None:
            return None
        return next((d for d in self.deals if group.id in d.groups), None)

    def leaders_of(self, chat_key: str) -> frozenset[str]:
        """Sender ids that lead this chat (from ``[bot]``, the platform section and the group)."""
        platform = chat_key.split(":", 1)[0]
        ids = set(self.bot.leaders)
        if platform == "telegram":
            ids.update(self.telegram.leaders)
        group = self.group_of_chat(chat_key)
        if group is not None:
            ids.update(group.leaders)
        return frozenset(ids)


def config_from_dict(data: dict[str, Any], where: str = "<config>",
                     env: Mapping[str, str] | None = None) -> AppConfig:
    """Build the configuration from parsed TOML; ``env`` supplies secrets (default: os.environ)."""
    from bot.config_read import read_config

    return read_config(data, where, os.environ if env is None else env)


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> AppConfig:
    """Read and check the TOML file at ``path``; relative SQLite paths in it resolve against its folder.

    Raises :class:`ConfigError` (one line naming the file, and the key where there is one) when the
    file is missing, unreadable, empty, not TOML, or holds a missing, unknown or wrongly typed key.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file (copy config.example.toml to start)") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a folder, not a TOML file") from None
    except PermissionError:
        raise ConfigError(f"{p}: cannot be read (permission denied)") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot be read ({e.strerror or type(e).__name__})") from None
    if not text.strip():
        raise ConfigError(f"{p}: the file is empty (copy config.example.toml to start)")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    return config_from_dict(data, str(p), env)
