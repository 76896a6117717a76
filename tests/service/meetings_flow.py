"""Steps of the meeting chain over RPC, shared by the meetings service tests."""

from datetime import datetime, timedelta

import eventlet
from nameko.testing.services import entrypoint_hook

from services.chassis import clock
from tests.helpers import rpc_as

ATTENDEES = {
    "431102101001": [{"person_id": "L1", "role": "liaison"},
                     {"person_id": "C1", "role": "village_cadre"},
                     {"person_id": "M1", "role": "cppcc_member"}],
    "431102101002": [{"person_id": "L2", "role": "liaison"},
                     {"person_id": "M1", "role": "cppcc_member"},
                     {"person_id": "K1", "role": "cppcc_leader"}],
}


def propose(rpc, village, title="修缮村道", platform="consult", **extra):
    data = {"title": title, "description": "村民反映村道破损", "source": "villager",
            "platform": platform, **extra}
    return rpc.meetings.propose_topic(code=village, data=data)


def accepted_topic(rpc, village, title="修缮村道", **extra):
    topic = propose(rpc, village, title, **extra)
    return rpc.meetings.vet_topic(topic_id=topic["id"], data={"decision": "accept"})


def schedule(rpc, village, starts_at, kind="regular", convener="L1"):
    return rpc.meetings.schedule_meeting(code=village, data={
        "kind": kind, "starts_at": starts_at, "place": "村协商议事室",
        "convener_person_id": convener})


def held_meeting(config, village, starts_at, topics=1, experts=()):
    """A regular meeting with ``topics`` accepted topics on its agenda, held with quorum two
    hours after it starts (the clock is left there)."""
    with rpc_as(config) as rpc:
        return _held_meeting(config, rpc, village, starts_at, topics, experts)


def _held_meeting(config, rpc, village, starts_at, topics, experts):
    topic_ids = [accepted_topic(rpc, village, f"议题{i}")["id"] for i in range(topics)]
    meeting = schedule(rpc, village, starts_at, convener=ATTENDEES[village][0]["person_id"])
    rpc.meetings.set_agenda(meeting_id=meeting["id"], data={"items": [
        {"topic_id": tid, "experts": list(experts)} for tid in topic_ids]})
    rpc.meetings.record_attendance(meeting_id=meeting["id"], data={
        "attendees": ATTENDEES[village], "villager_representatives": 8})
    clock.set_now(datetime.fromisoformat(starts_at) + timedelta(hours=2))
    with rpc_as(config) as later:
        held = later.meetings.hold_meeting(meeting_id=meeting["id"], data={"minutes": "会议记录"})
    assert held["state"] == "held"
    return held, topic_ids


def run_timer(containers, method: str) -> None:
    """Fire one timer entrypoint in every container at the same time."""

    def fire(container):
        with entrypoint_hook(container, method) as hook:
            hook()

    threads = [eventlet.spawn(fire, container) for container in containers]
    for thread in threads:
        thread.wait()
