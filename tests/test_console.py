"""The console chat: line parsing, and the adapter driven through a prompt_toolkit pipe input."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from adapters.console import ConsoleAdapter, StreamLines, format_said, parse_line, prompt_lines, sender_id_of
from bot import messages as m
from bot.config import config_from_dict
from bot.context import Core
from bot.dispatch import Dispatcher
from bot.services.orders import OrderService
from tests.pipeline import config_dict
from tests.sheets import file_text
from tests.stores import memory_store


@pytest.mark.parametrize("line, last, expected", [
    ("王姐: 葡萄2", "团长", ("王姐", "葡萄2")),
    ("王姐:葡萄2", "团长", ("王姐", "葡萄2")),
    ("王姐：葡萄两盒", "团长", ("王姐", "葡萄两盒")),  # full-width colon
    ("团长: /tally", "王姐", ("团长", "/tally")),
    ("🌸Lily: 7栋 橙子两箱", "团长", ("🌸Lily", "7栋 橙子两箱")),
    ("  葡萄再加1  ", "王姐", ("王姐", "葡萄再加1")),  # a plain line: the last speaker
    ("/list", "团长", ("团长", "/list")),
    ("阿强:", "王姐", ("阿强", "")),  # only switches speaker
    ("", "王姐", ("王姐", "")),
    ("12:30 到货", "王姐", ("王姐", "12:30 到货")),  # a time is not a name
    ("看这里 https://example.com", "王姐", ("王姐", "看这里 https://example.com")),
    ("3栋 王姐: 葡萄1", "团长", ("团长", "3栋 王姐: 葡萄1")),  # names have no spaces
    ("王姐: #接龙\\n1. 王姐 葡萄1", "团长", ("王姐", "#接龙\n1. 王姐 葡萄1")),
])
def test_parse_line(line: str, last: str, expected: tuple[str, str]) -> None:
    assert parse_line(line, last) == expected


def test_sender_ids_are_stable_per_name() -> None:
    assert sender_id_of("王姐") == sender_id_of(" 王姐") != sender_id_of("阿强")


def test_format_said_indents_continuation_lines() -> None:
    assert format_said("王姐", "#接龙\n1. 王姐 葡萄1") == "王姐: #接龙\n    1. 王姐 葡萄1"


async def run_console(typed: str, reactions: bool = True) -> tuple[list[str], Core]:
    data = config_dict()
    data["groups"] = [{"id": "home", "platform": "console", "chat": "console"}]
    data["console"] = {"leaders": ["团长"], "reactions": reactions}
    config = config_from_dict(data, "test.toml", env={})
    core = Core(service=OrderService(memory_store()), config=config, clock=lambda: datetime.now(UTC))
    async with core.lock:
        core.open_configured_deals()
    out: list[str] = []
    done = asyncio.Event()
    with create_pipe_input() as pipe:
        session: PromptSession[str] = PromptSession(input=pipe, output=DummyOutput())
        console = ConsoleAdapter(config.console, lines=prompt_lines(session, lambda: "> "), write=out.append,
                                 on_eof=done.set)
        core.adapters["console"] = console
        dispatcher = Dispatcher(core)
        await console.start(dispatcher)
        pipe.send_text(typed + "\x04")  # Ctrl-D ends the chat
        await asyncio.wait_for(done.wait(), 5)
        await console.stop()
        await dispatcher.drain()
    return out, core


async def test_console_chat_over_a_pipe() -> None:
    out, core = await run_console("王姐: 葡萄2\n阿强: 橙1\n脐橙1\n团长: /tally\n")
    assert out[1:3] == ["  ✅", f"🤖 Tuan: @阿强 {m.ASK_AMBIGUOUS.format(word='橙', options='脐橙还是血橙')}"]
    assert out[3] == "  ✅"
    assert out[4].startswith("🤖 Tuan: 📊 水果鸡蛋团 统计") and "合计 ¥85.60,共2户" in out[4]
    deal = core.service.deal_of("console:console")
    assert deal is not None
    assert core.service.tally(deal.id).totals["1"] == 2


async def test_console_without_reactions_posts_the_list() -> None:
    out, _ = await run_console("王姐: 葡萄2\n", reactions=False)
    assert out[1].startswith("🤖 Tuan: #接龙 水果鸡蛋团(共1户)") and out[1].endswith("1. 王姐 葡萄2")


async def test_resident_cannot_use_leader_commands_in_the_console() -> None:
    out, _ = await run_console("王姐: /close\n")
    assert out[1] == f"🤖 Tuan: {m.NOT_LEADER}"


async def test_stream_lines_from_a_file(tmp_path) -> None:
    path = tmp_path / "chat.txt"
    path.write_text("王姐: 葡萄2\n\n团长: /list\n", encoding="utf-8")
    with path.open(encoding="utf-8") as f:
        lines = StreamLines(f)
        got = [await lines() for _ in range(4)]
    assert got == ["王姐: 葡萄2", "", "团长: /list", None]


RUN_CONFIG = """
[store]
url = "sqlite:///{db}"
[console]
chat = "console"
[[groups]]
id = "home"
platform = "console"
chat = "console"
[[deals]]
id = "fruit"
title = "水果团"
groups = ["home"]
[[deals.items]]
code = "1"
name = "阳光玫瑰葡萄"
unit = "盒"
price = "29.9"
aliases = ["葡萄"]
"""


def tuan_run(tmp_path, stdin: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "tuan.toml"
    path.write_text(RUN_CONFIG.format(db=tmp_path / "tuan.db"), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "bot.cli", "run", "--config", str(path)], input=stdin,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)


def test_tuan_run_with_piped_input_keeps_orders_across_restarts(tmp_path) -> None:
    first = tuan_run(tmp_path, "王姐: 葡萄2\n阿强: +1\n")
    assert first.returncode == 0, first.stderr
    assert "王姐: 葡萄2\n  ✅\n阿强: +1\n  ✅" in first.stdout
    again = tuan_run(tmp_path, "团长: /list\n")
    assert again.returncode == 0 and not again.stderr
    assert "1. 王姐 葡萄2\n    2. 阿强 葡萄1" in again.stdout


def test_tuan_run_stops_cleanly_on_sigterm(tmp_path) -> None:
    path = tmp_path / "tuan.toml"
    path.write_text(RUN_CONFIG.format(db=tmp_path / "tuan.db"), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--config", str(path)], cwd=tmp_path,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("王姐: 葡萄3\n")
    proc.stdin.flush()
    assert proc.stdout.readline().startswith("—")  # the banner
    assert proc.stdout.readline() == "王姐: 葡萄3\n"
    assert proc.stdout.readline() == "  ✅\n"  # handled and committed; stdin stays open
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and err == ""
    again = tuan_run(tmp_path, "团长: /tally\n")
    assert "1号   阳光玫瑰葡萄  3盒" in again.stdout


def test_tuan_run_without_a_config_runs_the_sample(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run"], input="王姐: 葡萄2\n团长: /list\n",
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and "built-in sample" in done.stderr
    assert "1. 王姐 葡萄2" in done.stdout and (tmp_path / "tuan.db").exists()


async def test_a_newcomers_first_plain_line_is_a_residents_order() -> None:
    out, core = await run_console("葡萄2\n")
    assert out[1] == "  ✅"
    deal = core.service.deal_of("console:console")
    assert deal is not None
    assert core.service.tally(deal.id).totals["1"] == 2


@pytest.mark.parametrize("flag", [["-v"], ["--log-level", "info"]])
def test_tuan_run_info_log_tells_the_store_platforms_and_groups(tmp_path, flag) -> None:
    path = tmp_path / "tuan.toml"
    path.write_text(RUN_CONFIG.format(db=tmp_path / "tuan.db"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run", "--config", str(path), *flag],
                          input="王姐: 葡萄2\n", capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"store: sqlite:///{tmp_path / 'tuan.db'}" in done.stderr
    assert "platforms: console" in done.stderr
    assert "group home: console:console" in done.stderr
    quiet = tuan_run(tmp_path, "王姐: 葡萄2\n")
    assert quiet.stderr == ""  # the default level says nothing when all is well


async def test_a_message_from_an_unconfigured_chat_is_logged_once_with_how_to_add_it(caplog) -> None:
    import logging

    from bot.model import InboundMessage

    out, core = await run_console("")
    dispatcher = Dispatcher(core)
    caplog.set_level(logging.INFO, logger="bot.dispatch")
    for n in range(3):
        await dispatcher.on_message(InboundMessage(platform="telegram", chat_id="-100777", message_id=str(n),
                                                   sender_id="u9", sender_name="路人", text="葡萄2",
                                                   ts=datetime.now(UTC)))
    lines = [r.getMessage() for r in caplog.records if "-100777" in r.getMessage()]
    assert len(lines) == 1
    assert 'platform = "telegram" chat = "-100777"' in lines[0]


def test_tuan_run_export_writes_a_private_file_next_to_the_store(tmp_path) -> None:
    run = tuan_run(tmp_path, "王姐: 3栋402 13800138000 葡萄2\n王姐: 我的订单\n王姐: /my\n团长: /export\n")
    assert run.returncode == 0, run.stderr
    mine = m.MY_ORDER.format(title="水果团", state="", goods="葡萄2盒", amount="59.80")
    assert run.stdout.count(f"🤖 Tuan: @王姐 {mine}") == 2
    [path] = (tmp_path / "tuan-files").iterdir()
    assert path.suffix == ".xlsx" and path.name.startswith("tuan-") and (path.stat().st_mode & 0o777) == 0o600
    assert "13800138000" in file_text(path.read_bytes())
    assert f"{m.CONSOLE_PRIVATE_TO.format(name='团长')} {m.CONSOLE_FILE.format(path=path)}" in run.stdout
    assert f"🤖 Tuan: @团长 {m.SENT_PRIVATELY}" in run.stdout


async def test_console_files_never_overwrite_and_are_owner_only(tmp_path) -> None:
    from adapters.console import write_private_file

    first = write_private_file(tmp_path / "out", "../x.csv", b"a")
    second = write_private_file(tmp_path / "out", "x.csv", b"b")
    assert (first.name, second.name) == ("x.csv", "x-2.csv") and first.parent == tmp_path / "out"
    assert first.read_bytes() == b"a" and (second.stat().st_mode & 0o777) == 0o600
    assert ((tmp_path / "out").stat().st_mode & 0o777) == 0o700
