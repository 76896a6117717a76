"""What must be shown 1: an anonymous online petition through its whole life, followed by
its receipt code over HTTP, and the receipt never shows anything identifying."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from services.chassis import clock
from services.petitions.models import RateCounter
from tests.e2e import district
from tests.e2e.petitions_support import count_petitions, online_petition, start_petitions

pytestmark = pytest.mark.e2e

STEPS = ["receive", "accept", "assign", "extend", "answer", "request_review", "review",
         "close"]


def test_anonymous_online_petition_to_closing_through_the_receipt(start_system):
    clock.set_now(datetime(2026, 3, 2, 2, 0, tzinfo=clock.LOCAL))
    system = start_petitions(start_system)
    public = system.api.as_user(None)
    officer = system.api.as_user("officer1")

    filed = public.post("/petitions/online", json=online_petition(
        details="去年起村道扩建占地约两亩, 至今未补偿"))
    assert filed.status_code == 201, filed.text
    code = filed.json()["receipt_code"]
    assert len(code) >= 16 and code.isdigit()
    assert filed.json()["state"] == "received"
    assert filed.json()["accept_due"] == "2026-03-17"  # 15 calendar days

    listed = officer.get("/petitions").json()
    assert listed["total"] == 1
    petition_id = listed["items"][0]["id"]
    assert listed["items"][0]["channel"] == "online"

    def act(path, body=None, expect=200):
        response = officer.post(f"/petitions/{petition_id}/{path}", json=body or {})
        assert response.status_code == expect, response.text
        return response.json()

    assert act("accept")["handle_due"] == "2026-05-01"  # accepted 2026-03-02 + 60 days
    assert act("assign", {"person_id": "C1"})["responsible_person_id"] == "C1"
    extended = act("extend", {"days": 30, "reason": "需测绘核实占地面积"})
    assert extended["handle_due"] == "2026-05-31"
    clock.advance(timedelta(days=20))
    officer = system.api.as_user("officer1")  # tokens expire with the moved clock
    act("answer", {"opinion": "经核实, 村委会将于本月内按标准补偿"})

    receipt = public.get(f"/petitions/receipt/{code}")
    assert receipt.status_code == 200
    assert receipt.json()["state"] == "answered"
    assert receipt.json()["answer"] == "经核实, 村委会将于本月内按标准补偿"
    assert receipt.json()["review_request_until"] == "2026-04-21"

    requested = public.post(f"/petitions/receipt/{code}/request-review",
                            json={"reason": "补偿标准偏低"})
    assert requested.status_code == 200, requested.text
    assert requested.json()["state"] == "review_requested"
    assert requested.json()["review_due"] == "2026-04-21"
    # closing is not possible while the review is pending: 409 naming the state
    early = public.post(f"/petitions/receipt/{code}/close", json={"satisfaction": 4})
    assert early.status_code == 409
    assert "review_requested" in early.json()["detail"]

    act("review", {"opinion": "复查维持原处理意见, 补偿按县定标准执行"})
    closed = public.post(f"/petitions/receipt/{code}/close", json={"satisfaction": 4})
    assert closed.status_code == 200, closed.text

    page = public.get(f"/petitions/receipt/{code}").json()
    assert page["state"] == "closed" and page["satisfaction"] == 4
    assert [step["action"] for step in page["steps"]] == STEPS
    # the petitioner's reason for review is kept with the step
    assert [step["reason"] for step in page["steps"] if step["action"] == "request_review"] \
        == ["补偿标准偏低"]
    staff = officer.get(f"/petitions/{petition_id}").json()
    assert [step["reason"] for step in staff["steps"] if step["action"] == "request_review"] \
        == ["补偿标准偏低"]
    assert page["review_answer"] == "复查维持原处理意见, 补偿按县定标准执行"
    # nothing identifying: no summary, details, village, filer or responsible person
    for field in ("summary", "details", "village_code", "responsible_person_id", "filed_by",
                  "id", "identity", "anonymous"):
        assert field not in page
    assert "承包地" not in str(page) and "C1" not in str(page)
    assert count_petitions(system) == 1


def test_receipt_code_of_the_wrong_shape_or_unknown(start_system):
    system = start_petitions(start_system)
    public = system.api.as_user(None)
    wrong = public.get("/petitions/receipt/12ab")
    assert wrong.status_code == 400
    assert "code" in wrong.json()["errors"]
    unknown = public.get("/petitions/receipt/" + "1" * 20)
    assert unknown.status_code == 404


def test_public_intake_is_rate_limited_per_client(start_system):
    system = start_petitions(start_system, RATE_LIMIT={"intake": 2, "receipt": 50,
                                                      "window_seconds": 3600})
    public = system.api.as_user(None)
    statuses = [public.post("/petitions/online", json=online_petition()).status_code
                for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert count_petitions(system) == 2
    with system.petitions_engine.connect() as connection:  # a salted hash, not the address
        keys = connection.execute(select(RateCounter.client_key, RateCounter.count)).all()
    assert len(keys) == 1 and keys[0].count == 2
    assert len(keys[0].client_key) == 64 and "127.0.0.1" not in keys[0].client_key
    # staff intake is not limited by the public counter
    liaison = system.api.as_user("liaison1")
    staff = liaison.post("/petitions", json={**online_petition(), "channel": "liaison"})
    assert staff.status_code == 201, staff.text
    assert district.V1 == staff.json()["village_code"]
