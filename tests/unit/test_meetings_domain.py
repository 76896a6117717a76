"""Pure rules of the meetings service: months, transitions, candidates, quorum, deadlines,
compliance, and the contract's refusal of private data."""

from datetime import UTC, date, datetime

import pytest

from services.chassis.errors import Conflict, ValidationFailed
from services.chassis.events import EventContractError
from services.chassis.schemas import load
from services.meetings import domain
from services.meetings import schemas as s

pytestmark = pytest.mark.unit


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_months_are_counted_in_asia_shanghai():
    assert domain.month_of(utc("2026-11-30T15:59:00")) == "2026-11"
    assert domain.month_of(utc("2026-11-30T16:00:00")) == "2026-12"  # midnight in Shanghai
    assert domain.month_of(date(2026, 2, 28)) == "2026-02"
    assert domain.next_month("2026-12") == "2027-01"
    assert domain.previous_month("2027-01") == "2026-12"
    assert not domain.month_ended("2026-11", date(2026, 11, 30))
    assert domain.month_ended("2026-11", date(2026, 12, 1))
    with pytest.raises(ValueError):
        domain.parse_month("2026-1")


def test_the_month_end_check_closes_the_previous_month_after_the_grace_days():
    assert domain.month_to_close(date(2026, 12, 1)) == "2026-11"
    assert domain.month_to_close(date(2026, 11, 30)) == "2026-10"
    assert domain.month_to_close(date(2026, 12, 3), grace_days=3) == "2026-10"
    assert domain.month_to_close(date(2026, 12, 4), grace_days=3) == "2026-11"
    assert domain.month_to_close(date(2027, 1, 1)) == "2026-12"


def test_naive_database_values_are_read_as_utc():
    assert domain.as_utc(datetime(2026, 11, 30, 16, 0)) == utc("2026-11-30T16:00:00")
    assert domain.local_day(datetime(2026, 11, 30, 16, 0)) == date(2026, 12, 1)


@pytest.mark.parametrize(("current", "target"), [
    ("proposed", "accepted"), ("proposed", "merged"), ("proposed", "rejected"),
    ("accepted", "scheduled"), ("deferred", "scheduled"), ("scheduled", "discussed"),
    ("discussed", "agreed"), ("discussed", "not_agreed"), ("discussed", "deferred"),
])
def test_topic_transitions_allowed(current, target):
    domain.require_topic_transition(current, target)


@pytest.mark.parametrize(("current", "target"), [
    ("accepted", "rejected"), ("rejected", "accepted"), ("merged", "accepted"),
    ("proposed", "scheduled"), ("agreed", "deferred"), ("not_agreed", "agreed"),
])
def test_illegal_topic_transitions_name_the_current_state(current, target):
    with pytest.raises(Conflict) as error:
        domain.require_topic_transition(current, target)
    assert error.value.details == {"state": [current]}
    assert current in error.value.message and domain.TOPIC_STATE_NAMES[current] in \
        error.value.message


def test_meeting_and_resolution_transitions():
    domain.require_meeting_transition("scheduled", "held")
    domain.require_meeting_transition("held", "disclosed")
    for current, target in (("held", "cancelled"), ("cancelled", "held"),
                            ("scheduled", "disclosed")):
        with pytest.raises(Conflict):
            domain.require_meeting_transition(current, target)
    domain.require_resolution_transition("overdue", "done")
    with pytest.raises(Conflict) as error:
        domain.require_resolution_transition("done", "in_progress")
    assert error.value.details == {"state": ["done"]}


def test_a_deferred_topic_is_a_candidate_from_the_next_month_on():
    assert domain.is_candidate("accepted", None, "2026-11")
    assert not domain.is_candidate("deferred", "2026-11", "2026-11")
    assert domain.is_candidate("deferred", "2026-11", "2026-12")
    assert domain.is_candidate("deferred", "2026-11", "2027-03")
    assert not domain.is_candidate("scheduled", None, "2026-12")
    assert domain.state_after_unscheduling("2026-10") == "deferred"
    assert domain.state_after_unscheduling(None) == "accepted"


def test_quorum_rule_from_config_and_shortfalls():
    rule = domain.QuorumRule.from_config({"quorum_min_people": "4",
                                          "quorum_min_villager_representatives": 5,
                                          "quorum_required_roles": "liaison, village_cadre"})
    assert rule == domain.QuorumRule(4, 5, ("liaison", "village_cadre"))
    assert domain.quorum_shortfalls(rule, ["liaison", "village_cadre", "expert",
                                           "cppcc_member"], 5) == []
    missing = domain.quorum_shortfalls(rule, ["liaison", "expert"], 2)
    assert missing == ["签到人员 2 人, 不足 4 人", "村民代表 2 人, 不足 5 人",
                       "缺少角色 village_cadre"]
    assert domain.QuorumRule.from_config(None) == domain.QuorumRule()


def test_reminder_window_and_overdue_deadline():
    starts = utc("2026-11-20T02:00:00")  # 10:00 in Shanghai
    assert not domain.reminder_due(starts, utc("2026-11-16T01:00:00"), 3)
    assert domain.reminder_due(starts, utc("2026-11-16T16:30:00"), 3)  # 17th locally
    assert not domain.reminder_due(starts, utc("2026-11-20T02:30:00"), 3)  # started
    assert not domain.is_overdue("open", date(2026, 11, 30), date(2026, 11, 30))
    assert domain.is_overdue("in_progress", date(2026, 11, 30), date(2026, 12, 1))
    assert not domain.is_overdue("done", date(2026, 11, 30), date(2026, 12, 5))


def test_compliance_counts_each_village_once_with_held_first():
    villages = [("V1", "T1"), ("V2", "T1"), ("V3", "T1"), ("V4", "T2")]
    statuses, townships, district = domain.compliance(
        villages, held={"V1"}, scheduled={"V2", "V1"}, missed={"V3", "V1"})
    assert statuses == {"V1": "held", "V2": "scheduled", "V3": "missed",
                        "V4": "not_scheduled"}
    assert townships["T1"] == {"villages": 3, "held": 1, "scheduled": 1, "missed": 1,
                               "not_scheduled": 0, "held_rate": 0.3333}
    assert district["villages"] == 4 and district["held_rate"] == 0.25
    assert domain.rate(0, 0) == 0.0


def test_topic_input_rules():
    with pytest.raises(ValidationFailed) as error:
        load(s.TopicIn(), {"title": "x", "source": "petition", "platform": "consult"})
    assert "source" in error.value.details  # referred topics only arrive by events
    with pytest.raises(ValidationFailed) as error:
        load(s.TopicIn(), {"title": "x", "source": "villager", "platform": "consult",
                           "proposer_person_id": "M1", "proposer_name": "张三"})
    assert "proposer_name" in error.value.details
    with pytest.raises(ValidationFailed) as error:
        load(s.TopicVetIn(), {"decision": "reject"})
    assert error.value.details == {"reason": ["不采纳须说明理由"]}
    with pytest.raises(ValidationFailed) as error:
        load(s.MeetingAgendaIn(), {"items": [{"topic_id": "T1"}, {"topic_id": "T1"}]})
    assert "items" in error.value.details


def test_consumed_payloads_ignore_new_fields_and_default_the_platform():
    petition = load(s.PetitionReferred(), {"petition_id": "P1", "village_code": "431102101001",
                                           "title": "渠道", "summary": "", "category": "land",
                                           "added_later": 1})
    assert petition["platform"] == "villager_voice" and "added_later" not in petition
    matter = load(s.MatterReferred(), {"matter_id": "M1", "village_code": "431102101001",
                                       "title": "公示"})
    assert matter["platform"] == "supervise"
    with pytest.raises(ValidationFailed):
        load(s.PetitionReferred(), {"petition_id": "P1", "village_code": "4311",
                                    "title": "x"})


def test_no_event_carries_a_name_or_a_phone():
    for event_type in s.EVENTS.types.values():
        names = set(event_type.schema().fields)
        assert not names & {"name", "proposer_name", "phone", "minutes"}, event_type.name
    with pytest.raises(EventContractError):
        s.EVENTS.envelope("topic.proposed", "topic/T1", {
            "topic_id": "T1", "village_code": "431102101001", "platform": "consult",
            "source": "villager", "source_ref": None, "title": "村道", "supporters": 1,
            "proposer_person_id": None, "proposer_name": "张三"})


def test_the_docs_list_every_event_with_its_fields():
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "meetings.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`"): line for line in docs.splitlines()
            if line.startswith("| `")}
    for name, event_type in s.EVENTS.types.items():
        assert name in rows, name
        row = rows[name]
        if "as `" in row:  # "as `resolution.adopted`": the fields of another row
            row += rows[row.split("as `")[1].split("`")[0]]
        for field in event_type.schema().fields:
            assert f"`{field}`" in row, (name, field)


def test_roles_checked_against_the_registry_are_the_quorums_and_experts():
    assert domain.registry_checked_roles(domain.QuorumRule()) == {"liaison", "expert"}
    rule = domain.QuorumRule(required_roles=("liaison", "cppcc_member"))
    assert domain.registry_checked_roles(rule) == {"liaison", "cppcc_member", "expert"}
