"""Reading the configuration: a typed view of each TOML table, one reader per section.

Every problem raises :class:`bot.config.ConfigError` naming the file and the dotted key.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.catalog import CatalogError, catalog_from_dict
from bot.config import (
    ENV_TELEGRAM_SECRET,
    ENV_TELEGRAM_TOKEN,
    ENV_WEB_SECRET,
    ENV_WECHATY_ENDPOINT,
    ENV_WECHATY_TOKEN,
    PLATFORMS,
    SCHEDULE_KINDS,
    WEBHOOK_SECRET,
    AppConfig,
    BotConfig,
    ConfigError,
    ConsoleConfig,
    DealConfig,
    GroupConfig,
    ScheduleConfig,
    StoreConfig,
    TelegramConfig,
    WebConfig,
    WebhookConfig,
    WechatConfig,
    split_listen,
    webhook_port,
)
from bot.crontab import crontab_checked

_REQUIRED: Any = object()


class _Table:
    """One TOML table being read: typed getters that name ``prefix.key`` and the file on error."""

    def __init__(self, data: Any, where: str, prefix: str) -> None:
        self.where, self.prefix = where, prefix
        if not isinstance(data, dict):
            raise self.error("", "must be a table")
        self.data: dict[str, Any] = data
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix and key else (key or self.prefix)

    def error(self, key: str, why: str) -> ConfigError:
        return ConfigError(f"{self.where}: `{self.key(key)}` {why}")

    def get(self, key: str, types: tuple[type, ...], kind: str, default: Any, *, secret: bool = False) -> Any:
        """The key's value, checked against ``types``; a ``secret``'s value is never put in the error."""
        self.used.add(key)
        if key not in self.data:
            if default is _REQUIRED:
                raise self.error(key, "is missing")
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            shown = "" if secret else f" {value!r}"
            raise self.error(key, f"must be {kind}, not {type(value).__name__}{shown}")
        return value

    def text(self, key: str, default: Any = "", *, secret: bool = False) -> str:
        return self.get(key, (str,), "a string", default, secret=secret)

    def flag(self, key: str, default: bool) -> bool:
        return self.get(key, (bool,), "true or false", default)

    def whole(self, key: str, default: Any) -> int:
        return self.get(key, (int,), "a whole number", default)

    def number(self, key: str, default: float) -> float:
        return float(self.get(key, (int, float), "a number", default))

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.get(key, (list,), "a list of strings", list(default))
        if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
            raise self.error(key, "must be a list of strings")
        return tuple(str(v) for v in value)

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _REQUIRED) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def table(self, key: str) -> _Table:
        self.used.add(key)
        return _Table(self.data.get(key, {}), self.where, self.key(key))

    def tables(self, key: str) -> list[_Table]:
        value = self.get(key, (list,), "an array of tables ([[" + self.key(key) + "]])", [])
        return [_Table(v, self.where, f"{self.key(key)}[{n}]") for n, v in enumerate(value, 1)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], "is not a known key")


def _secret(t: _Table, key: str, env: str, enabled: bool, env_map: Mapping[str, str]) -> str:
    value = t.text(key, secret=True) or env_map.get(env, "")
    if enabled and not value:
        raise t.error(key, f"is missing (set it in the file or in the environment variable {env})")
    return value


MAX_ELECTION_RETRY = 15.0  # with the server's 11 s to notice a silent holder: a takeover within 30 s


def _store(t: _Table, base: Path | None) -> StoreConfig:
    url = t.text("url", StoreConfig().url, secret=True)
    if "://" not in url:
        shown = "" if "@" in url else f", not {url!r}"  # user:password@host is never echoed
        raise t.error("url", f"must be a database URL such as sqlite:///tuan.db{shown}")
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018  (a port that is no number fails here)
    except (ArgumentError, ValueError):
        raise t.error("url", "is not a valid database URL (check the host, the port and the brackets "
                             "around an IPv6 address)") from None
    retry = t.number("election_retry_seconds", StoreConfig().election_retry_seconds)
    if not 0 < retry <= MAX_ELECTION_RETRY:
        raise t.error("election_retry_seconds", f"must be more than 0 and at most {MAX_ELECTION_RETRY:g} "
                                                "(a dead scheduler is replaced within about this long)")
    t.done()
    moved = sqlite_next_to(parsed, base) if base is not None else None
    return StoreConfig(url=moved.render_as_string(hide_password=False) if moved is not None else url,
                       election_retry_seconds=retry)


def sqlite_next_to(url: URL, base: Path) -> URL | None:
    """``sqlite:///tuan.db`` read from ``/etc/tuan/tuan.toml`` → ``sqlite:////etc/tuan/tuan.db``;
    None when ``url`` stays as it is.

    A relative SQLite file path means a file next to the config file (docs/storage.md), whatever
    the current directory; absolute paths, ``:memory:`` and other databases are left as they are.
    """
    db = url.database
    if not url.drivername.startswith("sqlite") or not db or db == ":memory:" or db.startswith("file:"):
        return None
    if Path(db).is_absolute():
        return None
    return url.set(database=str((base / db).resolve()))


def _bot(t: _Table) -> BotConfig:
    tz = t.text("timezone", BotConfig().timezone)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise t.error("timezone", f"is not a known time zone: {tz!r}") from None
    minutes = t.number("digest_minutes", BotConfig().digest_minutes)
    if minutes < 0:
        raise t.error("digest_minutes", "must be ≥ 0")
    expiry = t.number("reply_expiry_seconds", BotConfig().reply_expiry_seconds)
    if expiry <= 0:
        raise t.error("reply_expiry_seconds", "must be more than 0")
    lease = t.number("outbox_lease_seconds", BotConfig().outbox_lease_seconds)
    if lease <= 0:
        raise t.error("outbox_lease_seconds", "must be more than 0")
    sweep = t.number("outbox_sweep_seconds", BotConfig().outbox_sweep_seconds)
    if not 0 < sweep <= lease / 2:
        raise t.error("outbox_sweep_seconds", "must be more than 0 and at most half of outbox_lease_seconds")
    batch_max = t.number("batch_max", BotConfig().batch_max)
    if batch_max != int(batch_max) or not 1 <= batch_max <= 1000:
        raise t.error("batch_max", "must be a whole number from 1 to 1000")
    cfg = BotConfig(timezone=tz, digest_minutes=minutes, leaders=t.strings("leaders"),
                    reply_expiry_seconds=expiry, outbox_lease_seconds=lease, outbox_sweep_seconds=sweep,
                    batch_max=int(batch_max))
    t.done()
    return cfg


def _console(t: _Table) -> ConsoleConfig:
    d = ConsoleConfig()
    cfg = ConsoleConfig(
        enabled=t.flag("enabled", d.enabled), chat=t.text("chat", d.chat), title=t.text("title", d.title),
        leaders=t.strings("leaders", d.leaders), reactions=t.flag("reactions", d.reactions),
    )
    t.done()
    return cfg


# Keys the Telegram adapter reads beyond the core's (adapters/telegram/config.py), with their types.
_TEXT = ((str,), "a string")
_FLAG = ((bool,), "true or false")
_WHOLE = ((int,), "a whole number")
_NUMBER = ((int, float), "a number")
_TELEGRAM_EXTRA = {"base_file_url": _TEXT, "local_mode": _FLAG, "poll_timeout": _WHOLE,
                   "admin_cache_seconds": _NUMBER, "rate_limit": _FLAG, "group_per_minute": _WHOLE,
                   "overall_per_second": _WHOLE, "ack_emoji": _TEXT, "max_attempts": _WHOLE, "retry_base": _NUMBER,
                   "ack_concurrency": _WHOLE, "send_expiry": _NUMBER, "max_in_flight": _WHOLE}


def _telegram(t: _Table, env: Mapping[str, str]) -> TelegramConfig:
    enabled = t.flag("enabled", False)
    mode = t.choice("mode", ("polling", "webhook"), "polling")
    w = t.table("webhook")
    dw = WebhookConfig()
    webhook = WebhookConfig(
        listen=w.text("listen", dw.listen), port=webhook_port(env, w.whole("port", dw.port)),
        path=w.text("path", dw.path),
        url=w.text("url", dw.url),
        secret_token=w.text("secret_token", secret=True) or env.get(ENV_TELEGRAM_SECRET, ""),
    )
    w.whole("max_connections", 1)
    if enabled and mode == "webhook":
        if not webhook.secret_token:
            raise w.error("secret_token", f"is missing (set it in the file or in {ENV_TELEGRAM_SECRET})")
        if not WEBHOOK_SECRET.fullmatch(webhook.secret_token):
            raise w.error("secret_token", "must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)")
    w.done()
    for key, (types, kind) in _TELEGRAM_EXTRA.items():
        t.get(key, types, kind, None)
    cfg = TelegramConfig(
        enabled=enabled, token=_secret(t, "token", ENV_TELEGRAM_TOKEN, enabled, env),
        base_url=t.text("base_url", TelegramConfig().base_url), mode=mode, webhook=webhook,
        leaders=t.strings("leaders"), raw=MappingProxyType(t.data),
    )
    t.done()
    return cfg


# Keys the WeChat adapter reads beyond the core's (adapters/wechat/config.py).
_WECHAT_EXTRA = {"tls": _FLAG, "tls_ca_file": _TEXT, "tls_server_name": _TEXT,
                 **{k: _NUMBER for k in ("connect_timeout", "login_timeout", "ping_interval", "ping_timeout",
                                         "reconnect_initial", "reconnect_max", "start_wait", "send_wait")}}


def _wechat(t: _Table, env: Mapping[str, str]) -> WechatConfig:
    enabled = t.flag("enabled", False)
    for key, (types, kind) in _WECHAT_EXTRA.items():
        t.get(key, types, kind, None)
    cfg = WechatConfig(
        enabled=enabled, endpoint=t.text("endpoint") or env.get(ENV_WECHATY_ENDPOINT, ""),
        token=_secret(t, "token", ENV_WECHATY_TOKEN, enabled, env), rooms=t.strings("rooms"),
        raw=MappingProxyType(t.data),
    )
    t.done()
    return cfg


def _group(t: _Table) -> GroupConfig:
    tz = t.text("timezone")
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise t.error("timezone", f"is not a known time zone: {tz!r}") from None
    points = t.strings("pickup_points")
    if any(not p.strip() for p in points):
        raise t.error("pickup_points", "must not hold an empty name")
    cfg = GroupConfig(
        id=t.text("id", _REQUIRED), platform=t.choice("platform", PLATFORMS), chat=t.text("chat", _REQUIRED),
        title=t.text("title"), leaders=t.strings("leaders"), timezone=tz,
        pickup_points=tuple(p.strip() for p in points),
    )
    t.done()
    return cfg


_ITEM_KEYS = {"code", "name", "unit", "price", "aliases", "stock"}


def _deal(t: _Table, group_ids: set[str]) -> DealConfig:
    deal_id = t.text("id", _REQUIRED)
    groups = t.strings("groups")
    if not groups:
        raise t.error("groups", "must name at least one [[groups]] id")
    for g in groups:
        if g not in group_ids:
            raise t.error("groups", f"names an unknown group {g!r}")
    raw: dict[str, Any] = {"title": t.text("title", deal_id)}
    for key in ("cutoff", "max_qty", "max_line_qty"):
        t.used.add(key)
        if key in t.data:
            raw[key] = t.data[key]
    items = t.tables("items")
    raw["items"] = []
    for it in items:
        unknown = sorted(set(it.data) - _ITEM_KEYS)
        if unknown:
            raise it.error(unknown[0], "is not a known key")
        if "price" in it.data and not isinstance(it.data["price"], (str, int)):
            raise it.error("price", 'must be a decimal string such as "29.9" (money is never a float)')
        raw["items"].append(it.data)
    t.done()
    try:
        catalog = catalog_from_dict(raw, where="")
    except CatalogError as e:
        # catalog_from_dict says ": `items[2].price` …"; put our prefix and file in front.
        m = re.match(r"^: `([^`]*)` (.*)$", str(e), re.S)
        key, why = (m.group(1), m.group(2)) if m else ("", str(e))
        raise t.error(key, why) from None
    return DealConfig(id=deal_id, groups=groups, catalog=catalog)


def _schedule(t: _Table, group_ids: set[str], tz: str) -> ScheduleConfig:
    group = t.text("group", _REQUIRED)
    if group not in group_ids:
        raise t.error("group", f"names an unknown group {group!r}")
    kind = t.choice("kind", SCHEDULE_KINDS)
    cron, at = t.text("cron"), t.text("time")
    if bool(cron) == bool(at):
        raise t.error("cron", "or `time` must be given, one of them (cron = \"0 20 * * *\" or time = \"20:00\")")
    if at:
        m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?", at)
        if not m:
            raise t.error("time", f'must be "HH:MM" (or "HH:MM:SS"), not {at!r}')
        cron = f"{int(m.group(2))} {int(m.group(1))} * * *"
        second = int(m.group(3) or 0)
    else:
        second = 0
    try:
        crontab_checked(cron, ZoneInfo(tz))
    except ValueError as e:
        raise t.error("cron", f"is not a valid crontab expression ({e})") from None
    cfg = ScheduleConfig(group=group, kind=kind, cron=cron, text=t.text("text"), second=second)
    t.done()
    return cfg


def _web(t: _Table, env: Mapping[str, str]) -> WebConfig:
    d = WebConfig()
    listen = t.text("listen", d.listen)
    try:
        split_listen(listen)
    except ValueError as e:
        raise t.error("listen", str(e)) from None
    proxies = t.strings("trusted_proxies", d.trusted_proxies)
    for p in proxies:
        try:
            ipaddress.ip_network(p.strip(), strict=False)
        except ValueError:
            raise t.error("trusted_proxies", f"must list IP addresses or networks, not {p!r}") from None
    cfg = WebConfig(enabled=t.flag("enabled", d.enabled), listen=listen,
                    secret=t.text("secret", secret=True) or env.get(ENV_WEB_SECRET, ""),
                    secure_cookies=t.flag("secure_cookies", d.secure_cookies),
                    trusted_proxies=tuple(p.strip() for p in proxies))
    t.done()
    return cfg


def _config_folder(where: str) -> Path | None:
    """The folder of the config file ``where`` names, or None for a config built in code."""
    path = Path(where)
    return path.resolve().parent if not where.startswith("<") and path.is_file() else None


def read_config(data: dict[str, Any], where: str, env: Mapping[str, str]) -> AppConfig:
    root = _Table(data, where, "")
    store = _store(root.table("store"), _config_folder(where))
    bot = _bot(root.table("bot"))
    console = _console(root.table("console"))
    telegram = _telegram(root.table("telegram"), env)
    wechat = _wechat(root.table("wechat"), env)
    web = _web(root.table("web"), env)
    groups = tuple(_group(t) for t in root.tables("groups"))
    ids = [g.id for g in groups]
    for n, gid in enumerate(ids, 1):
        if gid in ids[: n - 1]:
            raise ConfigError(f"{where}: `groups[{n}].id` repeats {gid!r}")
    chats = [g.chat_key for g in groups]
    for n, key in enumerate(chats, 1):
        if key in chats[: n - 1]:
            raise ConfigError(f"{where}: `groups[{n}].chat` repeats the chat of groups[{chats.index(key) + 1}] ({key})")
    deals = tuple(_deal(t, set(ids)) for t in root.tables("deals"))
    schedules = tuple(_schedule(t, set(ids), bot.timezone) for t in root.tables("schedules"))
    root.done()
    return AppConfig(source=where, store=store, bot=bot, console=console, telegram=telegram, wechat=wechat,
                     groups=groups, deals=deals, schedules=schedules, web=web)
