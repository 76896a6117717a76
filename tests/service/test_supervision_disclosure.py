"""Disclosures: objection → answer → upheld → corrected re-disclosure; objections only in the
window; bad input refused with details and nothing stored."""

from datetime import UTC, datetime, timedelta

import pytest

from services.chassis import clock
from services.chassis.errors import Conflict, Forbidden, ValidationFailed
from services.supervision.models import Disclosure, Objection
from tests.helpers import rpc_as
from tests.service import supervision_support as support
from tests.service.supervision_support import ADMIN, LIAISON1, PUBLIC, V1, V3, count

pytestmark = pytest.mark.service
sup_config, supervision = support.sup_config, support.supervision

PROJECT = {"kind": "livelihood_project", "village_code": V1, "title": "农村安全饮水工程",
           "body": "新建供水管网 3.2 公里", "amount": "1280000.50",
           "fund_source": "区财政衔接资金", "beneficiaries": 326}


def test_upheld_objection_leads_to_a_linked_correction(supervision, sup_config):
    clock.set_now(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    with rpc_as(sup_config, LIAISON1) as rpc:
        original = rpc.supervision.publish_disclosure(data=PROJECT)
        assert original["window_ends_on"] == "2026-11-09"
        assert original["amount"] == "1280000.50"
        # nothing to correct before an objection is upheld
        with pytest.raises(Conflict):
            rpc.supervision.correct_disclosure(disclosure_id=original["id"], data={
                "title": "x", "body": "y"})
    clock.advance(timedelta(days=3))
    with rpc_as(sup_config, PUBLIC) as rpc:
        objection = rpc.supervision.file_objection(disclosure_id=original["id"], data={
            "content": "受益户数与实际不符, 实际约 300 户"})
        assert objection["anonymous"] is True and "person_id" not in objection
        with pytest.raises(ValidationFailed) as error:  # public cannot sign as somebody
            rpc.supervision.file_objection(disclosure_id=original["id"], data={
                "content": "实名异议", "anonymous": False, "person_id": "M1"})
        assert "person_id" in error.value.details
        with pytest.raises(Forbidden):
            rpc.supervision.answer_objection(disclosure_id=original["id"],
                                             objection_id=objection["id"],
                                             data={"answer": "x", "upheld": True})
    with rpc_as(sup_config, LIAISON1) as rpc:
        answered = rpc.supervision.answer_objection(
            disclosure_id=original["id"], objection_id=objection["id"],
            data={"answer": "经核实, 受益户为 298 户, 予以更正", "upheld": True})
        assert answered["state"] == "answered" and answered["upheld"] is True
        with pytest.raises(Conflict) as error:
            rpc.supervision.answer_objection(disclosure_id=original["id"],
                                             objection_id=objection["id"],
                                             data={"answer": "再答", "upheld": False})
        assert error.value.details["state"] == ["answered"]
        corrected = rpc.supervision.correct_disclosure(disclosure_id=original["id"], data={
            **{k: PROJECT[k] for k in ("title", "body", "amount", "fund_source")},
            "beneficiaries": 298})
        with pytest.raises(Conflict) as error:
            rpc.supervision.correct_disclosure(disclosure_id=original["id"],
                                               data={"title": "x", "body": "y"})
        assert error.value.details["state"] == ["corrected"]
    assert corrected["corrects_id"] == original["id"]
    assert corrected["kind"] == "livelihood_project"
    assert corrected["window_ends_on"] == "2026-11-12"
    assert [h["id"] for h in corrected["history"]] == [original["id"]]

    with rpc_as(sup_config, PUBLIC) as rpc:
        board = rpc.supervision.list_disclosures(query={"village": V1,
                                                        "kind": "livelihood_project"})
        assert [d["id"] for d in board["items"]] == [corrected["id"]]
        seen = rpc.supervision.get_disclosure(disclosure_id=corrected["id"])
        assert seen["beneficiaries"] == 298
        assert seen["history"][0]["superseded_by_id"] == corrected["id"]
        old = rpc.supervision.get_disclosure(disclosure_id=original["id"])
        assert old["superseded_by_id"] == corrected["id"]
        assert old["objections"][0]["answer"] == "经核实, 受益户为 298 户, 予以更正"
        assert "person_id" not in old["objections"][0]
        everything = rpc.supervision.list_disclosures(query={"village": V1,
                                                             "include_superseded": True})
        assert everything["total"] == 2
        with pytest.raises(Conflict) as error:  # objections go to the corrected version
            rpc.supervision.file_objection(disclosure_id=original["id"],
                                           data={"content": "还有问题"})
        assert error.value.details["state"] == ["corrected"]


def test_objection_after_the_window_is_refused_and_stores_nothing(supervision, sup_config):
    url = sup_config["DATABASE_URL"]
    clock.set_now(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    with rpc_as(sup_config, ADMIN) as rpc:
        published = rpc.supervision.publish_disclosure(data={**PROJECT, "window_days": 3})
    clock.set_now(datetime(2026, 11, 5, 15, 59, tzinfo=UTC))  # 23:59 on the 5th in Shanghai
    with rpc_as(sup_config, PUBLIC) as rpc:
        rpc.supervision.file_objection(disclosure_id=published["id"],
                                       data={"content": "最后一天提出"})
        clock.set_now(datetime(2026, 11, 5, 16, 0, tzinfo=UTC))  # 00:00 on the 6th
        before = count(url, Objection)
        with pytest.raises(Conflict) as error:
            rpc.supervision.file_objection(disclosure_id=published["id"],
                                           data={"content": "过期异议"})
    assert error.value.details["state"] == ["window_closed"]
    assert "2026-11-05" in error.value.message
    assert count(url, Objection) == before


@pytest.mark.parametrize("changes, field", [
    ({"kind": "lottery"}, "kind"),
    ({"amount": "-1.00"}, "amount"),
    ({"amount": "12.345"}, "amount"),
    ({"amount": "12,30"}, "amount"),
    ({"amount": "NaN"}, "amount"),
    ({"amount": None}, "amount"),  # a livelihood project must state its amount
    ({"beneficiaries": -3}, "beneficiaries"),
    ({"beneficiaries": 10_000_001}, "beneficiaries"),
    ({"village_code": "4311021010"}, "village_code"),
    ({"village_code": "431102109999"}, "village_code"),  # well formed, but no such village
    ({"kind": "finance"}, "finance_month"),
    ({"window_days": 0}, "window_days"),
    ({"phone": "13800000000"}, "phone"),
])
def test_bad_disclosures_are_refused_with_details(supervision, sup_config, changes, field):
    url = sup_config["DATABASE_URL"]
    with rpc_as(sup_config, ADMIN) as rpc:
        with pytest.raises(ValidationFailed) as error:
            rpc.supervision.publish_disclosure(data={**PROJECT, **changes})
    assert field in error.value.details
    assert count(url, Disclosure) == 0


def test_liaison_discloses_only_for_its_village(supervision, sup_config):
    with rpc_as(sup_config, LIAISON1) as rpc, pytest.raises(Forbidden):
        rpc.supervision.publish_disclosure(data={**PROJECT, "village_code": V3})
    assert count(sup_config["DATABASE_URL"], Disclosure) == 0


def _upheld(rpc, disclosure_id):
    objection = rpc.supervision.file_objection(disclosure_id=disclosure_id,
                                               data={"content": "受益户数不符"})
    rpc.supervision.answer_objection(disclosure_id=disclosure_id, objection_id=objection["id"],
                                     data={"answer": "予以更正", "upheld": True})


def test_a_correction_keeps_the_fields_it_omits(supervision, sup_config):
    clock.set_now(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    url = sup_config["DATABASE_URL"]
    with rpc_as(sup_config, LIAISON1) as rpc:
        original = rpc.supervision.publish_disclosure(data=PROJECT)
        _upheld(rpc, original["id"])
        corrected = rpc.supervision.correct_disclosure(disclosure_id=original["id"], data={
            "title": PROJECT["title"], "body": "更正: 受益户 298 户", "beneficiaries": 298})
        assert corrected["amount"] == "1280000.50"
        assert corrected["fund_source"] == "区财政衔接资金"
        assert corrected["beneficiaries"] == 298

        # clearing the amount of a livelihood project is refused, and nothing is stored
        _upheld(rpc, corrected["id"])
        before = count(url, Disclosure)
        with pytest.raises(ValidationFailed) as error:
            rpc.supervision.correct_disclosure(disclosure_id=corrected["id"], data={
                "title": "x", "body": "y", "amount": None})
        assert "amount" in error.value.details
        assert count(url, Disclosure) == before
    with rpc_as(sup_config, ADMIN) as rpc:
        stats = rpc.supervision.statistics(query={"period": "2026-11"})
    projects = stats["total"]["current"]["livelihood_projects"]
    assert projects == {"count": 1, "amount": "1280000.50"}


def test_a_correction_with_too_many_beneficiaries_is_refused(supervision, sup_config):
    url = sup_config["DATABASE_URL"]
    with rpc_as(sup_config, LIAISON1) as rpc:
        original = rpc.supervision.publish_disclosure(data=PROJECT)
        _upheld(rpc, original["id"])
        with pytest.raises(ValidationFailed) as error:
            rpc.supervision.correct_disclosure(disclosure_id=original["id"], data={
                "title": "x", "body": "y", "beneficiaries": 10_000_001})
    assert "beneficiaries" in error.value.details
    assert count(url, Disclosure) == 1
