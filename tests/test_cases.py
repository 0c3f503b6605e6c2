"""Run every 接龙 case file through `tuan replay ... --json` (spec: ../shared/spec/jielong.md §4).

One test per case file, from the shared sample (../shared/cases/p*.json) and our own independent
corpus (tests/cases/t*.json). The comparison is the one of ../shared/cases/check.py, imported by
path; if that file is not there, a faithful copy of its comparison below is used instead.

Set TUAN_SHARED_CASES to point at another shared case folder, TUAN_CMD to run another command.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

from tests.replaytool import to_toml, tuan_cmd

HERE = Path(__file__).resolve().parent
OWN_CASES = HERE / "cases"
SHARED_CASES = Path(os.environ.get("TUAN_SHARED_CASES", HERE.parent.parent / "shared" / "cases"))
TIMEOUT = 60.0




def _load_checker():
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


# --- fallback: the comparison of check.py, reimplemented -------------------------------------------------------------




def _tally(rows) -> dict:
    acc: dict = defaultdict(int)
    for r in rows:
        acc[(str(r.get("chat", "")), str(r["sender_id"]), str(r["item"]))] += int(r["qty"])
    return {k: v for k, v in acc.items() if v}


def _fmt(d: dict) -> str:
    return "{" + ", ".join(f"{s}/{i}={q}" for (_, s, i), q in sorted(d.items())) + "}"


def _run_case(path: Path, cmd: list[str], timeout: float) -> tuple[bool, str]:
    case = json.loads(path.read_text(encoding="utf-8"))
    chats = {m["chat"] for m in case["transcript"]}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp) / "transcript.jsonl"
        t.write_text(
            "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in case["transcript"]), encoding="utf-8"
        )
        args = cmd + ["replay", str(t)]
        if case.get("catalog"):
            c = Path(tmp) / "catalog.toml"
            c.write_text(to_toml(case["catalog"]), encoding="utf-8")
            args += ["--catalog", str(c)]
        args.append("--json")
        try:
            p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, f"no answer in {timeout:.0f} s"
        except FileNotFoundError:
            return False, f"cannot start {cmd[0]!r}"
    if p.returncode != 0:
        return False, f"exit {p.returncode}: {p.stderr.strip()[-300:]}"
    try:
        got = json.loads(p.stdout)
    except json.JSONDecodeError:
        return False, f"stdout is not JSON: {p.stdout[:200]!r}"
    exp = case["expect"]
    only_chat = next(iter(chats)) if len(chats) == 1 else None
    want = _tally({**r, "chat": r.get("chat", only_chat)} for r in exp.get("orders", []))
    have = _tally(got.get("orders", []))
    problems = []
    if have != want:
        missing = {k: v for k, v in want.items() if have.get(k) != v}
        extra = {k: v for k, v in have.items() if want.get(k) != v}
        problems.append(f"orders: want {_fmt(missing)} got {_fmt(extra)}")
    for key in ("unclear", "refused"):
        w = set(exp.get(key, []))
        h = {str(x.get("message_id")) for x in got.get(key, [])}
        if w != h:
            problems.append(f"{key}: want {sorted(w)} got {sorted(h)}")
    return not problems, "; ".join(problems)


run_case = CHECKER.run_case if CHECKER is not None and hasattr(CHECKER, "run_case") else _run_case


# --- the tests ---------------------------------------------------------------------------------------------------------
def _case_files() -> list[Path]:
    files = sorted(SHARED_CASES.glob("*.json")) if SHARED_CASES.is_dir() else []
    return files + sorted(OWN_CASES.glob("*.json"))


CASE_FILES = _case_files()


def test_corpus_is_there():
    assert len(sorted(OWN_CASES.glob("t*.json"))) >= 60, "tests/cases should hold at least 60 t*.json cases"


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.name for p in CASE_FILES])
def test_case(path: Path):
    case = json.loads(path.read_text(encoding="utf-8"))
    ok, why = run_case(path, tuan_cmd(), TIMEOUT)
    if not ok:
        note = case.get("why") or ""
        pytest.fail(
            f"{path.name} ({case.get('name', '')}): {why}" + (f"\n  why: {note}" if note else ""),
            pytrace=False,
        )
