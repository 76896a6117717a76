"""Supervision through the gateway: the public board with objections and corrections, clue
confidentiality (403 for all but discipline inspection, reads audited, nothing in events),
and bad input answered 400/409 with details while nothing is stored."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from services.chassis import clock
from services.chassis.errors import Forbidden
from services.supervision.models import (
    Clue,
    Disclosure,
    Exercise,
    LocalVillage,
    Matter,
    Objection,
)
from tests.e2e import district
from tests.helpers import ADMIN, EventTap, rpc_as, wait_for
from tests.service.supervision_support import CLUE_KEY, count, distinct_events, engine

pytestmark = pytest.mark.e2e
V1, V3 = district.V1, district.V3
ALL_SOURCES = ("registry", "meetings", "petitions", "supervision", "notify")


@pytest.fixture
def sup_system(start_system):
    system = start_system("supervision", extra_config={"supervision": {"CLUE_KEYS": CLUE_KEY}})
    url = system.database_urls["supervision"]
    wait_for(lambda: count(url, LocalVillage) == 3)  # the registry's village events arrived
    return system


def test_public_board_shows_the_corrected_disclosure_and_its_history(sup_system):
    api = sup_system.api
    clock.set_now(datetime(2026, 11, 2, 2, tzinfo=UTC))
    liaison, public, member = api.as_user("liaison1"), api.as_user(None), api.as_user("member1")
    created = liaison.post("/disclosures", json={
        "kind": "livelihood_project", "village_code": V1, "title": "村组道路硬化",
        "body": "硬化道路 2.1 公里", "amount": "860000.00", "fund_source": "以工代赈资金",
        "beneficiaries": 512})
    assert created.status_code == 201, created.text
    original = created.json()
    objection = public.post(f"/disclosures/{original['id']}/objections",
                            json={"content": "实际硬化长度不足 2 公里"})
    assert objection.status_code == 201, objection.text
    named = member.post(f"/disclosures/{original['id']}/objections",
                        json={"content": "同意上述意见", "anonymous": False,
                              "person_id": "M1"})
    assert named.status_code == 201, named.text
    unknown = api.as_user("admin").post(f"/disclosures/{original['id']}/objections", json={
        "content": "代为登记", "anonymous": False, "person_id": "NOBODY"})
    assert unknown.status_code == 400
    assert "person_id" in unknown.json()["errors"]
    answered = liaison.post(
        f"/disclosures/{original['id']}/objections/{objection.json()['id']}/answer",
        json={"answer": "经复核实际为 1.9 公里, 予以更正", "upheld": True})
    assert answered.status_code == 200 and answered.json()["upheld"] is True
    corrected = liaison.post(f"/disclosures/{original['id']}/corrections", json={
        "title": "村组道路硬化(更正)", "body": "硬化道路 1.9 公里", "amount": "777600.00",
        "fund_source": "以工代赈资金", "beneficiaries": 512})
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["corrects_id"] == original["id"]

    board = public.get("/disclosures", params={"village": V1, "kind": "livelihood_project",
                                               "period": "2026-11"})
    assert board.status_code == 200
    assert [(d["id"], d["amount"], d["village_name"]) for d in board.json()["items"]] == [
        (corrected.json()["id"], "777600.00", "一村")]
    shown = public.get(f"/disclosures/{corrected.json()['id']}").json()
    assert [(h["id"], h["amount"], h["superseded_by_id"]) for h in shown["history"]] == [
        (original["id"], "860000.00", corrected.json()["id"])]
    old = public.get(f"/disclosures/{original['id']}").json()
    answers = {o["id"]: o["answer"] for o in old["objections"]}
    assert answers == {objection.json()["id"]: "经复核实际为 1.9 公里, 予以更正",
                       named.json()["id"]: None}
    assert all("person_id" not in o for o in old["objections"])
    staff_view = liaison.get(f"/disclosures/{original['id']}").json()
    assert {o["id"]: o["person_id"] for o in staff_view["objections"]} == {
        objection.json()["id"]: None, named.json()["id"]: "M1"}
    assert public.post("/disclosures", json={}).status_code == 401


def test_clue_content_is_for_discipline_inspection_only(sup_system):
    config = sup_system.configs["supervision"]
    tap = EventTap(config["AMQP_URI"], ALL_SOURCES)
    api = sup_system.api
    secret = "村会计虚报冒领低保金三万元"
    informant = "举报人王五 13900000000"
    feedback = "经查属实, 已给予党内严重警告处分"
    member = api.as_user("member1")
    referred = member.post("/clues", json={"village_code": V1, "category": "benefit_fund",
                                           "content": secret, "whistleblower": informant})
    assert referred.status_code == 201, referred.text
    clue = referred.json()
    assert "content" not in clue and "whistleblower" not in clue
    assert clue["state"] == "referred" and clue["reference_no"].startswith("XS-")

    outside = api.as_user("officer2").post("/clues", json={
        "village_code": V1, "category": "benefit_fund", "content": "别处的线索"})
    assert outside.status_code == 403  # an officer refers clues in its own townships only
    bad = member.post("/clues", json={"village_code": V1, "category": "张三的问题",
                                      "content": "x"})
    assert bad.status_code == 400 and "category" in bad.json()["errors"]
    assert count(sup_system.database_urls["supervision"], Clue) == 1

    admin = api.as_user("admin")
    seen = admin.get(f"/clues/{clue['id']}")
    assert seen.status_code == 200
    assert {k: seen.json()[k] for k in ("reference_no", "state", "acknowledge_due",
                                        "conclude_due")} == {
        k: clue[k] for k in ("reference_no", "state", "acknowledge_due", "conclude_due")}
    assert secret not in seen.text and informant not in seen.text
    assert admin.get("/clues").json()["total"] == 1
    for username in ("admin", "officer1", "member1", "liaison1"):
        denied = api.as_user(username).get(f"/clues/{clue['id']}/content")
        assert denied.status_code == 403, username
        assert secret not in denied.text
    assert api.as_user(None).get(f"/clues/{clue['id']}/content").status_code == 401
    # defence in depth: the service itself refuses the administrator (and the system)
    with rpc_as(config, ADMIN) as rpc, pytest.raises(Forbidden):
        rpc.supervision.read_clue(clue_id=clue["id"])

    inspector = api.as_user("inspector")
    for _ in range(2):
        content = inspector.get(f"/clues/{clue['id']}/content")
        assert content.status_code == 200
        assert content.json()["content"] == secret
        assert content.json()["whistleblower"] == informant
    reads = admin.get(f"/clues/{clue['id']}/reads").json()
    assert [(r["reader"], r["roles"]) for r in reads["items"]] == [
        ("inspector", "discipline_inspector")] * 2
    assert api.as_user("officer1").get(f"/clues/{clue['id']}/reads").status_code == 403

    assert inspector.post(f"/clues/{clue['id']}/conclude", json={
        "outcome": "verified", "feedback": feedback}).status_code == 409
    for step in ("acknowledge", "review"):
        assert inspector.post(f"/clues/{clue['id']}/{step}").status_code == 200
    concluded = inspector.post(f"/clues/{clue['id']}/conclude",
                               json={"outcome": "verified", "feedback": feedback})
    assert concluded.status_code == 200 and concluded.json()["outcome"] == "verified"
    # feedback to the referrer, never to a third party
    assert member.get(f"/clues/{clue['id']}").json()["feedback"] == feedback
    assert api.as_user("officer1").get(f"/clues/{clue['id']}").status_code == 403

    wait_for(lambda: "clue.concluded" in [e["type"] for e in tap.drain()])
    clue_events = [e for e in distinct_events(tap) if e["type"].startswith("clue.")]
    assert [e["type"] for e in clue_events] == ["clue.referred", "clue.acknowledged",
                                                "clue.review_started", "clue.concluded"]
    assert {e["subject"] for e in clue_events} == {f"clue/{clue['reference_no']}"}
    for raw in tap.raw:
        for needle in (secret, "王五", "13900000000", feedback, "虚报冒领"):
            assert needle not in raw
    # and at rest: only ciphertext in the table
    with engine(sup_system.database_urls["supervision"]).connect() as connection:
        stored = connection.execute(select(Clue.content, Clue.whistleblower, Clue.feedback)
                                    ).one()
        dump = " ".join(str(v) for row in connection.execute(text("SELECT * FROM clue"))
                        for v in row)
    assert all(value.startswith("gAAAAA") for value in stored)
    assert secret not in dump and "王五" not in dump and feedback not in dump


def test_bad_input_is_refused_with_details_and_nothing_is_stored(sup_system):
    api, url = sup_system.api, sup_system.database_urls["supervision"]
    admin, liaison = api.as_user("admin"), api.as_user("liaison1")
    base = {"kind": "village_construction", "village_code": V1, "title": "村部改造",
            "body": "-", "amount": "100.00"}
    for changes, field in (({"amount": "-0.01"}, "amount"), ({"amount": "1.005"}, "amount"),
                           ({"amount": "十万"}, "amount"), ({"kind": "gift"}, "kind")):
        response = admin.post("/disclosures", json={**base, **changes})
        assert response.status_code == 400, changes
        assert response.headers["Content-Type"] == "application/problem+json"
        assert field in response.json()["errors"]
    assert count(url, Disclosure) == 0

    item = admin.post("/power-items", json={"id": "X1", "category": "petty", "name": "小额",
                                            "village_code": V1,
                                            "steps": [{"key": "a", "name": "甲"}]})
    assert item.status_code == 400 and "category" in item.json()["errors"]
    exercise = liaison.post(f"/villages/{V1}/power-exercises",
                            json={"item_id": "MD01", "title": "村民活动中心选址"})
    assert exercise.status_code == 201
    before = count(url, Exercise)
    step = liaison.post(f"/power-exercises/{exercise.json()['id']}/steps", json={
        "step": "secretary_decides", "done_on": "2026-11-02", "responsible": "书记"})
    assert step.status_code == 400 and "step" in step.json()["errors"]
    assert liaison.get(f"/power-exercises/{exercise.json()['id']}").json()["steps"] == []
    assert count(url, Exercise) == before
    assert liaison.post(f"/villages/{V3}/power-exercises",
                        json={"item_id": "MD01", "title": "越权"}).status_code == 403

    clock.set_now(datetime(2026, 11, 2, 2, tzinfo=UTC))
    published = api.as_user("admin").post("/disclosures", json=base).json()
    clock.advance(timedelta(days=8))
    late = api.as_user(None).post(f"/disclosures/{published['id']}/objections",
                                  json={"content": "迟到的异议"})
    assert late.status_code == 409
    assert "公示期已于 2026-11-09 结束" in late.json()["detail"]
    assert late.json()["errors"]["state"] == ["window_closed"]
    assert count(url, Objection) == 0


def test_matters_are_raised_with_a_registry_owner_and_rectified_with_evidence(sup_system):
    api, url = sup_system.api, sup_system.database_urls["supervision"]
    member, officer = api.as_user("member1"), api.as_user("officer1")
    matter = {"village_code": V1, "title": "村级财务公开不及时", "summary": "连续两月未公开",
              "owner": "C1", "deadline": "2099-12-31"}
    unknown = member.post("/matters", json={**matter, "owner": "NOBODY"})
    assert unknown.status_code == 400 and "owner" in unknown.json()["errors"]
    assert api.as_user("liaison1").post("/matters", json=matter).status_code == 403
    assert api.as_user("officer2").post("/matters", json=matter).status_code == 403
    assert count(url, Matter) == 0
    raised = member.post("/matters", json=matter)
    assert raised.status_code == 201, raised.text
    matter_id = raised.json()["id"]
    assert raised.json()["state"] == "open" and raised.json()["owner"] == "C1"

    referred = member.post(f"/matters/{matter_id}/refer-to-meeting", json={})
    assert referred.status_code == 200 and referred.json()["referred_topic"] is True
    again = member.post(f"/matters/{matter_id}/refer-to-meeting", json={})
    assert again.status_code == 409
    assert again.json()["errors"]["state"] == ["referred_to_meeting"]

    assert officer.post(f"/matters/{matter_id}/rectify", json={}).json()["errors"] == {
        "evidence": ["必填字段"]}
    assert member.post(f"/matters/{matter_id}/rectify",
                       json={"evidence": "x"}).status_code == 403  # not owner nor officer
    done = officer.post(f"/matters/{matter_id}/rectify",
                        json={"evidence": "已补公开 9、10 月财务, 附公开栏照片"})
    assert done.status_code == 200 and done.json()["state"] == "rectified"
    twice = officer.post(f"/matters/{matter_id}/rectify", json={"evidence": "再次"})
    assert twice.status_code == 409 and "rectified" in twice.json()["detail"]
    listed = api.as_user("admin").get("/matters", params={"state": "rectified"}).json()
    assert [m["id"] for m in listed["items"]] == [matter_id]


def test_statistics_endpoint_and_openapi(sup_system):
    api = sup_system.api
    officer = api.as_user("officer1")
    bad = officer.get("/supervision/statistics", params={"period": "2026-13"})
    assert bad.status_code == 400 and "period" in bad.json()["errors"]
    assert api.as_user(None).get("/supervision/statistics",
                                 params={"period": "2026-11"}).status_code == 401
    clock.set_now(datetime(2026, 11, 2, 2, tzinfo=UTC))
    officer = api.as_user("officer1")
    for amount in ("0.10", "0.20"):
        assert officer.post("/disclosures", json={
            "kind": "livelihood_project", "village_code": V1, "title": "小额项目", "body": "-",
            "amount": amount}).status_code == 201
    stats = officer.get("/supervision/statistics", params={"period": "2026-11",
                                                           "township": district.T1})
    assert stats.status_code == 200, stats.text
    block = stats.json()["townships"][0]["current"]["livelihood_projects"]
    assert block == {"count": 2, "amount": "0.30"}  # 0.1 + 0.2, exactly
    paths = api.as_user(None).get("/openapi.json").json()["paths"]
    for path in ("/disclosures", "/disclosures/{disclosure_id}/objections", "/matters",
                 "/clues", "/clues/{clue_id}/content", "/villages/{code}/power-exercises",
                 "/power-items", "/supervision/statistics", "/alerts"):
        assert path in paths, path
    assert paths["/clues/{clue_id}/content"]["get"]["x-roles"] == ["discipline_inspector"]


def test_anonymous_objections_are_rate_limited_per_client(start_system):
    system = start_system("supervision", extra_config={"supervision": {
        "CLUE_KEYS": CLUE_KEY,
        "SUPERVISION": {"objection_rate_limit": 2, "rate_window_seconds": 3600}}})
    url = system.database_urls["supervision"]
    wait_for(lambda: count(url, LocalVillage) == 3)
    api = system.api
    clock.set_now(datetime(2026, 11, 2, 2, tzinfo=UTC))
    published = api.as_user("liaison1").post("/disclosures", json={
        "kind": "other", "village_code": V1, "title": "村务公开", "body": "-"}).json()
    path = f"/disclosures/{published['id']}/objections"
    public = api.as_user(None)
    for n in range(2):
        assert public.post(path, json={"content": f"异议 {n}"}).status_code == 201
    limited = public.post(path, json={"content": "第三条"})
    assert limited.status_code == 429, limited.text
    assert "过于频繁" in limited.json()["detail"]
    assert count(url, Objection) == 2
    # staff recording objections for villagers are not limited
    assert api.as_user("liaison1").post(path, json={"content": "代为登记"}).status_code == 201
    clock.advance(timedelta(hours=1))  # the next window
    assert public.post(path, json={"content": "一小时后"}).status_code == 201
