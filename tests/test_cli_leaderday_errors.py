"""The leader's day from the command line (`tuan verify|paid|refund|short`) on a group added with `tuan
group add` (no [[groups]] in tuan.toml): a group named by its store id works, and every action that
changes nothing says why in one line of English (never a bare status code such as "none").

The round, closed (g7, 葡萄 29.90, 鸡蛋 32): #1 3栋101 王姐 葡萄2 = 59.80; #2 5栋101 李哥 葡萄1 鸡蛋1 = 61.90.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.fake import sender_id_of
from bot.catalog import Catalog, Item
from bot.cli import main
from bot.model import InboundMessage
from bot.services.orders import OrderService
from storage.sql import open_repository

URL_FIXTURES = {"sqlite": "sqlite_url", "postgresql": "pg_url"}


class Round:
    def __init__(self, tmp_path: Path, url: str, capsys: Any) -> None:
        self.cfg = tmp_path / "tuan.toml"
        self.cfg.write_text(f'[store]\nurl = "{url}"\n[bot]\ntimezone = "Asia/Shanghai"\n', encoding="utf-8")
        self.capsys = capsys
        assert self.cli("group", "add", "g7", "--platform", "fake", "--chat", "g7", "--title", "七号群") == 0
        repo = open_repository(url)
        try:
            service = OrderService(repo)
            items = (Item("1", "葡萄", "盒", Decimal("29.90")), Item("2", "鸡蛋", "盒", Decimal("32")))
            self.deal = service.open_deal(Catalog(items=items, title="团"), ["fake:g7"], title="团")
            for n, (who, text) in enumerate([("王姐", "3栋101 王姐 葡萄2"), ("李哥", "5栋101 李哥 葡萄1 鸡蛋1")]):
                service.handle(InboundMessage("fake", "g7", f"m{n}", sender_id_of(who), who, text, datetime.now(UTC)))
            service.close_deal(self.deal)
        finally:
            repo.close()

    def cli(self, *args: str) -> int:
        self.capsys.readouterr()
        code = main([*args, "--config", str(self.cfg)])
        self.out, self.err = self.capsys.readouterr()
        return code

    def act(self, action: str, *args: str, group: str = "g7", deal: str = "") -> int:
        return self.cli(action, "--deal", deal or self.deal, "--group", group, "--by", "阿华", *args)


@pytest.fixture(params=["sqlite", "postgresql"])
def r(request: pytest.FixtureRequest, tmp_path: Path, capsys: Any) -> Iterator[Round]:
    yield Round(tmp_path, request.getfixturevalue(URL_FIXTURES[request.param]), capsys)


CASES = [
    (["verify", "99999"], "no household with pickup code '99999' in deal {deal} in group 'g7' "
                          "(see `tuan marks --deal {deal}`)"),
    (["paid", "赵六"], "no household '赵六' in deal {deal} in group 'g7' (see `tuan marks --deal {deal}`)"),
    (["paid", "101"], "'101' matches 2 households: #1 3栋101 王姐, #2 5栋101 李哥; name one by its number (e.g. '#1')"),
    (["refund", "王姐", "榴莲", "1"], "deal {deal} sells no item '榴莲'"),
    (["refund", "王姐", "葡萄", "3"], "3栋101 王姐: at most 2 more of 葡萄 can be refunded"),
    (["refund", "王姐", "葡萄", "0"], "the quantity must be 1 or more (got 0)"),
    (["refund", "王姐", "葡萄", "1", "坏果", "--amount", "60"],
     "3栋101 王姐: at most 59.80 yuan more can be refunded for 葡萄"),
]


@pytest.mark.parametrize(("args", "said"), CASES)
def test_an_action_that_changes_nothing_says_why_in_one_line(r: Round, args: list[str], said: str) -> None:
    assert r.act(*args) == 1
    assert r.err == f"tuan: {said.format(deal=r.deal)}\n"


def test_a_group_added_on_the_command_line_is_named_by_its_id_and_a_second_verify_says_when(r: Round) -> None:
    assert r.act("paid", "#2") == 0 and r.out.startswith("5栋101 李哥: ") and "paid 61.90" in r.out
    assert r.cli("marks", "--deal", r.deal, "--json") == 0
    import json

    code = next(row["pickup_code"] for row in json.loads(r.out) if row["name"] == "王姐")
    assert r.act("verify", code) == 0
    assert r.act("verify", code) == 1
    assert r.err.startswith("tuan: 3栋101 王姐 was already picked up (20") and r.err.endswith(" by 阿华)\n")
    assert r.act("paid", "王姐", group="g8") == 2
    assert r.err == "tuan: no group 'g8' (a group id, see `tuan groups`, or a chat key the store knows)\n"


def test_a_round_copied_into_a_store_group_refuses_a_short_delivery_until_its_cutoff(r: Round) -> None:
    assert r.cli("deal", "copy", r.deal, "--group", "g7") == 0, r.err
    assert r.cli("deals", "--group", "g7") == 0
    (again,) = [ln.split()[0] for ln in r.out.splitlines()[1:] if "open" in ln]
    assert again != r.deal
    assert r.act("short", "葡萄", "0", deal=again) == 1
    assert r.err == (f"tuan: deal {again} still takes orders: record a short delivery after its cutoff "
                     "(its schedule, or /close in the group)\n")
    assert r.act("short", "葡萄", "1") == 0  # the closed round: 王姐 (first) gets it, 3 short
    assert r.out.splitlines()[-1] == "葡萄: ordered 3, delivered 1, refunded 59.80"
