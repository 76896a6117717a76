"""THE routing table: one entry per event type. Adding a rule is one entry here plus its
three template files (``templates/<event_type with _>.{inbox,email,sms}.txt``).

Each entry names the source service, the priority, who receives it (see ``domain``:
``person(field)``, ``township_officer()``, ``role(name)``, ``village(groups...)``), the
further payload fields its templates read, and optionally a condition. ``docs/notify.md``
lists the fields each rule reads; ``tests/unit/test_notify_rules.py`` keeps both in step.
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

HIGH_RISK = ("high", "mass_incident")

RULES: dict[str, Rule] = {
    # --- petitions ------------------------------------------------------------------------
    "petition.assigned": Rule(
        "petitions", NORMAL, (person("assignee_id"),),
        reads=("petition_id", "village_code", "due_date")),
    "petition.due_soon": Rule(
        "petitions", HIGH, (person("assignee_id"), township_officer()),
        reads=("petition_id", "due_date")),
    "petition.overdue": Rule(
        "petitions", HIGH, (person("assignee_id"), township_officer()),
        reads=("petition_id", "due_date")),
    "dispute.risk_raised": Rule(
        "petitions", URGENT, (township_officer(), role("district_admin")),
        reads=("dispute_id", "risk_level"),
        when=lambda data: data.get("risk_level") in HIGH_RISK,
        when_doc="only when `risk_level` is `high` or `mass_incident`"),
    # --- meetings -------------------------------------------------------------------------
    "meeting.scheduled": Rule(
        "meetings", NORMAL, (village("liaisons", "cadres", "contact_members"),),
        reads=("meeting_id", "scheduled_for")),
    "meeting.reminder_due": Rule(
        "meetings", NORMAL, (village("liaisons", "cadres", "contact_members"),),
        reads=("meeting_id", "scheduled_for")),
    "meeting.missed": Rule(
        "meetings", NORMAL, (township_officer(),),
        reads=("month", "reason")),
    "meeting.held": Rule(
        "meetings", LOW, (village("contact_members"),),
        reads=("meeting_id", "held_on")),
    "resolution.overdue": Rule(
        "meetings", HIGH, (person("owner_id"), township_officer()),
        reads=("resolution_id", "deadline")),
    # --- supervision ----------------------------------------------------------------------
    "clue.referred": Rule(
        "supervision", HIGH, (role("discipline_inspector"),),
        reads=("clue_id", "reference_no")),
}

SOURCES = ("registry", "petitions", "meetings", "supervision")
