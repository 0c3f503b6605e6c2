"""Make python-wechaty 0.10.7 import on Python 3.11 with today's dependencies.

The release predates three changes, and fails at import without these fixes:

1. ``pyee`` 12 moved ``AsyncIOEventEmitter`` to ``pyee.asyncio``; wechaty, wechaty-puppet and
   wechaty-puppet-service still do ``from pyee import AsyncIOEventEmitter``. We put the class
   back on the ``pyee`` module (the same class, not a copy).
2. ``urllib3`` 2 removed ``urllib3.get_host``, which ``wechaty.user.url_link`` imports. We
   provide it again on top of ``urllib3.util.parse_url``: ``(scheme, host, port)``, scheme
   defaulting to ``"http"`` as urllib3 1.x did.
3. ``wechaty.WechatyOptions`` is a dataclass whose ``puppet_options`` field defaults to a
   ``PuppetOptions()`` instance. Python 3.11 rejects unhashable defaults (``PuppetOptions`` is a
   non-frozen dataclass, so ``__hash__ is None``) with "mutable default ... use default_factory".
   We give ``PuppetOptions`` identity hashing, which is what Python < 3.11 accepted. The default
   instance stays shared between ``WechatyOptions`` objects, exactly as before, so the adapter
   always passes its own ``PuppetOptions``.

Each fix is applied only when it is needed, and :func:`apply` is idempotent. Nothing else in
the SDK is changed. wechaty and wechaty_puppet_service import ``telnetlib``, deprecated in
3.11; :func:`load` silences that one warning during the import only.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType


def _get_host(url: str) -> tuple[str, str | None, int | None]:
    """urllib3 1.x ``get_host``: ``(scheme, host, port)`` of a URL."""
    from urllib3.util import parse_url

    parsed = parse_url(url)
    return parsed.scheme or "http", parsed.host, parsed.port


def apply() -> None:
    """Apply the three fixes (before ``wechaty`` is imported)."""
    import pyee

    if not hasattr(pyee, "AsyncIOEventEmitter"):
        from pyee.asyncio import AsyncIOEventEmitter

        pyee.AsyncIOEventEmitter = AsyncIOEventEmitter  # type: ignore[attr-defined]

    import urllib3

    if not hasattr(urllib3, "get_host"):
        urllib3.get_host = _get_host  # type: ignore[attr-defined]

    from wechaty_puppet.schemas.puppet import PuppetOptions

    if PuppetOptions.__hash__ is None:
        PuppetOptions.__hash__ = object.__hash__  # type: ignore[method-assign,assignment]


def load() -> ModuleType:
    """Apply the fixes, then import and return the ``wechaty`` module.

    Also imports ``wechaty_puppet_service``, which wechaty itself loads only when it builds a
    puppet, so that all of the SDK's loggers exist once this returns.
    """
    apply()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'telnetlib' is deprecated", category=DeprecationWarning)
        module = importlib.import_module("wechaty")
        importlib.import_module("wechaty_puppet_service")
    return module
