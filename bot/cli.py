"""The `tuan` command."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import TextIO


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``replay`` alone when that is the command (so a
    replay does not import the other subcommands' modules)."""
    p = argparse.ArgumentParser(prog="tuan", description="Tuan: a chat-group bot for community group buying (社群团购)")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("replay", help="feed a JSONL transcript through the order pipeline and print the tally")
    r.add_argument("transcript", help="JSON Lines transcript (see docs/replay.md)")
    r.add_argument("--catalog", help="TOML catalog shared by every chat of the transcript")
    r.add_argument("--json", action="store_true", help="print the result as JSON (spec §2)")
    r.add_argument("--db", help="SQLAlchemy URL of the store to replay into (default: a store in memory, thrown away at the end)")
    if command == "replay":
        return p
    try:
        from bot.cli_run import add_run_parsers
    except ImportError:
        pass
    else:
        add_run_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one `tuan` command; returns its exit status.

    A reader that stops early (``tuan purchase | head``, ``tuan run | head``) closes the pipe: the
    command then ends quietly with status 141 (128 + SIGPIPE, what a shell reports for a Unix tool
    killed by it) instead of a traceback. Python ignores SIGPIPE so that sockets raise instead
    (``tuan run``), so the broken pipe arrives as :class:`BrokenPipeError`, caught here (``tuan run``
    and ``tuan demo`` raise it once shut down). A closed stderr only loses messages and log lines:
    the command's own status stands.
    """
    try:
        status = _main(argv)
        if sys.stdout is not None:
            sys.stdout.flush()  # what is still buffered: a closed pipe shows here, not at exit (status 120)
    except BrokenPipeError:
        _to_devnull(sys.stdout)  # whatever is still buffered for the closed pipe would fail again at exit
        return 141
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except BrokenPipeError:
        _to_devnull(sys.stderr)
    return status


def _to_devnull(stream: TextIO | None) -> None:
    """Point ``stream``'s file descriptor at /dev/null (what it still buffers then flushes harmlessly)."""
    if stream is None:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)


def _main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run its handler. A bad day, time or number (:class:`bot.cli_args.BadArgument`,
    met by argparse or by the handler) is one line on stderr and exit status 2."""
    from bot.cli_args import BadArgument

    try:
        return _run(argv)
    except BadArgument as e:
        from bot import redact

        print(f"tuan: {redact.text(str(e))}", file=sys.stderr)
        return 2


def _run(argv: list[str] | None) -> int:
    first = (sys.argv[1:] if argv is None else argv)[:1]
    args = build_parser(first[0] if first else None).parse_args(argv)
    if args.command == "replay":
        gc.disable()  # the modules' objects live to the end: collecting while importing frees nothing
        try:
            from bot.replay import run
        finally:
            gc.enable()
        return run(args.transcript, args.catalog, args.json, args.db)
    handler = getattr(args, "handler", None)
    if handler is None:
        print(f"tuan: unknown command {args.command}", file=sys.stderr)
        return 2
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
