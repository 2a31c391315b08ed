"""applications: redirect URIs awaiting review, and when the first secret was issued

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        # Redirect URIs an owner added to an approved application: unusable until reviewed.
        batch.add_column(sa.Column("pending_redirect_uris", sa.JSON(), nullable=True))
        # Set once, atomically, when the first secret is minted (at approval or on the owner's
        # one-time reveal), so that the first secret can be handed out exactly once.
        batch.add_column(sa.Column("secret_issued_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("secret_issued_at")
        batch.drop_column("pending_redirect_uris")
