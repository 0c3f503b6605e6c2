"""Breaker round 4: the web dashboard, as a hostile leader (bugs kept as strict xfails)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from bot.usecases.platform_data import deal_catalog
from storage.platform import SqlPlatformStore
from tests.test_web_http import client, csrf
from tests.web_support import GA, GB, World, world


@pytest.fixture
def w(tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    w = world(tmp_path)
    yield w
    w.repo.close()


def shared_deal(w: World) -> str:
    for key in (GA, GB):
        w.service.close_deal(w.deals[key])
    catalog = deal_catalog(SqlPlatformStore(w.repo.engine).load(), [("grape", 10)], title="两群团", cutoff=None)
    deal = w.service.open_deal(catalog, [GA, GB], title="两群团", source="test")
    w.order(GA, "王姐", "3栋402 王姐 葡萄2")
    w.order(GB, "赵姨", "1栋101 赵姨 葡萄1")
    return deal


# User sees: leader A, on the dashboard, records "delivered 0 葡萄" for a round shared with group B
# and group B's household 赵姨 is refunded as short (a write into a group A does not lead). The chat
# /short refuses this (SHORT_SHARED_NOT_YOURS); the web route does not check.
def test_a_leader_s_web_short_never_refunds_another_leader_s_households(w: World) -> None:
    deal = shared_deal(w)
    leader = client(w, "leadera")
    leader.post(f"/deals/{deal}/short", data={"item": "葡萄", "delivered": "0", "csrf": csrf(leader)})
    marks = w.ctx.leader_day().marks_for_deal(deal)
    assert marks[(GB, "u-赵姨")].refund_amount == 0, "B's household was refunded by A's leader"
    assert marks[(GA, "u-王姐")].refund_amount == 0, "refused as a whole, as the chat's /short"
    assert "共用" in leader.get(f"/deals/{deal}").text and not w.ctx.leader_day().audit(deal)


def test_an_operator_or_a_leader_of_every_group_records_a_shared_round_s_short_delivery(w: World) -> None:
    deal = shared_deal(w)
    w.service.close_deal(deal)  # a short delivery is recorded after the cutoff
    op = client(w, "op")  # every group shown, no chat named: the short is the whole round's
    assert op.post(f"/deals/{deal}/short", data={"item": "葡萄", "delivered": "2", "csrf": csrf(op)}).status_code == 303
    marks = w.ctx.leader_day().marks_for_deal(deal)
    assert marks[(GA, "u-王姐")].refund_amount == 0 and marks[(GB, "u-赵姨")].refund_amount == Decimal("29.90")


def test_a_leader_s_web_actions_on_a_shared_round_never_touch_another_leader_s_households(w: World) -> None:
    deal = shared_deal(w)
    ld = w.ctx.leader_day()
    code_b = ld.marks_for_deal(deal)[(GB, "u-赵姨")].pickup_code
    leader = client(w, "leadera")
    token = csrf(leader)
    for action, form in [("verify", {"chat_key": GB, "sender_id": "u-赵姨"}), ("verify", {"household": f"{GB}|u-赵姨"}),
                         ("paid", {"chat_key": GB, "sender_id": "u-赵姨", "amount": "1"}),
                         ("refund", {"household": f"{GB}|u-赵姨", "item": "葡萄", "qty": "1"}),
                         ("unverify", {"chat_key": GB, "code": code_b})]:
        r = leader.post(f"/deals/{deal}/{action}", data={**form, "csrf": token})
        assert r.status_code == 403, (action, form)
    # with no group named, a leader's code or sender id is looked up in their own groups only
    for action, form in [("verify", {"code": code_b}), ("verify", {"sender_id": "u-赵姨"}),
                         ("paid", {"sender_id": "u-赵姨"}), ("refund", {"sender_id": "u-赵姨", "item": "葡萄", "qty": "1"})]:
        assert leader.post(f"/deals/{deal}/{action}", data={**form, "csrf": token}).status_code == 303
    b = ld.marks_for_deal(deal)[(GB, "u-赵姨")]
    assert not b.picked and b.paid_amount is None and b.refund_amount == 0 and not ld.audit(deal)
    # B's own leader verifies by code, and A's leader cannot undo it
    lb = client(w, "leaderb")
    lb.post(f"/deals/{deal}/verify", data={"code": code_b, "csrf": csrf(lb)})
    assert ld.marks_for_deal(deal)[(GB, "u-赵姨")].picked
    leader.post(f"/deals/{deal}/unverify", data={"code": code_b, "csrf": token})
    assert ld.marks_for_deal(deal)[(GB, "u-赵姨")].picked


def test_an_operator_undoes_a_verification_by_code_in_any_group_of_a_shared_round(w: World) -> None:
    deal = shared_deal(w)
    ld = w.ctx.leader_day()
    code_b = ld.marks_for_deal(deal)[(GB, "u-赵姨")].pickup_code
    op = client(w, "op")
    token = csrf(op)
    op.post(f"/deals/{deal}/verify", data={"code": code_b, "csrf": token})
    assert ld.marks_for_deal(deal)[(GB, "u-赵姨")].picked
    op.post(f"/deals/{deal}/unverify", data={"code": code_b, "csrf": token})  # B is not the first of the groups
    assert not ld.marks_for_deal(deal)[(GB, "u-赵姨")].picked


# User sees: a leader signs out on a shared phone (or an operator signs out after a colleague saw the
# cookie); whoever kept the cookie from before the sign-out is still signed in for up to 12 hours:
# the session is a signed cookie only, and signing out revokes nothing on the server.
def test_a_session_cookie_is_dead_after_signing_out(w: World) -> None:
    c = client(w, "op")
    stolen = c.cookies.get("tuan_session")
    assert stolen and c.get("/").status_code == 200
    assert c.post("/logout", data={"csrf": csrf(c)}).status_code == 303
    thief = client(w)
    thief.cookies.set("tuan_session", stolen)
    assert thief.get("/").status_code == 303, "the cookie of a signed-out session still opens the dashboard"


# User sees: `tuan web --listen nonsense` (or `127.0.0.1:`, `:8080x`, `127.0.0.1:99999`) prints a
# Python traceback (ValueError / OverflowError) instead of one line, while the same mistake in
# tuan.toml's `[web] listen` is one config line ('must be "host:port"').
@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1:", "127.0.0.1:99999", ":8080", "127.0.0.1:8080x",
                                    "127.0.0.1:0"])
def test_a_bad_listen_address_is_one_line(tmp_path, listen: str) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    cfg = tmp_path / "tuan.toml"
    cfg.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "t.db"}"\n[console]\nenabled = false\n', encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))",
                          "web", "--listen", listen, "--config", str(cfg)],
                         capture_output=True, text=True, timeout=20)  # its own process: a server left open dies with it
    assert "Traceback" not in run.stderr and run.returncode in (1, 2), run.stderr[-300:]
    assert len(run.stderr.strip().splitlines()) == 1
    assert run.returncode == 2 and run.stderr.startswith("tuan: --listen must be \"host:port\"")


def test_signing_out_ends_the_account_s_other_sessions_and_a_new_sign_in_works(w: World) -> None:
    phone, laptop = client(w, "leadera"), client(w, "leadera")
    other = client(w, "leaderb")
    assert phone.post("/logout", data={"csrf": csrf(phone)}).status_code == 303
    assert laptop.get("/").status_code == 303 and laptop.get("/api/today").status_code == 401
    assert other.get("/").status_code == 200  # another account's session lives on
    again = client(w, "leadera")  # signing in again gives a live session
    assert again.get("/").status_code == 200
