"""Fixtures and helpers of the supervision service tests (import the fixtures you use)."""

import json
import uuid

import pytest
from kombu import Connection, Exchange
from sqlalchemy import func, select

from services.chassis.actor import Actor
from services.chassis.migrations import upgrade
from services.chassis.store import OUTBOX, make_engine, transaction
from services.supervision.models import Base, LocalVillage
from services.supervision.schemas import EVENTS
from services.supervision.service import SupervisionService
from tests.conftest import service_config

CLUE_KEY = "Rk1HeWtnYXVGRVZxQ2V1UkVhWnRnVXJtV2dWbnlIdkI="
T1, T2 = "431102101", "431102102"
V1, V2, V3 = "431102101001", "431102101002", "431102102001"
VILLAGES = ((V1, "一村", T1), (V2, "二村", T1), (V3, "三村", T2))

ADMIN = Actor(roles=("district_admin",), username="admin")
OFFICER1 = Actor(roles=("township_officer",), username="officer1", townships=(T1,))
LIAISON1 = Actor(roles=("liaison",), username="liaison1", person_id="L1", villages=(V1,))
MEMBER1 = Actor(roles=("cppcc_member",), username="member1", person_id="M1", villages=(V1,))
INSPECTOR = Actor(roles=("discipline_inspector",), username="inspector")
PUBLIC = Actor(roles=("public",))


def supervision_config(rabbit_config, database_url, **extra) -> dict:
    upgrade("supervision", database_url)
    return service_config(rabbit_config, database_url, CLUE_KEYS=CLUE_KEY,
                          SUPERVISION_TIMER_INTERVAL=3600, **extra)


@pytest.fixture
def sup_config(rabbit_config, database_url):
    config = supervision_config(rabbit_config, database_url)
    seed_villages(database_url)
    return config


@pytest.fixture
def supervision(container_factory, sup_config):
    container = container_factory(SupervisionService, sup_config)
    container.start()
    return container


_engines: dict = {}


def engine(url: str):
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def sup_transaction(url: str):
    """The unit of work a timer gets, outside any container (tests call the checks)."""
    return lambda: transaction(engine(url), EVENTS, Base.metadata.tables[OUTBOX])


def seed_villages(url: str) -> None:
    with sup_transaction(url)() as tx:
        for code, name, township in VILLAGES:
            tx.session.add(LocalVillage(code=code, name=name, township_code=township,
                                        active=True))


def count(url: str, model, *where) -> int:
    with engine(url).connect() as connection:
        return connection.execute(select(func.count()).select_from(model).where(*where)
                                  ).scalar_one()


def publish_event(amqp_uri: str, source: str, event_type: str, data: dict,
                  event_id: str | None = None) -> dict:
    """Publish an envelope as service ``source`` would (``event_id`` to redeliver one)."""
    body = {"specversion": "1.0", "id": event_id or str(uuid.uuid4()),
            "source": f"/yuelihui/{source}", "type": event_type,
            "time": "2026-11-26T08:00:00+00:00", "subject": f"{event_type}/test",
            "datacontenttype": "application/json",
            "dataschema": f"urn:yuelihui:event:{event_type}:v1", "data": data}
    with Connection(amqp_uri) as connection:
        exchange = Exchange(f"{source}.events", type="topic", durable=True)
        producer = connection.Producer()
        producer.publish(json.dumps(body), exchange=exchange, routing_key=event_type,
                         declare=[exchange], content_type="application/json",
                         content_encoding="utf-8", retry=True)
    return body


def distinct_events(tap) -> list[dict]:
    """The tap's events once per id, in arrival order: the outbox is at-least-once and
    consumers dedupe by id, so one effect is one event id."""
    return list({event["id"]: event for event in tap.drain()}.values())
