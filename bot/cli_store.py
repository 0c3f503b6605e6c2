"""How every `tuan` command that uses the store opens it, and says what went wrong: one place for
bot/cli_history.py, cli_leaderday.py, cli_platform.py, cli_products.py, cli_operators.py,
cli_settle.py and cli_web.py.

:func:`opened` reads the configuration (``--config PATH``, else ./tuan.toml, else the built-in
sample), redacts its secrets from every message, opens and migrates the store (one that cannot be
opened is a configuration error) and, unless told not to, imports tuan.toml's groups, leaders and
deal items first, as `tuan run` does at start-up. :func:`with_platform_store` is both, with the
store of groups, leaders and products at hand.

:func:`guarded` turns what a command raises into one line on stderr (``tuan: ...``, secrets
redacted) and its exit status: 2 for bad input (:class:`Failed` with its own status, a broken
configuration or a store that cannot be opened, a refused change of groups, leaders or products),
1 when the store fails in the middle (:class:`bot.ports.StoreUnavailable`, a database error).
Anything else is a bug and keeps its traceback.

Nothing heavy is imported here: the parsers of every command import this module.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import AppConfig
    from bot.ports import Repository
    from storage.platform import SqlPlatformStore

Handler = Callable[[argparse.Namespace], int]
Work = Callable[["AppConfig", "Repository", "SqlPlatformStore"], int]

CONFIG_HELP = "TOML configuration naming the store (default: ./tuan.toml if present, else the built-in sample)"


def config_option(parser: argparse.ArgumentParser) -> None:
    """Add every store command's ``--config PATH`` option."""
    parser.add_argument("--config", metavar="PATH", help=CONFIG_HELP)


class Failed(Exception):
    """A one-line error for stderr, with the exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def fail(text: str, status: int = 2) -> int:
    """Print ``tuan: text`` (secrets redacted) on stderr; returns ``status``."""
    from bot import redact

    print(f"tuan: {redact.text(text)}", file=sys.stderr)
    return status


@contextlib.contextmanager
def opened(args: argparse.Namespace, *, import_config: bool = True) -> Iterator[tuple[AppConfig, Repository]]:
    """(config, repository) of ``args.config``, the repository closed afterwards; ``import_config``:
    tuan.toml's groups, leaders and deal items imported into the store first. Raises
    :class:`bot.config.ConfigError` (a broken configuration, a store that cannot be opened) and
    :class:`bot.ports.StoreUnavailable`."""
    from bot import redact
    from bot.runtime import open_store, read_config

    config = read_config(args.config)
    redact.install(redact.secrets_of(config))
    repo = open_store(config)
    try:
        if import_config:
            from bot.usecases.platform_data import import_config as import_toml
            from storage.platform import SqlPlatformStore

            import_toml(SqlPlatformStore(repo.engine), config)  # type: ignore[attr-defined]
        yield config, repo
    finally:
        repo.close()


def one_line(e: Exception) -> tuple[str, int] | None:
    """(the line, the exit status) :func:`guarded` reports for ``e``; None for an unexpected error."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from bot.config import ConfigError
    from bot.ports import ChatRetired, StoreUnavailable
    from bot.usecases.platform_data import PlatformDataError

    if isinstance(e, Failed):
        return str(e), e.status
    if isinstance(e, (ConfigError, PlatformDataError, ChatRetired)):
        return str(e), 2
    if isinstance(e, StoreUnavailable):
        return (str(e).splitlines()[0] if str(e) else "store unavailable"), 1
    if isinstance(e, SQLAlchemyError):  # the database failed in the middle: its own words, one line
        words = str(e.orig if isinstance(e, DBAPIError) and e.orig is not None else e).strip()
        return f"the store failed: {words.splitlines()[0] if words else type(e).__name__}", 1
    return None


def guarded(fn: Handler) -> Handler:
    """``fn`` with what it raises reported as :func:`one_line` says (other errors propagate)."""
    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except Exception as e:
            said = one_line(e)
            if said is None:
                raise
            return fail(*said)

    return run


def with_platform_store(args: argparse.Namespace, work: Work) -> int:
    """Open the store (:func:`opened`, tuan.toml imported), run ``work(config, repo, platform store)``
    and return its status; what it raises is one line on stderr (:func:`guarded`)."""
    @guarded
    def run(args: argparse.Namespace) -> int:
        from storage.platform import SqlPlatformStore

        with opened(args) as (config, repo):
            return work(config, repo, SqlPlatformStore(repo.engine))  # type: ignore[attr-defined]

    return run(args)
