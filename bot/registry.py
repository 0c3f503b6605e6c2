"""The command registry: each command is declared where it is defined, with its aliases,
required role and help text (errbot's ``@botcmd``, NoneBot's ``on_command``); parsing and
/help are generated from it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot import messages as m

ANYONE = "anyone"
LEADER = "leader"  # leads the group the command acts on (bot/permissions.py)

Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Command:
    """A registered command: ``/name`` or any alias (Chinese aliases included) runs ``handler``.

    ``role``: ANYONE or LEADER; ``help``: the help line's text (a constant of bot/messages.py);
    ``hidden_aliases``: accepted but not shown (e.g. Telegram's ``/start``); ``one_group``: in a
    private chat it acts on exactly one of the caller's groups (named in the argument when they
    lead several), where the others act on each of them. ``words``: plain-text messages (no ``/``)
    that run the command too, for platforms and people that don't type commands (我的订单).
    ``group_only``: it acts on the group it is said in (its argument is its own, not a group's
    name); in a private chat it is refused with a hint.
    """

    name: str
    handler: Handler
    role: str
    help: str
    aliases: tuple[str, ...] = ()
    hidden_aliases: tuple[str, ...] = ()
    one_group: bool = False
    words: tuple[str, ...] = ()
    group_only: bool = False
    flags: tuple[str, ...] = ()
    private_group: bool = False


REGISTRY: dict[str, Command] = {}
_BY_ALIAS: dict[str, str] = {}
_BY_WORD: dict[str, str] = {}
# Leading @mentions (WeChat puts "@name\u2005" in front) before a plain command word.
_MENTIONS = re.compile(r"^(?:@\S+[\s\u2005]+)+")


def command(name: str, *, help: str, role: str = LEADER, aliases: tuple[str, ...] = (),
            hidden_aliases: tuple[str, ...] = (), one_group: bool = False,
            words: tuple[str, ...] = (), group_only: bool = False,
            flags: tuple[str, ...] = (), private_group: bool = False) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as ``/name``; raises ValueError on a repeated name or alias."""
    if role not in (ANYONE, LEADER):
        raise ValueError(f"unknown role {role!r}")

    def register(handler: Handler) -> Handler:
        for word in (name, *aliases, *hidden_aliases):
            key = word.lower()
            if key in _BY_ALIAS:
                raise ValueError(f"command word {word!r} is registered twice")
            _BY_ALIAS[key] = name
        for word in words:
            key = _fold(word)
            if key in _BY_WORD:
                raise ValueError(f"command word {word!r} is registered twice")
            _BY_WORD[key] = name
        REGISTRY[name] = Command(name, handler, role, help, tuple(aliases), tuple(hidden_aliases), one_group,
                                 tuple(words), group_only, tuple(flags), private_group)
        return handler

    return register


def parse_command(text: str) -> tuple[str, str] | None:
    """``/tally@TuanBot  arg`` → ("tally", "arg"); an alias gives its command's name; None: not a command.

    An unknown word comes back as is (lower-cased), so the caller can say it is unknown.
    """
    t = unicodedata.normalize("NFKC", text).strip()
    if not t.startswith("/") or len(t) < 2:
        return None
    head, _, arg = t[1:].replace("\n", " ").partition(" ")
    name = head.partition("@")[0].lower()
    return _BY_ALIAS.get(name, name), arg.strip()


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def parse_word(text: str) -> tuple[str, str] | None:
    """A plain message that is exactly a command's word (``我的订单``, ``@小助手 查单``, spaces and
    full-width forms ignored) → (command name, ""); None for anything else."""
    t = _MENTIONS.sub("", unicodedata.normalize("NFKC", text).strip())
    name = _BY_WORD.get(_fold(t))
    return (name, "") if name is not None else None


def lookup(name: str) -> Command | None:
    return REGISTRY.get(name)


def help_text(*, leader: bool, private: bool = False) -> str:
    """The /help answer: leader commands (with their Chinese aliases) for leaders, else the resident's."""
    import bot.commands  # noqa: F401  (the commands register themselves when their module loads)

    if not leader:
        lines = [m.HELP_RESIDENT]
        public = [c for c in REGISTRY.values() if c.role == ANYONE]
        if public:
            lines += [m.HELP_RESIDENT_HEAD, *(_line(c) for c in public)]
        return "\n".join(lines)
    lines = [m.HELP_LEADER_HEAD, *(_line(c) for c in REGISTRY.values())]
    if private:
        lines.append(m.HELP_PRIVATE_NOTE)
    return "\n".join(lines)


def _line(c: Command) -> str:
    aliases = m.HELP_ALIASES.format(aliases=m.HELP_ALIAS_SEP.join(c.aliases)) if c.aliases else ""
    return m.HELP_LINE.format(name=c.name, aliases=aliases, text=c.help)


def names() -> dict[str, Any]:
    """Every accepted command word → its command's name (for tests and docs)."""
    return dict(_BY_ALIAS)
