from datetime import UTC, datetime, timedelta

import jwt
import pytest
from marshmallow import fields

from services.chassis import actor, clock
from services.chassis.errors import Unauthenticated, ValidationFailed
from services.chassis.events import EventCatalog, EventContractError
from services.chassis.schemas import Schema, load, text

pytestmark = pytest.mark.unit
SECRET = "unit-test-actor-secret-32-bytes-long"


class Sample(Schema):
    village_code = text(12)
    count = fields.Integer(required=True)


def catalog():
    events = EventCatalog("sample")
    events.register("thing.happened", Sample, "A thing happened.")
    return events


def test_envelope_is_cloudevents_with_checked_data():
    clock.set_now(datetime(2026, 3, 1, 8, tzinfo=UTC))
    envelope = catalog().envelope("thing.happened", "thing/1",
                                  {"village_code": "431102102016", "count": 2})
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "thing.happened"
    assert envelope["source"] == "/yuelihui/sample"
    assert envelope["dataschema"] == "urn:yuelihui:event:thing.happened:v1"
    assert envelope["time"] == "2026-03-01T08:00:00+00:00"
    assert envelope["data"] == {"village_code": "431102102016", "count": 2}
    assert len(envelope["id"]) == 36


@pytest.mark.parametrize("data", [
    {"village_code": "431102102016"},                                 # missing field
    {"village_code": "431102102016", "count": "many"},                # wrong type
    {"village_code": "431102102016", "count": 1, "phone": "138"},     # personal data slipped in
])
def test_publishing_data_that_breaks_the_contract_is_a_bug(data):
    with pytest.raises(EventContractError):
        catalog().envelope("thing.happened", "thing/1", data)


def test_unknown_event_type_is_refused():
    with pytest.raises(EventContractError):
        catalog().envelope("thing.vanished", "thing/1", {})


def test_actor_round_trip():
    signed = actor.sign(actor.Actor(roles=("liaison",), username="l1", villages=("1",)), SECRET)
    verified = actor.verify(signed, SECRET)
    assert verified.roles == ("liaison",) and verified.villages == ("1",)


def test_actor_forged_unsigned_or_expired_is_refused():
    token = actor.sign(actor.Actor(roles=("liaison",)), SECRET)
    with pytest.raises(Unauthenticated):
        actor.verify(None, SECRET)
    with pytest.raises(Unauthenticated):
        actor.verify(token, "another-secret-of-thirty-two-bytes!!")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=actor.AUDIENCE)
    claims["roles"] = ["district_admin"]
    tampered = jwt.encode(claims, "guessed-secret-of-thirty-two-bytes!", algorithm="HS256")
    with pytest.raises(Unauthenticated):
        actor.verify(tampered, SECRET)
    clock.advance(actor.LIFETIME + timedelta(seconds=1))
    with pytest.raises(Unauthenticated):
        actor.verify(token, SECRET)


def test_jurisdiction():
    officer = actor.Actor(roles=("township_officer",), townships=("431102102",))
    assert officer.covers_village("431102102016")
    assert not officer.covers_village("431102103001")
    assert actor.Actor(roles=("district_admin",)).covers_village("431102103001")


def test_load_names_each_bad_field_in_chinese():
    with pytest.raises(ValidationFailed) as caught:
        load(Sample(), {"count": "x", "extra": 1})
    assert caught.value.details == {"village_code": ["必填字段"], "count": ["应为整数"],
                                    "extra": ["未知字段"]}


def test_clock_can_be_frozen_and_advanced():
    clock.set_now(datetime(2026, 1, 31, 16, 30, tzinfo=UTC))
    assert clock.today_local().isoformat() == "2026-02-01"  # Asia/Shanghai is UTC+8
    clock.advance(timedelta(days=1))
    assert clock.now() == datetime(2026, 2, 1, 16, 30, tzinfo=UTC)


def test_development_secrets_are_refused_unless_it_is_a_development_run(monkeypatch):
    from nameko.exceptions import ConfigurationError

    from services.chassis.secrets import ALLOW, refuse_development_secret

    monkeypatch.delenv(ALLOW, raising=False)
    for value in ("", None, "dev-only-actor-secret-change-me-please", "known-dev-key"):
        with pytest.raises(ConfigurationError):
            refuse_development_secret("ACTOR_SECRET", value, ("known-dev-key",))
    refuse_development_secret("ACTOR_SECRET", "a-real-secret-from-the-vault-0123456789")
    monkeypatch.setenv(ALLOW, "1")
    refuse_development_secret("ACTOR_SECRET", "dev-only-actor-secret-change-me-please")
