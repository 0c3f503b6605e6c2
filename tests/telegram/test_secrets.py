"""No secret in any output: `tuan run` is started as a subprocess with failing configurations and
everything it prints is searched for the secrets. The store's files are private to their owner.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import sys
from pathlib import Path

import pytest

from bot import redact
from storage.sql import open_repository
from tests.telegram.fake_bot_api import FakeBotApi

TOKEN = "987654:SECRET-token-Zq8xW"  # rejected by the fake server (it knows another token)
TOKEN_HALF = TOKEN.partition(":")[2]
PUPPET_TOKEN = "puppet_paimon_SECRETpuppet42"
DB_PASSWORD = "S3cret+pw/x"  # needs URL-encoding in a URL
DB_PASSWORD_URL = "S3cret%2Bpw%2Fx"


async def run_tuan(config: Path, *, level: str = "DEBUG", env: dict[str, str] | None = None,
                   stop_after: float | None = None) -> tuple[int, str]:
    """Run `tuan run --config …` (stopped with SIGTERM after ``stop_after`` seconds, if given);
    the exit code and everything printed (stdout and stderr).
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--config", str(config), cwd=config.parent,
        env={**os.environ, "TUAN_LOG_LEVEL": level, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    if stop_after is not None:
        try:
            await asyncio.wait_for(proc.wait(), stop_after)
        except TimeoutError:
            proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode("utf-8", "replace")


def write(tmp_path: Path, body: str, store: str = "") -> Path:
    path = tmp_path / "tuan.toml"
    store = store or f"sqlite:///{tmp_path / 'tuan.db'}"
    path.write_text(f'[console]\nenabled = false\n[store]\nurl = "{store}"\n{body}', encoding="utf-8")
    return path


def assert_clean(output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in output, f"{secret!r} printed:\n{output}"


@pytest.mark.parametrize("level", ["WARNING", "DEBUG"])
async def test_a_rejected_token_is_never_printed(api: FakeBotApi, tmp_path: Path, level: str) -> None:
    config = write(tmp_path, f'[telegram]\nenabled = true\ntoken = "{TOKEN}"\nbase_url = "{api.base_url}"\n')
    code, output = await run_tuan(config, level=level)
    assert code == 1 and "telegram adapter could not start" in output and "***" in output
    assert_clean(output, TOKEN, TOKEN_HALF)
    assert stat.S_IMODE((tmp_path / "tuan.db").stat().st_mode) == 0o600  # umask 077 in `tuan run`


async def test_an_unreachable_server_and_a_token_from_the_environment(tmp_path: Path) -> None:
    config = write(tmp_path, '[telegram]\nenabled = true\nbase_url = "http://127.0.0.1:9/bot"\n')
    code, output = await run_tuan(config, env={"TUAN_TELEGRAM_TOKEN": TOKEN})
    assert code == 1 and "could not start" in output
    assert_clean(output, TOKEN, TOKEN_HALF)


async def test_a_database_password_is_never_printed(tmp_path: Path) -> None:
    store = f"postgresql+psycopg://tuan:{DB_PASSWORD_URL}@127.0.0.1:9/tuan"
    config = write(tmp_path, "", store=store)
    code, output = await run_tuan(config)
    assert code == 2 and "store.url" in output
    assert_clean(output, DB_PASSWORD, DB_PASSWORD_URL)


async def test_a_secret_of_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    config = write(tmp_path, "[telegram]\nenabled = true\ntoken = 987654123456\n")
    code, output = await run_tuan(config)
    assert code == 2 and "`telegram.token` must be a string" in output
    assert_clean(output, "987654123456")


async def test_the_wechat_puppet_token_is_never_printed(tmp_path: Path) -> None:
    config = write(tmp_path, f'[wechat]\nenabled = true\nendpoint = "127.0.0.1:9"\ntoken = "{PUPPET_TOKEN}"\n'
                             "connect_timeout = 1\nreconnect_initial = 0.2\nstart_wait = 1\n")
    code, output = await run_tuan(config, stop_after=6)  # it keeps reconnecting, logging each failure
    assert "127.0.0.1:9" in output  # it did report the failures
    assert_clean(output, PUPPET_TOKEN)


def test_the_filter_masks_messages_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    redact.install([TOKEN, "tok-only-here-123"])
    log = logging.getLogger("tests.secrets")
    with caplog.at_level(logging.DEBUG, logger="tests.secrets"):
        log.warning("calling %s/bot%s/getMe", "https://api.telegram.org", TOKEN)
        try:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
        except RuntimeError:
            log.exception("failed")
        log.error("encoded: %s", "tok-only-here-123".replace("-", "%2D"))
    text = caplog.text + "".join(logging.Formatter().format(r) for r in caplog.records)
    assert "***" in text and TOKEN not in text and TOKEN_HALF not in text
    assert redact.text(f"x {TOKEN_HALF} y") == "x *** y"
    assert redact.text("postgresql://u:S3cret%2Bpw@h") == "postgresql://u:S3cret%2Bpw@h"  # not registered
    redact.register([DB_PASSWORD])
    assert redact.text(f"postgresql://u:{DB_PASSWORD_URL}@h") == "postgresql://u:***@h"


def test_the_store_files_are_private(tmp_path: Path, sqlite_url: str) -> None:
    old = os.umask(0o022)
    try:
        repo = open_repository(sqlite_url)
        db = Path(sqlite_url.removeprefix("sqlite:///"))
        repo.claim_mark("k", __import__("datetime").datetime.now(__import__("datetime").UTC))
        files = [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]
        assert len(files) == 3
        assert [stat.S_IMODE(p.stat().st_mode) for p in files] == [0o600] * 3
        repo.close()
        os.chmod(db, 0o644)
        open_repository(sqlite_url).close()
        assert stat.S_IMODE(db.stat().st_mode) == 0o600  # an existing file is narrowed
    finally:
        os.umask(old)
