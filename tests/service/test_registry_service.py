"""The registry service on a real broker: refusing unverified callers, events, no personal data."""

import jwt
import pytest

from services.chassis.actor import AUDIENCE, Actor, sign
from services.chassis.errors import Forbidden, Unauthenticated
from services.registry.models import Base
from tests.conftest import ACTOR_SECRET
from tests.helpers import EventTap, rpc_as, table_counts, wait_for

pytestmark = pytest.mark.service

TOWNSHIP = {"code": "431102101", "name": "测试镇", "kind": "township"}


def forged_tokens():
    claims = jwt.decode(sign(Actor(roles=("liaison",)), ACTOR_SECRET), ACTOR_SECRET,
                        algorithms=["HS256"], audience=AUDIENCE)
    claims["roles"] = ["district_admin"]
    return {
        "tampered": jwt.encode(claims, "attacker-secret-attacker-secret-32b", algorithm="HS256"),
        "unsigned": jwt.encode(claims, None, algorithm="none"),
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("kind", ["missing", "tampered", "unsigned", "garbage"])
def test_a_call_without_a_valid_signed_actor_is_refused(registry, registry_config, kind):
    before = table_counts(registry_config["DATABASE_URL"], Base.metadata)
    token = None if kind == "missing" else forged_tokens()[kind]
    with rpc_as(registry_config, actor=None, token=token) as rpc:
        with pytest.raises(Unauthenticated):
            rpc.registry.register_township(data=TOWNSHIP)
    assert table_counts(registry_config["DATABASE_URL"], Base.metadata) == before


def test_the_service_enforces_roles_itself(registry, registry_config):
    liaison = Actor(roles=("liaison",), villages=("431102101001",))
    with rpc_as(registry_config, liaison) as rpc:
        with pytest.raises(Forbidden):
            rpc.registry.register_township(data=TOWNSHIP)


def test_person_events_carry_no_personal_data(registry, registry_config):
    tap = EventTap(registry_config["AMQP_URI"], ("registry",))
    with rpc_as(registry_config) as rpc:
        rpc.registry.register_township(data=TOWNSHIP)
        rpc.registry.register_village(data={"code": "431102101001", "name": "一村",
                                            "township_code": "431102101"})
        person = rpc.registry.register_person(data={
            "name": "张秘密", "role": "liaison", "village_code": "431102101001",
            "source": "grid_worker", "phone": "13912345678", "email": "zhang@example.org"})
        rpc.registry.update_person(person_id=person["id"], data={"phone": "13987654321"})
        rpc.registry.deactivate_person(person_id=person["id"])
    wait_for(lambda: len(tap.drain()) == 5)
    assert tap.types() == ["township.registered", "village.registered", "person.registered",
                           "person.updated", "person.deactivated"]
    updated = tap.events[3]["data"]
    assert updated["changed"] == ["phone"]
    for raw in tap.raw:
        for secret in ("张秘密", "13912345678", "13987654321", "zhang@example.org"):
            assert secret not in raw
