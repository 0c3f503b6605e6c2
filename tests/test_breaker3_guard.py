"""One `tuan run` per SQLite file (breaker3): the same file named two ways."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage.guard import StoreInUse, sole_process


# User sees: a second `tuan run` whose config names the store by a symlink to the database file
# (tuan.db -> /srv/tuan/store.db) starts beside the first on the same SQLite file (the README says
# a second `tuan run` on one SQLite file is refused).
def test_a_store_named_through_a_symlinked_file_is_still_in_use(tmp_path: Path) -> None:
    real = tmp_path / "store.db"
    real.touch()
    os.symlink(real, tmp_path / "tuan.db")
    with sole_process(f"sqlite:///{real}"):
        with pytest.raises(StoreInUse), sole_process(f"sqlite:///{tmp_path / 'tuan.db'}"):
            pass


# Regression (held): the same file through a symlinked directory is refused.
def test_a_store_named_through_a_symlinked_directory_is_in_use(tmp_path: Path) -> None:
    real = tmp_path / "data"
    real.mkdir()
    os.symlink(real, tmp_path / "link")
    with sole_process(f"sqlite:///{real / 'tuan.db'}"):
        with pytest.raises(StoreInUse), sole_process(f"sqlite:///{tmp_path / 'link' / 'tuan.db'}"):
            pass


# Regression (held): the same file by a relative and an absolute path is refused.
def test_a_store_named_relative_and_absolute_is_in_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with sole_process(f"sqlite:///{tmp_path / 'tuan.db'}"):
        with pytest.raises(StoreInUse), sole_process("sqlite:///tuan.db"):
            pass
