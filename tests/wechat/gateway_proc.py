"""Run the Node test gateway (gateway/gateway.mjs) and talk to its control channel."""

from __future__ import annotations

import asyncio
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

import pytest

GATEWAY_DIR = Path(__file__).parent / "gateway"
TOKEN = "tuan-test-token"
ROOM = "20000001@chatroom"
ROOM_TOPIC = "幸福里团购群"
OTHER_ROOM = "20000002@chatroom"
BOT_ID = "wxid_tuanbot"


def unavailable(reason: str) -> None:
    """Skip outside CI; in CI, fail: the wechat tests must run there."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI requires it)", pytrace=False)
    pytest.skip(reason)


def ensure_node_modules() -> None:
    """``npm ci`` in the gateway folder when its node_modules is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        unavailable("node and npm are needed for the WeChat gateway tests")
    if (GATEWAY_DIR / "node_modules" / "wechaty-puppet-service").is_dir():
        return
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=GATEWAY_DIR, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"npm ci in {GATEWAY_DIR} failed:\n{done.stderr[-3000:]}", pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gateway:
    """One gateway process on 127.0.0.1:``port``; :meth:`start` again after :meth:`kill` to restart it."""

    def __init__(self, port: int, log_dir: Path, token: str = TOKEN, *, login: bool = True) -> None:
        self.port, self.token, self.log_dir, self.login_at_start = port, token, log_dir, login
        self.proc: subprocess.Popen[bytes] | None = None
        self.control = 0
        self._log: IO[bytes] | None = None
        self.starts = 0
        self.frozen = False

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.starts += 1
        self._log = open(self.log_dir / f"gateway-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            ["node", "gateway.mjs", "--port", str(self.port), "--token", self.token,
             *([] if self.login_at_start else ["--no-login"])],
            cwd=GATEWAY_DIR, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line:
                    self.control = int(json.loads(line)["control"])
                    return
            if self.proc.poll() is not None:
                break
        self.kill()
        raise RuntimeError(f"gateway did not start; see {self.log_dir}")

    def kill(self) -> None:
        """Stop the process at once (SIGKILL), as a crash or a pulled cable would."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None
        self.frozen = False
        if self._log is not None:
            self._log.close()
            self._log = None

    def freeze(self) -> None:
        """Pause the process (SIGSTOP): its sockets stay open but nothing answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)
        self.frozen = False

    @property
    def running(self) -> bool:
        """Started, not killed, not exited, not frozen."""
        return self.proc is not None and self.proc.poll() is None and not self.frozen

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.control}{path}", data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return await asyncio.to_thread(self._call, method, path, body)

    async def say(self, sender: str, text: str, room: str = ROOM, mentions: list[str] | None = None) -> str:
        body = {"from": sender, "text": text, "room": room, "mentions": mentions or []}
        return str((await self.call("POST", "/say", body))["id"])

    async def raw(self, sender: str, type_: int, text: str, room: str = ROOM) -> str:
        return str((await self.call("POST", "/raw", {"from": sender, "type": type_, "text": text, "room": room}))["id"])

    async def recall(self, sender: str, message_id: str) -> str:
        return str((await self.call("POST", "/recall", {"from": sender, "id": message_id}))["id"])

    async def login(self) -> None:
        await self.call("POST", "/login", {})

    async def logout(self) -> None:
        await self.call("POST", "/logout", {})

    async def said(self) -> list[dict[str, Any]]:
        return list(await self.call("GET", "/said"))

    def say_now(self, sender: str, text: str, room: str = ROOM) -> str:
        """:meth:`say` for a test without an event loop (one that runs real `tuan run` processes)."""
        return str(self._call("POST", "/say", {"from": sender, "text": text, "room": room, "mentions": []})["id"])

    def said_now(self) -> list[dict[str, Any]]:
        """:meth:`said` for a test without an event loop."""
        return list(self._call("GET", "/said"))

    def reset(self) -> None:
        """Forget what the bot said, so the next test starts with an empty :meth:`said`."""
        self._call("POST", "/reset", {})
    async def files(self) -> list[dict[str, Any]]:
        """Files the bot sent through the puppet: [{to, name, base64}]."""
        return list(await self.call("GET", "/files"))
