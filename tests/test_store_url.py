"""A store URL is shown with every password masked (bot/store_url.py): ``user:password@`` and the
libpq query parameters ``password`` / ``sslpassword``, in the read-only store line, the start-up
log line and the redaction of any other output."""

from __future__ import annotations

import pytest
from sqlalchemy import make_url

from bot import redact
from bot.config import config_from_dict
from bot.runtime import safe_url
from bot.store_url import passwords, shown
from storage.unwritable import unwritable

URLS = [
    ("postgresql+psycopg://tuan:pw-in-userinfo@db/tuan", ["pw-in-userinfo"]),
    ("postgresql+psycopg://tuan@db/tuan?password=s3cret-pw&sslmode=require", ["s3cret-pw"]),
    ("postgresql+psycopg://tuan@db/tuan?PASSWORD=upper-pw", ["upper-pw"]),
    ("postgresql+psycopg://tuan@db/tuan?sslmode=require&sslpassword=key-pw", ["key-pw"]),
    ("postgresql+psycopg://tuan:a-pw@db/tuan?password=b-pw&password=c-pw", ["a-pw", "b-pw", "c-pw"]),
]


@pytest.mark.parametrize("url, secrets", URLS)
def test_every_password_of_a_url_is_found_and_masked(url: str, secrets: list[str]) -> None:
    assert sorted(passwords(make_url(url))) == sorted(secrets)
    for text in (shown(make_url(url)), safe_url(url)):
        assert not any(s in text for s in secrets), text
        assert "***" in text and "db/tuan" in text
    error = unwritable(make_url(url), type("E", (Exception,), {"sqlstate": "25006"})("read-only"))
    assert error is not None and not any(s in str(error) for s in secrets), str(error)


def test_other_query_parameters_are_shown_as_they_are() -> None:
    assert shown(make_url("postgresql+psycopg://tuan@db/tuan?password=x1y2&sslmode=require")) == \
        "postgresql+psycopg://tuan@db/tuan?password=***&sslmode=require"


def test_the_redaction_of_other_output_masks_a_query_password() -> None:
    url = "postgresql+psycopg://tuan@db/tuan?password=q-s3cret&sslpassword=k-s3cret"
    redact.register(redact.secrets_of(config_from_dict({"store": {"url": url}})))
    assert redact.text(f"connect {url} failed: q-s3cret, k-s3cret") == \
        "connect postgresql+psycopg://tuan@db/tuan?password=***&sslpassword=*** failed: ***, ***"
