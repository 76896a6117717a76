"""The PostgreSQL driver must not block the eventlet hub (psycopg2 would)."""

import eventlet
import pytest
from sqlalchemy import text

from services.chassis.store import make_engine
from tests.conftest import TEST_DB

pytestmark = [pytest.mark.service,
              pytest.mark.skipif(TEST_DB != "postgresql", reason="PostgreSQL only")]


def test_other_greenthreads_run_while_a_query_waits(database_url):
    engine = make_engine(database_url)
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            eventlet.sleep(0.01)

    background = eventlet.spawn(ticker)
    eventlet.sleep(0)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_sleep(1)"))
    during = len(ticks)
    background.kill()
    engine.dispose()
    # a blocking driver freezes the hub for the whole second: one or two ticks at most
    assert during > 20
