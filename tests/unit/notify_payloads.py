"""Payloads of the events notify routes, built with the publishers' own ``EVENTS`` catalogs.

``envelope(event_type, **overrides)`` returns an envelope the source service could really
publish: its catalog checks ``data`` against the registered schema and refuses unknown or
missing fields. A publisher that renames a field breaks every notify test using it.
"""

from datetime import UTC, date, datetime

from services.chassis.events import EventCatalog
from services.meetings.schemas import EVENTS as MEETINGS
from services.petitions.schemas import EVENTS as PETITIONS
from services.registry.schemas import EVENTS as REGISTRY
from services.supervision.schemas import EVENTS as SUPERVISION

V1 = "431102101001"
CATALOGS: dict[str, EventCatalog] = {c.source: c for c in (PETITIONS, MEETINGS, SUPERVISION,
                                                           REGISTRY)}


def _petition(village_code: str) -> dict:
    return {"petition_id": "PT-1", "village_code": village_code,
            "township_code": village_code[:9], "category": "land", "channel": "online",
            "agri_related": True, "state": "assigned", "responsible_person_id": "P1",
            "stage": "handle", "due": date(2026, 12, 31)}


def _dispute(village_code: str) -> dict:
    return {"dispute_id": "DP-1", "village_code": village_code,
            "township_code": village_code[:9], "type": "land", "state": "mediating",
            "risk_level": "high", "party_count": 2, "previous_level": "elevated",
            "urgent": True}


def _meeting(village_code: str) -> dict:
    return {"meeting_id": "MT-1", "village_code": village_code, "month": "2026-12",
            "kind": "regular", "starts_at": datetime(2026, 12, 5, 1, 0, tzinfo=UTC),
            "convener_person_id": "C1"}


def _held(village_code: str) -> dict:
    return {"meeting_id": "MT-1", "village_code": village_code, "month": "2026-11",
            "kind": "regular", "held_at": datetime(2026, 11, 25, 1, 30, tzinfo=UTC),
            "attendees": [{"person_id": "C1", "role": "village_cadre"}],
            "villager_representatives": 12, "topic_ids": ["TP-1"]}


def _missed(village_code: str) -> dict:
    return {"village_code": village_code, "township_code": village_code[:9],
            "month": "2026-10", "reason": "未按期召开"}


def _resolution(village_code: str) -> dict:
    return {"resolution_id": "RS-1", "meeting_id": "MT-1", "topic_id": "TP-1",
            "village_code": village_code, "owner_person_id": "C1", "department": None,
            "deadline": date(2026, 11, 20), "state": "overdue"}


def _clue(village_code: str) -> dict:
    return {"reference_no": "LX-2026-001", "village_code": village_code, "category": "funds",
            "state": "referred", "referred_on": date(2026, 11, 26),
            "acknowledge_due": date(2026, 12, 3), "conclude_due": date(2027, 1, 25)}


SAMPLES = {
    "petition.assigned": ("petitions", _petition),
    "petition.due_soon": ("petitions", _petition),
    "petition.overdue": ("petitions", _petition),
    "dispute.risk_raised": ("petitions", _dispute),
    "meeting.scheduled": ("meetings", _meeting),
    "meeting.reminder_due": ("meetings", _meeting),
    "meeting.held": ("meetings", _held),
    "meeting.missed": ("meetings", _missed),
    "resolution.overdue": ("meetings", _resolution),
    "clue.referred": ("supervision", _clue),
}


def payload(event_type: str, village_code: str = V1, **overrides) -> dict:
    """A complete ``data`` for ``event_type`` as its publisher sends it."""
    _, build = SAMPLES[event_type]
    return {**build(village_code), **overrides}


def catalog_of(event_type: str) -> EventCatalog:
    return CATALOGS[SAMPLES[event_type][0]]


def envelope(event_type: str, subject: str | None = None, village_code: str = V1,
             **overrides) -> dict:
    """The CloudEvents envelope, checked by the publisher's catalog (raises if it breaks)."""
    data = payload(event_type, village_code, **overrides)
    key = next((v for k, v in data.items() if k.endswith("_id") or k == "reference_no"), "x")
    return catalog_of(event_type).envelope(event_type, subject or f"{event_type}/{key}", data)
