"""`tuan replay` as a command: JSON output, the table, and clear errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CATALOG = """
cutoff = "2026-11-25T21:00:00+08:00"
[[items]]
code = "1"
name = "阳光玫瑰葡萄 2斤装"
unit = "盒"
price = "29.9"
aliases = ["葡萄"]
[[items]]
code = "2"
name = "土鸡蛋 30枚"
unit = "盒"
price = "32"
aliases = ["鸡蛋"]
stock = 2
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "replay", *args], capture_output=True, text=True)


def msg(i: int, text: str, sender: str = "u1", **extra: str) -> str:
    m = {"id": f"m{i}", "ts": f"2026-11-25T19:{i:02d}:00+08:00", "chat": "g1", "sender_id": sender,
         "sender": "王姐", "text": text, **extra}
    return json.dumps(m, ensure_ascii=False)


def test_json_output(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(CATALOG, encoding="utf-8")
    lines = [msg(1, "3栋402 王姐 葡萄2"), msg(2, "鸡蛋3", "u2"), msg(3, "鸡蛋1", "u3"), msg(4, "橘子2", "u4")]
    (tmp_path / "t.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    p = run(str(tmp_path / "t.jsonl"), "--catalog", str(tmp_path / "c.toml"), "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {(o["sender_id"], o["item"], o["qty"], o["label"]) for o in out["orders"]} == {
        ("u1", "1", 2, "3栋402 王姐"), ("u3", "2", 1, "")}
    assert out["totals"] == {"1": 2, "2": 1}
    assert [r["message_id"] for r in out["refused"]] == ["m2"]
    assert "sold out" in out["refused"][0]["reason"]


def test_with_db_sqlite_the_command_prints_what_it_prints_without(tmp_path: Path) -> None:
    """Without --db the store is in memory; --db sqlite:///FILE writes the file and says the same."""
    (tmp_path / "c.toml").write_text(CATALOG, encoding="utf-8")
    lines = [msg(1, "3栋402 王姐 葡萄2"), msg(2, "鸡蛋3", "u2"), msg(3, "鸡蛋1", "u3"), msg(4, "改成2", "u3"),
             msg(5, "葡萄1", "u4"), msg(6, "葡萄3", "u4", edit_of="m5")]
    (tmp_path / "t.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = [str(tmp_path / "t.jsonl"), "--catalog", str(tmp_path / "c.toml")]
    db = tmp_path / "kept.db"
    for fmt in (["--json"], []):
        memory, sqlite = run(*args, *fmt), run(*args, *fmt, "--db", f"sqlite:///{db}")
        assert memory.returncode == sqlite.returncode == 0, memory.stderr + sqlite.stderr
        assert memory.stdout == sqlite.stdout and memory.stderr == sqlite.stderr == ""
        assert "王姐" in memory.stdout
        db.unlink()  # the file was written (and is new for the next run)
    assert not list(tmp_path.glob("*.db"))


def test_table_output(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(CATALOG, encoding="utf-8")
    (tmp_path / "t.jsonl").write_text(msg(1, "葡萄2") + "\n", encoding="utf-8")
    p = run(str(tmp_path / "t.jsonl"), "--catalog", str(tmp_path / "c.toml"))
    assert p.returncode == 0, p.stderr
    assert "阳光玫瑰葡萄" in p.stdout and "王姐" in p.stdout


def test_bad_json_line_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text(msg(1, "葡萄2") + "\n{not json\n", encoding="utf-8")
    p = run(str(tmp_path / "t.jsonl"), "--json")
    assert p.returncode == 2
    assert "t.jsonl:2" in p.stderr and "not valid JSON" in p.stderr
    assert "Traceback" not in p.stderr


def test_missing_field_names_line_and_field(tmp_path: Path) -> None:
    bad = json.dumps({"id": "m2", "ts": "2026-11-25T19:00:00+08:00", "chat": "g1", "sender": "x", "text": "葡萄1"})
    (tmp_path / "t.jsonl").write_text(msg(1, "葡萄2") + "\n" + bad + "\n", encoding="utf-8")
    p = run(str(tmp_path / "t.jsonl"))
    assert p.returncode == 2
    assert "t.jsonl:2" in p.stderr and "`sender_id`" in p.stderr
    assert "Traceback" not in p.stderr


def test_bad_timestamp_and_bad_catalog(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text(msg(1, "葡萄2").replace("2026-11-25T19:01:00+08:00", "yesterday") + "\n",
                                      encoding="utf-8")
    p = run(str(tmp_path / "t.jsonl"))
    assert p.returncode == 2 and "`ts`" in p.stderr
    (tmp_path / "ok.jsonl").write_text(msg(1, "葡萄2") + "\n", encoding="utf-8")
    (tmp_path / "c.toml").write_text("[[items]]\ncode = \"1\"\n", encoding="utf-8")
    p = run(str(tmp_path / "ok.jsonl"), "--catalog", str(tmp_path / "c.toml"))
    assert p.returncode == 2 and "items[1].name" in p.stderr and "Traceback" not in p.stderr


def test_missing_file(tmp_path: Path) -> None:
    p = run(str(tmp_path / "nope.jsonl"))
    assert p.returncode == 2 and "cannot open" in p.stderr


@pytest.mark.parametrize("store", ["memory", "sqlite", "postgresql"])
def test_unencodable_text_is_replaced_and_nothing_else_is_lost(tmp_path: Path, store: str,
                                                               request: pytest.FixtureRequest) -> None:
    (tmp_path / "c.toml").write_text(CATALOG, encoding="utf-8")

    def line(i: int, text: str, sender: str, name: str) -> str:  # ASCII JSON: escapes may be lone surrogates
        return json.dumps({"id": f"m{i}", "ts": f"2026-11-25T19:{i:02d}:00+08:00", "chat": "g1",
                           "sender_id": sender, "sender": name, "text": text})

    lines = [line(1, "葡萄2 \ud800", "u1", "王\udc00姐"), line(2, "鸡蛋1\u0000", "u2\ud83d", "阿强"),
             line(3, "葡萄1 \ud83d\ude00", "u3", "小陈")]
    (tmp_path / "t.jsonl").write_text("\n".join(lines) + "\n", encoding="ascii")
    db = {"memory": [], "sqlite": ["--db", request.getfixturevalue("sqlite_url")],
          "postgresql": ["--db", request.getfixturevalue("pg_url")]}[store]
    p = run(str(tmp_path / "t.jsonl"), "--catalog", str(tmp_path / "c.toml"), "--json", *db)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    out = json.loads(p.stdout)
    assert {(o["sender_id"], o["item"], o["qty"]) for o in out["orders"]} == {
        ("u1", "1", 2), ("u2\ufffd", "2", 1), ("u3", "1", 1)}


@pytest.mark.parametrize("extra, words", [
    ('"z": ' + '{"a": ' * 5000 + "1" + "}" * 5000, "nested too deeply"),
    ('"z": ' + "9" * 5000, "not a usable JSON line"),
], ids=["nested 5000 deep", "5000-digit number"])
def test_hostile_json_lines_are_a_clear_error(tmp_path: Path, extra: str, words: str) -> None:
    line = msg(1, "葡萄2")[:-1] + ", " + extra + "}"
    (tmp_path / "t.jsonl").write_text(msg(0, "葡萄1") + "\n" + line + "\n", encoding="utf-8")
    p = run(str(tmp_path / "t.jsonl"), "--json")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().startswith("tuan replay: ") and "t.jsonl:2" in p.stderr and words in p.stderr


@pytest.mark.parametrize("db, words", [
    ("postgresql+psycopg://nosuchrole_tuan:pw-secret@127.0.0.1:5432/test", "the database cannot be used"),
    ("postgresql+psycopg://u:pw-secret@127.0.0.1:x/test", "not a usable database URL"),
    ("nonsense", "not a usable database URL"),
])
def test_a_store_that_cannot_be_opened_is_one_line_exit_2(tmp_path: Path, db: str, words: str) -> None:
    (tmp_path / "t.jsonl").write_text(msg(1, "葡萄2") + "\n", encoding="utf-8")
    (tmp_path / "c.toml").write_text(CATALOG, encoding="utf-8")
    p = run(str(tmp_path / "t.jsonl"), "--catalog", str(tmp_path / "c.toml"), "--db", db)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "pw-secret" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and words in p.stderr


def test_a_repeated_id_or_an_unknown_role_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text(msg(1, "葡萄2") + "\n" + msg(2, "葡萄1") + "\n" + msg(1, "鸡蛋1") + "\n",
                                      encoding="utf-8")
    p = run(str(tmp_path / "t.jsonl"), "--json")
    assert p.returncode == 2 and "t.jsonl:3" in p.stderr and "repeats line 1" in p.stderr
    (tmp_path / "t.jsonl").write_text(msg(1, "葡萄2", role="admin") + "\n", encoding="utf-8")
    p = run(str(tmp_path / "t.jsonl"), "--json")
    assert p.returncode == 2 and "t.jsonl:1" in p.stderr and "`role`" in p.stderr and "Traceback" not in p.stderr


def test_json_is_written_as_json_dump_writes_it() -> None:
    import io

    from bot.replay import write_json

    obj = {"orders": [{"sender": "🌸Lily", "qty": i, "label": f"{i}栋"} for i in range(50)],
           "totals": {}, "unclear": [], "refused": [{"reason": "已截单\n"}]}
    for pieces in (1, 3, 4096):
        out = io.StringIO()
        write_json(obj, out, pieces)
        assert out.getvalue() == json.dumps(obj, ensure_ascii=False, indent=1) + "\n"


def test_a_replay_collects_garbage_less_often_and_restores_the_thresholds(tmp_path: Path) -> None:
    import gc

    from bot.replay import GC_GEN0, fewer_collections, run

    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == GC_GEN0
    assert gc.get_threshold() == before
    transcript = tmp_path / "t.jsonl"
    transcript.write_text("", encoding="utf-8")
    assert run(str(transcript), None, True, None) == 0
    assert gc.get_threshold() == before
