"""default micro-power catalogue (data step; inserts only the items that are missing)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:05:00
"""
import sqlalchemy as sa
from alembic import op

from services.supervision import catalogue

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# the table as of this revision (not the live model, which may change later)
power_item = sa.table(
    'power_item',
    sa.column('id', sa.String), sa.column('category', sa.String), sa.column('name', sa.String),
    sa.column('village_code', sa.String), sa.column('steps', sa.JSON),
    sa.column('requires_disclosure', sa.Boolean), sa.column('active', sa.Boolean),
)


def upgrade() -> None:
    catalogue.install(op.get_bind(), power_item)


def downgrade() -> None:
    ids = [item['id'] for item in catalogue.DEFAULT_ITEMS]
    op.execute(power_item.delete().where(power_item.c.id.in_(ids)))
