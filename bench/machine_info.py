"""The line every benchmark prints about the machine it ran on (the figures mean little without it)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine() -> str:
    """``machine: <CPU model>, <n> cores (nproc), <arch>, Python <version>, load average at start <1 5 15>``."""
    model = "unknown CPU"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {model}, {os.cpu_count()} cores (nproc), {platform.machine()}, Python "
            f"{platform.python_version()}, load average at start {load}")
