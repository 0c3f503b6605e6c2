"""Days, times and whole numbers typed on the command line or in the dashboard (bot/inputs.py, bot/cli_args.py,
bot/web/params.py): every argument and query parameter of those kinds, fed the calendar's ends, superscript
and full-width digits, negative, huge and empty values, is one line and exit 2 (CLI) or a 400 page in Chinese
(web), never a traceback or a 500. A store that cannot be written is one line naming it and the fix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import make_url
from starlette.testclient import TestClient

from bot import inputs
from bot.cli import main
from bot.web.app import create_app
from tests.test_web_http import PASSWORDS, csrf
from tests.web_support import GA, World, world

CST = timezone(timedelta(hours=8))
HUGE = "9" * 25
FULL_WIDTH_DAY = "２０２６-１１-３０"
BAD_DAYS = ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01", "²", FULL_WIDTH_DAY, "-1", HUGE, "", "2026-13-01"]
BAD_WHOLES = ["²", "１２", "-1", HUGE, "", "1.5", "1_000", "+3"]


# --- the parsers themselves -----------------------------------------------------------------------------

@pytest.mark.parametrize("raw, want", [("2000-01-01", date(2000, 1, 1)), (" 2100-12-31 ", date(2100, 12, 31)),
                                       ("2026-11-30", date(2026, 11, 30))])
def test_a_day_within_the_years_is_taken(raw: str, want: date) -> None:
    assert inputs.day(raw) == want


OUT_OF_YEARS = ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"]


@pytest.mark.parametrize("raw", BAD_DAYS)
def test_a_day_outside_the_years_or_not_a_day_is_refused(raw: str) -> None:
    with pytest.raises(inputs.BadInput) as e:
        inputs.day(raw)
    assert e.value.kind == ("range" if raw in OUT_OF_YEARS else "form")


@pytest.mark.parametrize("raw, want", [
    ("2026-11-30 21:00", datetime(2026, 11, 30, 21, 0, tzinfo=CST)),
    ("2026-11-30T21:00", datetime(2026, 11, 30, 21, 0, tzinfo=CST)),
    ("2026-11-30T21:00+00:00", datetime(2026, 11, 30, 21, 0, tzinfo=UTC)),
])
def test_a_time_is_in_the_zone_unless_it_has_an_offset(raw: str, want: datetime) -> None:
    got = inputs.moment(raw, CST)
    assert got == want and got.utcoffset() == want.utcoffset()


@pytest.mark.parametrize("raw", ["9999-12-31 23:59", "0001-01-01 00:00", "2101-01-01 00:00", "2100-12-31 23:00-14:00",
                                 "２０２６-１１-３０ ２１:００", "²", "", "soon", HUGE])
def test_a_time_outside_the_years_or_not_a_time_is_refused(raw: str) -> None:
    with pytest.raises(inputs.BadInput):
        inputs.moment(raw, timezone(timedelta(hours=14)))


@pytest.mark.parametrize("raw, low, want", [("0", 0, 0), (" 42 ", 0, 42), ("1000000000", 0, 1_000_000_000),
                                            ("-5", -10, -5)])
def test_a_whole_number_in_range_is_taken(raw: str, low: int, want: int) -> None:
    assert inputs.whole(raw, low, inputs.MAX_COUNT) == want


@pytest.mark.parametrize("raw", BAD_WHOLES + ["1000000001", "9" * 5000])
def test_a_whole_number_out_of_range_or_not_ascii_digits_is_refused(raw: str) -> None:
    with pytest.raises(inputs.BadInput) as e:
        inputs.whole(raw, 0, inputs.MAX_COUNT)
    assert e.value.kind == ("range" if raw.isascii() and raw.isdigit() else "form")


# --- every command-line argument of those kinds ----------------------------------------------------------

@pytest.fixture
def cfg(tmp_path: Path) -> str:
    path = tmp_path / "tuan.toml"
    path.write_text(f"""
[store]
url = "sqlite:///{tmp_path / 'tuan.db'}"
[console]
enabled = false
[[groups]]
id = "home"
platform = "console"
chat = "home"
title = "幸福里"
""", encoding="utf-8")
    assert main(["product", "add", "G1", "--name", "葡萄", "--price", "29.9", "--config", str(path)]) == 0
    return str(path)


OPEN = ["deal", "open", "--group", "home", "--products", "G1"]
CLI_DAYS = [(["stock", "--date"], []), (["purchase", "--date"], []),
            (["settle", "--to", "2026-11-30", "--from"], []), (["settle", "--from", "2026-11-01", "--to"], []),
            (["stats", "--to", "2026-11-30", "--from"], []), (["stats", "--from", "2026-11-01", "--to"], []),
            ([*OPEN, "--delivery"], [])]
CLI_TIMES = [([*OPEN, "--cutoff"], [])]
CLI_WHOLES = [(["deals", "--days"], []), (["refund", "--deal", "d1", "--by", "x", "王姐", "1"], ["坏果"]),
              (["short", "--deal", "d1", "--by", "x", "1"], []), (["demo", "--seed"], [])]


def _cases(args: list[tuple[list[str], list[str]]], values: list[str]) -> list[Any]:
    return [pytest.param(before, value, after, id=f"{' '.join(before[:2])}={value!r}")
            for before, after in args for value in values]


@pytest.mark.parametrize("before, value, after", _cases(CLI_DAYS, BAD_DAYS) + _cases(CLI_WHOLES, BAD_WHOLES)
                         + _cases(CLI_TIMES, ["9999-12-31 23:59", "0001-01-01 00:00", "２０２６-１１-３０ ２１:００", "²",
                                              "", HUGE]))
def test_every_cli_argument_refuses_a_bad_value_in_one_line_with_exit_2(capsys: Any, cfg: str, before: list[str],
                                                                         value: str, after: list[str]) -> None:
    capsys.readouterr()
    try:
        code = main([*before, value, *after, *([] if before[0] == "demo" else ["--config", cfg])])
    except SystemExit as e:  # argparse's own refusal (not expected: ours comes first)
        code = e.code if isinstance(e.code, int) else 2
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"traceback: {type(e).__name__}: {e}")
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.startswith("tuan: ") and err.count("\n") == 1, (code, out, err)
    assert repr(value) in err  # names what was typed


@pytest.mark.parametrize("extra, why", [
    (["--delivery", "2020-01-01"], "is in the past"),
    (["--delivery", "2099-12-01", "--cutoff", "2099-12-05 21:00"], "before the cutoff's day (2099-12-05)"),
])
def test_a_delivery_before_today_or_the_cutoff_s_day_opens_nothing(capsys: Any, cfg: str, extra: list[str],
                                                                    why: str) -> None:
    capsys.readouterr()
    assert main([*OPEN, *extra, "--config", cfg]) == 2
    out, err = capsys.readouterr()
    assert why in err and err.count("\n") == 1
    assert main(["deals", "--config", cfg]) == 0 and capsys.readouterr().out.startswith("no rounds")


def test_a_delivery_on_the_cutoff_s_day_and_the_calendar_s_last_allowed_days_are_taken(capsys: Any, cfg: str) -> None:
    assert main([*OPEN, "--delivery", "2100-12-31", "--cutoff", "2100-12-31 23:59", "--config", cfg]) == 0
    assert "delivery 2100-12-31" in capsys.readouterr().out
    assert main(["stock", "--date", "2100-12-31", "--config", cfg]) == 0
    assert main(["stock", "--date", "2000-01-01", "--config", cfg]) == 0


@pytest.mark.parametrize("value", BAD_WHOLES)
def test_a_bad_stock_after_a_product_code_is_one_line(capsys: Any, cfg: str, value: str) -> None:
    capsys.readouterr()
    assert main([*OPEN[:-1], f"G1:{value}", "--config", cfg]) == 2
    err = capsys.readouterr().err
    assert "must be a whole number" in err and err.count("\n") == 1, err


def test_product_codes_of_other_digits_sort_after_the_numeric_ones(capsys: Any, cfg: str) -> None:
    for code in ("10", "9", "²", "１２"):
        assert main(["product", "add", code, "--name", f"梨{code}", "--price", "3", "--config", cfg]) == 0
    capsys.readouterr()
    assert main(["product", "list", "--config", cfg]) == 0
    codes = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert codes == ["9", "10", "G1", "²", "１２"]


# --- every dashboard parameter of those kinds ----------------------------------------------------------

@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for the module: no request below may change it (each test checks that of its own)."""
    w = world(tmp_path_factory.mktemp("inputs"))
    yield w
    w.repo.close()


@pytest.fixture(scope="module")
def op(w: World) -> TestClient:
    return _signed_in(w, "op")


@pytest.fixture(scope="module")
def leader(w: World) -> TestClient:
    return _signed_in(w, "leadera")


def _signed_in(w: World, who: str) -> TestClient:
    c = TestClient(create_app(w.ctx), follow_redirects=False, raise_server_exceptions=False)
    r = c.post("/login", data={"name": who, "password": PASSWORDS[who], "csrf": csrf(c, "/login")})
    assert r.status_code == 303
    return c


WEB_DAYS = ["/stock?date=", "/stock.csv?date=", "/purchase?date=", "/purchase.csv?date=", "/settle?from=",
            "/settle?to=", "/settle.csv?to=", "/stats?from=", "/stats?to=", "/stats.png?from="]
WEB_WHOLES = [("/audit?before=", "0"), ("/?page=", "10001"), ("/api/today?page=", "10001")]  # and the first out of range


@pytest.mark.parametrize("path, value", [(p, v) for p in WEB_DAYS for v in BAD_DAYS if v]
                         + [(p, v) for p, beyond in WEB_WHOLES for v in [*BAD_WHOLES, beyond] if v])
def test_every_query_parameter_refuses_a_bad_value_with_a_400_in_chinese(op: TestClient, path: str, value: str) -> None:
    r = op.get(path + quote(value))
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert "不对" in r.text or "须" in r.text, r.text[:300]


@pytest.mark.parametrize("path", ["/stock?date=", "/audit?before=", "/?page=", "/purchase?date=", "/settle?from="])
def test_an_empty_query_parameter_is_the_default(op: TestClient, path: str) -> None:
    assert op.get(path).status_code == 200


@pytest.mark.parametrize("field", ["cutoff", "stock_egg"])
@pytest.mark.parametrize("value", ["9999-12-31T23:59", "0001-01-01T00:00", "²", "２０２６-１１-３０T２１:００", HUGE, "-1"])
def test_the_compose_form_refuses_a_bad_cutoff_or_stock_with_a_400_in_chinese(op: TestClient, field: str,
                                                                              value: str) -> None:
    c = op
    r = c.post("/compose", data={"group": GA, "pick": ["egg"], field: value, "title": "周一团",
                                 "action": "preview", "csrf": csrf(c, "/compose")})
    assert r.status_code == 400 and ("截单时间" if field == "cutoff" else "库存") in r.text, r.text[:300]


@pytest.mark.parametrize("action, field, what", [("refund", "qty", "数量"), ("short", "delivered", "到货数量")])
@pytest.mark.parametrize("value", ["²", "１", HUGE, "-1", ""])
def test_a_bad_quantity_on_a_deal_s_form_is_said_and_nothing_recorded(w: World, leader: TestClient, action: str,
                                                                       field: str, what: str, value: str) -> None:
    c = leader
    deal = w.deals[GA]
    r = c.post(f"/deals/{deal}/{action}", data={"household": f"{GA}|u-王姐", "item": "1", field: value,
                                                "reason": "坏果", "csrf": csrf(c)})
    assert r.status_code == 303
    page = c.get(f"/deals/{deal}").text
    assert f"{what}不对" in page or f"{what}须是" in page, page[:300]
    assert w.ctx.leader_day().audit(deal) == []


# --- a store that cannot be written ---------------------------------------------------------------------

def test_a_read_only_postgresql_store_is_one_line_naming_it_and_the_fix(capsys: Any, tmp_path: Path,
                                                                        pg_url: str) -> None:
    def config(url: str) -> str:
        path = tmp_path / "tuan.toml"
        path.write_text(f'[store]\nurl = "{url}"\n[console]\nenabled = false\n', encoding="utf-8")
        return str(path)

    assert main(["groups", "--config", config(pg_url)]) == 0  # creates the schema
    u = make_url(pg_url)
    read_only = u.update_query_dict({"options": u.query["options"] + " -cdefault_transaction_read_only=on"})
    capsys.readouterr()
    code = main(["leader", "add", "wang", "--name", "王姐", "--config",
                 config(read_only.render_as_string(hide_password=False))])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert "PostgreSQL database" in err and "cannot be written" in err and "read-only replica" in err
