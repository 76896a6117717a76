"""Micro-power exercises: 四议两公开 followed cleanly; a skipped step raises one alert and one
matter; benefit funds need a disclosure; bad steps are refused and store nothing."""

import time
from datetime import date

import pytest

from services.chassis.errors import Conflict, Forbidden, ValidationFailed
from services.supervision.models import Alert, ExerciseStep, Matter, PowerItem
from tests.helpers import EventTap, rpc_as, wait_for
from tests.service import supervision_support as support
from tests.service.supervision_support import (
    ADMIN,
    LIAISON1,
    OFFICER1,
    V1,
    V3,
    count,
    distinct_events,
)

pytestmark = pytest.mark.service
sup_config, supervision = support.sup_config, support.supervision

FOUR = ["branch_proposal", "committees_deliberation", "members_review",
        "villagers_resolution", "resolution_disclosure", "result_disclosure"]


def _record(rpc, exercise_id, steps, first_day=1):
    for n, step in enumerate(steps):
        rpc.supervision.record_step(exercise_id=exercise_id, data={
            "step": step, "done_on": date(2026, 11, first_day + n).isoformat(),
            "responsible": "村党组织书记", "evidence": f"会议记录第{n + 1}页"})


def test_major_decision_clean_and_with_members_review_skipped(supervision, sup_config):
    tap = EventTap(sup_config["AMQP_URI"], ("supervision",))
    with rpc_as(sup_config, LIAISON1) as rpc:
        clean = rpc.supervision.start_exercise(code=V1, data={
            "item_id": "MD02", "title": "村道硬化工程发包"})
        _record(rpc, clean["id"], FOUR)
        done = rpc.supervision.complete_exercise(exercise_id=clean["id"])
        assert done["state"] == "completed"
        assert done["alerts"] == []
        assert [s["step"] for s in done["steps"]] == FOUR

        skipped = rpc.supervision.start_exercise(code=V1, data={
            "item_id": "MD01", "title": "村集体山林承包"})
        _record(rpc, skipped["id"], [s for s in FOUR if s != "members_review"])
        done = rpc.supervision.complete_exercise(exercise_id=skipped["id"])
    assert done["state"] == "completed"
    assert len(done["alerts"]) == 1
    alert = done["alerts"][0]
    assert alert["step"] == "members_review" and "党员大会审议" in alert["summary"]
    with rpc_as(sup_config, ADMIN) as rpc:
        matters = rpc.supervision.list_matters(query={"source": "procedure_alert"})
    assert matters["total"] == 1
    assert matters["items"][0]["id"] == alert["matter_id"]
    assert matters["items"][0]["village_code"] == V1

    def settled():
        events = distinct_events(tap)
        types = [e["type"] for e in events]
        return types.count("power.exercise_completed") == 2 and events
    events = wait_for(settled)
    types = [e["type"] for e in events]
    assert types.count("power.procedure_violated") == 1
    assert types.count("matter.raised") == 1
    violated = next(e for e in events if e["type"] == "power.procedure_violated")
    assert violated["data"]["step"] == "members_review"
    assert violated["data"]["matter_id"] == alert["matter_id"]
    completed = [e["data"]["alerts"] for e in events if e["type"] ==
                 "power.exercise_completed"]
    assert completed == [0, 1]


def test_benefit_fund_completed_without_disclosure_alerts(supervision, sup_config):
    with rpc_as(sup_config, OFFICER1) as rpc:
        item = rpc.supervision.get_power_item(item_id="BF02")
        keys = [step["key"] for step in item["steps"]]
        first = rpc.supervision.start_exercise(code=V1, data={"item_id": "BF02",
                                                             "title": "耕地地力补贴发放"})
        _record(rpc, first["id"], keys)
        assert [a["kind"] for a in rpc.supervision.complete_exercise(
            exercise_id=first["id"])["alerts"]] == ["no_disclosure"]

        second = rpc.supervision.start_exercise(code=V1, data={"item_id": "BF02",
                                                              "title": "稻谷补贴发放"})
        _record(rpc, second["id"], keys)
        rpc.supervision.publish_disclosure(data={
            "kind": "power_item", "village_code": V1, "title": "稻谷补贴名单公示",
            "body": "名单见附件", "amount": "12000.00", "beneficiaries": 40,
            "exercise_id": second["id"]})
        assert rpc.supervision.complete_exercise(exercise_id=second["id"])["alerts"] == []


def test_bad_steps_and_items_are_refused_and_store_nothing(supervision, sup_config):
    url = sup_config["DATABASE_URL"]
    with rpc_as(sup_config, LIAISON1) as rpc:
        exercise = rpc.supervision.start_exercise(code=V1, data={"item_id": "MD01",
                                                                "title": "修建文化广场"})
        steps_before = count(url, ExerciseStep)
        with pytest.raises(ValidationFailed) as error:
            rpc.supervision.record_step(exercise_id=exercise["id"], data={
                "step": "mayor_approval", "done_on": "2026-11-01", "responsible": "书记"})
        assert "branch_proposal" in error.value.details["step"][0]
        with pytest.raises(ValidationFailed) as error:
            rpc.supervision.record_step(exercise_id=exercise["id"], data={
                "step": "branch_proposal", "done_on": "2026-13-01", "responsible": ""})
        assert set(error.value.details) == {"done_on", "responsible"}
        assert count(url, ExerciseStep) == steps_before

        rpc.supervision.record_step(exercise_id=exercise["id"], data={
            "step": "branch_proposal", "done_on": "2026-11-01", "responsible": "书记"})
        with pytest.raises(Conflict):
            rpc.supervision.record_step(exercise_id=exercise["id"], data={
                "step": "branch_proposal", "done_on": "2026-11-02", "responsible": "书记"})
        with pytest.raises(ValidationFailed) as error:
            rpc.supervision.start_exercise(code=V1, data={"item_id": "NOPE", "title": "x"})
        assert "item_id" in error.value.details
        # a liaison works only in its own village
        with pytest.raises(Forbidden):
            rpc.supervision.start_exercise(code=V3, data={"item_id": "MD01", "title": "x"})
    with rpc_as(sup_config, ADMIN) as rpc:
        rpc.supervision.complete_exercise(exercise_id=exercise["id"])
        with pytest.raises(Conflict) as error:
            rpc.supervision.record_step(exercise_id=exercise["id"], data={
                "step": "members_review", "done_on": "2026-11-03", "responsible": "书记"})
        assert error.value.details["state"] == ["completed"]
        items_before = count(url, PowerItem)
        with pytest.raises(ValidationFailed) as error:
            rpc.supervision.add_power_item(data={
                "id": "V1-01", "category": "petty_power", "name": "村级小额采购",
                "village_code": V1, "steps": [{"key": "quote", "name": "询价"}]})
        assert "category" in error.value.details
        assert count(url, PowerItem) == items_before
        local = rpc.supervision.add_power_item(data={
            "id": "V1-01", "category": "daily_management", "name": "村级小额采购",
            "village_code": V1, "steps": [{"key": "quote", "name": "三家询价"},
                                          {"key": "approve", "name": "两委审批"}]})
        assert local["village_code"] == V1
        listed = rpc.supervision.list_power_items(query={"village": V1, "page_size": 100})
        assert "V1-01" in [i["id"] for i in listed["items"]]
        district = rpc.supervision.list_power_items(query={"page_size": 100})
        assert "V1-01" not in [i["id"] for i in district["items"]]
        assert {i["category"] for i in district["items"]} == {
            "major_decision", "daily_management", "convenience_service", "benefit_fund"}
    # 1 alert + 1 matter per missing step: members_review .. result_disclosure were skipped
    assert count(url, Alert) == count(url, Matter) == 5


def test_load_catalogue_is_idempotent(supervision, sup_config):
    with rpc_as(sup_config, ADMIN) as rpc:
        first = rpc.supervision.load_catalogue()
        second = rpc.supervision.load_catalogue()
    assert first["added"] == 0 and second["added"] == 0  # the migration loaded it already
    assert first["total"] == second["total"] == count(sup_config["DATABASE_URL"], PowerItem)
    with rpc_as(sup_config, OFFICER1) as rpc, pytest.raises(Forbidden):
        rpc.supervision.load_catalogue()


def test_a_double_completion_publishes_once_and_answers_409(supervision, sup_config):
    url = sup_config["DATABASE_URL"]
    tap = EventTap(sup_config["AMQP_URI"], ("supervision",))
    with rpc_as(sup_config, LIAISON1) as rpc:
        exercise = rpc.supervision.start_exercise(code=V1, data={
            "item_id": "MD01", "title": "村集体山林承包"})
        _record(rpc, exercise["id"], [s for s in FOUR if s != "members_review"])
        calls = [rpc.supervision.complete_exercise.call_async(exercise_id=exercise["id"])
                 for _ in range(2)]
        results, conflicts = [], []
        for call in calls:
            try:
                results.append(call.result())
            except Conflict as error:
                conflicts.append(error)
    assert [r["state"] for r in results] == ["completed"]
    assert len(conflicts) == 1
    assert conflicts[0].details["state"] == ["completed"]
    assert count(url, Alert) == 1 and count(url, Matter) == 1

    def completed():
        events = distinct_events(tap)
        return [e for e in events if e["type"] == "power.exercise_completed"]
    wait_for(completed)
    time.sleep(0.5)
    assert len(completed()) == 1
