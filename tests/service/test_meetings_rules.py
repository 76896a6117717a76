"""The meetings service on a real broker and database: transitions, 409s and 400s, access,
deferred topics, consumed events."""

import pytest
from sqlalchemy import select

from services.chassis import clock
from services.chassis.actor import system_actor
from services.chassis.errors import Conflict, Forbidden, ValidationFailed
from services.meetings import commands
from services.meetings.models import AgendaItem, Attendance, Meeting, Resolution, Topic
from tests.conftest import TEST_DB
from tests.helpers import EventTap, rpc_as, wait_for
from tests.service.meetings_fixtures import (  # noqa: F401 - fixtures
    LIAISON1,
    LIAISON2,
    MEMBER1,
    OFFICER1,
    PETITIONS,
    SUPERVISION,
    V1,
    V2,
    at,
    meetings_system,
    publish,
)
from tests.service.meetings_flow import accepted_topic, held_meeting, propose, schedule

pytestmark = pytest.mark.service

NOV_10 = "2026-11-10T10:00:00+08:00"


@pytest.fixture
def system(meetings_system):  # noqa: F811 - the imported fixture
    clock.set_now(at("2026-11-05T09:00:00+08:00"))
    return meetings_system()


def test_illegal_transitions_are_409_naming_the_state_and_change_nothing(system):
    config, _, db = system
    with rpc_as(config) as rpc:
        # holding without an agenda
        meeting = schedule(rpc, V1, NOV_10)
        rpc.meetings.record_attendance(meeting_id=meeting["id"], data={
            "attendees": [{"person_id": "L1", "role": "liaison"}],
            "villager_representatives": 9})
    clock.set_now(at("2026-11-10T11:00:00+08:00"))
    with rpc_as(config) as rpc:
        with pytest.raises(Conflict) as error:
            rpc.meetings.hold_meeting(meeting_id=meeting["id"], data={"minutes": "无议程"})
        assert error.value.details["state"] == ["scheduled"]
        assert "议程" in error.value.message
        assert rpc.meetings.get_meeting(meeting_id=meeting["id"])["state"] == "scheduled"

        # a second regular meeting in the same month
        before = db.count(Meeting)
        with pytest.raises(Conflict) as error:
            schedule(rpc, V1, "2026-11-25T10:00:00+08:00")
        assert error.value.details["state"] == ["scheduled"]
        assert "已有例会" in error.value.message
        assert db.count(Meeting) == before
        extra = schedule(rpc, V1, "2026-11-25T10:00:00+08:00", kind="extra")
        assert extra["kind"] == "extra"

        # a cancelled regular meeting can be replaced
        rpc.meetings.cancel_meeting(meeting_id=meeting["id"], data={"reason": "台风"})
        replacement = schedule(rpc, V1, "2026-11-20T10:00:00+08:00")
        assert replacement["state"] == "scheduled"

    # a resolution on a topic that was not agreed
    clock.set_now(at("2026-11-05T09:00:00+08:00"))
    held, (agreed, refused) = held_meeting(config, V2, NOV_10, topics=2)
    with rpc_as(config) as rpc:
        rpc.meetings.record_outcomes(meeting_id=held["id"], data={"items": [
            {"topic_id": agreed, "outcome": "agreed", "discussion": "同意"},
            {"topic_id": refused, "outcome": "not_agreed", "discussion": "分歧较大"}]})
        with pytest.raises(Conflict) as error:
            rpc.meetings.adopt_resolution(meeting_id=held["id"], data={
                "topic_id": refused, "text": "实施", "owner_person_id": "L2",
                "deadline": "2026-12-31"})
        assert error.value.details["state"] == ["not_agreed"]
        assert db.count(Resolution) == 0
        # an outcome cannot be recorded twice
        with pytest.raises(Conflict) as error:
            rpc.meetings.record_outcomes(meeting_id=held["id"], data={"items": [
                {"topic_id": refused, "outcome": "agreed", "discussion": "改主意"}]})
        assert error.value.details["state"] == ["not_agreed"]
        # rating before it is done
        resolution = rpc.meetings.adopt_resolution(meeting_id=held["id"], data={
            "topic_id": agreed, "text": "硬化村道", "owner_person_id": "L2",
            "deadline": "2026-12-31"})
        with pytest.raises(Conflict) as error:
            rpc.meetings.rate_resolution(resolution_id=resolution["id"], data={"score": 5})
        assert error.value.details["state"] == ["open"]
        # vetting twice
        topic = accepted_topic(rpc, V1, "路灯")
        with pytest.raises(Conflict) as error:
            rpc.meetings.vet_topic(topic_id=topic["id"], data={"decision": "reject",
                                                              "reason": "重复"})
        assert error.value.details["state"] == ["accepted"]


def test_bad_input_is_400_with_field_details_and_nothing_stored(system):
    config, _, db = system
    with rpc_as(config) as rpc:
        before = db.count(Topic)
        with pytest.raises(ValidationFailed) as error:
            rpc.meetings.propose_topic(code=V1, data={
                "title": "", "source": "gossip", "platform": "consult", "phone": "138"})
        assert set(error.value.details) == {"title", "source", "phone"}
        with pytest.raises(ValidationFailed) as error:
            propose(rpc, V1, proposer_person_id="NOBODY")
        assert "proposer_person_id" in error.value.details
        assert db.count(Topic) == before

        before = db.count(Meeting)
        with pytest.raises(ValidationFailed) as error:
            rpc.meetings.schedule_meeting(code=V1, data={
                "kind": "weekly", "starts_at": "2026-11-10T10:00:00", "place": "议事室",
                "convener_person_id": "L1"})
        assert set(error.value.details) == {"kind", "starts_at"}
        with pytest.raises(ValidationFailed) as error:
            schedule(rpc, V1, NOV_10, convener="NOBODY")
        assert "convener_person_id" in error.value.details
        with pytest.raises(ValidationFailed) as error:
            schedule(rpc, V1, "2026-10-10T10:00:00+08:00")  # a month that is over
        assert "starts_at" in error.value.details
        assert db.count(Meeting) == before

        meeting = schedule(rpc, V1, NOV_10)
        with pytest.raises(ValidationFailed) as error:
            rpc.meetings.set_agenda(meeting_id=meeting["id"], data={"items": [
                {"topic_id": accepted_topic(rpc, V1)["id"], "experts": ["L1"]}]})
        assert "items.0.experts" in error.value.details  # L1 is no expert
        assert db.count(AgendaItem) == 0
        with pytest.raises(ValidationFailed) as error:
            rpc.meetings.record_attendance(meeting_id=meeting["id"], data={
                "attendees": [{"person_id": "GHOST", "role": "liaison"}]})
        assert "attendees.0.person_id" in error.value.details


def test_access_by_village_and_private_proposer_names(system):
    config, _, _ = system
    with rpc_as(config, LIAISON1) as rpc:
        topic = propose(rpc, V1, proposer_name="张三")
        assert topic["proposer_name"] == "张三"
    with rpc_as(config, LIAISON2) as rpc, pytest.raises(Forbidden):
        propose(rpc, V1)
    with rpc_as(config, MEMBER1) as rpc:
        seen = rpc.meetings.get_topic(topic_id=topic["id"])
        assert "proposer_name" not in seen
        with pytest.raises(Forbidden):
            rpc.meetings.vet_topic(topic_id=topic["id"], data={"decision": "accept"})
    with rpc_as(config, OFFICER1) as rpc:
        listed = rpc.meetings.list_topics(code=V1)
        assert listed["total"] == 1 and "proposer_name" not in listed["items"][0]
        with pytest.raises(Forbidden):
            schedule(rpc, V1, NOV_10)


def test_deferred_topic_appears_among_next_months_candidates(system):
    config, _, _ = system
    held, (deferred, agreed) = held_meeting(config, V1, NOV_10, topics=2)
    with rpc_as(config) as rpc:
        rpc.meetings.record_outcomes(meeting_id=held["id"], data={"items": [
            {"topic_id": deferred, "outcome": "deferred", "discussion": "待测算费用"},
            {"topic_id": agreed, "outcome": "agreed", "discussion": "同意"}]})
        november = rpc.meetings.list_candidates(code=V1, query={"month": "2026-11"})
        december = rpc.meetings.list_candidates(code=V1, query={"month": "2026-12"})
        assert [t["id"] for t in november["items"]] == []
        assert [t["id"] for t in december["items"]] == [deferred]
        assert december["items"][0]["state"] == "deferred"
    # and it can be put on December's agenda
    clock.set_now(at("2026-12-02T09:00:00+08:00"))
    with rpc_as(config) as rpc:
        meeting = schedule(rpc, V1, "2026-12-10T10:00:00+08:00")
        agenda = rpc.meetings.set_agenda(meeting_id=meeting["id"], data={"items": [
            {"topic_id": deferred}]})
        assert [item["topic_id"] for item in agenda["agenda"]] == [deferred]
        assert rpc.meetings.get_topic(topic_id=deferred)["state"] == "scheduled"


def test_merge_adds_supporters_and_reject_needs_a_reason(system):
    config, _, db = system
    with rpc_as(config) as rpc:
        target = propose(rpc, V1, supporters=3)
        duplicate = propose(rpc, V1, supporters=2)
        rpc.meetings.support_topic(topic_id=target["id"], data={"count": 1})
        merged = rpc.meetings.vet_topic(topic_id=duplicate["id"], data={
            "decision": "merge", "merge_into": target["id"]})
        assert merged["state"] == "merged" and merged["merged_into"] == target["id"]
        assert rpc.meetings.get_topic(topic_id=target["id"])["supporters"] == 6
        with pytest.raises(ValidationFailed) as error:
            rpc.meetings.vet_topic(topic_id=target["id"], data={"decision": "reject"})
        assert "reason" in error.value.details
    assert wait_for(lambda: "topic.merged" in db.outbox_types())
    assert db.outbox_data("topic.merged") == [{
        "topic_id": duplicate["id"], "village_code": V1, "merged_into": target["id"],
        "supporters": 6, "source": "villager", "source_ref": None}]


def test_a_consumed_event_delivered_twice_creates_one_topic(system):
    config, _, db = system
    tap = EventTap(config["AMQP_URI"], ("meetings",))
    data = {"petition_id": "PT0001", "village_code": V1, "title": "灌溉渠堵塞",
            "summary": "多户反映灌溉渠堵塞", "platform": "consult", "category": "infrastructure",
            "a_future_field": "ignored"}
    envelope = PETITIONS.envelope("petition.referred_to_meeting", "petition/PT0001",
                                  {k: v for k, v in data.items() if k != "a_future_field"})
    envelope["data"]["a_future_field"] = "ignored"
    publish(config["AMQP_URI"], PETITIONS, "petition.referred_to_meeting", "", {}, envelope)
    publish(config["AMQP_URI"], PETITIONS, "petition.referred_to_meeting", "", {}, envelope)
    # the same petition referred again in another event: still one topic
    publish(config["AMQP_URI"], PETITIONS, "petition.referred_to_meeting", "petition/PT0001",
            {k: v for k, v in data.items() if k != "a_future_field"})
    publish(config["AMQP_URI"], SUPERVISION, "matter.referred_to_meeting", "matter/MA1", {
        "matter_id": "MA1", "village_code": V2, "title": "公示不全", "summary": "财务公示缺项",
        "platform": "supervise"})
    wait_for(lambda: db.count(Topic) == 2)
    wait_for(lambda: len([e for e in tap.drain() if e["type"] == "topic.proposed"]) >= 2)
    with db.reading() as session:
        topics = {t.source: t for t in session.scalars(select(Topic))}
    assert topics["petition"].source_ref == "PT0001"
    assert topics["petition"].title == "灌溉渠堵塞" and topics["petition"].state == "proposed"
    assert topics["supervision"].source_ref == "MA1"
    assert topics["supervision"].platform == "supervise"
    clock.reset()
    eventlet_sleep(0.5)
    assert db.count(Topic) == 2
    proposed = [e for e in tap.drain() if e["type"] == "topic.proposed"]
    assert len(proposed) == 2
    tap.close()


def eventlet_sleep(seconds):
    import eventlet

    eventlet.sleep(seconds)


def test_a_referral_for_an_unknown_village_is_dead_lettered_not_lost(system):
    from kombu import Connection

    from services.chassis.subscriptions import dead_letter_queue

    config, _, db = system
    publish(config["AMQP_URI"], PETITIONS, "petition.referred_to_meeting", "petition/PX", {
        "petition_id": "PX", "village_code": "431102199001", "title": "不明村",
        "summary": "", "platform": "consult", "category": None})
    with Connection(config["AMQP_URI"]) as connection:
        queue = dead_letter_queue("meetings")(connection.channel())

        def dead_letter():
            queue.declare()
            return queue.get(no_ack=True)

        message = wait_for(dead_letter, timeout=15)
    assert message.headers["x-yl-attempts"] == 3
    assert "ValidationFailed" in message.headers["x-yl-error"]
    assert db.count(Topic) == 0


def test_a_copy_that_missed_the_village_events_catches_up_from_the_registry(meetings_system):  # noqa: F811
    clock.set_now(at("2026-11-05T09:00:00+08:00"))
    config, _, db = meetings_system(registry_first=True)  # waits for the three villages
    with rpc_as(config) as rpc:
        assert propose(rpc, V1)["village_code"] == V1


def test_two_simultaneous_requests_get_one_regular_meeting(system):
    import eventlet

    config, _, db = system

    def attempt(day):
        with rpc_as(config) as rpc:
            try:
                schedule(rpc, V1, f"2026-11-{day}T10:00:00+08:00")
                return "created"
            except Conflict as error:
                assert error.details["state"] == ["scheduled"]
                return "conflict"

    results = [eventlet.spawn(attempt, day) for day in (20, 21, 22, 23)]
    outcomes = sorted(thread.wait() for thread in results)
    assert outcomes == ["conflict", "conflict", "conflict", "created"]
    assert db.count(Meeting) == 1


def test_extreme_dates_are_400_naming_the_field_not_500(system):
    config, _, db = system
    with rpc_as(config) as rpc:
        before = db.count(Meeting)
        for starts_at in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:00:00-12:00",
                          "1999-12-31T10:00:00+08:00"):
            with pytest.raises(ValidationFailed) as error:
                schedule(rpc, V1, starts_at)
            assert set(error.value.details) == {"starts_at"}
        assert db.count(Meeting) == before
        for month_to in ("9999-12", "2101-01"):
            with pytest.raises(ValidationFailed) as error:
                rpc.meetings.meeting_stats(query={"month_from": "2026-11", "month_to": month_to})
            assert set(error.value.details) == {"month_to"}
        with pytest.raises(ValidationFailed) as error:
            rpc.meetings.compliance(query={"month": "0001-01"})
        assert set(error.value.details) == {"month"}
        # the last month allowed is computed without overflow
        stats = rpc.meetings.meeting_stats(query={"month_from": "2100-12", "month_to": "2100-12"})
        assert {row["month"] for row in stats["items"]} == {"2100-12"}


def test_a_quorum_role_must_be_the_persons_role_in_the_registry(system):
    config, _, db = system
    with rpc_as(config) as rpc:
        meeting = schedule(rpc, V1, NOV_10)
        rpc.meetings.set_agenda(meeting_id=meeting["id"], data={"items": [
            {"topic_id": accepted_topic(rpc, V1)["id"]}]})
        for attendees, field in (
                # a member claims the liaison role the quorum requires
                ([{"person_id": "C1", "role": "village_cadre"},
                  {"person_id": "M1", "role": "liaison"}], "attendees.1.role"),
                # a cadre claims to be an expert
                ([{"person_id": "C1", "role": "expert"}], "attendees.0.role")):
            with pytest.raises(ValidationFailed) as error:
                rpc.meetings.record_attendance(meeting_id=meeting["id"], data={
                    "attendees": attendees, "villager_representatives": 8})
            assert set(error.value.details) == {field}
        assert db.count(Attendance) == 0
        signed = rpc.meetings.record_attendance(meeting_id=meeting["id"], data={
            "attendees": [{"person_id": "L1", "role": "liaison"},
                          {"person_id": "C1", "role": "village_cadre"},
                          {"person_id": "M1", "role": "cppcc_member"}],
            "villager_representatives": 8})
    assert sorted(a["role"] for a in signed["attendees"]) == [
        "cppcc_member", "liaison", "village_cadre"]


@pytest.mark.skipif(TEST_DB != "postgresql",
                    reason="SQLite takes its write lock at BEGIN: transactions cannot interleave")
def test_two_concurrent_merges_into_one_target_add_up(system):
    import eventlet

    config, _, db = system
    with rpc_as(config) as rpc:
        target = propose(rpc, V1, "村道破损")
        first = propose(rpc, V1, "村道坑洼")
        second = propose(rpc, V1, "路面塌陷")
        rpc.meetings.support_topic(topic_id=second["id"], data={"count": 4})  # 5 supporters

    def merge(topic_id):
        with db.transaction() as tx:
            commands.vet_topic(tx, system_actor("test"), topic_id,
                               {"decision": "merge", "merge_into": target["id"]})
            eventlet.sleep(0.3)  # a slow request: the other merge runs meanwhile

    threads = [eventlet.spawn(merge, topic["id"]) for topic in (first, second)]
    for thread in threads:
        thread.wait()
    with rpc_as(config) as rpc:
        merged = rpc.meetings.get_topic(topic_id=target["id"])
        states = {rpc.meetings.get_topic(topic_id=t["id"])["state"] for t in (first, second)}
    assert merged["supporters"] == 1 + 1 + 5
    assert states == {"merged"}
    assert db.outbox_data("topic.merged")[-1]["supporters"] == 7
