"""What must be shown 4: a dispute through mediation to agreement and its follow-up visit;
raising the risk to high publishes the urgent event at once."""

import time
from datetime import datetime, timedelta

import pytest

from services.chassis import clock
from tests.e2e import district
from tests.e2e.petitions_support import start_petitions
from tests.helpers import EventTap, wait_for

pytestmark = pytest.mark.e2e


def test_dispute_mediation_agreement_followup_and_urgent_risk(start_system):
    clock.set_now(datetime(2026, 6, 1, 10, tzinfo=clock.LOCAL))
    system = start_petitions(start_system, TIMERS={"interval": 0.05})
    tap = EventTap(system.configs["petitions"]["AMQP_URI"], ("petitions",))
    liaison, officer = system.api.as_user("liaison1"), system.api.as_user("officer1")

    registered = liaison.post("/disputes", json={
        "type": "neighbour", "village_code": district.V1, "description": "宅前排水沟堵塞引发争执",
        "parties": [{"name": "甲户"}, {"name": "乙户", "phone": "13600000000"}]})
    assert registered.status_code == 201, registered.text
    dispute = registered.json()
    did = dispute["id"]
    assert (dispute["state"], dispute["risk_level"], dispute["party_count"]) == (
        "registered", "low", 2)

    unknown = officer.post(f"/disputes/{did}/mediators", json={"person_ids": ["NOBODY"]})
    assert unknown.status_code == 400 and "person_ids" in unknown.json()["errors"]
    mediators = officer.post(f"/disputes/{did}/mediators", json={"person_ids": ["C1", "L1"]})
    assert mediators.json()["mediator_ids"] == ["C1", "L1"]
    # no agreement before any session: 409 naming the state
    early = liaison.post(f"/disputes/{did}/agreement", json={"text": "和解"})
    assert early.status_code == 409 and "registered" in early.json()["detail"]

    assert liaison.post(f"/disputes/{did}/risk", json={"level": "elevated"}).status_code == 200
    raised = liaison.post(f"/disputes/{did}/risk", json={"level": "high"})
    answered_at = time.monotonic()
    assert raised.status_code == 200 and raised.json()["risk_level"] == "high"

    def urgent():
        return [e for e in tap.drain() if e["type"] == "dispute.risk_raised"
                and e["data"]["urgent"]]

    alert = wait_for(urgent, timeout=3, interval=0.02)[0]
    assert time.monotonic() - answered_at < 2  # the next relay round, not a timer
    assert alert["data"]["previous_level"] == "elevated"
    assert alert["data"]["risk_level"] == "high" and alert["data"]["dispute_id"] == did
    assert alert["subject"] == f"dispute/{did}"

    session = liaison.post(f"/disputes/{did}/sessions",
                           json={"date": "2026-06-01", "notes": "双方到场, 初步达成共识"})
    assert session.json()["state"] == "mediating" and len(session.json()["sessions"]) == 1
    agreed = liaison.post(f"/disputes/{did}/agreement",
                          json={"text": "双方共同出资疏通排水沟, 各担一半"})
    assert agreed.status_code == 200, agreed.text
    body = agreed.json()
    assert body["state"] == "agreed"
    assert body["judicial_confirmation_until"] == "2026-07-01"  # 30 days
    assert "2026-07-01" in body["reminder"] and "司法确认" in body["reminder"]
    assert body["followup_due"] == "2026-06-16"  # 15 days by default

    def followups():
        return [e for e in tap.drain() if e["type"] == "dispute.followup_due"]

    clock.set_now(datetime(2026, 6, 15, 10, tzinfo=clock.LOCAL))
    time.sleep(0.5)
    assert followups() == []
    clock.set_now(datetime(2026, 6, 16, 10, tzinfo=clock.LOCAL))
    due = wait_for(followups, timeout=5)
    assert due[0]["data"]["followup_due"] == "2026-06-16"
    time.sleep(0.5)
    assert len({e["id"] for e in followups()}) == 1

    liaison = system.api.as_user("liaison1")
    visited = liaison.post(f"/disputes/{did}/followup", json={"notes": "回访: 已疏通, 双方满意"})
    assert visited.status_code == 200 and visited.json()["followed_up_on"] == "2026-06-16"
    again = liaison.post(f"/disputes/{did}/followup", json={"notes": "再次回访"})
    assert again.status_code == 409
    clock.advance(timedelta(days=5))
    time.sleep(0.3)
    assert len({e["id"] for e in followups()}) == 1
    types = [e["type"] for e in tap.drain()]
    for expected in ("dispute.registered", "dispute.mediation_held", "dispute.resolved"):
        assert expected in types
    tap.close()
