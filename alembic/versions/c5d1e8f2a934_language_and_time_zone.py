"""account.language and authsession.time_zone: the customer's language and zone

Revision ID: c5d1e8f2a934
Revises: 9a4c7e2d5b18
Create Date: 2026-12-06 11:00:00.000000

Issue 12 item 3: the language switch is remembered for the account ('en' or 'zh-CN';
existing accounts read English, as before) and the browser's time zone is kept on the
sign-in session (an IANA name; existing sessions show UTC, as before). Both columns are
NOT NULL with a server default, so no backfill is needed.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = 'c5d1e8f2a934'
down_revision: Union[str, Sequence[str], None] = '9a4c7e2d5b18'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='en'))
    with op.batch_alter_table('authsession', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=False, server_default='UTC'))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('authsession', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('language')
