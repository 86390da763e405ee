"""refund.attention: a refund support must look at (the provider paid one we closed)

Revision ID: 7c2e4a91d3b0
Revises: 15ea97f1a695
Create Date: 2026-11-28 10:00:00.000000

Three nullable columns: ``attention`` (why: "paid_after_close"), ``attention_at`` (when
it was flagged) and ``attention_resolved_at`` (when support marked it resolved). Every
existing refund needs no attention (NULL), so there is nothing to backfill.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = '7c2e4a91d3b0'
down_revision: Union[str, Sequence[str], None] = '15ea97f1a695'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attention', sqlmodel.sql.sqltypes.AutoString(length=32),
                                      nullable=True))
        batch_op.add_column(sa.Column('attention_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('attention_resolved_at',
                                      sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_column('attention_resolved_at')
        batch_op.drop_column('attention_at')
        batch_op.drop_column('attention')
