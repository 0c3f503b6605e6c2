"""Real `tuan run` processes for tests: a config file, the process, its output read as it comes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot import messages as m

CONSOLE_TITLE = "测试群"
BANNER = m.CONSOLE_BANNER.format(title=CONSOLE_TITLE)


def worker_config(path: Path, url: str, *, cutoff: str | None = None, retry: float = 5.0,
                  timezone: str = "Asia/Shanghai") -> Path:
    """Write a `tuan run` config (the console group ``home``, one deal; a daily cutoff at ``cutoff``
    "HH:MM:SS" when given) to ``path``."""
    schedule = f'\n[[schedules]]\ngroup = "home"\nkind = "cutoff"\ntime = "{cutoff}"\n' if cutoff else ""
    path.write_text(f'''[store]
url = "{url}"
election_retry_seconds = {retry}

[bot]
timezone = "{timezone}"

[console]
chat = "console"
title = "{CONSOLE_TITLE}"
leaders = ["团长"]

[[groups]]
id = "home"
platform = "console"
chat = "console"
title = "{CONSOLE_TITLE}"

[[deals]]
id = "fruit"
title = "水果团"
groups = ["home"]

[[deals.items]]
code = "1"
name = "阳光玫瑰葡萄"
unit = "盒"
price = "29.9"
aliases = ["葡萄"]
{schedule}''', encoding="utf-8")
    return path


class Worker:
    """`tuan run --config <config> -v` with stdin a pipe kept open; stdout and stderr collected by
    threads, each line with the monotonic time it arrived."""

    def __init__(self, config: Path, name: str = "worker") -> None:
        self.name = name
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("TUAN_LOG_LEVEL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config), "-v"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            cwd=config.parent, text=True, encoding="utf-8",
        )
        self.out: list[tuple[float, str]] = []
        self.err: list[tuple[float, str]] = []
        self._readers = [threading.Thread(target=self._collect, args=(stream, into), daemon=True)
                         for stream, into in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._readers:
            t.start()

    @staticmethod
    def _collect(stream: object, into: list[tuple[float, str]]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.append((time.monotonic(), line.rstrip("\n")))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def lines(self, text: str) -> list[tuple[float, str]]:
        """Lines of stdout holding ``text``, with their arrival times."""
        return [(t, line) for t, line in list(self.out) if text in line]

    def wait_for(self, condition: Callable[[], object], timeout: float, what: str) -> None:
        """Poll ``condition`` until true; AssertionError (with this worker's output) after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None and not condition():
                raise AssertionError(f"{self.name} exited {self.proc.returncode} before: {what}\n{self.dump()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout:g} s: {what}\n{self.dump()}")
            time.sleep(0.05)

    def dump(self) -> str:
        return (f"--- {self.name} (pid {self.pid}) stdout:\n" + "\n".join(line for _, line in self.out)
                + "\n--- stderr:\n" + "\n".join(line for _, line in self.err))

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> int:
        """End of input, then SIGTERM, then SIGKILL if it will not go; the exit code."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for t in self._readers:
            t.join(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return self.proc.returncode
