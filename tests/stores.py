"""Stores for tests: a real SqlRepository on an in-memory SQLite database (one connection)."""

from __future__ import annotations

from storage.sql import SqlRepository, open_repository


def memory_store() -> SqlRepository:
    """A fresh, migrated, private in-memory SQLite store."""
    return open_repository("sqlite://")


class FlakyStore(SqlRepository):
    """An in-memory SQLite store that refuses the writes it is told to, as a store that lost its
    connection would (the transaction rolls back)."""

    def __init__(self) -> None:
        super().__init__(memory_store().engine)
        self.fail_next = False

    def transaction(self):  # type: ignore[no-untyped-def,override]
        import contextlib

        @contextlib.contextmanager
        def flaky():  # type: ignore[no-untyped-def]
            with super(FlakyStore, self).transaction() as tx:
                write = tx.write

                def failing(changes):  # type: ignore[no-untyped-def]
                    if self.fail_next:
                        self.fail_next = False
                        raise ConnectionError("the store went away")
                    write(changes)

                tx.write = failing  # type: ignore[method-assign]
                yield tx

        return flaky()


def fresh_cache(repo, deal_id: str):  # type: ignore[no-untyped-def]
    """The deal's cache as a process that never saw it would build it from the store."""
    from bot.services.state import DealCache

    with repo.transaction() as tx:
        snap = tx.load_deal(deal_id)
    assert snap is not None
    return DealCache.from_snapshot(snap)


def deal_state(svc, deal_id: str):  # type: ignore[no-untyped-def]
    """The service's cached state of the deal, or (not cached) the state built from the store."""
    cache = svc.cached(deal_id)
    return (cache or fresh_cache(svc.repo, deal_id)).deal


def writes_fail(repo, exc: BaseException):  # type: ignore[no-untyped-def]
    """While active, every transaction of ``repo`` fails at its write with ``exc`` (and rolls back)."""
    import contextlib

    real = repo.transaction

    @contextlib.contextmanager
    def failing_tx():  # type: ignore[no-untyped-def]
        with real() as tx:
            def fail(changes):  # type: ignore[no-untyped-def]
                raise exc

            tx.write = fail
            yield tx

    @contextlib.contextmanager
    def active():  # type: ignore[no-untyped-def]
        repo.transaction = failing_tx
        try:
            yield
        finally:
            del repo.transaction

    return active()
