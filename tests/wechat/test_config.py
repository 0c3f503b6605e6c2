"""The [wechat] section."""

from __future__ import annotations

import pytest

from adapters.wechat import WechatConfigError, WechatSettings, from_section
from bot.config import WechatConfig


def test_settings_from_the_file() -> None:
    s = from_section({"endpoint": "grpc://10.0.0.5:8788/", "token": "t1", "rooms": ["幸福里团购群", "123@chatroom"],
                      "reconnect_max": 30}, env={})
    assert (s.endpoint, s.token, s.rooms, s.reconnect_max, s.tls) == ("10.0.0.5:8788", "t1", ("幸福里团购群", "123@chatroom"),
                                                                      30.0, False)
    assert s.host_port == ("10.0.0.5", 8788)


def test_endpoint_and_token_from_the_environment() -> None:
    env = {"WECHATY_PUPPET_SERVICE_ENDPOINT": "127.0.0.1:9001", "WECHATY_PUPPET_SERVICE_TOKEN": "env-token"}
    s = from_section({}, env=env)
    assert (s.endpoint, s.token) == ("127.0.0.1:9001", "env-token")
    assert from_section({"token": "file"}, env=env).token == "file"


def test_the_app_configs_dataclass_is_accepted() -> None:
    s = from_section(WechatConfig(enabled=True, endpoint="127.0.0.1:8788", token="t", rooms=("r",)), env={})
    assert s == WechatSettings(endpoint="127.0.0.1:8788", token="t", rooms=("r",))


@pytest.mark.parametrize(("section", "key"), [
    ({"token": "t"}, "endpoint"),
    ({"endpoint": "127.0.0.1:8788"}, "token"),
    ({"endpoint": "localhost", "token": "t"}, "endpoint"),
    ({"endpoint": "h:1", "token": "t", "rooms": "幸福里"}, "rooms"),
    ({"endpoint": "h:1", "token": "t", "ping_interval": 0}, "ping_interval"),
    ({"endpoint": "h:1", "token": "t", "tls": "yes"}, "tls"),
    ({"endpoint": "h:1", "token": "t", "endpiont": "x"}, "endpiont"),
])
def test_errors_name_the_key(section: dict, key: str) -> None:
    with pytest.raises(WechatConfigError, match=f"`{key}`"):
        from_section(section, env={})


def test_keys_beyond_the_app_configs_fields_come_from_its_raw_table() -> None:
    raw = {"enabled": True, "endpoint": "", "reconnect_max": 5, "tls": True}
    cfg = WechatConfig(enabled=True, endpoint="127.0.0.1:8788", token="from-env", raw=raw)
    s = from_section(cfg, env={})
    assert (s.endpoint, s.token, s.reconnect_max, s.tls) == ("127.0.0.1:8788", "from-env", 5.0, True)
