"""The order service: applies what the engine reads in a message to the live deal state and the store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.catalog import Catalog
from bot.model import ButtonPress, InboundMessage
from bot.ports import DealRow, Repository
from bot.services.outcome import Outcome, Tally


class OrderService:
    """One per process. Synchronous; callers serialise calls (one event loop, one lock).

    ``catalog``: when given, every chat takes part in that one shared deal (``tuan replay
    --catalog``); otherwise a chat's deal comes from :meth:`open_deal` or a leader's deal post.
    """

    def __init__(self, repo: Repository, *, catalog: Catalog | None = None) -> None:
        raise NotImplementedError

    def handle(self, msg: InboundMessage) -> Outcome:
        """Read one message, apply it, commit, and say what happened."""
        raise NotImplementedError

    def handle_many(self, msgs: Iterable[InboundMessage]) -> list[Outcome]:
        """Handle several messages in arrival order, committed in one transaction."""
        raise NotImplementedError

    def press(self, press: ButtonPress) -> Outcome:
        """A deal-card button: "add"/"sub" one of ``item_code``; "mine" changes nothing."""
        raise NotImplementedError

    def open_deal(self, catalog: Catalog, chat_keys: Sequence[str], *, title: str = "",
                  source: str = "config") -> str:
        """Open a deal for these chats (replacing each chat's current deal); returns its id."""
        raise NotImplementedError

    def close_deal(self, deal_id: str) -> None:
        """Close a deal (the cutoff, or a leader's /close): later orders are refused."""
        raise NotImplementedError

    def deal_of(self, chat_key: str) -> DealRow | None:
        """The chat's current deal (open or closed), or None."""
        raise NotImplementedError

    def catalog_of(self, deal_id: str) -> Catalog:
        raise NotImplementedError

    def tally(self, deal_id: str, chat_key: str | None = None) -> Tally:
        """Current orders of a deal, optionally of one chat."""
        raise NotImplementedError

    def sender_totals(self, chat_key: str, sender_id: str) -> dict[str, int]:
        """A resident's current totals in the chat's deal, item code -> qty (qty > 0 only)."""
        raise NotImplementedError

    def is_processed(self, source: str, update_id: str) -> bool:
        raise NotImplementedError
