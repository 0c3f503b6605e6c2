"""Running `tuan replay` from tests: the command, and case catalogs written as TOML."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any


def tuan_cmd() -> list[str]:
    """`tuan` next to the running Python (the project's venv), else the one on PATH (or $TUAN_CMD)."""
    if os.environ.get("TUAN_CMD"):
        return shlex.split(os.environ["TUAN_CMD"])
    local = Path(sys.executable).parent / "tuan"
    if local.exists():
        return [str(local)]
    found = shutil.which("tuan")
    return [found] if found else ["tuan"]


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v)} as TOML")


def to_toml(catalog: dict[str, Any]) -> str:
    """A case's catalog (spec §4) as the TOML `tuan replay --catalog` reads."""
    out = [f"{k} = {toml_value(v)}" for k, v in catalog.items() if k != "items"]
    for item in catalog.get("items", []):
        out.append("\n[[items]]")
        out += [f"{k} = {toml_value(v)}" for k, v in item.items()]
    return "\n".join(out) + "\n"
