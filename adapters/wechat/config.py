"""The ``[wechat]`` config section, read into a frozen dataclass (fails fast, naming the key)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ENDPOINT_ENV = "WECHATY_PUPPET_SERVICE_ENDPOINT"
TOKEN_ENV = "WECHATY_PUPPET_SERVICE_TOKEN"


class WechatConfigError(ValueError):
    """A ``[wechat]`` section that cannot be used; the message names the key."""


@dataclass(frozen=True, slots=True)
class WechatSettings:
    endpoint: str  # "host:port" of the puppet service (gRPC)
    token: str  # the puppet service token
    rooms: tuple[str, ...] = ()  # room ids or topics to serve; empty: every room the bot is in
    tls: bool = False  # gRPC over TLS (a service started without WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_SERVER)
    tls_ca_file: str = ""  # PEM file of the CA that signed the service's certificate ("" = system CAs)
    tls_server_name: str = ""  # the name the certificate is checked against ("" = the endpoint's host)
    connect_timeout: float = 5.0  # seconds for the TCP connection and each RPC of the handshake
    login_timeout: float = 30.0  # connected but no account logged in after this: say so in the log
    ping_interval: float = 15.0  # seconds between liveness pings (Ding) on a quiet connection
    ping_timeout: float = 5.0
    reconnect_initial: float = 1.0  # first wait after a lost connection; doubles per failure
    reconnect_max: float = 60.0
    start_wait: float = 10.0  # start() waits at most this long for the first login
    send_wait: float = 10.0  # a send while disconnected waits at most this long for the connection

    @property
    def account(self) -> str:
        """What names the bot account across workers: 12 hex digits of a hash of ``token``.

        A puppet service token stands for one account's service (one stream at a time), and every
        worker has the same one, whereas ``endpoint`` may name one service differently on two hosts.
        The token itself never shows: this goes into the election role ``wechat:<account>``, which
        is in ``pg_stat_activity`` and in the logs.
        """
        return hashlib.sha256(f"tuan-wechat-account:{self.token}".encode()).hexdigest()[:12]

    @property
    def host_port(self) -> tuple[str, int]:
        host, sep, port = self.endpoint.rpartition(":")
        return host.strip("[]"), int(port)


_FLOATS = ("connect_timeout", "login_timeout", "ping_interval", "ping_timeout", "reconnect_initial",
           "reconnect_max", "start_wait", "send_wait")
_KNOWN = {"enabled", "endpoint", "token", "rooms", "tls", "tls_ca_file", "tls_server_name", *_FLOATS}


def _check_endpoint(endpoint: str) -> str:
    endpoint = endpoint.strip()
    for scheme in ("grpc://", "http://", "https://"):
        if endpoint.startswith(scheme):
            endpoint = endpoint[len(scheme):]
    endpoint = endpoint.rstrip("/")
    host, sep, port = endpoint.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise WechatConfigError(f"[wechat] `endpoint` must be host:port, such as 127.0.0.1:8788, not {endpoint!r}")
    return endpoint


def _as_mapping(section: Mapping[str, Any] | object) -> Mapping[str, Any]:
    if isinstance(section, Mapping):
        return section
    if dataclasses.is_dataclass(section) and not isinstance(section, type):
        # bot.config.WechatConfig: its ``raw`` table has every key; its fields add the env fallbacks.
        fields = {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}
        raw = fields.pop("raw", None)
        data = dict(raw) if isinstance(raw, Mapping) else {}
        data.update({k: v for k, v in fields.items() if v or k not in data})
        return data
    raise WechatConfigError(f"[wechat] must be a table, not {type(section).__name__}")


def from_section(section: Mapping[str, Any] | object, env: Mapping[str, str] | None = None) -> WechatSettings:
    """Read ``[wechat]``; ``endpoint``/``token`` fall back to the ``WECHATY_PUPPET_SERVICE_*`` variables."""
    env = os.environ if env is None else env
    data = _as_mapping(section)
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise WechatConfigError(f"[wechat] `{unknown[0]}` is not a known key")
    endpoint = str(data.get("endpoint") or env.get(ENDPOINT_ENV, ""))
    if not endpoint:
        raise WechatConfigError(f"[wechat] `endpoint` is missing (or set {ENDPOINT_ENV})")
    token = str(data.get("token") or env.get(TOKEN_ENV, ""))
    if not token:
        raise WechatConfigError(f"[wechat] `token` is missing (or set {TOKEN_ENV})")
    rooms = data.get("rooms", ())
    if isinstance(rooms, str) or not all(isinstance(r, str) for r in rooms):
        raise WechatConfigError("[wechat] `rooms` must be a list of room ids or topics")
    values: dict[str, Any] = {}
    for key in _FLOATS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise WechatConfigError(f"[wechat] `{key}` must be a positive number of seconds, not {value!r}")
            values[key] = float(value)
    for key in ("tls_ca_file", "tls_server_name"):
        if key in data and not isinstance(data[key], str):
            raise WechatConfigError(f"[wechat] `{key}` must be a string")
    if "tls" in data and not isinstance(data["tls"], bool):
        raise WechatConfigError("[wechat] `tls` must be true or false")
    return WechatSettings(
        endpoint=_check_endpoint(endpoint), token=token, rooms=tuple(rooms), tls=bool(data.get("tls", False)),
        tls_ca_file=data.get("tls_ca_file", ""), tls_server_name=data.get("tls_server_name", ""), **values,
    )
