"""Who leads which group: the one place every command (chat or web) asks.

A caller leads a group when, for *that group*:
- the store knows them as its leader, or as an operator on the caller's platform
  (:mod:`bot.usecases.platform_data`: ``leaders``, ``leader_accounts``, ``group_leaders``; the
  configuration's ``[bot] leaders``, the platform's ``leaders`` and each group's ``leaders`` are
  imported there at start-up; a ``@username`` account matches the caller's current username), or
- the platform says they administer *that chat*: ``InboundMessage.is_admin`` of a message sent
  in that very chat (the adapter looked it up for that chat), or the adapter's
  :meth:`ChatAdmins.is_chat_admin` for any other chat (e.g. a private command).

Nobody leads the chat of a retired group (`tuan group remove`), chat admins included: no new round
starts there, and residents' orders meet the usual "no group buy open here" reply.

Admin status is never carried across chats: an admin of one group (or of a group of their own
the bot was added to) leads nothing else. A private chat has no admins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.config import AppConfig
from bot.model import ButtonPress, InboundMessage
from bot.usecases.platform_data import ConfigDirectory, LeaderDirectory


@runtime_checkable
class ChatAdmins(Protocol):
    """Optional adapter capability: whether a user administers a chat, asked of the platform."""

    async def is_chat_admin(self, chat_id: str, user_id: str) -> bool:
        """True when ``user_id`` is an admin (or owner) of the group ``chat_id``; False for private chats."""
        ...


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, and where: ``admin_here`` is the adapter's verdict for ``chat_key`` only."""

    platform: str
    user_id: str
    chat_key: str
    username: str | None = None
    admin_here: bool = False
    private: bool = False

    @classmethod
    def of(cls, event: InboundMessage | ButtonPress) -> Caller:
        if isinstance(event, ButtonPress):
            return cls(event.platform, event.sender_id, event.chat_key)
        return cls(event.platform, event.sender_id, event.chat_key, event.sender_username,
                   admin_here=event.is_admin and not event.is_private, private=event.is_private)


class Permissions:
    """Decides per (caller, group). Stateless: platform admin lists are cached by the adapters.

    ``adapters``: platform name → adapter (those with ``is_chat_admin`` are asked about other
    chats); ``known_chats``: returns the chat keys the store knows (groups that had a deal without being
    configured), candidates for :meth:`groups_led` besides the configured groups; ``directory``:
    the leaders the store knows (default: those the configuration names, as an import writes them).
    """

    def __init__(self, config: AppConfig, adapters: Mapping[str, object],
                 known_chats: Callable[[], Iterable[str]] = tuple,
                 directory: LeaderDirectory | None = None) -> None:
        self.config = config
        self.adapters = adapters
        self.known_chats = known_chats  # called only when a caller's groups are listed
        self.directory = directory if directory is not None else ConfigDirectory(config)

    async def known_leader(self, caller: Caller, chat_key: str) -> bool:
        """The store knows the caller as a leader of ``chat_key`` (or an operator of its platform)."""
        scope = await self.directory.scope(caller.platform, caller.user_id, caller.username)
        return scope.leads(chat_key)

    async def leads(self, caller: Caller, chat_key: str) -> bool:
        """Whether the caller leads the group ``chat_key`` (see the module docstring)."""
        platform, _, chat_id = chat_key.partition(":")
        if platform != caller.platform:
            return False
        scope = await self.directory.scope(caller.platform, caller.user_id, caller.username)
        if chat_key in scope.retired:  # a retired group: nobody leads it, so no new round starts there
            return False
        if scope.leads(chat_key):
            return True
        if chat_key == caller.chat_key:
            if caller.private:
                return False  # one's own private chat with the bot is no group
            if caller.admin_here:
                return True
        adapter = self.adapters.get(platform)
        if isinstance(adapter, ChatAdmins):
            return await adapter.is_chat_admin(chat_id, caller.user_id)
        return False

    def candidates(self, platform: str) -> list[str]:
        """Chat keys of groups on ``platform``: the configured ones, then others the store knows."""
        keys = [g.chat_key for g in self.config.groups if g.platform == platform]
        keys += [k for k in self.known_chats() if k.partition(":")[0] == platform]
        return list(dict.fromkeys(keys))

    async def groups_led(self, caller: Caller) -> list[str]:
        """The groups (chat keys) the caller leads, configured groups first."""
        led = []
        for key in self.candidates(caller.platform):
            if await self.leads(caller, key):
                led.append(key)
        return led
