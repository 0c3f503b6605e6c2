"""Updates already handled by this process.

The store is what makes delivery exactly-once (the update id is committed with the entries).
This window only spares the core a redelivery within one process: a webhook retried by
Telegram, or a batch fetched again after a getUpdates whose confirmation was lost.
"""

from __future__ import annotations

from collections import OrderedDict


class RecentUpdates:
    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    def __contains__(self, update_id: int) -> bool:
        return update_id in self._ids

    def add(self, update_id: int) -> None:
        self._ids[update_id] = None
        self._ids.move_to_end(update_id)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)
