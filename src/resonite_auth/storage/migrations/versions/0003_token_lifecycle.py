"""token lifecycle: per-client token options, registered JWKS, client assertion replay table

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_resource_server", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "access_token_format",
                sa.String(length=16),
                nullable=False,
                server_default="opaque",
            )
        )
        batch_op.add_column(
            sa.Column(
                "id_token_signed_response_alg",
                sa.String(length=16),
                nullable=False,
                server_default="RS256",
            )
        )
        batch_op.add_column(sa.Column("jwks", sa.JSON(), nullable=True))

    op.create_table(
        "client_assertion_jtis",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti_digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti_digest", name=op.f("pk_client_assertion_jtis")),
    )
    with op.batch_alter_table("client_assertion_jtis", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_assertion_jtis_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("client_assertion_jtis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_assertion_jtis_expires_at"))
    op.drop_table("client_assertion_jtis")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("jwks")
        batch_op.drop_column("id_token_signed_response_alg")
        batch_op.drop_column("access_token_format")
        batch_op.drop_column("is_resource_server")
