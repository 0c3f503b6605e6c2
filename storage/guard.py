"""One `tuan run` per SQLite file: an exclusive ``flock`` on ``<db>.lock``, held for the life of the run.

SQLite serves one process well; two bots writing one file would each keep their own view of the
open deals and both run the schedules. A second `tuan run` on the same file therefore refuses to
start (:class:`StoreInUse`, one line naming the holder's pid). Readers (`tuan replay`, CLI read
commands) do not take the lock. The lock file is left in place: removing it would let two
processes lock two different files of one name. The kernel drops the lock when the holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from sqlalchemy import make_url

from storage.engine import is_memory_sqlite


class StoreInUse(RuntimeError):
    """Another process holds the SQLite store; the message is the one line to print."""


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite file database URL, else None (PostgreSQL, in-memory, ``file:`` URIs)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or is_memory_sqlite(u) or u.database is None or u.database.startswith("file:"):
        return None
    return u.database


@contextlib.contextmanager
def sole_process(url: str) -> Iterator[None]:
    """Hold ``<db>.lock`` exclusively while the block runs; no-op unless ``url`` is a SQLite file.

    Raises :class:`StoreInUse` at once when another process holds it.
    """
    path = sqlite_path(url)
    if path is None:
        yield
        return
    lock_path = os.path.realpath(os.path.expanduser(path)) + ".lock"  # one lock per file, however named
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise StoreInUse(
                f"the store {os.path.abspath(os.path.expanduser(path))} is in use by another tuan process "
                f"(pid {holder}); SQLite serves one process — use PostgreSQL for several workers"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
