"""A reader that stops early (`tuan … | head`) ends the command quietly, not with a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CATALOG = """
[[items]]
code = "1"
name = "葡萄"
unit = "份"
price = "10"
"""


def _transcript(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"m{i}", "ts": "2026-11-25T19:00:00+08:00", "chat": "g1",
                                 "sender_id": f"u{i}", "sender": f"邻居{i}", "text": "葡萄2"},
                                ensure_ascii=False) + "\n")


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    tr, cat = tmp_path / "t.jsonl", tmp_path / "c.toml"
    _transcript(tr, 1500)  # its JSON report is far larger than a pipe's buffer
    cat.write_text(CATALOG, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "replay", str(tr), "--catalog", str(cat), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(64)  # the reader takes a little, then goes away
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    status = proc.wait(timeout=60)
    assert first.startswith(b"{")
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert status == 141, (status, err)


def test_a_reader_that_reads_everything_gets_it_all(tmp_path: Path) -> None:
    tr, cat = tmp_path / "t.jsonl", tmp_path / "c.toml"
    _transcript(tr, 300)
    cat.write_text(CATALOG, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "bot.cli", "replay", str(tr), "--catalog", str(cat), "--json"],
                         capture_output=True, check=True)
    assert json.loads(out.stdout)["totals"] == {"1": 600}
