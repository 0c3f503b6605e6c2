from __future__ import annotations

import pytest

from adapters.telegram import create
from adapters.telegram.config import TelegramConfigError, from_section


def test_defaults_and_token_from_the_environment() -> None:
    cfg = from_section({}, env={"TUAN_TELEGRAM_TOKEN": "1:env"})
    assert cfg.token == "1:env" and cfg.mode == "polling" and cfg.rate_limit
    assert cfg.base_url == "https://api.telegram.org/bot"
    assert cfg.base_file_url == "https://api.telegram.org/file/bot"
    assert from_section({"token": "1:cfg"}, env={}).token == "1:cfg"


def test_self_hosted_server() -> None:
    cfg = from_section({"token": "1:a", "base_url": "http://127.0.0.1:8081/", "local_mode": True}, env={})
    assert cfg.base_url == "http://127.0.0.1:8081/bot"
    assert cfg.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert cfg.local_mode


def test_leaders_are_ids_or_usernames() -> None:
    cfg = from_section({"token": "1:a", "leaders": [12345, "@Alice"]}, env={})
    assert cfg.leaders == frozenset({"12345", "@alice"})


def test_webhook() -> None:
    cfg = from_section({"token": "1:a", "mode": "webhook", "webhook": {
        "url": "https://x.example/tg", "path": "tg", "port": 8080}}, env={"TUAN_TELEGRAM_WEBHOOK_SECRET": "s"})
    assert cfg.webhook is not None
    assert (cfg.webhook.path, cfg.webhook.port, cfg.webhook.secret_token) == ("/tg", 8080, "s")


def test_a_webhook_without_url_is_one_worker_behind_a_balancer() -> None:
    cfg = from_section({"token": "1:a", "mode": "webhook", "webhook": {"secret_token": "A-z_09"}}, env={})
    assert cfg.webhook is not None
    assert (cfg.webhook.url, cfg.webhook.listen, cfg.webhook.port) == ("", "127.0.0.1", 8443)


@pytest.mark.parametrize(("section", "key"), [
    ({}, "token"),
    ({"token": "1:a", "mode": "push"}, "mode"),
    ({"token": "1:a", "poll_timeout": "30"}, "poll_timeout"),
    ({"token": "1:a", "rate_limit": 1}, "rate_limit"),
    ({"token": "1:a", "send_expiry": 0}, "send_expiry"),
    ({"token": "1:a", "send_expiry": "10m"}, "send_expiry"),
    ({"token": "1:a", "max_in_flight": 1.5}, "max_in_flight"),
    ({"token": "1:a", "mode": "webhook"}, "secret_token"),
    ({"token": "1:a", "mode": "webhook", "webhook": {"url": "https://x"}}, "secret_token"),
    ({"token": "1:a", "mode": "webhook", "webhook": {"secret_token": "has space"}}, "secret_token"),
    ({"token": "1:a", "mode": "webhook", "webhook": {"secret_token": "x" * 257}}, "secret_token"),
])
def test_errors_name_the_key(section: dict[str, object], key: str) -> None:
    with pytest.raises(TelegramConfigError, match=f"`{key}`"):
        from_section(section, env={})


def test_create_builds_an_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUAN_TELEGRAM_TOKEN", "1:abc")
    tg = create({"rate_limit": False}, None)
    assert tg.name == "telegram" and tg.capabilities.buttons and tg.bot.token == "1:abc"


def test_delivery_settings_from_the_app_config() -> None:
    from bot.config import config_from_dict

    config = config_from_dict({"telegram": {"enabled": True, "token": "1:a", "send_expiry": 30,
                                            "max_in_flight": 50}}, "t.toml", env={})
    tg = create(config.telegram, config)
    assert (tg.config.send_expiry, tg.config.max_in_flight) == (30.0, 50)
    defaults = from_section({"token": "1:a"}, env={})
    assert (defaults.send_expiry, defaults.max_in_flight) == (600.0, 1000)


def test_each_worker_may_take_its_webhook_port_from_the_environment() -> None:
    section = {"token": "1:a", "mode": "webhook", "webhook": {"secret_token": "s", "port": 8443}}
    cfg = from_section(section, env={"TUAN_TELEGRAM_WEBHOOK_PORT": "8442"})
    assert cfg.webhook is not None and cfg.webhook.port == 8442
    for bad in ("http", "70000", "-1", "８０"):
        with pytest.raises(TelegramConfigError, match="TUAN_TELEGRAM_WEBHOOK_PORT"):
            from_section(section, env={"TUAN_TELEGRAM_WEBHOOK_PORT": bad})
