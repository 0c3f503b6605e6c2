"""Breaker 7: the one-line "store cannot be written" message (storage/unwritable.py) names the
PostgreSQL URL with only its user:password part hidden; a password given as a query parameter
(libpq's ``?password=``, which SQLAlchemy passes to the driver) is printed, and bot.redact does not
know it either (secrets_of reads url.password only)."""

from __future__ import annotations

from sqlalchemy import make_url

from bot import redact
from bot.config import config_from_dict
from storage.unwritable import unwritable


class _ReadOnly(Exception):
    sqlstate = "25006"


def test_a_password_in_the_url_query_is_not_printed() -> None:
    url = "postgresql+psycopg://tuan@db.example/tuan?password=s3cret-pw&sslmode=require"
    error = unwritable(make_url(url), _ReadOnly("cannot execute INSERT in a read-only transaction"))
    assert error is not None
    redact.register(redact.secrets_of(config_from_dict({"store": {"url": url}})))
    assert "s3cret-pw" not in redact.text(str(error)), str(error)
