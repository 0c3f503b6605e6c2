"""Every 接龙 case file through the `tuan replay --json` pipeline (spec: ../shared/spec/jielong.md §4).

One test per case file, from the shared sample (../shared/cases/p*.json) and our own independent
corpus (tests/cases/t*.json). Each case runs in-process: the files `../shared/cases/check.py`
would write are handed to ``bot.replay.run`` (what `tuan replay` calls) with no ``--db``, so on the
store in memory as the command runs them (tests/test_replay_memory.py shows SQLite says the same),
and its output is judged as check.py judges the command's. Starting a `tuan` process per
case cost about 4 s each; a few smoke tests below still run the real command (through check.py
itself when it is there) and check that it gives the same verdicts as the in-process run.

A shared case that fails because of an open issue is marked in ``CASE_XFAIL`` with the issue's
title: it runs as ``xfail(strict=True)``, so the mark has to go once the fix lands.

Set TUAN_SHARED_CASES to point at another shared case folder; set TUAN_CMD to run every case
(and the smoke tests) through that command instead, one process per case.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot import replay as replay_module
from tests.replaytool import to_toml, tuan_cmd

HERE = Path(__file__).resolve().parent
OWN_CASES = HERE / "cases"
SHARED_CASES = Path(os.environ.get("TUAN_SHARED_CASES", HERE.parent.parent / "shared" / "cases"))
TIMEOUT = 60.0

# case file name -> title of the open issue that will make it pass (strict xfail until then)
CASE_XFAIL: dict[str, str] = {}


def _load_checker() -> ModuleType | None:
    path = SHARED_CASES / "check.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("jielong_case_checker", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECKER = _load_checker()


# --- running a case: the files check.py writes, then `replay` in this process or as a command -------------------


def write_case_files(case: dict[str, Any], folder: Path) -> list[str]:
    """Write the case's transcript (and catalog) as check.py does; return the `replay` arguments."""
    t = folder / "transcript.jsonl"
    t.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in case["transcript"]), encoding="utf-8")
    args = ["replay", str(t)]
    if case.get("catalog"):
        c = folder / "catalog.toml"
        c.write_text(to_toml(case["catalog"]), encoding="utf-8")
        args += ["--catalog", str(c)]
    args.append("--json")
    return args


def replay_in_process(case: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """What `tuan replay transcript.jsonl [--catalog catalog.toml] --json` gives, without a new process.

    Calls ``bot.replay.run`` (the command's body) with no ``--db`` (a fresh store in memory) and
    captures what it writes; the result has the command's exit code, stdout and stderr.
    """
    with tempfile.TemporaryDirectory(prefix="tuan-case-") as tmp:
        args = write_case_files(case, Path(tmp))
        catalog = args[args.index("--catalog") + 1] if "--catalog" in args else None
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = replay_module.run(args[1], catalog, True, None)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def replay_as_command(case: dict[str, Any], cmd: list[str],
                      timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """The real `tuan replay ... --json` on the case's files."""
    with tempfile.TemporaryDirectory(prefix="tuan-case-") as tmp:
        args = cmd + write_case_files(case, Path(tmp))
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


# --- judging the output: the comparison of ../shared/cases/check.py ------------------------------------------------


def _tally(rows: Any) -> dict[tuple[str, str, str], int]:
    acc: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in rows:
        acc[(str(r.get("chat", "")), str(r["sender_id"]), str(r["item"]))] += int(r["qty"])
    return {k: v for k, v in acc.items() if v}


def _fmt(d: dict[tuple[str, str, str], int]) -> str:
    return "{" + ", ".join(f"{s}/{i}={q}" for (_, s, i), q in sorted(d.items())) + "}"


tally: Callable[[Any], dict[Any, int]] = getattr(CHECKER, "tally", _tally)
fmt: Callable[[dict[Any, int]], str] = getattr(CHECKER, "fmt", _fmt)


def judge(case: dict[str, Any], p: subprocess.CompletedProcess[str]) -> tuple[bool, str]:
    """(holds, why not) for the output of `replay --json` on ``case``, worded as check.py's ``run_case``."""
    if p.returncode != 0:
        return False, f"exit {p.returncode}: {p.stderr.strip()[-300:]}"
    try:
        got = json.loads(p.stdout)
    except json.JSONDecodeError:
        return False, f"stdout is not JSON: {p.stdout[:200]!r}"
    chats = {m["chat"] for m in case["transcript"]}
    exp = case["expect"]
    only_chat = next(iter(chats)) if len(chats) == 1 else None
    want = tally({**r, "chat": r.get("chat", only_chat)} for r in exp.get("orders", []))
    have = tally(got.get("orders", []))
    problems = []
    if have != want:
        missing = {k: v for k, v in want.items() if have.get(k) != v}
        extra = {k: v for k, v in have.items() if want.get(k) != v}
        problems.append(f"orders: want {fmt(missing)} got {fmt(extra)}")
    for key in ("unclear", "refused"):
        w = set(exp.get(key, []))
        h = {str(x.get("message_id")) for x in got.get(key, [])}
        if w != h:
            problems.append(f"{key}: want {sorted(w)} got {sorted(h)}")
    return not problems, "; ".join(problems)


def run_case_in_process(path: Path) -> tuple[bool, str]:
    case = json.loads(path.read_text(encoding="utf-8"))
    return judge(case, replay_in_process(case))


def run_case_as_command(path: Path, cmd: list[str]) -> tuple[bool, str]:
    """check.py's own ``run_case`` when check.py is there, else the same steps here."""
    if CHECKER is not None and hasattr(CHECKER, "run_case"):
        return CHECKER.run_case(path, cmd, TIMEOUT)  # type: ignore[no-any-return]
    case = json.loads(path.read_text(encoding="utf-8"))
    try:
        p = replay_as_command(case, cmd)
    except subprocess.TimeoutExpired:
        return False, f"no answer in {TIMEOUT:.0f} s"
    return judge(case, p)


# --- the tests ---------------------------------------------------------------------------------------------------------


def _case_files() -> list[Path]:
    files = sorted(SHARED_CASES.glob("*.json")) if SHARED_CASES.is_dir() else []
    return files + sorted(OWN_CASES.glob("*.json"))


CASE_FILES = _case_files()


def _param(path: Path) -> Any:
    issue = CASE_XFAIL.get(path.name)
    marks = [pytest.mark.xfail(strict=True, reason=f"open issue: {issue}")] if issue else []
    return pytest.param(path, id=path.name, marks=marks)


def test_corpus_is_there() -> None:
    assert len(sorted(OWN_CASES.glob("t*.json"))) >= 60, "tests/cases should hold at least 60 t*.json cases"


def test_xfail_marks_name_existing_cases() -> None:
    names = {p.name for p in CASE_FILES}
    assert not set(CASE_XFAIL) - names, "CASE_XFAIL names a case file that is not there"


@pytest.mark.parametrize("path", [_param(p) for p in CASE_FILES])
def test_case(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    ok, why = run_case_as_command(path, tuan_cmd()) if os.environ.get("TUAN_CMD") else run_case_in_process(path)
    if not ok:
        note = case.get("why") or ""
        pytest.fail(
            f"{path.name} ({case.get('name', '')}): {why}" + (f"\n  why: {note}" if note else ""),
            pytrace=False,
        )


# --- smoke tests of the real command ---------------------------------------------------------------------------------


def _smoke_cases() -> list[Path]:
    """A few cases for the real command: the first shared and own ones, one with several chats, one failing."""
    picked: list[Path] = []
    shared = sorted(SHARED_CASES.glob("*.json")) if SHARED_CASES.is_dir() else []
    own = sorted(OWN_CASES.glob("*.json"))
    picked += shared[:1] + own[:1]
    for p in own:
        if len({m["chat"] for m in json.loads(p.read_text(encoding="utf-8"))["transcript"]}) > 1:
            picked.append(p)
            break
    picked += [p for p in shared if p.name in CASE_XFAIL][:1]
    return list(dict.fromkeys(picked))


@pytest.mark.parametrize("path", _smoke_cases(), ids=lambda p: p.name)
def test_the_command_gives_the_in_process_verdict(path: Path) -> None:
    assert run_case_as_command(path, tuan_cmd()) == run_case_in_process(path)


def test_the_command_prints_the_same_json_as_the_in_process_run() -> None:
    path = next(p for p in CASE_FILES if json.loads(p.read_text(encoding="utf-8")).get("catalog"))
    case = json.loads(path.read_text(encoding="utf-8"))
    command, inside = replay_as_command(case, tuan_cmd()), replay_in_process(case)
    assert (command.returncode, command.stderr) == (0, "")
    assert json.loads(command.stdout) == json.loads(inside.stdout)
    assert set(json.loads(command.stdout)) >= {"orders", "totals", "unclear", "refused"}


def test_a_bad_transcript_is_exit_2_with_the_line_named(tmp_path: Path) -> None:
    case = {"transcript": [{"id": "m1", "ts": "2026-11-25T19:00:00+08:00", "chat": "g1", "sender": "王姐",
                            "text": "葡萄2"}], "expect": {"orders": [{"sender_id": "u1", "item": "1", "qty": 2}]}}
    for p in (replay_as_command(case, tuan_cmd()), replay_in_process(case)):
        assert p.returncode == 2 and p.stdout == ""
        assert "transcript.jsonl:1: missing field `sender_id`" in p.stderr and "Traceback" not in p.stderr
        ok, why = judge(case, p)
        assert not ok and why.startswith("exit 2: tuan replay: ")


def test_judge_words_a_wrong_tally_as_check_py_does() -> None:
    case = {"transcript": [{"id": "m1", "chat": "g1"}, {"id": "m2", "chat": "g1"}],
            "expect": {"orders": [{"sender_id": "u1", "item": "1", "qty": 2}], "unclear": ["m2"]}}
    got = {"orders": [{"chat": "g1", "sender_id": "u1", "item": "1", "qty": 3}], "unclear": [], "refused": []}
    p = subprocess.CompletedProcess([], 0, json.dumps(got), "")
    assert judge(case, p) == (False, "orders: want {u1/1=2} got {u1/1=3}; unclear: want ['m2'] got []")
    got["orders"][0]["qty"] = 2
    got["unclear"] = [{"message_id": "m2", "reason": "?"}]
    assert judge(case, subprocess.CompletedProcess([], 0, json.dumps(got), "")) == (True, "")
