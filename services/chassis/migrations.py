"""Alembic per service: ``upgrade(service)`` applies that service's migrations to its database."""

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import MetaData

from services.chassis.config import ROOT, load_service
from services.chassis.store import make_engine


def _home(service: str):
    return ROOT / "gateway" if service == "gateway" else ROOT / "services" / service


# every service that has migrations, gateway last (it holds accounts, no domain data)
SERVICES_WITH_DATABASE = tuple(
    sorted(path.parent.parent.name for path in (ROOT / "services").glob("*/migrations/env.py"))
) + ("gateway",)


def alembic_config(service: str, url: str | None = None) -> Config:
    base = _home(service)
    config = Config()
    config.set_main_option("script_location", str(base / "migrations"))
    config.attributes["url"] = url or load_service(service)["DATABASE_URL"]
    return config


def upgrade(service: str, url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, url), revision)


def run_env(context: EnvironmentContext, metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py`` (online mode only)."""
    engine = make_engine(context.config.attributes["url"])
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
