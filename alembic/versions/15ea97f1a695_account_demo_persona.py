"""account.demo_persona: which accounts demo mode's one-click sign-in may use

Revision ID: 15ea97f1a695
Revises: 0bb40ea69650
Create Date: 2026-11-27 10:00:00.000000

Existing accounts (and any made later without saying otherwise) are not personas:
the server default is false. A scenario load sets it per account (default true).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '15ea97f1a695'
down_revision: Union[str, Sequence[str], None] = '0bb40ea69650'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('demo_persona', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('demo_persona')
