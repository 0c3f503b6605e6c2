"""A whole evening and the next morning in the console chat, typed as a leader and residents would:
orders, the cutoff, the stocking list, the scheduled pickup list, the arrival, verification by pickup
code (the resident's /my in the group sends it to her private chat), by a reply 已取 and by 跟团号 after
an ambiguous name, a short delivery, a refund, the roll-call of who has not picked up, the export, and
the next day's scheduled reminder. What the chat shows, the file written and the store's marks and
audit are checked; and no pickup code is ever said in the group, each only in its household's
private chat.

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
NEXT_DAY = MORNING + timedelta(days=1)
PRIVATE = BOT + "(私信"  # how the console shows a message to a member's private chat

Line = str | Callable[[list[str]], str]  # a typed line, or one made from what the chat showed so far


def test_a_reply_names_the_speakers_last_message() -> None:
    last = {"王姐": "c1", "李阿姨": "c2"}
    assert reply_of(">王姐 已取", last) == ("c1", "已取")
    assert reply_of("＞李阿姨  ✅", last) == ("c2", "✅")
    assert reply_of(">路人 已取", last) == (None, ">路人 已取")  # nobody of that name spoke
    assert reply_of("已取", last) == (None, "已取")


async def run(lines: list[Line], tmp_path: Path) -> tuple[list[str], Core]:
    """Type ``lines`` into a console chat; the line ``"-- morning"`` moves the clock to MORNING,
    ``"-- next day"`` to NEXT_DAY, and ``"-- job <kind>"`` runs that scheduled job
    (:data:`bot.scheduler.JOBS`) in the group."""
    from bot.scheduler import JOBS

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
            if line in ("-- morning", "-- next day"):
                now[0] = MORNING if line == "-- morning" else NEXT_DAY
                continue
            if isinstance(line, str) and line.startswith("-- job "):
                await JOBS[line.removeprefix("-- job ")](core, "console:console", "")
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
    """The pickup code the bot last told ``who`` in their private chat (after their /my)."""
    said = [o for o in out if o.startswith(BOT + m.CONSOLE_PRIVATE_TO.format(name=who)) and "取货码" in o]
    found = re.search(r"取货码(\d{4})", said[-1])
    assert found is not None
    return found.group(1)


def after(out: list[str], typed: str, *, last: bool = False) -> list[str]:
    """What the bot said after the (first, or ``last``) typed line (up to the next typed line)."""
    at = len(out) - 1 - out[::-1].index(typed) if last else out.index(typed)
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
        "张叔: /my",
        "团长: /close",
        "/stock",
        "-- job pickup",
        "-- morning",
        "/arrived 东门",
        "/short 葡萄 5",
        "王姐: /my",
        lambda said: f"团长: /verify {code_of(said, '王姐')}",
        "团长: >李阿姨 已取",
        "张叔: 查单",
        "阿强: /my",
        "团长: /picked 101",
        "/picked #4",
        "/refund 张叔 葡萄 1 坏果",
        "/unpicked",
        "/export",
        "王姐: /my",
        "-- next day",
        "-- job unpicked",
    ], tmp_path)

    # the evening: each order acknowledged, the point chosen, the cutoff with the final tally
    assert out[:2] == ["王姐: 3栋402 王姐 葡萄2", "  ✅"]
    assert after(out, "阿强: 自提 西门") == [f"{BOT}@阿强 {m.POINT_CHOSEN.format(point='西门')}"]
    closed = after(out, "团长: /close")
    assert closed[0].startswith(BOT + m.CLOSED) and "合计 ¥269.20,共5户" in "\n".join(closed)
    stock, pickup = after(out, "团长: /stock")  # then the scheduled pickup list
    assert pickup.startswith(BOT + m.PICKUP_DEFAULT)
    assert stock.startswith(BOT + m.STOCK_TITLE.format(title="水果鸡蛋团")) and "阳光玫瑰葡萄 2斤装" in stock
    assert m.STOCK_TOTAL.format(qty=9, households=5, amount="269.20") in stock
    # 张叔's /my before the cutoff: his code privately, the group told so
    private, group = after(out, "张叔: /my")
    assert private.startswith(BOT + m.CONSOLE_PRIVATE_TO.format(name="张叔") + " 【幸福里团购群】")
    assert group.startswith(f"{BOT}@张叔 ") and group.endswith("\n    " + m.MY_CODE_SENT)

    # the morning: the arrival at 东门 names its four households (not 阿强, at 西门)
    [arrived] = after(out, "团长: /arrived 东门")
    assert arrived.startswith(BOT + m.ARRIVED_TITLE.format(point="东门", n=4))
    assert "@王姐" in arrived and "@小赵" in arrived and "阿强" not in arrived
    [short] = after(out, "团长: /short 葡萄 5")
    assert short.startswith(BOT + m.SHORT_TITLE.format(item="葡萄", ordered=6, delivered=5))
    assert "@小赵 1栋301 小赵 订1得0 缺1 退¥29.90" in short and "王姐" not in short
    code = code_of(out, "王姐")
    assert after(out, f"团长: /verify {code}") == [BOT + m.VERIFIED.format(who="3栋402 王姐", number=1)]
    [by_reply] = after(out, "团长: >李阿姨 已取")
    assert by_reply == BOT + m.VERIFIED.format(who="5-1-302 李阿姨", number=2)
    # an ambiguous name: the two households by label and 跟团号, then one of them by its number
    [amb] = after(out, "团长: /picked 101")
    assert amb.split("\n    ") == [BOT + m.AMBIGUOUS_HOUSEHOLD.format(query="101", example=3, candidates="").rstrip(),
                                  m.CANDIDATE_LINE.format(who="12栋101 阿强", number=3),
                                  m.CANDIDATE_LINE.format(who="2栋101 张叔", number=4)]
    assert after(out, "团长: /picked #4") == [BOT + m.VERIFIED.format(who="2栋101 张叔", number=4)]
    assert after(out, "团长: /refund 张叔 葡萄 1 坏果") == [
        BOT + m.REFUND_DONE.format(who="2栋101 张叔", item="葡萄", qty=1, amount="29.90", reason="坏果")]
    [unpicked] = after(out, "团长: /unpicked")
    lines = unpicked.removeprefix(BOT).split("\n")
    assert lines[0] == m.UNPICKED_TITLE.format(n=2)
    assert [ln.strip() for ln in lines[1:]] == ["【1栋】", "@小赵 1栋301 小赵 跟团号#5", "【12栋】", "@阿强 12栋101 阿强 跟团号#3"]

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

    # the resident sees her mark (picked up: her code is used, nothing more to ask for privately)
    # then the next day's reminder: the two still to come, by mention and 跟团号
    mine, reminder = after(out, "王姐: /my", last=True)
    assert mine.endswith(m.MY_MARKS_GROUP.format(point="东门", paid=m.MY_UNPAID, picked=m.MY_PICKED))
    assert reminder.startswith(BOT + m.UNPICKED_REMINDER) and "\n    @小赵 1栋301 小赵 跟团号#5" in reminder

    # the store holds what the chat said
    day = leaderday_of(core)
    assert day is not None
    deal = core.service.deal_of("console:console")
    assert deal is not None and deal.status == "closed"
    marks = day.marks_for_deal(deal.id)
    key = ("console:console", sender_id_of("王姐"))
    assert marks[key].picked_by_name == "团长" and marks[key].picked_at == MORNING
    assert {k[1] for k, mk in marks.items() if mk.picked} == {sender_id_of(n) for n in ("王姐", "李阿姨", "张叔")}
    assert [r["action"] for r in day.audit(deal.id)] == ["close", "arrived", "short", "verify", "verify", "verify",
                                                         "refund"]

    # no pickup code is ever said in the group; each is said only in its own household's private chat
    codes = {n: marks[("console:console", sender_id_of(n))].pickup_code for n in ("王姐", "李阿姨", "阿强", "张叔", "小赵")}
    told = {n: [o for o in out if o.startswith(BOT + m.CONSOLE_PRIVATE_TO.format(name=n))] for n in codes}
    group_posts = [o for o in out if o.startswith(BOT) and not o.startswith(PRIVATE)]
    assert len(group_posts) > 15 and all(o.startswith(BOT) for o in out if o.startswith(PRIVATE))
    for name, code in codes.items():
        assert not [o for o in group_posts if re.search(rf"(?<!\d){code}(?!\d)", o)], name
        for other, said in told.items():
            assert any(code in o for o in said) == (other == name and other in ("王姐", "张叔", "阿强")), \
                (name, other)
    assert not [o for o in group_posts if re.search(r"取货码\s*\d", o)]
