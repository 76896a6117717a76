"""Petitions service-tier helpers: a migrated database with villages, containers sharing it."""

import pytest

from services.chassis.actor import Actor
from services.chassis.migrations import upgrade
from services.chassis.store import make_engine, transaction
from services.petitions import commands
from services.petitions.models import Base
from services.petitions.schemas import EVENTS
from services.petitions.service import PetitionsService
from tests.conftest import service_config

IDENTITY_KEY = "j3Xq1bqkVgSJkcIoCOWj9XQTmDT7oB5a9m0fB7qrcM4="
T1, T2 = "431102101", "431102102"
V1, V2, V3 = "431102101001", "431102101002", "431102102001"
VILLAGES = ((V1, "一村", T1), (V2, "二村", T1), (V3, "三村", T2))

OFFICER1 = Actor(roles=("township_officer",), username="officer1", townships=(T1,))
OFFICER2 = Actor(roles=("township_officer",), username="officer2", townships=(T2,))
LIAISON1 = Actor(roles=("liaison",), username="liaison1", person_id="L1", villages=(V1,))
LIAISON2 = Actor(roles=("liaison",), username="liaison2", person_id="L2", villages=(V2,))
INSPECTOR = Actor(roles=("discipline_inspector",), username="inspector")
MEMBER = Actor(roles=("cppcc_member",), username="member1", person_id="M1", villages=(V1,))
RESPONSIBLE = Actor(roles=("department_officer",), username="cadre1", person_id="C1")


class PetitionsDb:
    """Direct access to the service's database, as a second process would have it."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)

    def transaction(self):
        return transaction(self.engine, EVENTS, Base.metadata.tables["outbox_event"])

    def reading(self):
        from sqlalchemy.orm import Session
        return _Reading(Session(self.engine))

    def scalar(self, statement):
        with self.engine.connect() as connection:
            return connection.scalar(statement)


class _Reading:
    def __init__(self, session):
        self.session = session

    def __enter__(self):
        return self.session

    def __exit__(self, *exc):
        self.session.close()


@pytest.fixture
def petitions_db(database_url):
    upgrade("petitions", database_url)
    db = PetitionsDb(database_url)
    with db.transaction() as tx:
        for code, name, township in VILLAGES:
            commands.apply_village_event(tx, "village.registered", {
                "code": code, "name": name, "township_code": township, "active": True})
    yield db
    db.engine.dispose()


def petitions_config(rabbit_config, db: PetitionsDb, **extra):
    settings = {"IDENTITY_KEYS": IDENTITY_KEY, "TIMERS": {"interval": 3600}}
    settings.update(extra)
    return service_config(rabbit_config, db.url, **settings)


@pytest.fixture
def petitions(container_factory, rabbit_config, petitions_db):
    """One running container; its config is ``petitions.config``."""
    config = petitions_config(rabbit_config, petitions_db)
    container = container_factory(PetitionsService, config)
    container.start()
    return container
