"""A store URL fit to be shown: its passwords masked, wherever it is printed or logged.

A PostgreSQL URL may carry a password in two places: ``user:password@host`` and a query parameter
libpq reads (``?password=...``, ``?sslpassword=...``: SQLAlchemy passes the query to the driver).
:func:`passwords` finds both (for :mod:`bot.redact`); :func:`shown` is the URL with both masked
(for storage/unwritable.py's one-line error and the start-up log line). The one place that knows.
"""

from __future__ import annotations

from sqlalchemy import URL

MASK = "***"
SECRET_PARAMETERS = frozenset({"password", "sslpassword"})
"""libpq connection parameters holding a secret (compared case-insensitively)."""


def _values(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def passwords(url: URL) -> list[str]:
    """Every password ``url`` holds: its ``user:password`` part and each secret query parameter's
    value (empty ones left out)."""
    found = [str(url.password)] if url.password else []
    for key, value in url.query.items():
        if key.lower() in SECRET_PARAMETERS:
            found.extend(v for v in _values(value) if v)
    return found


def shown(url: URL) -> str:
    """``url`` as a string with its password and secret query parameters' values replaced by ``***``."""
    query = {key: (MASK if key.lower() in SECRET_PARAMETERS else value) for key, value in url.query.items()}
    rendered = url.set(query=query).render_as_string(hide_password=True)
    return rendered.replace("%2A%2A%2A", MASK)


def shown_text(url: str) -> str:
    """:func:`shown` for a URL given as text; ``<unparsable store url>`` when it is not one."""
    from sqlalchemy import make_url

    try:
        return shown(make_url(url))
    except Exception:
        return "<unparsable store url>"
