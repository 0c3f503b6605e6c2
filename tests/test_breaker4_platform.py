"""Breaker round 4: the platform's command line (settle, stats, leaders), as strict xfails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.cli import main


def config(tmp_path: Path) -> str:
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
leaders = ["阿华"]
""", encoding="utf-8")
    return str(path)


# User sees: `tuan settle --from 2026-01-01 --to 9999-12-31` ("everything so far") or
# `--from 0001-01-01` prints a Python traceback (OverflowError: date value out of range) instead of
# one line and exit status 2, as every other bad date does (README: bad input is one line on stderr).
@pytest.mark.parametrize("args", [
    ["settle", "--from", "2026-01-01", "--to", "9999-12-31"],
    ["settle", "--from", "0001-01-01", "--to", "2026-12-31"],
    ["stats", "--from", "2026-01-01", "--to", "9999-12-31"],
])
def test_an_extreme_period_is_one_line_not_a_traceback(capsys: Any, tmp_path: Path, args: list[str]) -> None:
    try:
        code = main([*args, "--config", config(tmp_path)])
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"traceback: {type(e).__name__}: {e}")
    out, err = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in err


# User sees: two leader rows are given the same platform account (`--account telegram:1` on both);
# nothing warns, and in the chat /earnings of that account shows only the first row's money (by id)
# while both rows' groups obey it: the second leader's commission is never shown to anyone.
def test_an_account_already_used_by_another_leader_is_refused(capsys: Any, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert main(["leader", "add", "x7", "--name", "七", "--account", "telegram:1", "--config", cfg]) == 0
    code = main(["leader", "add", "x8", "--name", "八", "--account", "telegram:1", "--config", cfg])
    capsys.readouterr()
    assert code == 2


# User sees: the operator runs `tuan schedule add --group home --kind reminder --time 07:00` twice
# (or as `--cron "0 7 * * *"`, or `--cron "00 07 * * *"`): every one is added (ids ...#2, ...#3) and the
# group gets the same reminder two or three times every morning. An exact duplicate (same group, kind,
# time, text) is most likely a mistake and should be refused, as a duplicate group or leader is.
def test_the_same_schedule_twice_is_refused(capsys: Any, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert main(["schedule", "add", "--group", "home", "--kind", "reminder", "--time", "07:00", "--config", cfg]) == 0
    again = main(["schedule", "add", "--group", "home", "--kind", "reminder", "--cron", "0 7 * * *", "--config", cfg])
    capsys.readouterr()
    assert again == 2


# User sees: a supplier's list with codes like `SKU/01`, `A:1` or `C,1` imports fine (and
# `tuan product add X/2` too), but the product can then never be offered: `tuan deal open --products
# SKU/01` says "no product SKU" (the pick syntax CODE/SPEC:STOCK,... splits it), and the web's
# POST /products/SKU%2F01 is a 404, so it cannot be edited either. Expected: such a code is refused
# when it comes in (one line, exit 2), or it can be offered.
@pytest.mark.parametrize("code", ["SKU/01", "A:1", "C,1"])
def test_a_product_code_that_cannot_be_picked_is_refused(capsys: Any, tmp_path: Path, code: str) -> None:
    cfg = config(tmp_path)
    added = main(["product", "add", code, "--name", "斜杠货", "--price", "5", "--config", cfg])
    opened = main(["deal", "open", "--group", "home", "--products", code, "--config", cfg]) if added == 0 else 2
    capsys.readouterr()
    assert added == 2 or opened == 0
