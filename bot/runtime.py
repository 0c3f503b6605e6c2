"""`tuan run`: the store, the order service, the adapters and the scheduler in one event loop.

Shutdown (Ctrl-C, SIGTERM, the console's end of input, or its output closed): stop receiving,
finish the messages being handled (each is committed before it is acknowledged), stop the
scheduler after its running jobs, close the store.

A console whose output's reader went away (``tuan run | head``) has no participant left: the bot
shuts down as at the end of input, then :func:`serve` raises :class:`BrokenPipeError` (``tuan``
exits 141, quietly: bot/cli.py ``main``). Without the console nothing of the bot writes to stdout,
and a log record that cannot be written to a closed stderr is dropped by :mod:`logging` (its
``Handler.handleError`` ignores the failed write): the platforms go on being served.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from adapters.base import Adapter
from bot import redact
from bot.config import (
    ENV_TELEGRAM_SECRET,
    ENV_TELEGRAM_TOKEN,
    ENV_WECHATY_TOKEN,
    AppConfig,
    ConfigError,
    config_from_dict,
    load_config,
)
from bot.context import Core
from bot.dispatch import Dispatcher
from bot.election import Lease
from bot.ports import Repository, StoreUnavailable
from bot.scheduler import BotScheduler, JobSpec, StoreMarks, job_specs
from bot.services.orders import OrderService
from bot.store_url import shown_text
from bot.usecases.platform_data import ConfigDirectory, LeaderDirectory, StoreDirectory, import_config

log = logging.getLogger(__name__)

# Platform adapters written as packages of their own; imported only when enabled.
# ``create(section, app_config) -> Adapter``: ``section`` is the section's dataclass (e.g.
# :class:`bot.config.TelegramConfig`, whose ``raw`` holds the checked TOML table with the
# adapter's own keys), ``app_config`` the whole :class:`bot.config.AppConfig`.
ADAPTERS = {"telegram": "adapters.telegram:create", "wechat": "adapters.wechat:create"}


def open_store(config: AppConfig) -> Repository:
    from storage.sql import open_repository

    try:
        return open_repository(config.store.url)
    except Exception as e:
        raise ConfigError(f"{config.source}: `store.url` cannot be opened: {' '.join(str(e).split())}") from None


def load_factory(name: str, config: AppConfig) -> Callable[[Any, AppConfig], Adapter]:
    module_name, _, attr = ADAPTERS[name].partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as e:
        raise ConfigError(
            f"{config.source}: `{name}.enabled` is true but the {name} adapter cannot be loaded ({e})"
        ) from None


class StartError(RuntimeError):
    """An adapter could not start (network, token): reported without a traceback."""


def files_dir(config: AppConfig) -> Path:
    """Where the console writes files (exports): ``tuan-files`` next to a SQLite store, else in the
    current directory."""
    url = config.store.url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///")).expanduser().resolve().parent / "tuan-files"
    return Path.cwd() / "tuan-files"


def build_adapters(config: AppConfig, *, on_eof: Callable[[], None]) -> list[Adapter]:
    """The enabled adapters, the console last (so its prompt appears once the others are up)."""
    adapters: list[Adapter] = []
    for name in ADAPTERS:
        section = getattr(config, name)
        if section.enabled:
            factory = load_factory(name, config)
            try:
                adapters.append(factory(section, config))
            except ValueError as e:  # the adapter's own config check (it names the key)
                raise ConfigError(f"{config.source}: {e}") from None
    if config.console.enabled:
        from adapters.console import ConsoleAdapter

        adapters.append(ConsoleAdapter(config.console, on_eof=on_eof, files_dir=files_dir(config)))
    if not adapters:
        raise ConfigError(f"{config.source}: `console.enabled` is false and no other adapter is enabled")
    return adapters


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Any:
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def log_startup(config: AppConfig, adapters: list[Adapter]) -> None:
    """At INFO: the store, the platforms and the groups served (so an operator can tell what runs)."""
    log.info("config: %s", config.source)
    log.info("store: %s", safe_url(config.store.url))
    log.info("platforms: %s", ", ".join(a.name for a in adapters) or "none")
    if not config.groups:
        log.info("groups: none configured; add [[groups]] with the chat id logged for each unknown chat")
    for g in config.groups:
        log.info("group %s: %s:%s %s", g.id, g.platform, g.chat, g.title)
    log.info("deals: %s; schedules: %d", ", ".join(d.id for d in config.deals) or "none", len(config.schedules))


def safe_url(url: str) -> str:
    """A store URL fit for a log line: its passwords, if any, masked (:func:`bot.store_url.shown_text`)."""
    return shown_text(url)


def import_platform_data(repo: Repository, config: AppConfig) -> LeaderDirectory:
    """Import the config's groups, leaders and deal items into the store (each change logged); the
    directory permissions ask. A store that is not SQL (tests) keeps the config's leaders."""
    engine = getattr(repo, "engine", None)
    if engine is None:
        return ConfigDirectory(config)
    from storage.platform import SqlPlatformStore

    store = SqlPlatformStore(engine)
    import_config(store, config)
    return StoreDirectory(store)


def schedules_of(repo: Repository, config: AppConfig) -> list[JobSpec]:
    """The scheduler's jobs: the store's schedules (tuan.toml's imported first; `tuan schedule add`
    adds more), or tuan.toml's alone for a store that is not SQL (tests)."""
    engine = getattr(repo, "engine", None)
    if engine is None:
        return job_specs(config)
    from bot.usecases.schedules import scheduled_jobs
    from storage.operators import SqlOperatorStore

    return scheduled_jobs(SqlOperatorStore(engine), config, datetime.now(UTC))


async def show_revised_cards(core: Core, revised: dict[str, list[str]]) -> None:
    """Show the card of each deal that tuan.toml changed again, in each of its chats."""
    from bot.commands import show_revised_card

    for chats in revised.values():
        for chat_key in chats:
            try:
                await show_revised_card(core, chat_key)
            except Exception:
                log.exception("showing the revised deal card in %s failed", chat_key)


SWEEP_GRACE_SECONDS = 5.0  # at a stop, how long the outbox sweep under way may still take


def sole_store(config: AppConfig) -> bool:
    """Whether this process alone serves the store (SQLite, guarded by ``storage.guard``): outbox
    rows another worker id holds are then a former run's, taken at once at start-up."""
    return config.store.url.startswith("sqlite")


async def serve(config: AppConfig, *, stop: asyncio.Event | None = None,
                adapters: list[Adapter] | None = None) -> None:
    """Run until ``stop`` is set (or a signal / the console's end of input sets it).

    Raises :class:`BrokenPipeError`, once shut down, when the console's output was closed.
    """
    from storage.guard import sole_process

    stop = stop or asyncio.Event()
    with sole_process(config.store.url):
        await _serve(config, stop, adapters)


def scheduler_lease(repo: Repository) -> Lease | None:
    """The scheduler's lease on the store behind ``repo`` (None for a store without an engine)."""
    return role_lease(repo, "scheduler")


def role_lease(repo: Repository, role: str) -> Lease | None:
    """The lease of an elected ``role`` on the store behind ``repo``: an advisory lock on PostgreSQL;
    None on SQLite (one process owns the file and plays every role) or a store without an engine."""
    from storage.election import lease_for

    engine = getattr(repo, "engine", None)
    return None if engine is None else lease_for(engine, role)


async def _serve(config: AppConfig, stop: asyncio.Event, adapters: list[Adapter] | None) -> None:
    repo = open_store(config)
    try:
        directory = import_platform_data(repo, config)  # groups, leaders, products of tuan.toml into the store
        tz = config.bot.tz
        core = Core(service=OrderService(repo), config=config, clock=lambda: datetime.now(tz), directory=directory)
        async with core.lock:
            revised = core.revise_configured_deals()  # a price or stock changed in tuan.toml reaches the open deal
            core.open_configured_deals()
        adapters = adapters if adapters is not None else build_adapters(config, on_eof=stop.set)
        core.adapters.update({a.name: a for a in adapters})
        for a in adapters:  # elected ingress (the Telegram poller, a WeChat account's connection): one worker
            elect = getattr(a, "elect_poller", None) or getattr(a, "elect_connection", None)
            if elect is not None:
                elect(partial(role_lease, repo), config.store.election_retry_seconds)
        log_startup(config, adapters)
        from bot.engine.matcher import base_tokenizer

        # jieba's dictionary (about 1 s), once, in a thread while the adapters start: the event loop
        # never waits for it, and a message that comes first waits for it in its worker thread.
        warming = asyncio.ensure_future(asyncio.to_thread(base_tokenizer))
        dispatcher = Dispatcher(core)
        scheduler = BotScheduler(core, schedules_of(repo, config), marks=StoreMarks(repo, core.now),
                                 lease=scheduler_lease(repo), retry=config.store.election_retry_seconds)
        started: list[Adapter] = []
        sweeping: asyncio.Task[None] | None = None
        with stop_on_signals(stop):
            scheduler.start()
            try:
                # together: one adapter waiting for its platform (a WeChat login) delays no other
                results = await asyncio.gather(*(a.start(dispatcher) for a in adapters), return_exceptions=True)
                started.extend(a for a, r in zip(adapters, results, strict=True) if not isinstance(r, BaseException))
                for adapter, result in zip(adapters, results, strict=True):
                    if isinstance(result, BaseException):
                        log.debug("starting %s failed", adapter.name, exc_info=result)
                        raise StartError(f"the {adapter.name} adapter could not start: "
                                         f"{type(result).__name__}: {result}") from result
                # beside new messages: what a former run or a dead worker left, now and every few seconds
                sweeping = asyncio.create_task(dispatcher.run_sweeper(takeover=sole_store(config)))
                await show_revised_cards(core, revised)
                if config.web.enabled:  # the dashboard, on this bot's service and lock (docs/web.md)
                    from bot.web.serve import WebStartError, serve_until, server

                    try:
                        await serve_until(server(config, repo, core.service, core.lock), stop)
                    except WebStartError as e:
                        raise StartError(str(e)) from None
                await stop.wait()
            finally:
                if sweeping is not None:  # a few seconds to finish; what it did not deliver stays in the outbox
                    dispatcher.stop_sweeper()
                    await asyncio.wait({sweeping}, timeout=SWEEP_GRACE_SECONDS)
                    sweeping.cancel()
                    await asyncio.gather(sweeping, return_exceptions=True)
                for adapter in reversed(started):
                    try:
                        await adapter.stop()
                    except Exception:
                        log.exception("stopping %s failed", adapter.name)
                await dispatcher.drain()
                await scheduler.stop()
                await asyncio.gather(warming, return_exceptions=True)
        if any(getattr(a, "reader_gone", False) for a in adapters):
            raise BrokenPipeError("the console's reader went away")
    finally:
        repo.close()


DEFAULT_CONFIG = "tuan.toml"
SAMPLE_NOTE = (f"tuan: no {DEFAULT_CONFIG} here: running the built-in sample (a console group chat with a "
               f"sample deal, store sqlite:///tuan.db). Copy config.example.toml to {DEFAULT_CONFIG} to configure.")


def read_config(path: str | None) -> AppConfig:
    """``path``, else ./tuan.toml, else the built-in sample (what a newcomer's first `tuan run` uses)."""
    if path is not None or Path(DEFAULT_CONFIG).exists():
        return load_config(path or DEFAULT_CONFIG)
    from bot.demo_script import demo_config

    with contextlib.suppress(BrokenPipeError):  # a closed stderr does not stop the bot
        print(SAMPLE_NOTE, file=sys.stderr)
    return config_from_dict(demo_config(chat="console"), "<built-in sample>")


ENV_LOG_LEVEL = "TUAN_LOG_LEVEL"  # e.g. DEBUG; default WARNING
ENV_SECRETS = (ENV_TELEGRAM_TOKEN, ENV_TELEGRAM_SECRET, ENV_WECHATY_TOKEN)
PRIVATE_UMASK = 0o077  # the store, its -wal/-shm and any export file: readable by the owner only


def main(config_path: str | None = None, log_level: str | None = None) -> int:
    """`tuan run`: exit 0 when stopped, 2 on a configuration error, 1 when an adapter cannot start, 130 on Ctrl-C.

    Raises :class:`BrokenPipeError` (after a clean shutdown) when the console's output was closed:
    bot/cli.py ``main`` turns it into status 141.

    ``log_level`` (``--log-level`` / ``-v``) wins over ``TUAN_LOG_LEVEL``; the default is WARNING.

    Every log record, every error printed here and any uncaught exception pass through
    :mod:`bot.redact`, so no token or password is ever printed.
    """
    os.umask(PRIVATE_UMASK)
    level = (log_level or os.environ.get(ENV_LOG_LEVEL) or "WARNING").upper()
    logging.basicConfig(level=level if level in logging.getLevelNamesMapping() else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact.install(os.environ.get(name, "") for name in ENV_SECRETS)
    from storage.guard import StoreInUse

    try:
        config = read_config(config_path)
        redact.install(redact.secrets_of(config))
        asyncio.run(serve(config))
    except (ConfigError, StoreInUse) as e:
        print(f"tuan: {redact.text(str(e))}", file=sys.stderr)
        return 2
    except (StartError, StoreUnavailable) as e:  # StoreUnavailable: the store failed at start-up (storage.unwritable)
        first_line = str(e).partition("\n")[0]
        print(f"tuan: {redact.text(first_line)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
