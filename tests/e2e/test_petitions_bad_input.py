"""What must be shown 6: bad input answers 400 with field details and stores nothing."""

import pytest
from sqlalchemy import func, select

from services.petitions.models import Dispute, RateCounter
from tests.e2e import district
from tests.e2e.petitions_support import count_petitions, online_petition, start_petitions

pytestmark = pytest.mark.e2e


def _rows(system, model) -> int:
    with system.petitions_engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


BAD_PETITIONS = [
    ({"category": "weather"}, "category"),
    ({"village_code": "431102999999"}, "village_code"),  # well-formed, not in the registry
    ({"village_code": "4311"}, "village_code"),
    ({"summary": "长" * 2001}, "summary"),
    ({"details": "长" * 10001}, "details"),
    ({"anonymous": False}, "identity"),  # neither anonymous nor named
    ({"anonymous": True, "identity": {"name": "张三"}}, "identity"),
    ({"anonymous": False, "identity": {"name": "张三", "id_number": "123"}},
     "identity.id_number"),
    ({"agri_related": "maybe"}, "agri_related"),
    ({"ip_address": "10.0.0.1"}, "ip_address"),  # unknown fields are refused
]


@pytest.mark.parametrize("public", [True, False], ids=["online", "staff"])
def test_bad_petitions_are_refused_with_field_details(start_system, public):
    system = start_petitions(start_system)
    caller = system.api.as_user(None if public else "officer1")
    path = "/petitions/online" if public else "/petitions"
    before = count_petitions(system)
    for change, field in BAD_PETITIONS:
        body = online_petition(**change)
        if not public:
            body["channel"] = "visit"
        response = caller.post(path, json=body)
        assert response.status_code == 400, (change, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert field in response.json()["errors"], (field, response.json())
    assert count_petitions(system) == before == 0
    assert _rows(system, RateCounter) == 0  # refused intake does not count either
    if not public:
        wrong_channel = caller.post(path, json={**online_petition(), "channel": "fax"})
        assert wrong_channel.status_code == 400 and "channel" in wrong_channel.json()["errors"]


def test_bad_receipts_actions_and_disputes(start_system):
    system = start_petitions(start_system)
    public, officer = system.api.as_user(None), system.api.as_user("officer1")
    for code in ("123", "1" * 19, "a" * 20, "1" * 21):
        response = public.get(f"/petitions/receipt/{code}")
        assert response.status_code == 400 and "code" in response.json()["errors"]
    filed = public.post("/petitions/online", json=online_petition()).json()
    code = filed["receipt_code"]
    bad_close = public.post(f"/petitions/receipt/{code}/close", json={"satisfaction": 6})
    assert bad_close.status_code == 400 and "satisfaction" in bad_close.json()["errors"]
    pid = officer.get("/petitions").json()["items"][0]["id"]
    officer.post(f"/petitions/{pid}/accept", json={})
    too_long = officer.post(f"/petitions/{pid}/extend", json={"days": 31, "reason": "x"})
    assert too_long.status_code == 400 and "days" in too_long.json()["errors"]
    assert officer.post(f"/petitions/{pid}/extend",
                        json={"days": 30, "reason": "核实"}).status_code == 200
    twice = officer.post(f"/petitions/{pid}/extend", json={"days": 5, "reason": "再延"})
    assert twice.status_code == 400 and "days" in twice.json()["errors"]
    nobody = officer.post(f"/petitions/{pid}/assign", json={"person_id": "NOBODY"})
    assert nobody.status_code == 400 and "person_id" in nobody.json()["errors"]
    assert officer.get(f"/petitions/{pid}").json()["responsible_person_id"] is None
    illegal = officer.post(f"/petitions/{pid}/review", json={"opinion": "x"})
    assert illegal.status_code == 409
    assert illegal.json()["errors"]["state"] == ["accepted"]
    assert "accepted" in illegal.json()["detail"]

    disputes_before = _rows(system, Dispute)
    for change, field in (({"parties": [{"name": "甲"}]}, "parties"),
                          ({"type": "feud"}, "type"),
                          ({"village_code": "431102999999"}, "village_code"),
                          ({"risk_level": "extreme"}, "risk_level"),
                          ({"description": "长" * 5001}, "description")):
        body = {"type": "land", "village_code": district.V1, "description": "地界",
                "parties": [{"name": "甲"}, {"name": "乙"}], **change}
        response = officer.post("/disputes", json=body)
        assert response.status_code == 400, (change, response.text)
        assert field in response.json()["errors"]
    assert _rows(system, Dispute) == disputes_before == 0
