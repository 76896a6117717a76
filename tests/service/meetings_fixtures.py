"""Fixtures of the meetings service tier: the registry with the small test district (it feeds
the meetings' village copy by events and answers person look-ups) and meetings containers on
one database, plus helpers to publish the events petitions and supervision will send."""

import json
from datetime import UTC, datetime

import pytest
from kombu import Connection, Exchange

from services.chassis.actor import Actor, system_actor
from services.chassis.events import EventCatalog
from services.chassis.migrations import upgrade
from services.chassis.store import OUTBOX, make_engine, transaction
from services.meetings import schemas as ms
from services.meetings.models import Base, Village
from services.meetings.service import MeetingsService
from services.registry import importer
from services.registry.demo import COLUMNS, demo_rows
from services.registry.service import RegistryService
from tests.conftest import service_config
from tests.e2e.district import CSV, V1, V2, V3
from tests.helpers import wait_for

LIAISON1 = Actor(roles=("liaison",), username="liaison1", person_id="L1", villages=(V1,))
MEMBER1 = Actor(roles=("cppcc_member",), username="member1", person_id="M1", villages=(V1,))
LIAISON2 = Actor(roles=("liaison",), username="liaison2", person_id="L2", villages=(V2,))
OFFICER1 = Actor(roles=("township_officer",), username="officer1", townships=("431102101",))

QUORUM = {"quorum_min_people": 3, "quorum_min_villager_representatives": 5,
          "quorum_required_roles": "liaison", "reminder_days": 3}

# a petition and a matter as their services will publish them (docs/meetings.md)
PETITIONS = EventCatalog("petitions")
PETITIONS.register("petition.referred_to_meeting", ms.PetitionReferred, "test publisher")
SUPERVISION = EventCatalog("supervision")
SUPERVISION.register("matter.referred_to_meeting", ms.MatterReferred, "test publisher")


KINDS = ("townships", "villages", "workstations", "people", "links")


def demo_csv(kinds=("townships", "villages")) -> dict[str, str]:
    """The demo district (334 villages) as CSV text per kind."""
    import csv
    import io

    texts = {}
    for kind, rows in demo_rows().items():
        if kind in kinds:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=COLUMNS[kind])
            writer.writeheader()
            writer.writerows(rows)
            texts[kind] = buffer.getvalue()
    return texts


def seed_registry(url: str, kinds=KINDS, csv=CSV) -> None:
    from services.registry.models import Base as RegistryBase
    from services.registry.schemas import EVENTS

    engine = make_engine(url)
    for kind in kinds:
        with transaction(engine, EVENTS, RegistryBase.metadata.tables[OUTBOX]) as tx:
            importer.import_csv(tx, system_actor("test"), kind, csv[kind])
    engine.dispose()


def publish(amqp_uri: str, catalog: EventCatalog, event_type: str, subject: str, data: dict,
            envelope: dict | None = None) -> dict:
    """Publish one CloudEvents envelope as another service's relay would."""
    envelope = envelope or catalog.envelope(event_type, subject, data)
    with Connection(amqp_uri) as connection:
        producer = connection.Producer()
        producer.publish(json.dumps(envelope), exchange=Exchange(
            catalog.exchange(), type="topic", durable=True), routing_key=event_type,
            declare=[Exchange(catalog.exchange(), type="topic", durable=True)],
            content_type="application/json", content_encoding="utf-8")
    return envelope


class MeetingsDb:
    """Direct reads of the meetings database (assertions) and its store for timer calls."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        self.outbox = Base.metadata.tables[OUTBOX]

    def transaction(self):
        return transaction(self.engine, ms.EVENTS, self.outbox)

    def reading(self):
        from sqlalchemy.orm import Session

        return Session(self.engine)

    def count(self, model, *where) -> int:
        from sqlalchemy import func, select

        with self.reading() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))

    def outbox_types(self) -> list[str]:
        from sqlalchemy import select

        with self.reading() as session:
            return list(session.scalars(select(self.outbox.c.event_type)
                                        .order_by(self.outbox.c.position)))

    def outbox_data(self, event_type: str) -> list[dict]:
        from sqlalchemy import select

        with self.reading() as session:
            rows = session.scalars(select(self.outbox.c.envelope).where(
                self.outbox.c.event_type == event_type).order_by(self.outbox.c.position))
            return [json.loads(row)["data"] for row in rows]


@pytest.fixture
def meetings_system(container_factory, rabbit_config, new_database):
    """Registry (test district) + ``instances`` meetings containers on one database."""

    def start(instances: int = 1, csv=None, registry_first: bool = False, **extra):
        """``csv``: the registry's rows per kind (default: the small test district).
        ``registry_first``: the registry publishes its seed before meetings exists, so the
        meetings' queues miss those events."""
        csv = csv or CSV
        registry_url, meetings_url = new_database("registry"), new_database("meetings")
        upgrade("registry", registry_url)
        upgrade("meetings", meetings_url)
        seed_registry(registry_url, [kind for kind in KINDS if kind in csv], csv)
        config = service_config(rabbit_config, meetings_url,
                                MEETINGS={**QUORUM, **extra.pop("meetings", {})}, **extra)
        registry_config = service_config(rabbit_config, registry_url)
        if registry_first:
            container_factory(RegistryService, registry_config).start()
            wait_for(lambda: _unsent(registry_url) == 0)
        containers = []
        for _ in range(instances):
            instance_config = {**config, "WEB_SERVER_ADDRESS": service_config(
                rabbit_config)["WEB_SERVER_ADDRESS"]}
            container = container_factory(MeetingsService, instance_config)
            container.start()
            containers.append(container)
        if not registry_first:
            container_factory(RegistryService, registry_config).start()
        db = MeetingsDb(meetings_url)
        villages = csv["villages"].strip().count("\n")
        wait_for(lambda: db.count(Village) == villages, timeout=30)
        return config, containers, db

    return start


def _unsent(registry_url: str) -> int:
    from services.chassis.store import outbox_status

    engine = make_engine(registry_url)
    try:
        from services.registry.models import Base as RegistryBase

        return outbox_status(engine, RegistryBase.metadata.tables[OUTBOX])[0]
    finally:
        engine.dispose()


def at(text: str) -> datetime:
    """An aware moment from ISO text (Asia/Shanghai offsets welcome)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = ["LIAISON1", "LIAISON2", "MEMBER1", "OFFICER1", "PETITIONS", "SUPERVISION", "V1",
           "V2", "V3", "at", "demo_csv", "meetings_system", "publish", "seed_registry"]
