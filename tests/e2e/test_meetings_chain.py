"""The whole chain through the gateway on a real broker: topics (one from a petition event),
vetting, scheduling, attendance and quorum, outcomes, a resolution to done with satisfaction,
disclosure, and the summary read anonymously."""

import json

import pytest

from services.chassis import clock
from services.meetings.models import Topic, Village
from tests.e2e.district import V1
from tests.helpers import EventTap, wait_for
from tests.service.meetings_fixtures import PETITIONS, MeetingsDb, at, publish

pytestmark = pytest.mark.e2e

VILLAGER_NAME = "王五"


def test_the_monthly_meeting_from_topics_to_public_summary(start_system):
    clock.set_now(at("2026-11-05T09:00:00+08:00"))
    system = start_system("meetings", extra_config={"meetings": {"MEETINGS": {
        "quorum_min_people": 3, "quorum_min_villager_representatives": 5,
        "quorum_required_roles": "liaison,village_cadre"}}})
    amqp = system.configs["meetings"]["AMQP_URI"]
    tap = EventTap(amqp, ("meetings",))
    db = MeetingsDb(system.database_urls["meetings"])
    wait_for(lambda: db.count(Village) == 3, timeout=20)
    api = system.api
    liaison, member = api.as_user("liaison1"), api.as_user("member1")
    anonymous = api.as_user(None)

    # --- three topics: a villager's (name kept private), a member's, a referred petition --
    villager = liaison.post(f"/villages/{V1}/topics", json={
        "title": "村道破损需硬化", "description": "雨天泥泞", "source": "villager",
        "platform": "consult", "proposer_name": VILLAGER_NAME, "supporters": 4})
    assert villager.status_code == 201, villager.text
    villager = villager.json()
    assert villager["state"] == "proposed" and villager["proposer_name"] == VILLAGER_NAME
    same = liaison.post(f"/villages/{V1}/topics", json={
        "title": "村道硬化", "source": "member", "platform": "consult",
        "proposer_person_id": "M1", "supporters": 2}).json()
    publish(amqp, PETITIONS, "petition.referred_to_meeting", "petition/PT42", {
        "petition_id": "PT42", "village_code": V1, "title": "灌溉渠年久失修",
        "summary": "多户反映灌溉渠渗漏", "platform": "villager_voice",
        "category": "infrastructure"})
    wait_for(lambda: db.count(Topic) == 3)
    listed = liaison.get(f"/villages/{V1}/topics", params={"state": "proposed"}).json()
    assert listed["total"] == 3
    petition = next(t for t in listed["items"] if t["source"] == "petition")
    assert (petition["source_ref"], petition["title"]) == ("PT42", "灌溉渠年久失修")
    # the member sees the topics, not the villager's name
    seen = member.get(f"/topics/{villager['id']}").json()
    assert "proposer_name" not in seen

    # --- bad input and vetting ---------------------------------------------------------------
    bad = liaison.post(f"/villages/{V1}/topics", json={"title": "", "source": "villager",
                                                       "platform": "gossip"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"title", "platform"}
    assert db.count(Topic) == 3
    for topic in (villager, petition):
        accepted = liaison.post(f"/topics/{topic['id']}/vet", json={"decision": "accept"})
        assert accepted.json()["state"] == "accepted", accepted.text
    merged = liaison.post(f"/topics/{same['id']}/vet", json={"decision": "merge",
                                                             "merge_into": villager["id"]})
    assert merged.json()["state"] == "merged"
    assert liaison.get(f"/topics/{villager['id']}").json()["supporters"] == 6
    candidates = liaison.get(f"/villages/{V1}/candidates").json()
    assert {t["id"] for t in candidates["items"]} == {villager["id"], petition["id"]}

    # --- schedule, agenda with an expert, attendance ---------------------------------------
    meeting = liaison.post(f"/villages/{V1}/meetings", json={
        "kind": "regular", "starts_at": "2026-11-10T09:30:00+08:00",
        "place": "一村协商议事室", "convener_person_id": "C1"})
    assert meeting.status_code == 201, meeting.text
    meeting = meeting.json()
    assert (meeting["month"], meeting["state"]) == ("2026-11", "scheduled")
    second = liaison.post(f"/villages/{V1}/meetings", json={
        "kind": "regular", "starts_at": "2026-11-20T09:30:00+08:00", "place": "议事室",
        "convener_person_id": "C1"})
    assert second.status_code == 409 and "scheduled" in second.json()["detail"]
    mid = meeting["id"]
    agenda = liaison.request("PUT", f"/meetings/{mid}/agenda", json={"items": [
        {"topic_id": villager["id"]}, {"topic_id": petition["id"], "experts": ["E1"]}]})
    assert agenda.status_code == 200, agenda.text
    assert [i["topic_id"] for i in agenda.json()["agenda"]] == [villager["id"], petition["id"]]
    signed = member.post(f"/meetings/{mid}/attendance", json={
        "attendees": [{"person_id": "L1", "role": "liaison"},
                      {"person_id": "C1", "role": "village_cadre"},
                      {"person_id": "M1", "role": "cppcc_member"},
                      {"person_id": "E1", "role": "expert"}],
        "villager_representatives": 3})
    assert signed.status_code == 200, signed.text

    # --- hold: quorum checked, then met ----------------------------------------------------
    clock.set_now(at("2026-11-10T11:00:00+08:00"))
    liaison, member = api.as_user("liaison1"), api.as_user("member1")
    short = liaison.post(f"/meetings/{mid}/hold", json={"minutes": "会议记录"})
    assert short.status_code == 409
    assert "村民代表 3 人" in short.json()["detail"]
    member.post(f"/meetings/{mid}/attendance", json={
        "attendees": [{"person_id": "M1", "role": "cppcc_member"}],
        "villager_representatives": 7})
    held = liaison.post(f"/meetings/{mid}/hold", json={"minutes": "与会人员逐项协商"})
    assert held.status_code == 200, held.text
    assert held.json()["state"] == "held"

    # --- outcomes with the expert's opinion, a resolution to done ---------------------------
    outcomes = liaison.post(f"/meetings/{mid}/outcomes", json={"items": [
        {"topic_id": villager["id"], "outcome": "agreed", "discussion": "同意硬化 800 米"},
        {"topic_id": petition["id"], "outcome": "agreed", "discussion": "申请水利项目",
         "expert_opinions": [{"person_id": "E1", "opinion": "建议采用防渗渠"}]}]})
    assert outcomes.status_code == 200, outcomes.text
    items = {i["topic_id"]: i for i in outcomes.json()["agenda"]}
    assert items[petition["id"]]["experts"] == [{"person_id": "E1",
                                                 "opinion": "建议采用防渗渠"}]
    resolution = liaison.post(f"/meetings/{mid}/resolutions", json={
        "topic_id": villager["id"], "text": "硬化村道 800 米", "owner_person_id": "C1",
        "department": "区交通运输局", "deadline": "2026-12-31"})
    assert resolution.status_code == 201, resolution.text
    rid = resolution.json()["id"]
    progressed = member.post(f"/resolutions/{rid}/progress", json={"note": "已完成招标"})
    assert progressed.json()["state"] == "in_progress"
    done = liaison.post(f"/resolutions/{rid}/complete", json={"evidence": "验收单与照片"})
    assert done.json()["state"] == "done"
    rated = liaison.post(f"/resolutions/{rid}/satisfaction", json={"score": 5})
    assert rated.json()["satisfaction"] == 5

    # --- disclose; anyone reads the summary, nobody's name in it --------------------------
    assert anonymous.get(f"/meetings/{mid}/summary").status_code == 404
    disclosed = liaison.post(f"/meetings/{mid}/disclose")
    assert disclosed.json()["state"] == "disclosed", disclosed.text
    summary = anonymous.get(f"/meetings/{mid}/summary")
    assert summary.status_code == 200
    body = summary.json()
    assert body["village_name"] == "一村" and body["month"] == "2026-11"
    assert [(t["title"], t["outcome"]) for t in body["topics"]] == [
        ("村道破损需硬化", "agreed"), ("灌溉渠年久失修", "agreed")]
    assert [(r["text"], r["state"], r["satisfaction"]) for r in body["resolutions"]] == [
        ("硬化村道 800 米", "done", 5)]
    assert body["attendance"] == {"liaison": 1, "village_cadre": 1, "cppcc_member": 1,
                                  "expert": 1, "villager_representative": 7}
    assert VILLAGER_NAME not in summary.text
    for person_id in ("C1", "L1", "M1", "E1"):  # as values: random ids may contain "C1"
        assert f'"{person_id}"' not in summary.text
    listed = anonymous.get("/meeting-summaries").json()
    assert listed["total"] == 1
    assert anonymous.get(f"/meetings/{mid}").status_code == 401

    # --- who sees resolutions and compliance -----------------------------------------------
    assert member.get("/resolutions").json()["total"] == 1
    officer1, officer2 = api.as_user("officer1"), api.as_user("officer2")
    assert officer1.get("/resolutions").json()["total"] == 1
    assert officer2.get("/resolutions").json()["total"] == 0
    assert officer2.get(f"/resolutions/{rid}").status_code == 403
    report = officer1.get("/compliance", params={"month": "2026-11"}).json()
    assert [(v["code"], v["status"]) for v in report["villages"]] == [
        (V1, "held"), ("431102101002", "not_scheduled")]
    assert officer1.get("/compliance", params={"month": "2026-11",
                                               "township": "431102102"}).status_code == 403
    assert liaison.get("/compliance", params={"month": "2026-11"}).status_code == 403
    assert api.as_user("admin").get("/compliance", params={
        "month": "2026-11"}).json()["district"]["villages"] == 3

    # --- the events, with the contract payloads and no private names ------------------------
    wait_for(lambda: "meeting.disclosed" in tap.types())
    events = {}
    for event in tap.events:
        events.setdefault(event["type"], []).append(event["data"])
    assert len(events["topic.proposed"]) == 3
    assert {"topic_id": petition["id"], "village_code": V1, "platform": "villager_voice",
            "source": "petition", "source_ref": "PT42",
            "title": "灌溉渠年久失修"} in events["topic.accepted"]
    (held_event,) = events["meeting.held"]
    assert sorted((a["person_id"], a["role"]) for a in held_event["attendees"]) == [
        ("C1", "village_cadre"), ("E1", "expert"), ("L1", "liaison"), ("M1", "cppcc_member")]
    for event_type in ("topic.merged", "meeting.scheduled", "resolution.adopted",
                       "resolution.progressed"):
        assert len(events[event_type]) == 1, event_type
    # completed with evidence, then rated by the villagers
    assert [(e["resolution_id"], e["satisfaction"]) for e in events["resolution.completed"]] == [
        (rid, None), (rid, 5)]
    assert all(VILLAGER_NAME not in raw for raw in tap.raw)
    assert json.dumps(events["meeting.disclosed"][0]["resolution_ids"]) == json.dumps([rid])
    tap.close()
