"""`tuan user add` and the dashboard served by `tuan run` ([web] enabled): an operator publishes a
round on the web and the running bot posts its card in the console chat (the outbox)."""

from __future__ import annotations

import http.cookiejar
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.web_support import free_port

CONFIG = """
[store]
url = "sqlite:///{db}"
[bot]
outbox_sweep_seconds = 0.3
[console]
chat = "console"
[web]
enabled = true
listen = "127.0.0.1:{port}"
[[groups]]
id = "home"
platform = "console"
chat = "console"
title = "幸福里"
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
"""


def tuan(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_user_add_checks_its_input(tmp_path: Path) -> None:
    cfg = tmp_path / "tuan.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "tuan.db", port=free_port()), encoding="utf-8")
    ok = tuan("user", "add", "--role", "operator", "op", "--password-stdin", "--config", str(cfg), cwd=tmp_path,
              stdin="operator-pw-1\n")
    assert ok.returncode == 0 and "added operator account op" in ok.stdout
    for args, stdin, why in (
            (["op", "--role", "operator"], "another-pw-1\n", "exists already"),
            (["x", "--role", "operator"], "short\n", "at least 8"),
            (["y", "--role", "leader"], "leader-pw-1\n", "needs --leader"),
            (["z", "--role", "leader", "--leader", "nobody"], "leader-pw-1\n", "no leader 'nobody'")):
        bad = tuan("user", "add", *args, "--password-stdin", "--config", str(cfg), cwd=tmp_path, stdin=stdin)
        assert bad.returncode == 2 and why in bad.stderr, bad.stderr
    listed = tuan("user", "list", "--config", str(cfg), cwd=tmp_path)
    assert "op" in listed.stdout and "operator" in listed.stdout and "operator-pw-1" not in listed.stdout


def test_tuan_run_serves_the_dashboard_and_posts_a_published_card(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "tuan.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "tuan.db", port=port), encoding="utf-8")
    assert tuan("user", "add", "--role", "operator", "op", "--password-stdin", "--config", str(cfg), cwd=tmp_path,
                stdin="operator-pw-1\n").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--config", str(cfg)], cwd=tmp_path,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("团长: /close\n")
        proc.stdin.flush()
        assert proc.stdout.readline().startswith("—")  # the banner
        base = f"http://127.0.0.1:{port}"
        jar = http.cookiejar.CookieJar()
        web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        deadline = time.monotonic() + 20
        while True:
            try:
                page = web.open(base + "/login", timeout=5).read().decode()
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline, "the dashboard did not come up"
                time.sleep(0.2)

        def post(path: str, form: dict[str, str] | list[tuple[str, str]], token: str) -> str:
            data = urllib.parse.urlencode([*(form.items() if isinstance(form, dict) else form), ("csrf", token)])
            return web.open(base + path, data=data.encode(), timeout=10).read().decode()

        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        post("/login", {"name": "op", "password": "operator-pw-1"}, token)
        compose = web.open(base + "/compose", timeout=10).read().decode()
        token = re.search(r'name="csrf" value="([^"]+)"', compose).group(1)  # type: ignore[union-attr]
        done = post("/compose", [("group", "console:console"), ("pick", "1"), ("stock_1", "12"),
                                 ("title", "网页开团"), ("action", "publish")], token)
        assert "已开团：网页开团" in done
        out = ""
        deadline = time.monotonic() + 20
        while "网页开团" not in out:
            assert time.monotonic() < deadline, out
            out += proc.stdout.readline()
        rest, err = proc.communicate("王姐: 葡萄2\n", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "王姐: 葡萄2\n  ✅" in rest  # the new round takes orders


def test_user_passwd_and_remove_end_the_account_s_sessions(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io

    from bot.cli import main
    from tests.test_web_http import client
    from tests.web_support import world

    w = world(tmp_path)
    cfg = tmp_path / "cli.toml"
    cfg.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "tuan.db"}"\n[console]\nenabled = false\n', encoding="utf-8")

    def user(*args: str, stdin: str = "") -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return main(["user", *args, "--config", str(cfg)])

    try:
        a, b = client(w, "leadera"), client(w, "leaderb")
        assert a.get("/").status_code == 200 and b.get("/").status_code == 200
        assert user("passwd", "leadera", "--password-stdin", stdin="short\n") == 2  # refused: nothing changes
        assert user("passwd", "nobody", "--password-stdin", stdin="long-enough-1\n") == 2
        assert a.get("/").status_code == 200
        assert user("passwd", "leadera", "--password-stdin", stdin="a-new-password\n") == 0
        assert a.get("/").status_code == 303 and b.get("/").status_code == 200  # only that account's sessions
        from bot.web.auth import check_password

        assert check_password(w.repo.engine, "leadera", "a-new-password") is not None
        assert check_password(w.repo.engine, "leadera", "leader-a-pw") is None
        assert user("remove", "leaderb") == 0 and b.get("/").status_code == 303
        assert check_password(w.repo.engine, "leaderb", "leader-b-pw") is None
        assert user("remove", "leaderb") == 2
        from storage.web import audit_page

        with w.repo.engine.connect() as conn:
            assert [r["action"] for r in audit_page(conn, chat_keys=["web"])] == ["user_remove", "user_passwd"]
    finally:
        w.repo.close()
