"""Breaker round 5: the web dashboard's sessions and live streams, as a hostile (ex-)leader (the bugs
are fixed: each test guards its fix; tests/test_web_identity.py covers their kinds)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from bot.web import auth
from bot.web.app import create_app
from tests.test_web_http import client
from tests.web_support import World, world


@pytest.fixture
def w(tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    w = world(tmp_path)
    yield w
    w.repo.close()


# User sees: the operator removes leader B's account (`tuan user remove leaderb`: "its sessions end at
# once") and then adds a new operator account. B's phone, which kept its cookie, is now signed in as
# that new operator: it sees every group (A's orders, codes, exports). SQLite reuses the removed
# account's id for the new row, and the cookie carries only (id, session_epoch=0).
def test_a_removed_account_s_cookie_never_becomes_the_next_account_s_session(w: World) -> None:
    b = client(w, "leaderb")
    kept = dict(b.cookies)  # the ex-leader's browser keeps its cookie
    auth.remove_user(w.repo.engine, "leaderb")
    auth.add_user(w.repo.engine, "newop", "operator", "new-operator-pw")
    ex = TestClient(create_app(w.ctx), follow_redirects=False)
    for name, value in kept.items():
        ex.cookies.set(name, value)
    r = ex.get("/api/today")
    assert r.status_code == 401, r.text[:300]
    assert "幸福里A群" not in ex.get("/").text


def _row_form(html: str, who: str, action: str) -> dict[str, str]:
    """The hidden fields of the ``action`` form (verify / paid) on the households table's row of ``who``."""
    import re

    row = re.search(rf'<tr data-household="[^"]*{who}[^"]*">(.*?)</tr>', html, re.S)
    assert row is not None, html[:500]
    form = re.search(rf'action="[^"]*/{action}[^"]*"[^>]*>(.*?)</form>', row.group(1), re.S)
    assert form is not None, row.group(1)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))


# User sees: on the dashboard's households table, the leader taps 核销 on the row of 6栋101刘奶奶 (a
# neighbour 王姐 ordered for: 帮邻居6栋101刘奶奶). The page reloads with 王姐's own row 已取 and 刘奶奶's
# still waiting; 已付 on 刘奶奶's row marks 王姐 paid. The row's forms carry only the resident's
# sender id, which names her own household.
@pytest.mark.parametrize("action", ["verify", "paid"])
def test_a_neighbour_s_row_buttons_mark_that_neighbour(w: World, action: str) -> None:
    from tests.web_support import GA

    w.order(GA, "王姐", "帮邻居6栋101刘奶奶 葡萄2")
    deal = w.deals[GA]
    leader = client(w, "leadera")
    fields = _row_form(leader.get(f"/deals/{deal}/households").text, "刘奶奶", action)
    assert leader.post(f"/deals/{deal}/{action}", data=fields).status_code == 303
    marks = w.ctx.leader_day().marks_for_deal(deal)
    neighbour = next(mk for k, mk in marks.items() if "刘奶奶" in str(mk.household))
    own = marks[(GA, "u-王姐")]
    done = (lambda mk: mk.picked) if action == "verify" else (lambda mk: mk.paid)
    assert (done(neighbour), done(own)) == (True, False)


# User sees: the refund form's 住户 list offers 「4. 6栋101刘奶奶」 (王姐 ordered for her: 帮邻居…); the
# leader records 葡萄 1 坏果 for her and the page says 「已为 3栋402 王姐 退款 ¥29.90」: the refund went to
# 王姐's own household, 刘奶奶 shows none (for a resident with no grapes of her own it is refused,
# 「退款数量超过了购买数量」).
def test_a_refund_for_a_neighbour_s_household_lands_on_that_household(w: World) -> None:
    import re

    from tests.test_web_http import csrf
    from tests.web_support import GA

    w.order(GA, "王姐", "帮邻居6栋101刘奶奶 葡萄2")  # 王姐 ordered 葡萄2 herself too (tests/web_support.py)
    deal = w.deals[GA]
    leader = client(w, "leadera")
    page = leader.get(f"/deals/{deal}").text
    option = re.search(r'<option value="([^"]+)">\d+\. 6栋101刘奶奶</option>', page)
    assert option is not None, page[:500]
    leader.post(f"/deals/{deal}/refund", data={"household": option.group(1), "item": "1", "qty": "1",
                                               "reason": "坏果", "csrf": csrf(leader)})
    marks = w.ctx.leader_day().marks_for_deal(deal)
    neighbour = next(mk for mk in marks.values() if "刘奶奶" in str(mk.household))
    assert (neighbour.refund_amount, marks[(GA, "u-王姐")].refund_amount) == (Decimal("29.90"), 0)
