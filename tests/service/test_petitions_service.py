"""Petitions container on a real broker and database: the village copy fed by registry
events, the contracts of the referral events, object-level access, shared rate limits and
key rotation."""

import json

import pytest
from cryptography.fernet import Fernet
from kombu import Connection, Exchange, Producer

from services.chassis.errors import Forbidden, RateLimited
from services.chassis.events import EventCatalog
from services.petitions.service import PetitionsService
from services.registry.schemas import EVENTS as REGISTRY_EVENTS
from tests.helpers import ADMIN, EventTap, rpc_as, wait_for
from tests.service import petitions_support as support
from tests.service.petitions_support import (
    IDENTITY_KEY,
    INSPECTOR,
    LIAISON1,
    LIAISON2,
    MEMBER,
    OFFICER1,
    OFFICER2,
    RESPONSIBLE,
    V1,
    V2,
    petitions_config,
)

pytestmark = pytest.mark.service
petitions_db = support.petitions_db  # fixtures
petitions = support.petitions
IDENTITY = {"name": "孙桂兰", "phone": "13511112222"}


def _file(config, actor=LIAISON1, village=V1, **extra):
    with rpc_as(config, actor) as rpc:
        return rpc.petitions.file_petition(data={
            "channel": "liaison", "category": "infrastructure", "village_code": village,
            "summary": "村道破损", "identity": IDENTITY, **extra})


def _publish_registry(config, event_type: str, data: dict) -> dict:
    catalog: EventCatalog = REGISTRY_EVENTS
    envelope = catalog.envelope(event_type, f"village/{data['code']}", data)
    with Connection(config["AMQP_URI"]) as connection:
        Producer(connection).publish(json.dumps(envelope), exchange=Exchange(
            "registry.events", type="topic", durable=True), routing_key=event_type,
            content_type="application/json", declare=[Exchange(
                "registry.events", type="topic", durable=True)])
    return envelope


def test_village_copy_follows_registry_events(petitions):
    config = petitions.config
    new = {"code": "431102103001", "name": "新村", "township_code": "431102103",
           "kind": "village", "pilot": False, "active": True}
    with rpc_as(config, ADMIN) as rpc, pytest.raises(Exception) as unknown:
        rpc.petitions.file_petition(data={"channel": "visit", "category": "land",
                                          "village_code": new["code"], "summary": "x",
                                          "anonymous": True})
    assert "village_code" in unknown.value.details
    envelope = _publish_registry(config, "village.registered", new)
    _publish_registry(config, "village.registered", new)  # a different id: applied again
    filed = wait_for(lambda: _try_file(config, new["code"]), timeout=10)
    assert filed["township_code"] == "431102103"
    # retired village: filing is refused again
    _publish_registry(config, "village.updated", {**new, "active": False, "changed": ["active"]})
    wait_for(lambda: _try_file(config, new["code"]) is None, timeout=10)
    assert envelope["data"]["code"] == new["code"]


def _try_file(config, code):
    try:
        with rpc_as(config, ADMIN) as rpc:
            return rpc.petitions.file_petition(data={
                "channel": "visit", "category": "land", "village_code": code, "summary": "x",
                "anonymous": True})
    except Exception:  # noqa: BLE001 - not there yet
        return None


def test_referral_events_carry_exactly_the_contract(petitions):
    config = petitions.config
    tap = EventTap(config["AMQP_URI"], ("petitions",))
    pid = _file(config, category="cadre_conduct")["id"]
    with rpc_as(config, OFFICER1) as rpc:
        rpc.petitions.accept(petition_id=pid)
        rpc.petitions.refer_to_meeting(petition_id=pid, data={
            "title": "村道修缮", "summary": "村道破损影响出行"})
        rpc.petitions.refer_to_supervision(petition_id=pid, data={"summary": "修路资金去向不明"})
        with pytest.raises(Exception) as again:
            rpc.petitions.refer_to_meeting(petition_id=pid, data={"title": "t", "summary": "s"})
    assert again.value.details == {"state": ["accepted"]}
    wait_for(lambda: len([e for e in tap.drain() if "referred" in e["type"]]) >= 2,
             timeout=10)
    events = {e["type"]: e for e in tap.events if "referred" in e["type"]}
    meeting = events["petition.referred_to_meeting"]["data"]
    assert meeting == {"petition_id": pid, "village_code": V1, "title": "村道修缮",
                       "summary": "村道破损影响出行", "platform": "villager_voice",
                       "category": "cadre_conduct"}
    supervision = events["petition.referred_to_supervision"]["data"]
    assert supervision == {"petition_id": pid, "village_code": V1,
                           "category": "cadre_conduct", "summary": "修路资金去向不明"}
    assert events["petition.referred_to_meeting"]["dataschema"] == \
        "urn:yuelihui:event:petition.referred_to_meeting:v1"
    tap.close()


def test_object_level_access(petitions):
    config = petitions.config
    pid = _file(config)["id"]
    with rpc_as(config, OFFICER1) as rpc:
        rpc.petitions.accept(petition_id=pid)
        # the registry is not running here: assignment needs it, so write directly below
    with support.PetitionsDb(config["DATABASE_URL"]).transaction() as tx:
        from services.petitions import commands
        commands.assign(tx, ADMIN, pid, "C1")
    with rpc_as(config, RESPONSIBLE) as rpc:
        assert rpc.petitions.get_petition(petition_id=pid)["state"] == "assigned"
        assert rpc.petitions.get_identity(petition_id=pid)["name"] == IDENTITY["name"]
        assert [p["id"] for p in rpc.petitions.list_petitions()["items"]] == [pid]
        answered = rpc.petitions.answer(petition_id=pid, data={"opinion": "已修复"})
        assert answered["state"] == "answered"
    for actor in (OFFICER2, LIAISON2, MEMBER, INSPECTOR):
        with rpc_as(config, actor) as rpc:
            with pytest.raises(Forbidden):
                rpc.petitions.get_petition(petition_id=pid)
            with pytest.raises(Forbidden):
                rpc.petitions.get_identity(petition_id=pid)
            assert rpc.petitions.list_petitions()["total"] == 0
    with rpc_as(config, LIAISON2) as rpc, pytest.raises(Forbidden):
        rpc.petitions.file_petition(data={"channel": "liaison", "category": "land",
                                          "village_code": V1, "summary": "x",
                                          "anonymous": True})
    assert _file(config, LIAISON2, V2)["village_code"] == V2


def test_rate_limit_is_shared_by_instances(container_factory, rabbit_config, petitions_db):
    limits = {"RATE_LIMIT": {"intake": 3, "receipt": 100, "window_seconds": 3600}}
    configs = [petitions_config(rabbit_config, petitions_db, **limits) for _ in range(2)]
    for config in configs:
        container_factory(PetitionsService, config).start()
    body = {"category": "land", "village_code": V1, "summary": "占地", "anonymous": True}
    public = support.Actor(roles=("public",))
    outcomes = []
    for index in range(5):
        with rpc_as(configs[index % 2], public) as rpc:
            try:
                rpc.petitions.file_online_petition(data=body, client="a" * 64)
                outcomes.append("ok")
            except RateLimited:
                outcomes.append("limited")
    assert outcomes == ["ok", "ok", "ok", "limited", "limited"]
    with rpc_as(configs[1], public) as rpc:  # another client is not affected
        assert rpc.petitions.file_online_petition(data=body, client="b" * 64)["receipt_code"]


def test_key_rotation(container_factory, rabbit_config, petitions_db):
    old_config = petitions_config(rabbit_config, petitions_db)
    old = container_factory(PetitionsService, old_config)
    old.start()
    pid = _file(old_config)["id"]
    old.stop()
    new_key = Fernet.generate_key().decode()
    both = petitions_config(rabbit_config, petitions_db,
                            IDENTITY_KEYS=f"{new_key},{IDENTITY_KEY}")
    rotating = container_factory(PetitionsService, both)
    rotating.start()
    with rpc_as(both, OFFICER1) as rpc, pytest.raises(Forbidden):
        rpc.petitions.rotate_identity_keys()
    with rpc_as(both, ADMIN) as rpc:
        assert rpc.petitions.rotate_identity_keys() == {"petitions": 1, "disputes": 0}
    rotating.stop()
    only_new = petitions_config(rabbit_config, petitions_db, IDENTITY_KEYS=new_key)
    container_factory(PetitionsService, only_new).start()
    with rpc_as(only_new, OFFICER1) as rpc:
        assert rpc.petitions.get_identity(petition_id=pid)["phone"] == IDENTITY["phone"]


def test_metrics_show_open_petitions_and_overdue_deadlines(petitions):
    from datetime import datetime

    import requests

    from services.chassis import clock

    config = petitions.config
    clock.set_now(datetime(2026, 3, 2, 9, tzinfo=clock.LOCAL))
    ids = [_file(config)["id"], _file(config, anonymous=True, identity=None)["id"]]
    clock.set_now(datetime(2026, 3, 18, 9, tzinfo=clock.LOCAL))  # acceptance due 2026-03-17
    body = requests.get(f"http://{config['WEB_SERVER_ADDRESS']}/metrics", timeout=5).text
    assert 'yuelihui_petitions_open{service="petitions",state="received"} 2.0' in body
    assert 'yuelihui_petitions_overdue{service="petitions",stage="accept"} 2.0' in body
    assert 'yuelihui_petitions_open{service="petitions",state="accepted"} 0.0' in body
    assert not [text for text in (IDENTITY["name"], *ids) if text in body]


def _reasons(steps: list[dict]) -> dict:
    return {step["action"]: step["reason"] for step in steps if step["reason"]}


def test_reasons_for_review_and_reexamination_are_kept_and_shown(petitions):
    """The petitioner's reasons (复查 / 复核) reach staff and the receipt page's steps."""
    config = petitions.config
    from services.petitions import commands
    with rpc_as(config, ADMIN) as rpc:
        issued = rpc.petitions.file_online_petition(data={
            "category": "land", "village_code": V1, "summary": "承包地被占", "anonymous": True},
            client="c1")
        code = issued["receipt_code"]
        pid = rpc.petitions.list_petitions()["items"][0]["id"]
        rpc.petitions.accept(petition_id=pid)
    with support.PetitionsDb(config["DATABASE_URL"]).transaction() as tx:
        commands.assign(tx, ADMIN, pid, "C1")  # the registry is not running here
    with rpc_as(config, OFFICER1) as rpc:
        rpc.petitions.answer(petition_id=pid, data={"opinion": "按标准补偿"})
        rpc.petitions.receipt_request_review(code=code, data={"reason": "补偿标准偏低"},
                                             client="c1")
        staff = rpc.petitions.get_petition(petition_id=pid)
        assert _reasons(staff["steps"]) == {"request_review": "补偿标准偏低"}
        rpc.petitions.review(petition_id=pid, data={"opinion": "维持原意见"})
        # staff relaying the petitioner's request for re-examination
        rpc.petitions.request_reexam(petition_id=pid, data={"reason": "复查未核实面积"})
        staff = rpc.petitions.get_petition(petition_id=pid)
        receipt = rpc.petitions.get_receipt(code=code, client="c1")
    expected = {"request_review": "补偿标准偏低", "request_reexam": "复查未核实面积"}
    assert _reasons(staff["steps"]) == expected
    assert _reasons(receipt["steps"]) == expected
    assert staff["state"] == receipt["state"] == "reexam_requested"


def test_inspector_reads_only_what_was_referred_to_supervision(petitions):
    config = petitions.config
    pid = _file(config, category="cadre_conduct", details="村主任挪用修路款约三万元")["id"]
    from services.petitions import commands
    with rpc_as(config, OFFICER1) as rpc:
        rpc.petitions.accept(petition_id=pid)
    with support.PetitionsDb(config["DATABASE_URL"]).transaction() as tx:
        commands.assign(tx, ADMIN, pid, "C1")  # the registry is not running here
    with rpc_as(config, OFFICER1) as rpc:
        rpc.petitions.answer(petition_id=pid, data={"opinion": "已转纪检核查"})
        rpc.petitions.refer_to_supervision(petition_id=pid, data={"summary": "修路资金去向不明"})
        staff = rpc.petitions.get_petition(petition_id=pid)
    # staff see the whole petition, the referral included
    assert staff["details"] == "村主任挪用修路款约三万元"
    assert staff["answer"] == "已转纪检核查" and staff["steps"]
    assert staff["supervision_summary"] == "修路资金去向不明"
    with rpc_as(config, INSPECTOR) as rpc:
        seen = rpc.petitions.get_petition(petition_id=pid)
        listed = rpc.petitions.list_petitions()["items"]
    assert listed == [seen]
    assert seen["id"] == pid and seen["village_code"] == V1
    assert (seen["category"], seen["state"]) == ("cadre_conduct", "answered")
    assert seen["supervision_summary"] == "修路资金去向不明"
    assert seen["received_on"] == staff["received_on"]
    assert seen["referred_to_supervision_on"] == staff["referred_to_supervision_on"]
    for hidden in ("details", "summary", "answer", "review_answer", "reexam_answer", "steps",
                   "responsible_person_id", "extension_reason", "not_accepted_reason"):
        assert hidden not in seen, hidden
    assert "挪用" not in str(seen) and "已转纪检核查" not in str(seen)
