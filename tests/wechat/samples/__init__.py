"""XML samples of WeChat app messages (synthetic, in the shape WeChat sends)."""

from pathlib import Path

HERE = Path(__file__).parent


def sample(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")
