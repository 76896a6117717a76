"""Shared by the petitions e2e tests: start the system and wait for the village copy."""

from sqlalchemy import func, select

from services.chassis.store import make_engine
from services.petitions.models import Petition, Village
from tests.e2e import district
from tests.helpers import wait_for

IDENTITY_KEY = "j3Xq1bqkVgSJkcIoCOWj9XQTmDT7oB5a9m0fB7qrcM4="
# the keys a test gives the petitions service (without YAML there is no key, and the
# development key is refused outside `make run`): start_system(..., extra_config=KEYS_CONFIG)
KEYS_CONFIG = {"petitions": {"IDENTITY_KEYS": IDENTITY_KEY}}
NAME, PHONE, ID_NUMBER = "王秀英", "13912345678", "43112219800101123X"


def start_petitions(start_system, **petitions_config):
    config = {"IDENTITY_KEYS": IDENTITY_KEY, "EVENT_RETRY": {"attempts": 3, "backoff": 0.05},
              **petitions_config}
    system = start_system("petitions", extra_config={"petitions": config})
    engine = make_engine(system.database_urls["petitions"])
    with engine.connect() as connection:
        wait_for(lambda: connection.scalar(select(func.count()).select_from(Village)) == 3,
                 timeout=20)
    system.petitions_engine = engine
    return system


def count_petitions(system) -> int:
    with system.petitions_engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Petition))


def online_petition(**overrides) -> dict:
    body = {"category": "land", "agri_related": True, "village_code": district.V1,
            "summary": "村道旁承包地被占用, 请求核实处理", "anonymous": True}
    body.update(overrides)
    return body
