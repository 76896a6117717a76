"""Test tiers share these fixtures: a per-test database (SQLite file, or a fresh PostgreSQL
database when ``YLH_TEST_DB=postgresql``), service configs on nameko's throwaway vhosts, and
the platform clock reset after every test."""

import eventlet

eventlet.monkey_patch()  # nameko's pytest plugin no longer does it; before anything else

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

from services.chassis import clock  # noqa: E402

TEST_DB = os.environ.get("YLH_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("YLH_TEST_PG_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/")
ACTOR_SECRET = "test-actor-secret-of-at-least-32-bytes"


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    clock.reset()


@pytest.fixture
def web_session(web_config_port):
    """nameko's own fixture imports werkzeug.urls.url_join, gone in Werkzeug 3: same thing,
    with plain string joining."""
    import requests

    class WebSession(requests.Session):
        def request(self, method, url, *args, **kwargs):
            url = f"http://127.0.0.1:{web_config_port}/{url.lstrip('/')}"
            return super().request(method, url, *args, **kwargs)

    with WebSession() as session:
        yield session


@pytest.fixture
def database_url(tmp_path):
    """A new empty database for one service in one test."""
    yield from _new_database(tmp_path, "db")


def _new_database(tmp_path, label):
    if TEST_DB == "postgresql":
        from sqlalchemy import create_engine, text

        name = f"ylh_test_{label}_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"{PG_ADMIN_URL.rstrip('/')}/{name}"
        with admin.connect() as connection:
            # WITH (FORCE): a pool of a container still stopping may reconnect meanwhile
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        yield f"sqlite:///{tmp_path / (label + '.sqlite')}"


@pytest.fixture
def new_database(tmp_path):
    """A factory of further empty databases (one per service) for multi-service tests."""
    generators = []

    def make(label):
        generator = _new_database(tmp_path, label)
        generators.append(generator)
        return next(generator)

    yield make
    for generator in generators:
        next(generator, None)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_config(rabbit_config, database_url=None, **extra) -> dict:
    """What a service's YAML would give, pointed at the test vhost and database."""
    config = {
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "ACTOR_SECRET": ACTOR_SECRET,
        "RPC_TIMEOUT": 10,
        "OUTBOX": {"interval": 0.05, "batch": 200},
        "EVENT_RETRY": {"attempts": 3, "backoff": 0.05},
    }
    if database_url:
        config["DATABASE_URL"] = database_url
    config.update(extra)
    return config
