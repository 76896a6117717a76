"""rate counter of public objections

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 15:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_counter',
    sa.Column('client_key', sa.String(length=64), nullable=False),
    sa.Column('bucket', sa.String(length=20), nullable=False),
    sa.Column('window', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('client_key', 'bucket', 'window')
    )


def downgrade() -> None:
    op.drop_table('rate_counter')
