"""THE routing table: one entry per event type. Adding a rule is one entry here plus its
three template files (``templates/<event_type with _>.{inbox,email,sms}.txt``).

Each entry names the source service, the priority, who receives it (see ``domain``:
``person(field)``, ``township_officer()``, ``role(name)``, ``village(groups...)``), the
further payload fields its templates read, and optionally a condition. ``docs/notify.md``
lists the fields each rule reads; ``tests/unit/test_notify_rules.py`` keeps both in step and
``tests/unit/test_notify_contract.py`` checks every field against the schema the source
service registers for that event type (its ``schemas.EVENTS``).
"""

from services.notify.domain import (
    HIGH,
    LOW,
    NORMAL,
    URGENT,
    Rule,
    person,
    role,
    township_officer,
    village,
)

# the petitions service's risk levels are low, elevated, high (``petitions.domain.RISK_LEVELS``);
# only a rise to ``high`` (a possible mass incident) is urgent for the township and district
HIGH_RISK = ("high",)

RULES: dict[str, Rule] = {
    # --- petitions (``services/petitions/schemas.py``: PetitionEvent, RiskRaisedEvent) ------
    "petition.assigned": Rule(
        "petitions", NORMAL, (person("responsible_person_id"),),
        reads=("petition_id", "village_code", "due")),
    "petition.due_soon": Rule(
        "petitions", HIGH, (person("responsible_person_id"), township_officer()),
        reads=("petition_id", "due")),
    "petition.overdue": Rule(
        "petitions", HIGH, (person("responsible_person_id"), township_officer()),
        reads=("petition_id", "due")),
    "dispute.risk_raised": Rule(
        "petitions", URGENT, (township_officer(), role("district_admin")),
        reads=("dispute_id", "risk_level"),
        when=lambda data: data.get("risk_level") in HIGH_RISK,
        when_doc="only when `risk_level` is `high`"),
    # --- meetings (``services/meetings/schemas.py``: MeetingEvent, MeetingHeldEvent, ...) ---
    "meeting.scheduled": Rule(
        "meetings", NORMAL, (village("liaisons", "cadres", "contact_members"),),
        reads=("meeting_id", "starts_at")),
    "meeting.reminder_due": Rule(
        "meetings", NORMAL, (village("liaisons", "cadres", "contact_members"),),
        reads=("meeting_id", "starts_at")),
    "meeting.missed": Rule(
        "meetings", NORMAL, (township_officer(),),
        reads=("month", "reason")),
    "meeting.held": Rule(
        "meetings", LOW, (village("contact_members"),),
        reads=("meeting_id", "held_at")),
    "resolution.overdue": Rule(
        "meetings", HIGH, (person("owner_person_id"), township_officer()),
        reads=("resolution_id", "deadline")),
    # --- supervision (``services/supervision/schemas.py``: ClueEvent) ----------------------
    "clue.referred": Rule(
        "supervision", HIGH, (role("discipline_inspector"),),
        reads=("reference_no",)),
}

SOURCES = ("registry", "petitions", "meetings", "supervision")
