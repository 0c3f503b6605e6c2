"""Where a command's file goes (bot/cli_output.py): ``-o FILE`` (0600), ``-o -`` or nothing for stdout,
a binary file refused on a terminal but given to a pipe, an unwritable file one line, for every
command that writes one (export, pickup, settle, purchase)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.cli_output import emit

CONFIG = """
[store]
url = "sqlite:///{db}"
[console]
chat = "console"
[[groups]]
id = "home"
platform = "console"
chat = "home"
title = "幸福里"
leaders = ["王团长"]
"""


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "tuan.toml"
    path.write_text(CONFIG.format(db=tmp_path / "tuan.db"), encoding="utf-8")
    return str(path)


def test_emit_writes_a_private_file_or_stdout(tmp_path: Path, capsysbinary: Any) -> None:
    target = tmp_path / "x.csv"
    emit(str(target), b"a,b\n")
    assert target.read_bytes() == b"a,b\n" and stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert capsysbinary.readouterr().err.endswith(b"x.csv: 4 bytes\n")
    emit("-", b"to stdout")
    emit(None, b"!")
    assert capsysbinary.readouterr().out == b"to stdout!"
    with pytest.raises(LookupError, match=r"^/nonexistent/x.csv: No such file or directory$"):
        emit("/nonexistent/x.csv", b"", fail=LookupError)


def test_emit_refuses_a_binary_file_on_a_terminal(monkeypatch: pytest.MonkeyPatch, capsysbinary: Any) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    with pytest.raises(ValueError, match="XLSX file is binary and stdout is a terminal"):
        emit("-", b"PK", binary="XLSX")
    emit("-", b"text is fine")
    assert capsysbinary.readouterr().out == b"text is fine"


@pytest.mark.parametrize("args", [
    ("settle", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "xlsx"),
    ("purchase", "--date", "2026-12-01", "--format", "xlsx"),
])
def test_an_xlsx_goes_to_a_pipe_and_is_refused_on_a_terminal(args: tuple[str, ...], config: str,
                                                             monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    piped = subprocess.run([sys.executable, "-m", "bot.cli", *args, "--config", config], capture_output=True,
                           timeout=120)
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout.startswith(b"PK")  # a zip: the workbook
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    capsys.readouterr()
    assert main([*args, "--config", config]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "binary" in err and err.count("\n") == 1


@pytest.mark.parametrize(("args", "header"), [
    (("settle", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "csv"), "团长ID"),
    (("purchase", "--date", "2026-12-01", "--format", "csv"), "供应商"),
])
def test_an_unwritable_file_is_one_line_and_dash_is_stdout(args: tuple[str, ...], header: str, config: str,
                                                           capsys: Any) -> None:
    assert main([*args, "-o", "/nonexistent/dir/out.csv", "--config", config]) == 2
    out, err = capsys.readouterr()
    assert err == "tuan: /nonexistent/dir/out.csv: No such file or directory\n", err
    assert main([*args, "-o", "-", "--config", config]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("\ufeff" + header + ","), out[:40]
    assert not Path("-").exists()
