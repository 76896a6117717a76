"""Over HTTP: illegal transitions are 409 problems naming the current state and change
nothing; bad input is 400 with field details and stores nothing."""

import pytest

from services.chassis import clock
from services.meetings.models import Meeting, Resolution, Village
from tests.e2e.district import V1
from tests.helpers import wait_for
from tests.service.meetings_fixtures import MeetingsDb, at

pytestmark = pytest.mark.e2e


def test_conflicts_and_bad_input_over_http(start_system):
    clock.set_now(at("2026-11-05T09:00:00+08:00"))
    system = start_system("meetings")
    db = MeetingsDb(system.database_urls["meetings"])
    wait_for(lambda: db.count(Village) == 3, timeout=20)
    liaison = system.api.as_user("liaison1")

    def topic(title):
        created = liaison.post(f"/villages/{V1}/topics", json={
            "title": title, "source": "cadre", "platform": "civility"}).json()
        return liaison.post(f"/topics/{created['id']}/vet", json={"decision": "accept"}).json()

    # bad input: 400, field details, nothing stored
    bad = liaison.post(f"/villages/{V1}/meetings", json={
        "kind": "monthly", "starts_at": "tomorrow", "place": "", "convener_person_id": "C1",
        "phone": "13800000000"})
    assert bad.status_code == 400
    assert bad.headers["Content-Type"].startswith("application/problem+json")
    assert set(bad.json()["errors"]) == {"kind", "starts_at", "place", "phone"}
    assert db.count(Meeting) == 0

    meeting = liaison.post(f"/villages/{V1}/meetings", json={
        "starts_at": "2026-11-10T09:00:00+08:00", "place": "议事室",
        "convener_person_id": "C1"}).json()
    mid = meeting["id"]

    # a second regular meeting in the month
    second = liaison.post(f"/villages/{V1}/meetings", json={
        "starts_at": "2026-11-24T09:00:00+08:00", "place": "议事室",
        "convener_person_id": "C1"})
    assert second.status_code == 409
    assert second.json()["errors"]["state"] == ["scheduled"]
    assert db.count(Meeting) == 1

    # holding without an agenda
    liaison.post(f"/meetings/{mid}/attendance", json={
        "attendees": [{"person_id": "L1", "role": "liaison"},
                      {"person_id": "C1", "role": "village_cadre"},
                      {"person_id": "M1", "role": "cppcc_member"}],
        "villager_representatives": 6})
    clock.set_now(at("2026-11-10T10:30:00+08:00"))
    liaison = system.api.as_user("liaison1")
    empty = liaison.post(f"/meetings/{mid}/hold", json={"minutes": "无议程"})
    assert empty.status_code == 409
    assert empty.json()["errors"]["state"] == ["scheduled"]
    assert "议程" in empty.json()["detail"]
    assert liaison.get(f"/meetings/{mid}").json()["state"] == "scheduled"

    # a resolution on a topic that was not agreed
    first, second_topic = topic("整治垃圾"), topic("评选文明户")
    liaison.request("PUT", f"/meetings/{mid}/agenda", json={"items": [
        {"topic_id": first["id"]}, {"topic_id": second_topic["id"]}]})
    assert liaison.post(f"/meetings/{mid}/hold", json={"minutes": "记录"}).status_code == 200
    liaison.post(f"/meetings/{mid}/outcomes", json={"items": [
        {"topic_id": first["id"], "outcome": "not_agreed", "discussion": "意见不一"},
        {"topic_id": second_topic["id"], "outcome": "agreed", "discussion": "同意"}]})
    refused = liaison.post(f"/meetings/{mid}/resolutions", json={
        "topic_id": first["id"], "text": "清运", "owner_person_id": "C1",
        "deadline": "2026-12-15"})
    assert refused.status_code == 409
    assert refused.json()["errors"]["state"] == ["not_agreed"]
    assert "not_agreed" in refused.json()["detail"]
    assert db.count(Resolution) == 0
    late = liaison.post(f"/meetings/{mid}/resolutions", json={
        "topic_id": second_topic["id"], "text": "评选", "owner_person_id": "C1",
        "deadline": "2026-11-01"})
    assert late.status_code == 400 and set(late.json()["errors"]) == {"deadline"}
    assert db.count(Resolution) == 0
