"""Breaker 5, the command line: `tuan run | head` and `tuan demo | head` (a reader that stops early)
must end quietly, as the other commands do (exit 141, no traceback: bot/cli.py ``main``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TYPED = "".join("王姐: 葡萄1\n团长: /list\n" for _ in range(40)).encode()


def _head_1(args: list[str], cwd: Path, typed: bytes) -> tuple[bytes, int | None, str]:
    """Run ``tuan ARGS`` with ``typed`` on stdin, read its first line and close the pipe (`| head -1`);
    (that line, its exit status or None when it still ran 10 s later, its stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=cwd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    try:
        proc.stdin.write(typed)
        proc.stdin.close()
    except BrokenPipeError:
        pass  # it ended already: fine
    try:
        status: int | None = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        status = None
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return first, status, err


def test_tuan_run_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    first, status, err = _head_1(["run"], tmp_path, TYPED)
    assert "团购群" in first.decode()  # the banner
    assert status == 141, (status, err[-800:])
    assert "Traceback" not in err, err[-800:]


def test_tuan_demo_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    first, status, err = _head_1(["demo"], tmp_path, b"")
    assert first.strip()
    assert status == 141, (status, err[-800:])
    assert "Traceback" not in err, err[-800:]
