"""The console adapter: a group chat in the terminal (prompt_toolkit line editor, history, Chinese input).

``王姐: 葡萄2`` speaks as resident 王姐, ``团长: /tally`` as the leader (names listed in
``[console] leaders`` are admins), a plain line as the last speaker (at first a resident, 邻居), ``王姐:`` alone switches
speaker. ``\\n`` in a line is a line break, for pasting a 接龙 list on one line. ``团长: >王姐 已取``
replies to 王姐's last message (as a leader's reply 已取 verifies her pickup).
Bot replies are printed above the prompt. With stdin not a terminal, lines are read plainly.

When the output's reader goes away (``tuan run | head``: a write raises :class:`BrokenPipeError`),
the chat's only participant is gone: the adapter stops reading, calls ``on_eof`` as at the end of
input (the bot shuts down cleanly) and sets :attr:`ConsoleAdapter.reader_gone`; what the bot still
says is given up, unshown (``tuan run`` then exits 141: :mod:`bot.runtime`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import stat
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout

from adapters.base import Capabilities, Sink
from bot import messages as m
from bot import redact
from bot.config import ConsoleConfig
from bot.model import Card, InboundMessage, Mention

log = logging.getLogger(__name__)

LineSource = Callable[[], Awaitable[str | None]]  # the next line, None at the end of input
BOT_NAME = "🤖 Tuan"
FILES_DIR = "tuan-files"
_SPEAKER = re.compile(r"^([^\s:：/][^\s:：]{0,15})\s*[:：]\s?(.*)$", re.S)
_REPLY = re.compile(r"^[>＞]\s*([^\s:：]{1,16})\s+(.+)$", re.S)


def sender_id_of(name: str) -> str:
    """A stable account id for a display name (the console and the demo speak by name)."""
    return "u" + hashlib.blake2b(name.strip().encode("utf-8"), digest_size=5).hexdigest()


def parse_line(line: str, last_speaker: str) -> tuple[str, str]:
    """(speaker, text) of a typed line; text is "" when the line only switches speaker or is blank."""
    line = line.strip()
    found = _SPEAKER.match(line)
    if found and not found.group(1).isdigit() and not found.group(2).startswith("//"):
        speaker, text = found.group(1), found.group(2)
    else:
        speaker, text = last_speaker, line
    return speaker, text.replace("\\n", "\n").strip()


def reply_of(text: str, last: dict[str, str]) -> tuple[str | None, str]:
    """(the message replied to, the text) of ``>王姐 已取``: the last message of that speaker in
    ``last`` (speaker → message id); (None, text) for any other text or a speaker not seen."""
    found = _REPLY.match(text)
    if found is None or found.group(1) not in last:
        return None, text
    return last[found.group(1)], found.group(2).strip()


def format_said(name: str, text: str) -> str:
    """How a chat line is shown: the name, then the text with continuation lines indented."""
    pad = "\n" + " " * 4
    return f"{name}: {pad.join(text.splitlines()) if text else ''}"


def print_line(text: str) -> None:
    """Print one line of the chat to stdout at once (a pipe is block-buffered: a reader waits for each line)."""
    print(text, flush=True)


def prompt_lines(session: PromptSession[str], prompt: Callable[[], str]) -> LineSource:
    async def next_line() -> str | None:
        try:
            return await session.prompt_async(prompt)
        except (EOFError, KeyboardInterrupt):
            return None

    return next_line


class StreamLines:
    """Lines of a stdin that is not a terminal: a pipe is read through the event loop, a file directly."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        mode = os.fstat(stream.fileno()).st_mode
        self._piped = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
        self._reader: asyncio.StreamReader | None = None
        self._transport: asyncio.BaseTransport | None = None

    async def __call__(self) -> str | None:
        if not self._piped:
            raw = self.stream.readline()
            return raw.rstrip("\n") if raw else None
        if self._reader is None:
            self._reader = reader = asyncio.StreamReader()
            self._transport, _ = await asyncio.get_running_loop().connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), self.stream)
        data = await self._reader.readline()
        return data.decode("utf-8", "replace").rstrip("\n") if data else None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class ConsoleAdapter:
    """One group chat (``[console] chat``) in this terminal. ``on_eof`` is called once, when input ends
    or when the output's reader has gone (then :attr:`reader_gone` is True)."""

    name = "console"

    def __init__(self, config: ConsoleConfig, *, lines: LineSource | None = None,
                 write: Callable[[str], None] | None = None, clock: Callable[[], datetime] | None = None,
                 on_eof: Callable[[], None] | None = None, echo: bool | None = None,
                 banner: bool = True, files_dir: str | Path | None = None) -> None:
        self.config = config
        # direct: a message to a member (chat id = their sender id) is printed marked 私信;
        # files: written to ``files_dir`` (default: ./tuan-files), its path printed.
        self.capabilities = Capabilities(reactions=config.reactions, files=True, direct=True)
        self.files_dir = Path(files_dir) if files_dir is not None else Path.cwd() / FILES_DIR
        # A newcomer's first plain line (葡萄2) is a resident's order, not the leader's.
        self.speaker = m.CONSOLE_FIRST_SPEAKER
        self._lines = lines
        self._write = write or print_line
        self._clock = clock or (lambda: datetime.now(UTC))
        self._on_eof = on_eof
        self._session = f"{int(time.time() * 1000):x}"
        self._n = 0
        self._last: dict[str, str] = {}  # speaker → their last message id, for ``>王姐 已取``
        self._names: dict[str, str] = {}  # sender id → speaker, to say whose private chat a message went to
        self._echo = echo
        self._banner = banner
        self._task: asyncio.Task[None] | None = None
        self._reading = False
        self._stopping = False
        self.reader_gone = False  # a write found the output closed (BrokenPipeError): nobody reads the chat
        self._stack = contextlib.ExitStack()

    def _next_id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._session}-{self._n}"

    def _show(self, text: str) -> bool:
        """Write ``text`` to the chat; False, and nothing written, once the output's reader has gone."""
        if self.reader_gone:
            return False
        try:
            self._write(text)
        except BrokenPipeError:
            self._reader_left()
            return False
        return True

    def _reader_left(self) -> None:
        """The output is closed: stop reading and end the chat as at the end of input (``on_eof``)."""
        if self.reader_gone:
            return
        self.reader_gone = True
        log.info("the console's output is closed (its reader went away): the chat ends")
        if self._on_eof is not None and not self._stopping:
            self._on_eof()
        self._stopping = True

    def _default_lines(self) -> LineSource:
        """prompt_toolkit on a terminal; otherwise plain lines, echoed so the output reads as a chat."""
        if sys.stdin.isatty():
            self._stack.enter_context(patch_stdout(raw=True))
            session: PromptSession[str] = PromptSession(history=InMemoryHistory())
            return prompt_lines(session, lambda: f"{self.speaker}> ")
        lines = StreamLines(sys.stdin)
        self._stack.callback(lines.close)
        self._echo = True if self._echo is None else self._echo
        return lines

    async def start(self, sink: Sink) -> None:
        lines = self._lines or self._default_lines()
        if self._banner:
            self._show(m.CONSOLE_BANNER.format(title=self.config.title))
        self._task = asyncio.create_task(self._read(sink, lines))

    async def _read(self, sink: Sink, lines: LineSource) -> None:
        while not self._stopping:
            self._reading = True
            try:
                line = await lines()
            except BrokenPipeError:  # a line source that writes (the demo's narration) found the output closed
                self._reader_left()
                break
            finally:
                self._reading = False
            if line is None or self.reader_gone:
                break
            self.speaker, text = parse_line(line, self.speaker)
            if not text:
                continue
            reply_to, said = reply_of(text, self._last)
            msg = InboundMessage(
                platform=self.name, chat_id=self.config.chat, message_id=self._next_id("c"),
                sender_id=sender_id_of(self.speaker), sender_name=self.speaker, text=said, ts=self._clock(),
                is_admin=self.speaker in self.config.leaders, chat_title=self.config.title, reply_to=reply_to,
            )
            self._last[self.speaker] = msg.message_id
            self._names[msg.sender_id] = self.speaker
            if self._echo and not self._show(format_said(self.speaker, text)):
                break  # nobody reads the chat any more: the line is not taken
            try:
                await sink.on_message(msg)
            except Exception as e:  # keep the chat open; the message was not committed
                log.exception("message failed")
                self._show(m.CONSOLE_FAILED.format(error=redact.text(str(e))))
        if self._on_eof is not None and not self._stopping:
            self._on_eof()

    async def stop(self) -> None:
        """Stop reading; a message being handled is finished first."""
        self._stopping = True
        if self._task is not None and not self._task.done():
            if self._reading:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._stack.close()

    async def wait_closed(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def send_text(self, chat_id: str, text: str, *, reply_to: str | None = None,
                        mention: Mention | None = None, preformatted: bool = False) -> str | None:
        if chat_id != self.config.chat:  # a member's private chat: marked with whose it is
            name = self._names.get(chat_id)
            text = f"{m.CONSOLE_PRIVATE_TO.format(name=name) if name else m.CONSOLE_PRIVATE} {text}"
        if not self._show(format_said(BOT_NAME, f"@{mention.name} {text}" if mention else text)):
            return None  # given up: nobody reads the chat any more
        return self._next_id("b")

    async def send_card(self, chat_id: str, card: Card) -> str | None:
        return await self.send_text(chat_id, card.text)

    async def edit_text(self, chat_id: str, message_id: str, text: str, card: Card | None = None) -> bool:
        return False

    async def react(self, chat_id: str, message_id: str, emoji: str) -> bool:
        if not self.capabilities.reactions:
            return False
        self._show(f"  {emoji}")
        return True  # shown, or given up once nobody reads the chat (the list digest would be too)

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> bool:
        """Write the file (mode 0600: it may hold residents' phone numbers) into ``files_dir`` and
        print its path; an existing file of that name is never overwritten."""
        path = write_private_file(self.files_dir, filename, data)
        text = m.CONSOLE_FILE.format(path=path) + (f" {caption}" if caption else "")
        await self.send_text(chat_id, text)
        return True


def write_private_file(folder: Path, filename: str, data: bytes) -> Path:
    """Create ``folder`` (0700) and a new file in it readable by the owner only (0600); returns its path.

    ``filename`` is reduced to its last path part; ``name-2.ext`` and so on when the name is taken.
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    base = Path(Path(filename).name or "tuan-file")
    for n in range(1, 1000):
        path = folder / (base.name if n == 1 else f"{base.stem}-{n}{base.suffix}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return path.resolve()
    raise FileExistsError(f"no free file name for {filename} in {folder}")
