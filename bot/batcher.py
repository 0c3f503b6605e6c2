"""Group commit for the order path of one process: order messages that arrive while the service is
busy are handled together, in one transaction (:meth:`bot.services.orders.OrderService.handle_each`).

Each caller (a webhook request, the poller, WeChat, the console) submits its message and awaits
its own outcome, available once the transaction that holds it has committed; it then delivers and
answers as it would after a transaction of its own. Nothing waits for a batch to fill: a message
that finds the service idle runs at once, alone; those that arrive while it runs queue up, and the
next turn takes all of them (at most ``max_batch``). So at low load a batch is one message and at
high load the commit and the round trips are paid once per batch.

Order: messages are taken in the order they were submitted. Work that is not an order message (a
command, a button press) keeps its own path on the same lock; :meth:`Batcher.barrier` marks where
it came, and no batch joins messages submitted before the mark with those submitted after it, so
a message that came after a command is not committed in a batch that runs before that command.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)
class _Entry(Generic[T, R]):
    item: T
    epoch: int
    future: asyncio.Future[R] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Batcher(Generic[T, R]):
    """Submitted items, handled in batches by ``run`` in a worker thread while holding ``lock``.

    ``run(items)`` gets up to ``max_batch`` items in submission order and returns one result per
    item, in order: the item's outcome, or the exception that item alone raised (given to that
    item's caller only). If ``run`` itself raises, every item of that batch gets the exception.
    ``lock`` is the one that serialises every use of the service (``Core.lock``): batches run one at
    a time, between the other holders of the lock. Safe to call from concurrent tasks of one loop.
    """

    def __init__(self, lock: asyncio.Lock, run: Callable[[list[T]], Sequence[R | Exception]], *,
                 max_batch: int = 100) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.lock = lock
        self.run = run
        self.max_batch = max_batch
        self._pending: collections.deque[_Entry[T, R]] = collections.deque()
        self._epoch = 0
        self.batches = 0  # batches run, for tests and the bench
        self.items = 0  # items handled in them

    def barrier(self) -> None:
        """Something that is not an order message is about to use the service: messages submitted
        from now on are never batched with those submitted before."""
        self._epoch += 1

    async def submit(self, item: T) -> R:
        """Handle ``item`` (with whatever else is queued) and return its result once committed;
        raises the exception the item raised. Cancelling the caller before its batch started takes
        the item out of the queue; once started, the batch runs to its end (a thread cannot be
        interrupted) and the cancellation goes on after it."""
        entry: _Entry[T, R] = _Entry(item, self._epoch)
        self._pending.append(entry)
        try:
            while not entry.future.done():
                async with self.lock:
                    if entry.future.done():
                        break
                    if not self._pending:  # taken by a batch whose results are being handed out
                        await asyncio.sleep(0)
                        continue
                    await self._run_next()
        except asyncio.CancelledError:
            if not entry.future.done():
                try:
                    self._pending.remove(entry)
                except ValueError:  # taken by a batch that is running: its result is of no use now
                    entry.future.add_done_callback(_retrieve)
            raise
        return entry.future.result()

    def _take(self) -> list[_Entry[T, R]]:
        """The next batch: from the head of the queue, the items of the head's epoch, up to ``max_batch``."""
        epoch = self._pending[0].epoch
        batch: list[_Entry[T, R]] = []
        while self._pending and len(batch) < self.max_batch and self._pending[0].epoch == epoch:
            batch.append(self._pending.popleft())
        return batch

    async def _run_next(self) -> None:
        """Run the next batch in a worker thread (the lock is held by the caller) and settle its futures."""
        batch = self._take()
        call = asyncio.ensure_future(asyncio.to_thread(self.run, [e.item for e in batch]))
        call.add_done_callback(lambda done: _settle(batch, done))
        self.batches += 1
        self.items += len(batch)
        try:
            await asyncio.shield(call)
        except asyncio.CancelledError:
            while not call.done():  # the lock stays held until the thread has ended, as in bot.worker
                try:
                    await asyncio.wait({call})
                except asyncio.CancelledError:
                    continue
            raise
        except Exception:  # noqa: BLE001  (given to every item of the batch by _settle)
            pass


def _settle(batch: list[_Entry[T, R]], call: asyncio.Future[Sequence[R | Exception]]) -> None:
    if call.cancelled():
        error: BaseException = asyncio.CancelledError()
        for e in batch:
            if not e.future.done():
                e.future.set_exception(error)
        return
    exc = call.exception()
    results: Sequence[R | Exception] = [] if exc is not None else call.result()
    if exc is None and len(results) != len(batch):
        exc = RuntimeError(f"a batch of {len(batch)} gave {len(results)} results")
    for n, e in enumerate(batch):
        if e.future.done():
            continue
        if exc is not None:
            e.future.set_exception(exc)
            continue
        r = results[n]
        if isinstance(r, Exception):
            e.future.set_exception(r)
        else:
            e.future.set_result(r)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: its caller is gone
