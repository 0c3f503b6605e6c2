"""`tuan replay` without ``--db`` (the in-process store, storage.memory) says exactly what it says
with ``--db`` on SQLite (and, for a subset, PostgreSQL): the same JSON, byte for byte, the same
exit code and errors.

Transcripts: every case file (../shared/cases and tests/cases), the benchmark's own generators
(bench/engine_bench.py: a copy chain, short replies over several chats), and a Hypothesis property
that writes chats of 接龙 copies, short orders, edits, recalls, leader posts and commands.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from bot import replay as replay_module
from tests.replaytool import to_toml
from tests.test_cases import CASE_FILES

ROOT = Path(__file__).resolve().parent.parent
SHARED = [p for p in CASE_FILES if p.name.startswith("p")]


def _bench() -> ModuleType:
    """bench/engine_bench.py, which imports its neighbour machine_info as a top-level module."""
    folder = str(ROOT / "bench")
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location("engine_bench_for_tests", ROOT / "bench" / "engine_bench.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(folder)


BENCH = _bench()


def write(folder: Path, transcript: list[dict[str, Any]], catalog: str | None) -> tuple[str, str | None]:
    """The transcript (JSON Lines) and catalog (TOML) files; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    t = folder / "t.jsonl"
    t.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in transcript), encoding="utf-8")
    if catalog is None:
        return str(t), None
    c = folder / "c.toml"
    c.write_text(catalog, encoding="utf-8")
    return str(t), str(c)


def run(transcript: str, catalog: str | None, db: str | None) -> tuple[int, str, str]:
    """What `tuan replay TRANSCRIPT [--catalog C] --json [--db DB]` exits with and prints (in this process)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = replay_module.run(transcript, catalog, True, db)
    return code, out.getvalue(), err.getvalue()


def assert_same(folder: Path, transcript: list[dict[str, Any]], catalog: str | None, *dbs: str) -> str:
    """Replay in memory and on each of ``dbs``; all must print the same. Returns the memory store's JSON."""
    t, c = write(folder, transcript, catalog)
    memory = run(t, c, None)
    assert memory[0] == 0, memory[2]
    for db in dbs:
        assert run(t, c, db) == memory, db
    return memory[1]


def sqlite_file(folder: Path, name: str = "replay.db") -> str:
    return f"sqlite:///{folder / name}"


@contextlib.contextmanager
def pg_schema(pg_server: str) -> Iterator[str]:
    """A URL whose connections use a fresh schema of this test file's own (dropped afterwards)."""
    schema = f"memreplay_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(pg_server).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def case_input(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    case = json.loads(path.read_text(encoding="utf-8"))
    return case["transcript"], to_toml(case["catalog"]) if case.get("catalog") else None


# --- the case files ---------------------------------------------------------------------------------------------------


def test_there_are_cases() -> None:
    assert len(SHARED) >= 9 and len(CASE_FILES) >= 60


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.name for p in CASE_FILES])
def test_every_case_gives_the_same_json_in_memory_and_on_sqlite(tmp_path: Path, path: Path) -> None:
    transcript, catalog = case_input(path)
    assert_same(tmp_path, transcript, catalog, sqlite_file(tmp_path))


def test_the_first_shared_cases_give_the_same_json_on_postgresql(tmp_path: Path, pg_server: str) -> None:
    for path in SHARED[:9]:  # p01..p09, the contract's first cases (a schema each: PostgreSQL is slower to set up)
        transcript, catalog = case_input(path)
        with pg_schema(pg_server) as url:
            assert_same(tmp_path / path.stem, transcript, catalog, url)


# --- the benchmark's transcripts --------------------------------------------------------------------------------------


def test_a_copy_chain_gives_the_same_json(tmp_path: Path, pg_server: str) -> None:
    with pg_schema(pg_server) as url:
        out = assert_same(tmp_path, BENCH.copy_chain(200), BENCH.CATALOG_TOML, sqlite_file(tmp_path), url)
    assert len(json.loads(out)["orders"]) >= 200  # each resident's own line counts once


def test_short_replies_over_several_chats_give_the_same_json(tmp_path: Path, pg_server: str) -> None:
    with pg_schema(pg_server) as url:
        out = assert_same(tmp_path, BENCH.short_replies(1500, 7), BENCH.CATALOG_TOML, sqlite_file(tmp_path), url)
    got = json.loads(out)
    assert {o["chat"] for o in got["orders"]} == {f"g{i}" for i in range(7)}


def test_short_replies_without_a_catalog_give_the_same_json(tmp_path: Path) -> None:
    assert_same(tmp_path, BENCH.short_replies(300, 3), None, sqlite_file(tmp_path))


def test_errors_are_the_same(tmp_path: Path) -> None:
    """A transcript refused before any work, and one whose catalog is refused: same exit code and words."""
    t, _ = write(tmp_path, [], None)
    Path(t).write_text('{"id": "m1"}\n', encoding="utf-8")
    assert run(t, None, None) == run(t, None, sqlite_file(tmp_path))
    assert run(t, None, None)[0] == 2


# --- generated chats --------------------------------------------------------------------------------------------------

T0 = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
RESIDENTS = [("u1", "王姐", "3栋402"), ("u2", "阿强", "5栋1101"), ("u3", "李阿姨", "2栋301"), ("u4", "Tom", "1栋88")]
GOODS = ["葡萄{}", "鸡蛋{}盒", "脐橙x{}", "1号{}份", "橙子{}箱", "葡萄{} 鸡蛋1", "土鸡蛋{}"]
SHORT = ["+1", "加1", "减1", "改成{}", "取消", "不要了", "鸡蛋不要了", "谢谢", "葡萄还有吗", "{}", "脐橙", "葡萄"]
DEAL_POSTS = [
    "#接龙 今日水果团\n1. 阳光玫瑰葡萄 2斤装 39.9元/盒\n2. 赣南脐橙5斤 45元\n3. 土鸡蛋30枚 28.8元\n今晚9点截单",
    "#接龙 鸡蛋团\n1、土鸡蛋30枚 ¥32\n2、鸭蛋20枚 25元\n例:3栋402 王姐 鸡蛋1",
    "明日团购\n① 葡萄 35\n② 脐橙 40.5\n③ 鸡蛋 30",
]
LEADER_OTHER = ["今晚8点截单", "已截单，明天自提", "#接龙 今日团购\n例:3栋402 王姐 葡萄1", "大家好"]
COMMANDS = ["/close", "/tally", "/help", "/截单", "/list"]

step = st.tuples(
    st.sampled_from(["copy", "copy", "short", "short", "goods", "edit", "recall", "deal", "leader", "command"]),
    st.integers(0, 1),  # chat
    st.integers(0, len(RESIDENTS) - 1),  # resident
    st.integers(0, 50),  # a choice among texts or earlier messages
    st.integers(1, 3),  # a quantity
)


def generated(steps: list[tuple[str, int, int, int, int]]) -> list[dict[str, Any]]:
    """A transcript from drawn steps: each chat keeps its 接龙 list, which copies extend; edits and
    recalls name an earlier message (any sender's, so some are of another's message)."""
    lists: dict[str, list[str]] = {"g0": [], "g1": []}
    sent: dict[str, list[str]] = {"g0": [], "g1": []}
    out: list[dict[str, Any]] = []
    for n, (kind, chat_no, who, pick, qty) in enumerate(steps, 1):
        chat = f"g{chat_no}"
        sid, name, room = RESIDENTS[who]
        msg: dict[str, Any] = {"id": f"m{n}", "ts": (T0 + timedelta(seconds=n)).isoformat(), "chat": chat,
                               "sender_id": sid, "sender": name}
        if kind == "copy":
            line = f"{len(lists[chat]) + 1}. {room} {name} {GOODS[pick % len(GOODS)].format(qty)}"
            if pick % 7 == 0 and lists[chat]:  # a copy that changes someone's line
                lines = lists[chat][:-1] + [lists[chat][-1] + " 鸡蛋1"]
            else:
                lines = lists[chat] + [line]
            lists[chat] = lines
            msg["text"] = "#接龙 今日团购\n例:3栋402 王姐 葡萄1\n" + "\n".join(lines)
        elif kind == "short":
            msg["text"] = SHORT[pick % len(SHORT)].format(qty)
        elif kind == "goods":
            msg["text"] = f"{room} {GOODS[pick % len(GOODS)].format(qty)}" if pick % 2 else GOODS[pick % 7].format(qty)
        elif kind in ("edit", "recall") and sent[chat]:
            target = sent[chat][pick % len(sent[chat])]
            if kind == "edit":
                msg["edit_of"], msg["text"] = target, GOODS[pick % len(GOODS)].format(qty)
            else:
                msg["recall_of"] = target
        elif kind == "deal":
            msg["role"], msg["text"] = "leader", DEAL_POSTS[pick % len(DEAL_POSTS)]
        elif kind == "leader":
            msg["role"], msg["text"] = "leader", LEADER_OTHER[pick % len(LEADER_OTHER)]
        else:
            msg["text"] = COMMANDS[pick % len(COMMANDS)]
        out.append(msg)
        sent[chat].append(msg["id"])
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=30), with_catalog=st.booleans())
def test_generated_chats_give_the_same_json(tmp_path: Path, steps: list[tuple[str, int, int, int, int]],
                                            with_catalog: bool) -> None:
    folder = tmp_path / uuid.uuid4().hex
    assert_same(folder, generated(steps), BENCH.CATALOG_TOML if with_catalog else None, "sqlite://")
