"""The documented contract stays in step with the code: events, endpoints, payload rules."""

from datetime import date
from pathlib import Path

import pytest

from gateway.routes import ROUTES
from services.chassis.events import EventContractError
from services.supervision.schemas import EVENTS

pytestmark = pytest.mark.unit

DOC = (Path(__file__).resolve().parents[2] / "docs" / "supervision.md").read_text("utf-8")

ISSUE_EVENTS = {
    "power.exercise_started", "power.exercise_completed", "power.procedure_violated",
    "disclosure.published", "disclosure.objection_filed", "disclosure.objection_answered",
    "disclosure.corrected", "disclosure.window_closed", "disclosure.finance_missing",
    "matter.raised", "matter.rectified", "matter.overdue", "matter.referred_to_meeting",
    "clue.referred", "clue.acknowledged", "clue.concluded", "clue.overdue"}


def test_every_event_of_the_issue_is_registered_and_documented():
    assert ISSUE_EVENTS <= set(EVENTS.types)
    for name in EVENTS.types:
        assert f"| `{name}` |" in DOC, name


def test_every_supervision_endpoint_is_documented():
    for route in ROUTES:
        if route.rpc and route.rpc[0] == "supervision":
            path = route.path.replace("<", "{").replace(">", "}")
            assert f"`{route.method} {path}`" in DOC, route.name
            assert f"| `{route.rpc[1]}` |" in DOC, route.rpc


def test_matter_referred_follows_the_meetings_contract():
    envelope = EVENTS.envelope("matter.referred_to_meeting", "matter/MT1", {
        "matter_id": "MT1", "village_code": "431102101001", "title": "标题", "summary": "摘要",
        "platform": "supervise"})
    assert set(envelope["data"]) == {"matter_id", "village_code", "title", "summary",
                                     "platform"}
    with pytest.raises(EventContractError):
        EVENTS.envelope("matter.referred_to_meeting", "matter/MT1", {
            "matter_id": "MT1", "village_code": "431102101001", "title": "标题",
            "summary": "摘要", "platform": "consult"})


def test_clue_events_refuse_anything_but_metadata():
    data = {"reference_no": "XS-20261126-ABCDEF", "village_code": "431102101001",
            "category": "benefit_fund", "state": "referred", "outcome": None,
            "referred_on": date(2026, 11, 26), "acknowledge_due": date(2026, 12, 3),
            "conclude_due": date(2027, 2, 24), "acknowledged_on": None, "concluded_on": None,
            "overdue": None}
    EVENTS.envelope("clue.referred", "clue/XS-20261126-ABCDEF", data)
    with pytest.raises(EventContractError):
        EVENTS.envelope("clue.referred", "clue/XS-20261126-ABCDEF",
                        {**data, "content": "不应出现"})
