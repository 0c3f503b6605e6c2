"""Persistence for Tuan: the SQLAlchemy implementation of :class:`bot.ports.Repository`."""

from storage.sql import SqlRepository, open_repository

__all__ = ["SqlRepository", "open_repository"]
