"""Where a `tuan` command's file goes: ``-o FILE`` (mode 0600), else standard output.

One rule for every command that writes a file (export, pickup, settle, purchase): ``-o -`` is
standard output, as in most Unix tools; a binary file (XLSX, PDF) is refused on a terminal, where its
bytes would only garble the screen, and given to a pipe or a redirect; a file that cannot be
written is one line on stderr, not a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def emit(output: str | None, data: bytes, *, binary: str | None = None,
         fail: Callable[[str], Exception] = ValueError) -> None:
    """Write ``data`` to the file ``output`` (created with mode 0600: exports hold residents' rooms,
    phones and money; its size said on stderr), or to standard output when ``output`` is None or
    ``"-"``.

    ``binary`` names the format of data that is not text (``"XLSX"``, ``"PDF"``). Raises
    ``fail(message)`` (the caller's one-line error: exit status 2 where the CLI maps it) for a
    binary file bound for a terminal, or a file that cannot be opened.
    """
    if output in (None, "-"):
        if binary is not None and sys.stdout.isatty():
            raise fail(f"the {binary} file is binary and stdout is a terminal: give -o FILE, or redirect "
                       f"stdout to a file")
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    assert output is not None
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as e:
        raise fail(f"{output}: {e.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    print(f"{output}: {len(data)} bytes", file=sys.stderr)
