"""Serving the dashboard with uvicorn: alone (`tuan web`) or beside the bot (`tuan run` with ``[web]
enabled``), in the caller's event loop (uvicorn's own signal handlers are not installed: the caller
owns shutdown)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator

import uvicorn

from bot.config import AppConfig, split_listen
from bot.ports import Repository
from bot.services.orders import OrderService
from bot.web.app import create_app
from bot.web.views import WebContext

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the caller's signals stop us (should_exit)
        yield

    def install_signal_handlers(self) -> None:
        return None


def server(config: AppConfig, repo: Repository, service: OrderService, lock: asyncio.Lock | None,
           listen: str | None = None) -> uvicorn.Server:
    """A uvicorn server of the dashboard on ``listen`` (default ``[web] listen``); run it with
    ``await srv.serve()`` and stop it with ``srv.should_exit = True``.

    The client's address (the per-IP sign-in limit) and scheme (the Secure cookie) are the peer's
    own, unless the peer is one of ``[web] trusted_proxies``: then its ``X-Forwarded-For`` /
    ``X-Forwarded-Proto`` are believed (uvicorn's proxy headers). None is trusted by default: any
    local process could otherwise name any address and walk past the per-IP limit."""
    host, port = split_listen(listen or config.web.listen)
    app = create_app(WebContext(config, repo, service), lock)
    proxies = list(config.web.trusted_proxies)
    cfg = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
                         proxy_headers=bool(proxies), forwarded_allow_ips=proxies or [])
    return _Server(cfg)


class WebStartError(RuntimeError):
    """The dashboard cannot listen where it was told (the address is in use, or not ours)."""


def bind(srv: uvicorn.Server) -> socket.socket:
    """A listening socket on the server's host and port; raises :class:`WebStartError` (one line)."""
    host, port = srv.config.host, srv.config.port
    try:
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                    reuse_port=False)
    except OSError as e:
        raise WebStartError(f"the web dashboard cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.set_inheritable(True)
    return sock


async def serve_until(srv: uvicorn.Server, stop: asyncio.Event, ready: Callable[[], None] = lambda: None) -> None:
    """Run ``srv`` until ``stop`` is set, then let it finish its requests; ``ready`` is called once it
    listens. Raises :class:`WebStartError` when it cannot listen."""
    sock = bind(srv)
    ready()
    task = asyncio.create_task(srv.serve(sockets=[sock]))
    waiting = asyncio.create_task(stop.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    srv.should_exit = True
    waiting.cancel()
    await asyncio.gather(task, waiting, return_exceptions=True)
    sock.close()
