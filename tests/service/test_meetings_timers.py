"""Month-end, reminders and overdue resolutions with a set clock, on two service instances
sharing one database; compliance numbers for a month of the demo district."""

from collections import Counter

import eventlet
import pytest
import requests

from services.chassis import clock
from services.chassis.actor import system_actor
from services.meetings import commands, domain, monthly
from services.meetings.models import Meeting, MissedMonth, Village
from services.registry.demo import PILOT_VILLAGES, demo_rows
from tests.conftest import TEST_DB
from tests.helpers import EventTap, rpc_as, wait_for
from tests.service.meetings_fixtures import (  # noqa: F401 - fixtures
    QUORUM,
    V1,
    V2,
    V3,
    at,
    demo_csv,
    meetings_system,
)
from tests.service.meetings_flow import accepted_topic, held_meeting, run_timer, schedule

pytestmark = pytest.mark.service

T1, T2 = "431102101", "431102102"
NO_GRACE = {"missed_grace_days": 0}  # the month closes at midnight


def events_of(tap: EventTap, event_type: str) -> list[dict]:
    """Distinct events (by CloudEvents id) of a type. On SQLite two instances' relays may
    send one outbox row twice (no row locks there; see services/chassis/relay.py): the
    copies share the event id, so consumers apply it once. One row means one event."""
    unique = {e["id"]: e["data"] for e in tap.drain() if e["type"] == event_type}
    return list(unique.values())


def settle(tap: EventTap, event_type: str, expected: int) -> list[dict]:
    """Wait for ``expected`` events of a type, then a little longer to catch any extra."""
    wait_for(lambda: len(events_of(tap, event_type)) >= expected)
    eventlet.sleep(0.5)
    unique = events_of(tap, event_type)
    if TEST_DB == "postgresql":  # rows locked FOR UPDATE SKIP LOCKED: not even a copy
        assert len([e for e in tap.events if e["type"] == event_type]) == len(unique)
    return unique


def test_month_end_marks_exactly_the_villages_without_a_held_regular_meeting(meetings_system):  # noqa: F811
    clock.set_now(at("2026-11-05T09:00:00+08:00"))
    config, containers, db = meetings_system(instances=2, meetings=NO_GRACE)
    tap = EventTap(config["AMQP_URI"], ("meetings",))
    # V1 holds its regular meeting; V2 holds only an extra one and leaves its regular one
    # scheduled; V3 schedules nothing but records why
    held_meeting(config, V1, "2026-11-10T10:00:00+08:00")
    clock.set_now(at("2026-11-11T09:00:00+08:00"))
    with rpc_as(config) as rpc:
        schedule(rpc, V2, "2026-11-28T10:00:00+08:00", convener="L2")
        topic = accepted_topic(rpc, V2, "临时议题")
        extra = schedule(rpc, V2, "2026-11-12T10:00:00+08:00", kind="extra", convener="L2")
        rpc.meetings.set_agenda(meeting_id=extra["id"], data={"items": [
            {"topic_id": topic["id"]}]})
        rpc.meetings.record_attendance(meeting_id=extra["id"], data={
            "attendees": [{"person_id": "L2", "role": "liaison"},
                          {"person_id": "M1", "role": "cppcc_member"},
                          {"person_id": "K1", "role": "cppcc_leader"}],
            "villager_representatives": 6})
        rpc.meetings.record_missed_reason(code=V3, data={"month": "2026-11",
                                                         "reason": "村两委换届"})
    clock.set_now(at("2026-11-12T12:00:00+08:00"))
    with rpc_as(config) as rpc:
        rpc.meetings.hold_meeting(meeting_id=extra["id"], data={"minutes": "临时会议"})

    # the last evening of the month: nothing yet
    clock.set_now(at("2026-11-30T23:30:00+08:00"))
    run_timer(containers, "check_month_end")
    with rpc_as(config) as rpc:
        report = rpc.meetings.compliance(query={"month": "2026-11"})
    assert {v["code"]: v["status"] for v in report["villages"]} == {
        V1: "held", V2: "scheduled", V3: "not_scheduled"}
    metrics = requests.get(f"http://{containers[1].config['WEB_SERVER_ADDRESS']}/metrics",
                           timeout=10).text
    for status, value in (("held", 1), ("scheduled", 1), ("missed", 0), ("not_scheduled", 1)):
        assert f'yuelihui_meetings_villages{{status="{status}"}} {value}.0' in metrics

    # just after midnight, both instances run the check at once, twice
    clock.set_now(at("2026-12-01T00:30:00+08:00"))
    run_timer(containers, "check_month_end")
    run_timer(containers, "check_month_end")
    assert monthly.mark_missed(db, clock.now(), 0) == 0  # the plain function, called directly
    missed = settle(tap, "meeting.missed", 2)
    assert sorted((e["village_code"], e["month"], e["reason"]) for e in missed) == [
        (V2, "2026-11", None), (V3, "2026-11", "村两委换届")]
    assert db.outbox_types().count("meeting.missed") == 2
    with rpc_as(config) as rpc:
        report = rpc.meetings.compliance(query={"month": "2026-11"})
        stats = rpc.meetings.meeting_stats(query={"month_from": "2026-11",
                                                  "month_to": "2026-11"})
    assert {v["code"]: (v["status"], v["missed_reason"]) for v in report["villages"]} == {
        V1: ("held", None), V2: ("missed", None), V3: ("missed", "村两委换届")}
    assert report["district"] == {"villages": 3, "held": 1, "scheduled": 0, "missed": 2,
                                  "not_scheduled": 0, "held_rate": 0.3333}
    assert [(t["township_code"], t["villages"], t["held"], t["missed"], t["held_rate"])
            for t in report["townships"]] == [(T1, 2, 1, 1, 0.5), (T2, 1, 0, 1, 0.0)]
    assert [(r["township_code"], r["held"], r["missed"], r["extra_held"])
            for r in stats["items"]] == [(T1, 1, 1, 1), (T2, 0, 1, 0)]
    tap.close()


def test_a_meeting_on_the_last_evening_is_recorded_held_the_next_morning(meetings_system):  # noqa: F811
    """With the default grace period (3 days), the month is not closed at midnight."""
    clock.set_now(at("2026-11-20T09:00:00+08:00"))
    config, containers, db = meetings_system()  # no missed_grace_days: the default
    tap = EventTap(config["AMQP_URI"], ("meetings",))
    with rpc_as(config) as rpc:
        topic = accepted_topic(rpc, V1, "月末议题")
        meeting = schedule(rpc, V1, "2026-11-30T19:30:00+08:00")
        rpc.meetings.set_agenda(meeting_id=meeting["id"], data={"items": [
            {"topic_id": topic["id"]}]})
        rpc.meetings.record_attendance(meeting_id=meeting["id"], data={
            "attendees": [{"person_id": "L1", "role": "liaison"},
                          {"person_id": "C1", "role": "village_cadre"},
                          {"person_id": "M1", "role": "cppcc_member"}],
            "villager_representatives": 6})

    clock.set_now(at("2026-12-01T00:30:00+08:00"))  # the timer runs after midnight
    run_timer(containers, "check_month_end")
    assert db.count(MissedMonth) == 0
    clock.set_now(at("2026-12-01T08:30:00+08:00"))  # the minutes are entered next morning
    with rpc_as(config) as rpc:
        held = rpc.meetings.hold_meeting(meeting_id=meeting["id"], data={"minutes": "月末会议"})
    assert (held["state"], held["month"]) == ("held", "2026-11")

    clock.set_now(at("2026-12-03T23:59:00+08:00"))  # the last day of grace: still open
    run_timer(containers, "check_month_end")
    assert db.count(MissedMonth) == 0
    clock.set_now(at("2026-12-04T00:30:00+08:00"))  # grace over: the month is closed
    run_timer(containers, "check_month_end")
    missed = settle(tap, "meeting.missed", 2)
    assert sorted((e["village_code"], e["month"]) for e in missed) == [
        (V2, "2026-11"), (V3, "2026-11")]
    with rpc_as(config) as rpc:
        report = rpc.meetings.compliance(query={"month": "2026-11"})
    assert {v["code"]: v["status"] for v in report["villages"]} == {
        V1: "held", V2: "missed", V3: "missed"}
    tap.close()


def test_reminder_is_published_once_a_few_days_before(meetings_system):  # noqa: F811
    clock.set_now(at("2026-11-05T09:00:00+08:00"))
    config, containers, db = meetings_system(instances=2)
    with rpc_as(config) as rpc:
        meeting = schedule(rpc, V1, "2026-11-20T10:00:00+08:00")
    clock.set_now(at("2026-11-16T09:00:00+08:00"))  # four days before: not yet
    run_timer(containers, "check_reminders")
    assert "meeting.reminder_due" not in db.outbox_types()
    clock.set_now(at("2026-11-17T08:00:00+08:00"))
    run_timer(containers, "check_reminders")
    clock.set_now(at("2026-11-18T08:00:00+08:00"))
    run_timer(containers, "check_reminders")
    reminders = db.outbox_data("meeting.reminder_due")
    assert [(r["meeting_id"], r["village_code"]) for r in reminders] == [(meeting["id"], V1)]


def test_an_overdue_resolution_publishes_resolution_overdue_once(meetings_system):  # noqa: F811
    clock.set_now(at("2026-11-05T09:00:00+08:00"))
    config, containers, db = meetings_system(instances=2)
    tap = EventTap(config["AMQP_URI"], ("meetings",))
    held, (topic,) = held_meeting(config, V1, "2026-11-10T10:00:00+08:00")
    with rpc_as(config) as rpc:
        rpc.meetings.record_outcomes(meeting_id=held["id"], data={"items": [
            {"topic_id": topic, "outcome": "agreed", "discussion": "同意硬化"}]})
        resolution = rpc.meetings.adopt_resolution(meeting_id=held["id"], data={
            "topic_id": topic, "text": "月底前完成村道硬化", "owner_person_id": "C1",
            "department": "区交通运输局", "deadline": "2026-11-30"})
        rpc.meetings.progress_resolution(resolution_id=resolution["id"],
                                         data={"note": "已备料"})
    clock.set_now(at("2026-11-30T23:59:00+08:00"))  # the deadline day is not over
    run_timer(containers, "check_overdue")
    assert "resolution.overdue" not in db.outbox_types()
    clock.set_now(at("2026-12-01T08:00:00+08:00"))
    run_timer(containers, "check_overdue")
    run_timer(containers, "check_overdue")
    assert monthly.mark_overdue(db, clock.now()) == 0
    overdue = settle(tap, "resolution.overdue", 1)
    assert [(e["resolution_id"], e["state"], e["deadline"]) for e in overdue] == [
        (resolution["id"], "overdue", "2026-11-30")]
    with rpc_as(config) as rpc:
        assert rpc.meetings.get_resolution(resolution_id=resolution["id"])["state"] == "overdue"
        late = rpc.meetings.complete_resolution(resolution_id=resolution["id"],
                                                data={"evidence": "验收照片"})
        assert (late["state"], late["was_overdue"]) == ("done", True)
        stats = rpc.meetings.resolution_stats(query={"month_from": "2026-11",
                                                     "month_to": "2026-11"})
    assert stats["items"] == [{"township_code": T1, "adopted": 1, "done": 1,
                               "done_on_time": 0, "overdue": 0, "open": 0,
                               "completion_rate": 1.0, "average_satisfaction": None}]
    completed = settle(tap, "resolution.completed", 1)
    assert (completed[0]["on_time"], completed[0]["satisfaction"]) == (False, None)

    # villagers rate it: the satisfaction reaches an event
    with rpc_as(config) as rpc:
        rpc.meetings.rate_resolution(resolution_id=resolution["id"], data={"score": 4})
        stats = rpc.meetings.resolution_stats(query={"month_from": "2026-11",
                                                     "month_to": "2026-11"})
    assert stats["items"][0]["average_satisfaction"] == 4.0
    completed = settle(tap, "resolution.completed", 2)  # the tap keeps the first one
    assert [(e["resolution_id"], e["state"], e["on_time"], e["satisfaction"])
            for e in completed] == [(resolution["id"], "done", False, None),
                                    (resolution["id"], "done", False, 4)]
    tap.close()


def test_compliance_of_a_month_in_the_demo_district(meetings_system):  # noqa: F811
    clock.set_now(at("2026-11-02T09:00:00+08:00"))
    config, containers, db = meetings_system(csv=demo_csv(), meetings=NO_GRACE)
    villages = demo_rows()["villages"]
    per_township = Counter(v["township_code"] for v in villages)
    assert db.count(Village) == 334 == sum(per_township.values())
    chaoyang, nanjindu = "431102001", "431102002"
    pilot = PILOT_VILLAGES["石烟塘村"]
    held = [v["code"] for v in villages if v["township_code"] == chaoyang] + [pilot]
    scheduled = [v["code"] for v in villages if v["township_code"] == nanjindu][:10]
    people = {"P1": {"id": "P1", "role": "liaison", "active": True}}
    actor = system_actor("test")
    for code in held + scheduled:
        with db.transaction() as tx:
            meeting = commands.schedule_meeting(tx, actor, code, {
                "kind": "regular", "starts_at": at("2026-11-20T10:00:00+08:00"),
                "place": "协商议事室", "convener_person_id": "P1"}, people, clock.now())
            if code in held:  # the chain up to holding is tested elsewhere
                meeting.state, meeting.held_at = "held", at("2026-11-20T12:00:00+08:00")

    with rpc_as(config) as rpc:
        during = rpc.meetings.compliance(query={"month": "2026-11"})
    assert during["district"] == {"villages": 334, "held": 15, "scheduled": 10, "missed": 0,
                                  "not_scheduled": 309, "held_rate": round(15 / 334, 4)}
    rows = {t["township_code"]: t for t in during["townships"]}
    assert len(rows) == 16
    assert {code: row["villages"] for code, row in rows.items()} == dict(per_township)
    assert (rows[chaoyang]["held"], rows[chaoyang]["held_rate"]) == (14, 1.0)
    assert (rows[nanjindu]["scheduled"], rows[nanjindu]["not_scheduled"]) == (10, 6)
    assert rows["431102102"]["held"] == 1

    clock.set_now(at("2026-12-01T01:00:00+08:00"))
    run_timer(containers, "check_month_end")
    with rpc_as(config) as rpc:
        after = rpc.meetings.compliance(query={"month": "2026-11"})
        officer_view = rpc.meetings.compliance(query={"month": "2026-11",
                                                      "township": nanjindu})
    assert after["district"] == {"villages": 334, "held": 15, "scheduled": 0, "missed": 319,
                                 "not_scheduled": 0, "held_rate": round(15 / 334, 4)}
    assert db.outbox_types().count("meeting.missed") == 319
    assert officer_view["district"]["villages"] == 16
    assert officer_view["district"]["missed"] == 16
    assert db.count(Meeting) == 25


@pytest.mark.skipif(TEST_DB != "postgresql",
                    reason="SQLite takes its write lock at BEGIN: transactions cannot interleave")
def test_a_meeting_held_as_the_grace_period_ends_is_never_also_missed(meetings_system):  # noqa: F811
    clock.set_now(at("2026-11-20T09:00:00+08:00"))
    config, _, db = meetings_system()
    with rpc_as(config) as rpc:
        topic = accepted_topic(rpc, V1, "月末议题")
        meeting = schedule(rpc, V1, "2026-11-30T19:30:00+08:00")
        rpc.meetings.set_agenda(meeting_id=meeting["id"], data={"items": [
            {"topic_id": topic["id"]}]})
        rpc.meetings.record_attendance(meeting_id=meeting["id"], data={
            "attendees": [{"person_id": "L1", "role": "liaison"},
                          {"person_id": "C1", "role": "village_cadre"},
                          {"person_id": "M1", "role": "cppcc_member"}],
            "villager_representatives": 6})

    def hold():  # recorded in the last second of grace, committed a little later
        with db.transaction() as tx:
            commands.hold_meeting(tx, system_actor("test"), meeting["id"], "月末会议",
                                  domain.QuorumRule.from_config(QUORUM),
                                  at("2026-12-03T23:59:59+08:00"))
            eventlet.sleep(0.5)

    holding = eventlet.spawn(hold)
    eventlet.sleep(0.2)  # the hold's transaction is open when the month-end check runs
    marked = monthly.mark_missed(db, at("2026-12-04T00:00:01+08:00"), 3)
    holding.wait()
    assert marked == 2
    assert sorted(e["village_code"] for e in db.outbox_data("meeting.missed")) == [V2, V3]
    with rpc_as(config) as rpc:
        report = rpc.meetings.compliance(query={"month": "2026-11"})
    assert {v["code"]: v["status"] for v in report["villages"]} == {
        V1: "held", V2: "missed", V3: "missed"}
