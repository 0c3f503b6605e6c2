"""The script of `tuan demo`: one group's day, and the tally it must end with. Pure: no I/O.

The seed picks residents, rooms, items and quantities; the shape of the day is fixed. Each
resident message carries its effects (what it means as an order), so the expected final
tally is computed from the script, not from the bot.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

LEADER = "团长"
CUTOFF = (21, 0)
ITEMS = {"1": ("葡萄", "盒"), "2": ("脐橙", "箱"), "3": ("血橙", "箱"), "4": ("鸡蛋", "盒")}
NAMES = [
    "王姐", "李阿姨", "张叔", "刘奶奶", "陈老师", "小赵", "阿强", "🌸Lily", "Tom", "周阿姨", "吴姐", "郑大爷",
    "孙姐", "小林", "黄阿姨", "何老师", "马姐", "胡叔", "朱阿姨", "罗大哥", "宋姐", "唐老师", "许阿姨", "韩叔",
    "冯姐", "邓阿姨", "曹老师", "彭姐", "曾阿姨", "田叔", "董阿姨", "袁姐", "潘老师", "蒋阿姨", "蔡姐", "杜阿姨",
]
CN = {1: "一", 2: "两", 3: "三"}


def sample_deal(*, egg_stock: int) -> dict[str, Any]:
    """The sample deal (four items, 每户限购10) of the demo, the built-in config and the tests."""
    return {
        "id": "fruit", "title": "水果鸡蛋团", "groups": ["home"], "max_qty": 10,
        "items": [
            {"code": "1", "name": "阳光玫瑰葡萄 2斤装", "unit": "盒", "price": "29.9", "aliases": ["葡萄"]},
            {"code": "2", "name": "赣南脐橙 5斤", "unit": "箱", "price": "25.8", "aliases": ["脐橙"]},
            {"code": "3", "name": "血橙 3斤", "unit": "箱", "price": "22", "aliases": ["血橙"]},
            {"code": "4", "name": "土鸡蛋 30枚", "unit": "盒", "price": "32", "aliases": ["鸡蛋"], "stock": egg_stock},
        ],
    }


def demo_config(chat: str = "demo") -> dict[str, Any]:
    """The demo's configuration, as if read from TOML (one console group, one deal, four schedules).

    Also the sample `tuan run` uses when there is no tuan.toml (with ``chat="console"``).
    """
    return {
        "console": {"chat": chat, "title": "幸福里3期 团购群", "leaders": [LEADER], "reactions": True},
        "groups": [{"id": "home", "platform": "console", "chat": chat, "title": "幸福里3期 团购群",
                    "pickup_points": ["3栋楼下"]}],
        "deals": [sample_deal(egg_stock=60)],
        "schedules": [
            {"group": "home", "kind": "deal_card", "time": "08:00"},
            {"group": "home", "kind": "reminder", "time": "20:00", "text": "⏰ 还有1小时截单,还没接龙的邻居抓紧~"},
            {"group": "home", "kind": "cutoff", "time": f"{CUTOFF[0]}:{CUTOFF[1]:02d}"},
            {"group": "home", "kind": "pickup", "time": "21:30", "text": "🚚 明天下午4点到货,3栋楼下取货,清单如下:"},
        ],
    }


@dataclass(frozen=True, slots=True)
class Effect:
    who: str
    op: str  # "add" | "set" | "cancel"
    item: str | None = None  # None with "cancel": everything
    qty: int = 0


@dataclass(frozen=True, slots=True)
class Event:
    """At (hour, minute) of day ``day`` (0: the deal's day, 1: the morning after): a message (``who``
    says ``text``) or, with ``job``, a scheduled job's kind. ``code_of``: the text holds ``{code}``,
    to be filled with that resident's pickup code when it is said (the leader reads it off their
    phone; codes are drawn by the store, so the script cannot know them)."""

    at: tuple[int, int]
    who: str = ""
    text: str = ""
    job: str = ""
    effects: tuple[Effect, ...] = ()
    day: int = 0
    code_of: str = ""


@dataclass(slots=True)
class Script:
    events: list[Event] = field(default_factory=list)

    def residents(self) -> set[str]:
        return {e.who for e in self.events if e.who and e.who != LEADER}

    def expected(self) -> dict[str, dict[str, int]]:
        """Resident → item code → quantity at the end of the day (only quantities > 0)."""
        orders: dict[str, dict[str, int]] = {}
        for event in self.events:
            for fx in event.effects:
                mine = orders.setdefault(fx.who, {})
                if fx.op == "add":
                    mine[fx.item or ""] = mine.get(fx.item or "", 0) + fx.qty
                elif fx.op == "set":
                    mine[fx.item or ""] = fx.qty
                elif fx.item is None:
                    mine.clear()
                else:
                    mine.pop(fx.item, None)
        return {who: {c: q for c, q in sorted(m.items()) if q > 0} for who, m in orders.items() if any(m.values())}

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for mine in self.expected().values():
            for code, qty in mine.items():
                out[code] = out.get(code, 0) + qty
        return out


class _Writer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names = self.rng.sample(NAMES, len(NAMES))
        self.script = Script()

    def resident(self) -> str:
        return self.names.pop()

    def room(self) -> str:
        b, f, r = self.rng.randint(1, 12), self.rng.randint(1, 18), self.rng.randint(1, 4)
        return f"{b}栋{f}{r:02d}" if self.rng.random() < 0.6 else f"{b}-{self.rng.randint(1, 3)}-{f}{r:02d}"

    def pick(self, *codes: str) -> tuple[str, int]:
        return self.rng.choice(codes or tuple(ITEMS)), self.rng.randint(1, 3)

    def say(self, at: tuple[int, int], who: str, text: str, *effects: Effect, day: int = 0, code_of: str = "") -> None:
        self.script.events.append(Event(at, who, text, effects=effects, day=day, code_of=code_of))

    def job(self, at: tuple[int, int], kind: str) -> None:
        self.script.events.append(Event(at, job=kind))


def _short(w: _Writer, who: str, style: int) -> tuple[str, tuple[Effect, ...]]:
    """A short-style order in one of several everyday forms."""
    (code, q), (code2, q2) = w.pick(), w.pick()
    name, unit = ITEMS[code]
    if code2 == code:
        code2 = "4" if code != "4" else "1"
    name2, unit2 = ITEMS[code2]
    both = (Effect(who, "add", code, q), Effect(who, "add", code2, q2))
    match style % 6:
        case 0:
            return f"{name}{q}", both[:1]
        case 1:
            return f"{code}号{q}份 {code2}号{q2}份", both
        case 2:
            return f"{name}{CN[q]}{unit},{name2}{CN[q2]}{unit2}", both
        case 3:
            return f"要{CN[q]}{unit}{name}", both[:1]
        case 4:
            return f"{w.room()} {who} {name}x{q}", both[:1]
        case _:
            return f"{name}{q} 谢谢团长", both[:1]


def build_script(seed: int = 2026) -> Script:
    w = _Writer(seed)
    w.job((8, 0), "deal_card")
    head = "#接龙 水果鸡蛋团 今晚9点截单 明天下午到货\n例:3栋402 王姐 葡萄1"
    w.say((8, 2), LEADER, head)
    # A copy chain: each resident copies the list and appends a line; the 4th and 5th copy the
    # same list at the same time (both write "4."), the 6th copies the 5th's list.
    listed: list[str] = []
    before: list[str] = []
    for n, at in enumerate([(8, 5), (8, 9), (8, 14), (8, 20), (8, 20), (8, 27), (8, 35), (8, 41)]):
        who = w.resident()
        copied = before if n == 4 else listed
        code, q = w.pick("1", "2", "4")
        line = f"{len(copied) + 1}. {w.room()} {who} {ITEMS[code][0]}{q}"
        effects = [Effect(who, "add", code, q)]
        if n == 2:
            code2, q2 = w.pick("3")
            line += f" {ITEMS[code2][0]}{q2}"
            effects.append(Effect(who, "add", code2, q2))
        w.say(at, who, "\n".join([head, *copied, line]), *effects)
        if n == 3:
            before = listed
        listed = [*copied, line]
    # Short replies through the day, with a question, chatter, an unclear order, a change, a cancel.
    times = [(9, 3), (9, 18), (9, 40), (10, 5), (10, 12), (11, 30), (12, 8), (12, 40), (13, 15), (14, 2),
             (14, 40), (15, 30), (16, 10), (16, 45), (17, 20), (18, 5), (18, 40), (19, 10), (20, 12), (20, 30)]
    shorts = [w.resident() for _ in times]
    first: dict[str, Effect] = {}
    for n, (who, at) in enumerate(zip(shorts, times, strict=True)):
        text, fx = _short(w, who, n)
        first[who] = fx[0]
        w.say(at, who, text, *fx)
        if n == 3:
            w.say((10, 20), shorts[1], "葡萄甜吗?")
            w.say((10, 22), LEADER, "很甜,昨天刚到的货 👍")
        if n == 5:  # unclear: 橙 fits 脐橙 and 血橙; the bot asks, the resident answers
            asker = w.resident()
            w.say((11, 40), asker, "橙1")
            q = w.rng.randint(1, 2)
            w.say((11, 43), asker, f"脐橙{q}", Effect(asker, "add", "2", q))
        if n == 8:  # a change, and a cancel of everything
            mine, q = first[shorts[0]], w.rng.randint(2, 4)
            w.say((13, 30), shorts[0], f"{ITEMS[mine.item or '1'][0]}改成{q}", Effect(shorts[0], "set", mine.item, q))
            w.say((13, 50), shorts[2], "不好意思,我的取消", Effect(shorts[2], "cancel"))
        if n == 13:
            w.say((16, 50), shorts[4], "谢谢团长!")
    w.job((20, 0), "reminder")
    w.say((20, 45), LEADER, "/list")
    w.job(CUTOFF, "cutoff")
    w.say((21, 5), w.resident(), "葡萄1")  # too late: refused
    w.job((21, 30), "pickup")
    _morning_after(w)
    w.script.events.sort(key=lambda e: (e.day, e.at))  # stable: same-minute events keep their order
    return w.script


def _morning_after(w: _Writer) -> None:
    """The next afternoon: the goods arrive, three households are verified (/核销 by name for the
    resident whose /my in the group sent her code to her private chat, never to the group — a code is
    not typed in the group either: /verify CODE goes in the leader's private chat, which the console
    has no line for —, /picked by name, a reply 已取 to the resident's message), and the leader posts
    who has not picked up yet."""
    a, b, c = w.rng.sample(sorted(w.script.expected()), 3)
    w.say((16, 0), LEADER, "/arrived", day=1)
    w.say((16, 5), a, "/my", day=1)
    w.say((16, 6), LEADER, f"/核销 {a}", day=1)
    w.say((16, 20), LEADER, f"/picked {b}", day=1)
    w.say((16, 40), c, "到了吗?我下楼拿", day=1)
    w.say((16, 42), LEADER, f">{c} 已取", day=1)
    w.say((17, 30), LEADER, "/unpicked", day=1)


def verified(script: Script) -> list[str]:
    """The residents the script's morning after verifies, in order."""
    out = []
    for e in script.events:
        if e.code_of:
            out.append(e.code_of)
        elif e.text.startswith(("/picked ", "/核销 ")):
            out.append(e.text.split(" ", 1)[1])
        elif e.text.startswith(">") and e.text.endswith(" 已取"):
            out.append(e.text[1:].removesuffix(" 已取"))
    return out
