"""The run configuration: every problem names the key and the file."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import ConfigError, config_from_dict, load_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.store.url == f"sqlite:///{ROOT / 'tuan.db'}"  # next to the config file
    assert config.console.enabled and config.console.leaders == ("团长",)
    assert not config.telegram.enabled and not config.wechat.enabled
    [deal] = config.deals
    assert deal.catalog.items[0].price == Decimal("29.9") and deal.catalog.max_qty == 10
    assert deal.catalog.max_line_qty == 99
    assert [s.kind for s in config.schedules] == ["deal_card", "reminder", "cutoff", "pickup"]
    assert config.schedules[0].cron == "0 8 * * *"
    assert config.deal_of_chat("console:console") is deal


def test_defaults_without_a_file() -> None:
    config = config_from_dict({}, env={})
    assert config.bot.timezone == "Asia/Shanghai" and config.bot.digest_minutes == 5
    assert config.bot.reply_expiry_seconds == 600
    assert (config.bot.outbox_lease_seconds, config.bot.outbox_sweep_seconds) == (60, 5)
    assert config.bot.batch_max == 100
    assert config_from_dict({"bot": {"batch_max": 1}}, env={}).bot.batch_max == 1
    assert config.console.enabled and config.groups == () and config.deals == ()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tuan.toml"
    path.write_text(text, encoding="utf-8")
    return path


GROUP = '[[groups]]\nid = "home"\nplatform = "console"\nchat = "console"\n'


@pytest.mark.parametrize("toml, key", [
    ("[bot]\ndigest_minute = 3\n", "bot.digest_minute"),  # unknown
    ("[sotre]\nurl = 'x'\n", "sotre"),
    ("[console]\nenabled = 'yes'\n", "console.enabled"),  # wrong type
    ("[bot]\ndigest_minutes = '5'\n", "bot.digest_minutes"),
    ("[bot]\ntimezone = 'Mars/Olympus'\n", "bot.timezone"),
    ("[bot]\nreply_expiry_seconds = 0\n", "bot.reply_expiry_seconds"),
    ("[bot]\nreply_expiry_seconds = '600'\n", "bot.reply_expiry_seconds"),
    ("[bot]\noutbox_lease_seconds = 0\n", "bot.outbox_lease_seconds"),
    ("[bot]\noutbox_sweep_seconds = 31\n", "bot.outbox_sweep_seconds"),  # more than half the default lease
    ("[bot]\noutbox_lease_seconds = 4\n", "bot.outbox_sweep_seconds"),  # the default sweep, more than half
    ("[bot]\nbatch_max = 0\n", "bot.batch_max"),
    ("[bot]\nbatch_max = 2.5\n", "bot.batch_max"),
    ("[store]\nurl = 'tuan.db'\n", "store.url"),
    ("[telegram]\nmode = 'push'\n", "telegram.mode"),
    ("[telegram.webhook]\nport = '8443'\n", "telegram.webhook.port"),
    ("[[groups]]\nid = 'home'\nplatform = 'console'\n", "groups[1].chat"),  # missing
    ("[[groups]]\nid = 'home'\nplatform = 'qq'\nchat = '1'\n", "groups[1].platform"),
    (GROUP + GROUP, "groups[2].id"),
    (GROUP + "[[deals]]\nid = 'd'\ngroups = ['home']\n", "deals[1].items"),
    (GROUP + "[[deals]]\nid = 'd'\ngroups = ['away']\n[[deals.items]]\ncode = '1'\nname = 'x'\n", "deals[1].groups"),
    (GROUP + "[[deals]]\nid = 'd'\ngroups = ['home']\n[[deals.items]]\ncode = '1'\nname = '葡萄'\nprice = 29.9\n",
     "deals[1].items[1].price"),  # money is never a float
    (GROUP + "[[deals]]\nid = 'd'\ngroups = ['home']\n[[deals.items]]\ncode = '1'\nname = '葡萄'\nprice = 'x'\n",
     "deals[1].items[1].price"),
    (GROUP + "[[deals]]\nid = 'd'\ngroups = ['home']\n[[deals.items]]\ncode = '1'\n", "deals[1].items[1].name"),
    (GROUP + "[[deals]]\nid = 'd'\ngroups = ['home']\n[[deals.items]]\ncode = '1'\nname = 'x'\ncolour = 'red'\n",
     "deals[1].items[1].colour"),
    (GROUP + "[[deals]]\nid = 'd'\ngroups = ['home']\nmax_qty = 0\n[[deals.items]]\ncode = '1'\nname = 'x'\n",
     "deals[1].max_qty"),
    (GROUP + "[[deals]]\nid = 'd'\ngroups = ['home']\nmax_line_qty = 'lots'\n[[deals.items]]\ncode = '1'\nname = 'x'\n",
     "deals[1].max_line_qty"),
    (GROUP + "[[schedules]]\ngroup = 'home'\nkind = 'reminder'\ntime = '25:00'\n", "schedules[1].time"),
    (GROUP + "[[schedules]]\ngroup = 'home'\nkind = 'reminder'\ntime = '20:00:60'\n", "schedules[1].time"),
    ("[store]\nelection_retry_seconds = 0\n", "store.election_retry_seconds"),
    ("[store]\nelection_retry_seconds = 16\n", "store.election_retry_seconds"),
    (GROUP + "[[schedules]]\ngroup = 'home'\nkind = 'reminder'\ncron = '0 20 * *'\n", "schedules[1].cron"),
    (GROUP + "[[schedules]]\ngroup = 'home'\nkind = 'reminder'\n", "schedules[1].cron"),
    (GROUP + "[[schedules]]\ngroup = 'home'\nkind = 'party'\ntime = '20:00'\n", "schedules[1].kind"),
    (GROUP + "[[schedules]]\ngroup = 'away'\nkind = 'cutoff'\ntime = '21:00'\n", "schedules[1].group"),
    ("[telegram]\nenabled = true\n", "telegram.token"),
    ("[telegram]\nenabled = true\ntoken = 't'\nmode = 'webhook'\n", "telegram.webhook.secret_token"),
    ("[telegram]\nenabled = true\ntoken = 't'\nmode = 'webhook'\n[telegram.webhook]\nsecret_token = 'a b'\n",
     "telegram.webhook.secret_token"),
    ("[wechat]\nenabled = true\n", "wechat.token"),
])
def test_errors_name_the_key_and_the_file(tmp_path: Path, toml: str, key: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert str(err.value).startswith(f"{path}: `{key}` "), str(err.value)


def test_schedule_times_with_seconds_and_the_election_retry(tmp_path: Path) -> None:
    from bot.scheduler import job_specs

    path = write(tmp_path, "[store]\nelection_retry_seconds = 1.5\n" + GROUP
                 + "[[schedules]]\ngroup = 'home'\nkind = 'cutoff'\ntime = '21:00:30'\n"
                 + "[[schedules]]\ngroup = 'home'\nkind = 'cutoff'\ntime = '21:00'\n")
    config = load_config(path, env={})
    assert config.store.election_retry_seconds == 1.5
    assert [(s.cron, s.second) for s in config.schedules] == [("0 21 * * *", 30), ("0 21 * * *", 0)]
    assert [s.id for s in job_specs(config)] == ["home:cutoff:0_21_*_*_*+30s", "home:cutoff:0_21_*_*_*"]
    assert load_config(write(tmp_path, "[store]\n"), env={}).store.election_retry_seconds == 5.0


def test_the_webhook_port_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "[telegram.webhook]\nport = 8443\n")
    assert load_config(path, env={"TUAN_TELEGRAM_WEBHOOK_PORT": "8444"}).telegram.webhook.port == 8444
    assert load_config(path, env={}).telegram.webhook.port == 8443
    with pytest.raises(ConfigError, match="TUAN_TELEGRAM_WEBHOOK_PORT"):
        load_config(path, env={"TUAN_TELEGRAM_WEBHOOK_PORT": "84a3"})


def test_secrets_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "[telegram]\nenabled = true\n[wechat]\nenabled = true\n")
    config = load_config(path, env={"TUAN_TELEGRAM_TOKEN": "123:abc", "WECHATY_PUPPET_SERVICE_TOKEN": "w",
                                    "WECHATY_PUPPET_SERVICE_ENDPOINT": "grpc://x"})
    assert config.telegram.token == "123:abc"
    assert (config.wechat.token, config.wechat.endpoint) == ("w", "grpc://x")
    assert config.telegram.raw["enabled"] is True  # the checked table, for the adapter's factory


def test_telegram_adapter_keys_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "[telegram]\npoll_timeout = 20\nrate_limit = false\nack_emoji = '👌'\n")
    assert load_config(path, env={}).telegram.raw["poll_timeout"] == 20
    with pytest.raises(ConfigError, match="`telegram.poll_timeout` must be a whole number"):
        load_config(write(tmp_path, "[telegram]\npoll_timeout = 'soon'\n"), env={})


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")
    path = write(tmp_path, "[bot\n")
    with pytest.raises(ConfigError, match=f"^{path}: not valid TOML"):
        load_config(path)


def test_tuan_run_reports_a_bad_config_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "[bot]\ndigest_minute = 3\n")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run", "--config", str(path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"tuan: {path}: `bot.digest_minute` is not a known key"
    assert "Traceback" not in done.stderr


def _minimal(tmp: Path, store: str) -> Path:
    cfg = tmp / "conf" / "tuan.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f'[store]\nurl = "{store}"\n', encoding="utf-8")
    return cfg


@pytest.mark.parametrize(("written", "want"), [
    ("sqlite:///tuan.db", "conf/tuan.db"),
    ("sqlite:///data/shop.db", "conf/data/shop.db"),
    ("sqlite+pysqlite:///../up.db", "up.db"),
])
def test_relative_sqlite_path_follows_the_config_file_not_the_cwd(tmp_path: Path, monkeypatch, written: str,
                                                                   want: str) -> None:
    cfg = _minimal(tmp_path, written)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    url = load_config(cfg, env={}).store.url
    assert url.split(":///", 1)[1] == str((tmp_path / want).resolve())


@pytest.mark.parametrize("url", ["sqlite:////var/tmp/abs.db", "sqlite://", "sqlite:///:memory:",
                                 "postgresql+psycopg://u@db.example/tuan"])
def test_absolute_memory_and_server_urls_are_kept(tmp_path: Path, url: str) -> None:
    assert load_config(_minimal(tmp_path, url), env={}).store.url == url


def test_empty_config_is_an_error_not_the_sample(tmp_path: Path) -> None:
    cfg = tmp_path / "tuan.toml"
    cfg.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty"):
        load_config(cfg, env={})


def test_unreadable_config_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="folder"):
        load_config(tmp_path, env={})
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(binary, env={})


def test_run_with_an_empty_tuan_toml_exits_2_without_starting(tmp_path: Path) -> None:
    (tmp_path / "tuan.toml").write_text("", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "empty" in proc.stderr and "Traceback" not in proc.stderr


def _example_sections() -> dict[str, dict[str, object]]:
    """Every `key = value` of config.example.toml per section, commented-out keys included."""
    import re
    import tomllib

    sections: dict[str, dict[str, object]] = {}
    current = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        head = re.match(r"^\s*\[+([\w.]+)\]+", line)
        if head:
            current = head.group(1)
            continue
        kv = re.match(r"^#?\s*([a-z_]+)\s*=\s*(.+)$", line)
        if kv:
            value_text = kv.group(2)
            try:
                value = tomllib.loads(f"v = {value_text}")["v"]
            except tomllib.TOMLDecodeError:
                value = tomllib.loads(f"v = {value_text.split('#')[0]}")["v"]
            sections.setdefault(current, {})[kv.group(1)] = value
    return sections


@pytest.mark.parametrize("section", ["store", "bot", "console", "telegram", "telegram.webhook", "wechat"])
def test_example_lists_every_key_with_its_true_default(section: str) -> None:
    import dataclasses

    from adapters.telegram.config import TelegramConfig as TgSettings
    from adapters.telegram.config import WebhookConfig as TgWebhook
    from adapters.wechat.config import WechatSettings
    from bot.config import BotConfig, ConsoleConfig, StoreConfig

    cls = {"store": StoreConfig, "bot": BotConfig, "console": ConsoleConfig, "telegram": TgSettings,
           "telegram.webhook": TgWebhook, "wechat": WechatSettings}[section]
    listed = _example_sections()[section]
    for f in dataclasses.fields(cls):
        if f.name in ("webhook",):
            continue
        assert f.name in listed, f"config.example.toml [{section}] does not list `{f.name}`"
        if f.default is not dataclasses.MISSING:
            want = f.default
            got = listed[f.name]
            if isinstance(want, frozenset | tuple):
                want, got = sorted(want), sorted(got)  # type: ignore[arg-type]
            assert got == want, f"[{section}] `{f.name}`: example says {got!r}, the default is {want!r}"


@pytest.mark.parametrize("url", ["postgresql+psycopg://u:pw-secret@127.0.0.1:notaport/db",
                                 "postgresql+psycopg://u:pw-secret@[::1/db"])
def test_a_malformed_store_url_is_one_line_without_the_password(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="`store.url` is not a valid database URL") as err:
        load_config(_minimal(tmp_path, url), env={})
    assert "pw-secret" not in str(err.value)


def test_a_store_that_refuses_is_one_line_exit_2(tmp_path: Path) -> None:
    cfg = _minimal(tmp_path, "postgresql+psycopg://nosuchrole_tuan:pw-secret@127.0.0.1:5432/test")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run", "--config", str(cfg)], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "pw-secret" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "`store.url` cannot be opened" in done.stderr and "nosuchrole_tuan" in done.stderr
