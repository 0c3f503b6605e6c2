"""Web sessions that signing out ends on the server: ``users.session_epoch``, carried in the signed
session cookie and compared on every request; signing out, ``tuan user passwd`` and ``tuan user
remove`` move it, so a cookie kept from before is refused.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29

Accounts of an older store start at 0; their cookies signed in before this revision carry no epoch
and are refused once (the account signs in again).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
