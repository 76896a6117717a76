"""What must be shown 3: the petitioner's (and dispute parties') name, phone and ID number
appear in no event and no log line of a full run; callers without the right role get no
identity; each authorised read leaves an audit record."""

import logging
from datetime import datetime

import pytest
from sqlalchemy import text

from services.chassis import clock
from services.chassis.config import load_service
from tests.e2e import district
from tests.e2e.petitions_support import ID_NUMBER, NAME, PHONE, online_petition, start_petitions
from tests.helpers import EventTap, wait_for

pytestmark = pytest.mark.e2e

PARTY = ("赵大山", "13700001111", "431122197505052211")
SECRETS = (NAME, PHONE, ID_NUMBER, *PARTY)

EVERY_EVENT = {"petition.received", "petition.accepted", "petition.assigned",
               "petition.escalated", "petition.extended", "petition.answered",
               "petition.review_requested", "petition.reviewed", "petition.reexam_requested",
               "petition.reexamined", "petition.closed", "petition.referred_to_meeting",
               "petition.referred_to_supervision", "petition.not_accepted",
               "dispute.registered", "dispute.mediation_held", "dispute.resolved",
               "dispute.risk_raised", "dispute.referred", "petition.due_soon",
               "petition.overdue", "dispute.followup_due"}


def test_identity_stays_out_of_events_logs_and_unauthorised_answers(start_system, caplog):
    clock.set_now(datetime(2026, 3, 2, 9, tzinfo=clock.LOCAL))
    caplog.set_level(logging.DEBUG)
    for service in ("gateway", "petitions"):  # the deployed logger levels, e.g. nameko.rpc
        for name, logger in load_service(service)["LOGGING"].get("loggers", {}).items():
            caplog.set_level(logger["level"], logger=name)
    system = start_petitions(start_system, TIMERS={"interval": 0.05})
    tap = EventTap(system.configs["petitions"]["AMQP_URI"], ("petitions",))
    liaison, officer = system.api.as_user("liaison1"), system.api.as_user("officer1")
    admin, inspector = system.api.as_user("admin"), system.api.as_user("inspector")
    officer2, member = system.api.as_user("officer2"), system.api.as_user("member1")
    public = system.api.as_user(None)
    identity = {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER}

    filed = liaison.post("/petitions", json={
        "channel": "liaison", "category": "cadre_conduct", "village_code": district.V1,
        "summary": "反映村务公开不及时", "details": "村账目半年未公开", "identity": identity})
    assert filed.status_code == 201, filed.text
    pid = filed.json()["id"]
    for path, body in (("accept", {}), ("assign", {"person_id": "C1"}),
                       ("escalate", {"target_kind": "department", "target": "D1"}),
                       ("extend", {"days": 15, "reason": "需区直单位协助"}),
                       ("refer-to-meeting", {"title": "村务公开不及时",
                                             "summary": "村账目半年未公开, 请月例会协商"}),
                       ("refer-to-supervision", {"summary": "村账目半年未公开"}),
                       ("answer", {"opinion": "已督促村委会公开"}),
                       ("request-review", {}), ("review", {"opinion": "维持"}),
                       ("request-reexam", {}), ("reexamine", {"opinion": "维持"}),
                       ("close", {"satisfaction": 3})):
        response = officer.post(f"/petitions/{pid}/{path}", json=body)
        assert response.status_code == 200, (path, response.text)
    # a referral text naming the petitioner is refused
    other = liaison.post("/petitions", json={
        "channel": "visit", "category": "land", "village_code": district.V1,
        "summary": "土地纠纷", "identity": identity}).json()["id"]
    officer.post(f"/petitions/{other}/accept", json={})
    leak = officer.post(f"/petitions/{other}/refer-to-meeting",
                        json={"title": f"{NAME}反映土地问题", "summary": "土地纠纷"})
    assert leak.status_code == 400 and "title" in leak.json()["errors"]
    third = liaison.post("/petitions", json={
        "channel": "phone", "category": "other", "village_code": district.V1,
        "summary": "邻里噪音", "identity": identity}).json()["id"]
    rejected = officer.post(f"/petitions/{third}/not-accept",
                            json={"reason": "属司法程序", "competent_body": "区人民法院"})
    assert rejected.status_code == 200
    online = public.post("/petitions/online", json=online_petition(
        anonymous=False, identity=identity))
    assert online.status_code == 201
    assert NAME not in online.text
    dispute = liaison.post("/disputes", json={
        "type": "land", "village_code": district.V1, "description": "两户地界争议",
        "risk_level": "elevated",
        "parties": [dict(zip(("name", "phone", "id_number"), PARTY, strict=True)),
                    {"name": "钱小川"}]})
    assert dispute.status_code == 201, dispute.text
    did = dispute.json()["id"]
    officer.post(f"/disputes/{did}/sessions", json={"date": "2020-01-01", "notes": "首次调解"})
    officer.post(f"/disputes/{did}/failure", json={"referral": "litigation"})
    agreed = liaison.post("/disputes", json={
        "type": "neighbour", "village_code": district.V1, "description": "排水沟纠纷",
        "parties": [{"name": PARTY[0], "phone": PARTY[1]}, {"name": NAME}]}).json()["id"]
    officer.post(f"/disputes/{agreed}/sessions", json={"date": "2020-01-01", "notes": "调解"})
    assert officer.post(f"/disputes/{agreed}/agreement",
                        json={"text": "双方同意共同疏通"}).status_code == 200

    # who gets the identity: the district, the township, the liaison who filed it
    for user in (admin, officer, liaison):
        response = user.get(f"/petitions/{pid}/identity")
        assert response.status_code == 200, response.text
        assert response.json()["name"] == NAME and response.json()["id_number"] == ID_NUMBER
    assert liaison.get(f"/disputes/{did}/parties").json()["parties"][0]["name"] == PARTY[0]
    # who does not: another township, the inspector (reads the referred petition itself),
    # a member, the public, and the liaison for a petition it did not file
    online_id = officer.get("/petitions", params={"category": "land"}).json()["items"]
    online_id = next(item["id"] for item in online_id if item["channel"] == "online")
    refused = [officer2.get(f"/petitions/{pid}/identity"),
               inspector.get(f"/petitions/{pid}/identity"),
               member.get(f"/petitions/{pid}/identity"),
               public.get(f"/petitions/{pid}/identity"),
               liaison.get(f"/petitions/{online_id}/identity"),
               officer2.get(f"/disputes/{did}/parties"),
               inspector.get(f"/disputes/{did}/parties")]
    assert [r.status_code for r in refused] == [403, 403, 403, 401, 403, 403, 403]
    seen_by_inspector = inspector.get(f"/petitions/{pid}")
    assert seen_by_inspector.status_code == 200
    # the inspector reads what was referred, not the petition's details or answers
    assert "details" not in seen_by_inspector.json() and "steps" not in seen_by_inspector.json()
    assert seen_by_inspector.json()["referred_to_supervision"] is True
    assert inspector.get(f"/petitions/{other}").status_code == 403  # not referred
    assert officer2.get(f"/petitions/{pid}").status_code == 403
    for response in (seen_by_inspector, officer.get(f"/petitions/{pid}"),
                     officer.get("/petitions"), officer.get(f"/disputes/{did}"),
                     *refused):
        assert not [s for s in SECRETS if s in response.text]

    # the audit: one record per authorised read, none for refused attempts
    audit = admin.get("/petitions/identity-reads", params={"subject_id": pid}).json()
    assert [(r["username"], r["subject_kind"]) for r in audit["items"]] == [
        ("admin", "petition"), ("officer1", "petition"), ("liaison1", "petition")]
    parties_audit = admin.get("/petitions/identity-reads", params={"subject_id": did}).json()
    assert [r["username"] for r in parties_audit["items"]] == ["liaison1"]
    assert officer.get("/petitions/identity-reads").status_code == 403

    # the timers' events: due soon, overdue (the accepted petition), follow-up due
    clock.set_now(datetime(2026, 4, 29, 9, tzinfo=clock.LOCAL))  # handling due 2026-05-01
    wait_for(lambda: "petition.due_soon" in tap.types(), timeout=10)
    clock.set_now(datetime(2026, 5, 10, 9, tzinfo=clock.LOCAL))
    # every event the service published, and every log line of the run
    try:
        wait_for(lambda: EVERY_EVENT <= set(tap.types()), timeout=15)
    finally:
        assert EVERY_EVENT - set(tap.types()) == set()
    assert tap.raw and not [s for s in SECRETS for body in tap.raw if s in body]
    leaking = [f"{r.name}:{r.levelname}:{r.getMessage()[:300]}" for r in caplog.records
               if any(s in r.getMessage() for s in SECRETS)]
    assert caplog.records and leaking == []
    # at rest: encrypted, no plaintext in any petitions table
    with system.petitions_engine.connect() as connection:
        rows = [str(tuple(row)) for table in ("petition", "dispute", "outbox_event")
                for row in connection.execute(text(f"SELECT * FROM {table}"))]  # noqa: S608
    assert rows and not [s for s in SECRETS for row in rows if s in row]
    tap.close()
