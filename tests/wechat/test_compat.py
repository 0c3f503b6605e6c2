"""The Python 3.11 compatibility shim for python-wechaty 0.10.7."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType


def test_wechaty_imports_only_with_the_shim(wechaty_sdk: ModuleType) -> None:
    plain = subprocess.run([sys.executable, "-c", "import wechaty"], capture_output=True, text=True, timeout=60)
    assert plain.returncode != 0 and "AsyncIOEventEmitter" in plain.stderr  # the first of the three failures
    shimmed = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c",
         "from adapters.wechat import compat; w = compat.load(); print(w.Wechaty.__name__)"],
        capture_output=True, text=True, timeout=60,
    )
    assert shimmed.returncode == 0, shimmed.stderr
    assert shimmed.stdout.strip() == "Wechaty"


def test_the_three_fixes(wechaty_sdk: ModuleType) -> None:
    import pyee
    import pyee.asyncio
    import urllib3

    from adapters.wechat import compat

    compat.apply()  # idempotent
    assert pyee.AsyncIOEventEmitter is pyee.asyncio.AsyncIOEventEmitter  # type: ignore[attr-defined]
    get_host = urllib3.get_host  # type: ignore[attr-defined]
    assert get_host("https://github.com:8443/wechaty") == ("https", "github.com", 8443)
    assert get_host("example.com") == ("http", "example.com", None)
    options = wechaty_sdk.WechatyOptions()
    assert options.puppet == "wechaty-puppet-service" and options.puppet_options is not None
