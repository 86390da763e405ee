"""refund.inquiries: how often the provider was asked, for escalating stuck refunds

Revision ID: 3f8d2b6c1a47
Revises: 7c2e4a91d3b0
Create Date: 2026-11-29 12:00:00.000000

One integer column, NOT NULL with a server default of 0: every existing refund starts
with no inquiries counted (its age since it was sent still escalates it when stuck).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '3f8d2b6c1a47'
down_revision: Union[str, Sequence[str], None] = '7c2e4a91d3b0'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inquiries', sa.Integer(), nullable=False,
                                      server_default=sa.text('0')))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_column('inquiries')
