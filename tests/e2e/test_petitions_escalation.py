"""Through the gateway: recording that the township escalated to has responded stops its
response deadline; recording it again is a conflict naming what is missing."""

from datetime import datetime, timedelta

import pytest

from services.chassis import clock
from tests.e2e import district
from tests.e2e.petitions_support import start_petitions

pytestmark = pytest.mark.e2e


def test_escalation_response_is_recorded_once(start_system):
    clock.set_now(datetime(2026, 3, 2, 9, 0, tzinfo=clock.LOCAL))
    system = start_petitions(start_system)
    officer = system.api.as_user("officer1")
    filed = officer.post("/petitions", json={
        "channel": "visit", "category": "land", "village_code": district.V1,
        "summary": "村道旁承包地被占用", "anonymous": True})
    assert filed.status_code == 201, filed.text
    pid = filed.json()["id"]
    assert officer.post(f"/petitions/{pid}/accept", json={}).status_code == 200
    escalated = officer.post(f"/petitions/{pid}/escalate", json={
        "target_kind": "township", "target": district.T1, "days": 10})
    assert escalated.status_code == 200, escalated.text
    assert escalated.json()["escalation_due"] == "2026-03-12"

    clock.advance(timedelta(days=3))
    officer = system.api.as_user("officer1")  # tokens expire with the moved clock
    answered = officer.post(f"/petitions/{pid}/escalation-response",
                            json={"note": "乡镇已核实"})
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["escalation_due"] is None
    assert body["escalation_responded_on"] == "2026-03-05"
    assert body["escalation_response"] == "乡镇已核实"
    assert body["steps"][-1]["action"] == "escalation_response"
    again = officer.post(f"/petitions/{pid}/escalation-response", json={})
    assert again.status_code == 409
    # a liaison cannot record it
    liaison = system.api.as_user("liaison1")
    assert liaison.post(f"/petitions/{pid}/escalation-response", json={}).status_code == 403
