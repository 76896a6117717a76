from alembic import context

from gateway.models import Base
from services.chassis.migrations import run_env

run_env(context, Base.metadata)
