"""Events consumed from meetings, petitions and the registry: exactly one matter each, also
when delivered twice; the matter referred back to a meeting follows the contract."""

import re

import pytest
import requests

from services.supervision.models import LocalVillage, Matter
from tests.helpers import EventTap, rpc_as, wait_for
from tests.service import supervision_support as support
from tests.service.supervision_support import ADMIN, MEMBER1, V1, V2, count, publish_event

pytestmark = pytest.mark.service
sup_config, supervision = support.sup_config, support.supervision


def consumed(config, outcome: str) -> float:
    text = requests.get(f"http://{config['WEB_SERVER_ADDRESS']}/metrics", timeout=5).text
    return sum(float(value) for value in re.findall(
        rf'yuelihui_events_consumed_total{{[^}}]*outcome="{outcome}"[^}}]*}} ([0-9.]+)', text))


def test_topic_and_petition_events_raise_one_matter_each_even_twice(supervision, sup_config):
    uri, url = sup_config["AMQP_URI"], sup_config["DATABASE_URL"]
    topic = {"topic_id": "TP1", "village_code": V1, "platform": "supervise",
             "source": "villager", "source_ref": None, "title": "村务公开栏长期未更新"}
    first = publish_event(uri, "meetings", "topic.accepted", topic)
    publish_event(uri, "meetings", "topic.accepted", topic, event_id=first["id"])  # redelivery
    publish_event(uri, "meetings", "topic.accepted", topic)  # republished: same topic, new id
    # not supervision's business: another platform, or a topic that came from supervision
    publish_event(uri, "meetings", "topic.accepted", {**topic, "topic_id": "TP2",
                                                      "platform": "consult"})
    publish_event(uri, "meetings", "topic.accepted", {**topic, "topic_id": "TP3",
                                                      "source": "supervision",
                                                      "source_ref": "MT1"})
    petition = {"petition_id": "PT1", "village_code": V2, "category": "village_finance",
                "summary": "村集体收入去向不明"}
    sent = publish_event(uri, "petitions", "petition.referred_to_supervision", petition)
    publish_event(uri, "petitions", "petition.referred_to_supervision", petition,
                  event_id=sent["id"])

    wait_for(lambda: consumed(sup_config, "applied") >= 5
             and consumed(sup_config, "duplicate") >= 2)
    assert count(url, Matter) == 2
    with rpc_as(sup_config, ADMIN) as rpc:
        from_topic = rpc.supervision.list_matters(query={"source": "meeting_topic"})["items"]
        from_petition = rpc.supervision.list_matters(query={"source": "petition"})["items"]
    assert [(m["source_ref"], m["village_code"], m["title"]) for m in from_topic] == [
        ("TP1", V1, "村务公开栏长期未更新")]
    assert [(m["source_ref"], m["village_code"], m["state"]) for m in from_petition] == [
        ("PT1", V2, "open")]
    assert from_petition[0]["summary"] == "村集体收入去向不明"
    metrics = requests.get(f"http://{sup_config['WEB_SERVER_ADDRESS']}/metrics", timeout=5).text
    assert ('yuelihui_supervision_matters{overdue="false",service="supervision",state="open"} '
            '2.0') in metrics


def test_refer_matter_to_meeting_publishes_the_contract_payload(supervision, sup_config):
    tap = EventTap(sup_config["AMQP_URI"], ("supervision",))
    with rpc_as(sup_config, MEMBER1) as rpc:
        matter = rpc.supervision.raise_matter(data={
            "village_code": V1, "title": "村级工程招标程序不规范", "summary": "需村民监督",
            "owner": "T431102101", "deadline": "2099-01-31"})
        referred = rpc.supervision.refer_matter_to_meeting(matter_id=matter["id"])
        assert referred["referred_topic"] is True
    wait_for(lambda: "matter.referred_to_meeting" in tap.types())
    event = next(e for e in tap.events if e["type"] == "matter.referred_to_meeting")
    assert event["data"] == {"matter_id": matter["id"], "village_code": V1,
                             "title": "村级工程招标程序不规范", "summary": "需村民监督",
                             "platform": "supervise"}


def test_registry_village_events_keep_the_local_copy(supervision, sup_config):
    uri, url = sup_config["AMQP_URI"], sup_config["DATABASE_URL"]
    village = {"code": "431102102009", "name": "新村", "township_code": "431102102",
               "kind": "village", "pilot": False, "active": True}
    publish_event(uri, "registry", "village.registered", village)
    wait_for(lambda: count(url, LocalVillage, LocalVillage.code == "431102102009") == 1)
    publish_event(uri, "registry", "village.updated", {**village, "active": False,
                                                       "changed": ["active"]})
    wait_for(lambda: count(url, LocalVillage, LocalVillage.code == "431102102009",
                           LocalVillage.active.is_(False)) == 1)
