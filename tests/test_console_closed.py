"""The console whose output's reader went away (``tuan run | head``): the chat ends, once, quietly;
what was taken in is committed; `tuan run` shuts down cleanly and exits 141 (docs/running.md, Shutdown)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter, LineSource
from bot.config import AppConfig, config_from_dict
from bot.runtime import serve
from storage.sql import open_repository
from tests.test_console import RUN_CONFIG

LINES = [f"居民{i}: 葡萄{i % 3 + 1}" for i in range(6)]


class ClosingOutput:
    """A stdout whose reader reads ``keep`` lines, then goes away: every later write raises."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.shown: list[str] = []
        self.refused = 0

    def __call__(self, text: str) -> None:
        if len(self.shown) >= self.keep:
            self.refused += 1
            raise BrokenPipeError(32, "Broken pipe")
        self.shown.append(text)


def typed(lines: list[str]) -> LineSource:
    """The lines, then the end of input."""
    left = iter(lines)

    async def next_line() -> str | None:
        return next(left, None)

    return next_line


def run_config(tmp_path: Path) -> AppConfig:
    import tomllib

    text = RUN_CONFIG.format(db=tmp_path / "tuan.db")
    return config_from_dict(tomllib.loads(text), "tuan.toml", env={})


def stored(tmp_path: Path) -> dict[str, int]:
    """resident → quantity of 葡萄 in the store's open deal."""
    repo = open_repository(f"sqlite:///{tmp_path / 'tuan.db'}")
    try:
        from bot.services.orders import OrderService

        service = OrderService(repo)
        deal = service.deal_of("console:console")
        assert deal is not None
        return {row.sender_name: row.qty for row in service.tally(deal.id).rows}
    finally:
        repo.close()


async def serve_console(tmp_path: Path, write: Callable[[str], None],
                        lines: LineSource) -> tuple[ConsoleAdapter, BaseException | None, int]:
    """`tuan run` on the store in ``tmp_path`` with a console writing to ``write``; (the console, what
    ``serve`` raised, how many times the chat ended)."""
    config = run_config(tmp_path)
    stop = asyncio.Event()
    ended = [0]

    def on_eof() -> None:
        ended[0] += 1
        stop.set()

    console = ConsoleAdapter(config.console, lines=lines, write=write, on_eof=on_eof, echo=True,
                             files_dir=tmp_path / "files")
    try:
        await asyncio.wait_for(serve(config, stop=stop, adapters=[console]), 30)
    except BrokenPipeError as e:
        return console, e, ended[0]
    return console, None, ended[0]


@pytest.mark.parametrize("keep", range(1 + 2 * len(LINES) + 1))  # every moment the reader can leave
async def test_a_reader_that_leaves_ends_the_chat_and_keeps_every_order_taken(tmp_path: Path, keep: int) -> None:
    """Whenever the reader leaves (after the banner, an echo, a ✅), `serve` shuts down and raises
    BrokenPipeError; every line whose echo was shown is in the store, no later line is taken, and
    nothing more is written once a write failed."""
    out = ClosingOutput(keep)
    console, raised, ended = await serve_console(tmp_path, out, typed(LINES))
    if keep >= 1 + 2 * len(LINES):  # the banner, each line's echo and its ✅: all shown, then the end of input
        assert raised is None and not console.reader_gone
    else:
        assert isinstance(raised, BrokenPipeError) and console.reader_gone
        assert out.refused == 1  # given up at the first refused write: no retry, nothing written after
    assert ended == 1
    echoed = [line for line in out.shown if line in LINES]
    expected = {line.split(":")[0]: int(line[-1]) for line in echoed}
    assert stored(tmp_path) == expected  # what the store holds after a clean shutdown (the lock released)


async def test_a_reply_to_a_console_whose_reader_left_is_given_up() -> None:
    out = ClosingOutput(1)
    config = config_from_dict({"console": {"chat": "console"}}, "t.toml", env={})
    console = ConsoleAdapter(config.console, lines=typed([]), write=out)
    assert await console.send_text("console", "一") is not None  # shown: its message id
    assert await console.send_text("console", "二") is None  # the reader left: not sent
    assert await console.send_text("console", "三") is None
    assert await console.react("console", "c1", "✅") is True  # given up: a list digest would be too
    assert out.shown == ["🤖 Tuan: 一"] and out.refused == 1 and console.reader_gone


async def test_a_line_source_that_finds_the_output_closed_ends_the_chat() -> None:
    """The demo's narration is written by its line source: a closed output there ends the chat too."""
    config = config_from_dict({"console": {"chat": "console"}}, "t.toml", env={})

    async def narrating() -> str | None:
        raise BrokenPipeError(32, "Broken pipe")

    ended = asyncio.Event()
    console = ConsoleAdapter(config.console, lines=narrating, write=lambda _: None, on_eof=ended.set)

    class NoSink:
        async def on_message(self, msg: object) -> None:
            raise AssertionError("no line was typed")

        async def on_press(self, press: object) -> str:
            raise AssertionError("no button")

    await console.start(NoSink())  # type: ignore[arg-type]
    await asyncio.wait_for(ended.wait(), 5)
    await console.stop()
    assert console.reader_gone


def buffering(unbuffered: bool) -> dict[str, str]:
    """The environment with ``PYTHONUNBUFFERED`` set or not (a pipe is block-buffered without it)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return {**env, "PYTHONUNBUFFERED": "1"} if unbuffered else env


@pytest.mark.parametrize("unbuffered", [True, False])
def test_tuan_run_with_stdout_closed_at_start_exits_141_quietly(tmp_path: Path, unbuffered: bool) -> None:
    path = tmp_path / "tuan.toml"
    path.write_text(RUN_CONFIG.format(db=tmp_path / "tuan.db"), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--config", str(path)], cwd=tmp_path,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=buffering(unbuffered))
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.close()  # before the banner: the reader is gone already
    _, err = proc.communicate("王姐: 葡萄2\n".encode(), timeout=60)
    assert proc.returncode == 141, err
    assert err == b""


@pytest.mark.parametrize("unbuffered", [True, False])
def test_tuan_run_with_stderr_closed_serves_the_chat_and_exits_0(tmp_path: Path, unbuffered: bool) -> None:
    """A closed stderr only loses log lines (INFO here, and the built-in sample's note): the chat goes on."""
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "-v"], cwd=tmp_path, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=buffering(unbuffered))
    assert proc.stderr is not None
    proc.stderr.close()
    out, _ = proc.communicate("王姐: 葡萄2\n团长: /list\n".encode(), timeout=60)
    assert proc.returncode == 0
    assert "1. 王姐 葡萄2" in out.decode()
