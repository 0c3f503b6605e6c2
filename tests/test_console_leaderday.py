"""A whole evening and the next morning in the console chat, typed as a leader and residents would:
orders, the cutoff, the stocking list, the arrival, verification by pickup code (read from the
resident's /my) and by a reply 已取, a short delivery, a refund, the roll-call of who has not picked
up, and the export. What the chat shows, the file written and the store's marks and audit are checked.

By hand (葡萄 29.90/盒, 脐橙 25.80/箱, 鸡蛋 32/盒): 王姐 3栋402 葡萄2 = 59.80; 李阿姨 5-1-302 脐橙1 鸡蛋1 =
57.80; 阿强 12栋101 葡萄1 = 29.90 (西门); 张叔 2栋101 葡萄2 = 59.80; 小赵 1栋301 葡萄1 鸡蛋1 = 61.90.
5 households, 269.20; 葡萄 6 (179.40), 脐橙 1 (25.80), 鸡蛋 2 (64.00). /short 葡萄 5: 小赵, the last
to order grapes, is short 1 (29.90). /refund 张叔 葡萄 1 坏果: 29.90.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.console import ConsoleAdapter, reply_of, sender_id_of
from bot import messages as m
from bot.config import config_from_dict
from bot.context import Core
from bot.dispatch import Dispatcher
from bot.leaderday_commands import leaderday_of
from bot.services.orders import OrderService
from tests.pipeline import config_dict
from tests.sheets import xlsx_rows
from tests.stores import memory_store

BOT = "🤖 Tuan: "
EVENING = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
MORNING = EVENING + timedelta(hours=20)  # 16:00 the next day

Line = str | Callable[[list[str]], str]  # a typed line, or one made from what the chat showed so far


def test_a_reply_names_the_speakers_last_message() -> None:
    last = {"王姐": "c1", "李阿姨": "c2"}
    assert reply_of(">王姐 已取", last) == ("c1", "已取")
    assert reply_of("＞李阿姨  ✅", last) == ("c2", "✅")
    assert reply_of(">路人 已取", last) == (None, ">路人 已取")  # nobody of that name spoke
    assert reply_of("已取", last) == (None, "已取")


async def run(lines: list[Line], tmp_path: Path) -> tuple[list[str], Core]:
    """Type ``lines`` into a console chat; the line ``"-- morning"`` moves the clock to MORNING."""
    data = config_dict()
    data["groups"] = [{"id": "home", "platform": "console", "chat": "console", "title": "幸福里团购群",
                       "pickup_points": ["东门", "西门"]}]
    data["console"] = {"leaders": ["团长"], "reactions": True}
    config = config_from_dict(data, "test.toml", env={})
    now = [EVENING]
    core = Core(service=OrderService(memory_store()), config=config, clock=lambda: now[0])
    async with core.lock:
        core.open_configured_deals()
    out: list[str] = []
    todo = list(lines)

    async def next_line() -> str | None:
        while todo:
            line = todo.pop(0)
            if line == "-- morning":
                now[0] = MORNING
                continue
            return line(out) if callable(line) else line
        return None

    done = asyncio.Event()
    console = ConsoleAdapter(config.console, lines=next_line, write=out.append, clock=lambda: now[0],
                             on_eof=done.set, echo=True, banner=False, files_dir=tmp_path / "files")
    core.adapters["console"] = console
    dispatcher = Dispatcher(core)
    await console.start(dispatcher)
    await asyncio.wait_for(done.wait(), 20)
    await console.stop()
    await dispatcher.drain()
    return out, core


def code_of(out: list[str], who: str) -> str:
    """The pickup code the bot last told ``who`` (in their /my answer)."""
    said = [o for o in out if o.startswith(f"{BOT}@{who} ") and "取货码" in o]
    found = re.search(r"取货码(\d{4})", said[-1])
    assert found is not None
    return found.group(1)


def after(out: list[str], typed: str) -> list[str]:
    """What the bot said after the typed line (up to the next typed line)."""
    at = out.index(typed)
    rest = out[at + 1:]
    end = next((n for n, o in enumerate(rest) if not o.startswith((BOT, "  ", "    "))), len(rest))
    return rest[:end]


async def test_an_evening_and_the_next_morning_in_the_console(tmp_path: Path) -> None:
    out, core = await run([
        "王姐: 3栋402 王姐 葡萄2",
        "李阿姨: 5-1-302 李阿姨 脐橙1 鸡蛋1",
        "阿强: 12栋101 阿强 葡萄1",
        "自提 西门",
        "张叔: 2栋101 张叔 葡萄2",
        "小赵: 1栋301 小赵 葡萄1 鸡蛋1",
        "团长: /close",
        "/stock",
        "-- morning",
        "/arrived 东门",
        "/short 葡萄 5",
        "王姐: /my",
        lambda said: f"团长: /verify {code_of(said, '王姐')}",
        "团长: >李阿姨 已取",
        "/refund 张叔 葡萄 1 坏果",
        "/unpicked",
        "/export",
        "王姐: /my",
    ], tmp_path)

    # the evening: each order acknowledged, the point chosen, the cutoff with the final tally
    assert out[:2] == ["王姐: 3栋402 王姐 葡萄2", "  ✅"]
    assert after(out, "阿强: 自提 西门") == [f"{BOT}@阿强 {m.POINT_CHOSEN.format(point='西门')}"]
    closed = after(out, "团长: /close")
    assert closed[0].startswith(BOT + m.CLOSED) and "合计 ¥269.20,共5户" in "\n".join(closed)
    [stock] = after(out, "团长: /stock")
    assert stock.startswith(BOT + m.STOCK_TITLE.format(title="水果鸡蛋团")) and "阳光玫瑰葡萄 2斤装" in stock
    assert m.STOCK_TOTAL.format(qty=9, households=5, amount="269.20") in stock

    # the morning: the arrival at 东门 names its four households (not 阿强, at 西门)
    [arrived] = after(out, "团长: /arrived 东门")
    assert arrived.startswith(BOT + m.ARRIVED_TITLE.format(point="东门", n=4))
    assert "@王姐" in arrived and "@小赵" in arrived and "阿强" not in arrived
    [short] = after(out, "团长: /short 葡萄 5")
    assert short.startswith(BOT + m.SHORT_TITLE.format(item="葡萄", ordered=6, delivered=5))
    assert "@小赵 1栋301 小赵 订1得0 缺1 退¥29.90" in short and "王姐" not in short
    code = code_of(out, "王姐")
    assert after(out, f"团长: /verify {code}") == [BOT + m.VERIFIED.format(who="3栋402 王姐", code=code)]
    [by_reply] = after(out, "团长: >李阿姨 已取")
    assert by_reply.startswith(BOT + "✅ 已核销:5-1-302 李阿姨")
    assert after(out, "团长: /refund 张叔 葡萄 1 坏果") == [
        BOT + m.REFUND_DONE.format(who="2栋101 张叔", item="葡萄", qty=1, amount="29.90", reason="坏果")]
    [unpicked] = after(out, "团长: /unpicked")
    lines = unpicked.removeprefix(BOT).split("\n")
    assert lines[0] == m.UNPICKED_TITLE.format(n=3)
    assert [ln.strip() for ln in lines if "【" in ln] == ["【1栋】", "【2栋】", "【12栋】"]
    assert "王姐" not in unpicked and "李阿姨" not in unpicked

    # the export: written privately as a file, mode 0600, its figures the morning's
    exported = after(out, "团长: /export")
    assert exported[-1] == f"{BOT}@团长 {m.SENT_PRIVATELY}"
    [path] = (tmp_path / "files").iterdir()
    assert path.suffix == ".xlsx" and (path.stat().st_mode & 0o777) == 0o600
    rows = xlsx_rows(path.read_bytes())
    body = {(r[1], r[4]): r for r in rows[1:-1]}
    assert body[("小赵", "阳光玫瑰葡萄 2斤装")][11] == 29.9 and body[("张叔", "阳光玫瑰葡萄 2斤装")][11] == 29.9
    assert body[("王姐", "阳光玫瑰葡萄 2斤装")][10].startswith("已取 2026-11-30 16:00")
    assert body[("阿强", "阳光玫瑰葡萄 2斤装")][3] == "西门"
    assert rows[-1][0] == m.EXPORT_TOTAL and rows[-1][8] == 269.2 and rows[-1][11] == 59.8

    # the resident sees her mark; the store holds what the chat said
    mine = [o for o in out if o.startswith(f"{BOT}@王姐 ") and "取货码" in o][-1]
    assert mine.endswith(m.MY_MARKS.format(code=code, point="东门", paid=m.MY_UNPAID, picked=m.MY_PICKED))
    day = leaderday_of(core)
    assert day is not None
    deal = core.service.deal_of("console:console")
    assert deal is not None and deal.status == "closed"
    marks = day.marks_for_deal(deal.id)
    key = ("console:console", sender_id_of("王姐"))
    assert marks[key].picked_by_name == "团长" and marks[key].picked_at == MORNING
    assert {k[1] for k, mk in marks.items() if mk.picked} == {sender_id_of("王姐"), sender_id_of("李阿姨")}
    assert [r["action"] for r in day.audit(deal.id)] == ["close", "arrived", "short", "verify", "verify", "refund"]
