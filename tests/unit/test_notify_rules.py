"""The routing table: every rule has its templates, reads only documented fields, and
adding a rule is one entry."""

import re
from pathlib import Path

import pytest

from services.notify import commands, domain
from services.notify.rules import RULES, SOURCES

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "notify.md"
DERIVED = {"village_name", "event_type"}  # filled in by notify, not read from the payload


def envelope(event_type, **data):
    return {"id": "e-1", "type": event_type, "time": "2026-11-26T02:00:00+00:00",
            "subject": "x/1", "data": data}


@pytest.mark.parametrize("event_type", sorted(RULES))
def test_every_rule_has_its_three_templates_using_only_the_fields_it_reads(event_type):
    rule = RULES[event_type]
    assert rule.source in SOURCES and rule.priority in domain.PRIORITIES
    for channel in (domain.INBOX, domain.EMAIL, domain.SMS):
        path = domain.template_path(domain.template_name(event_type, rule), channel)
        assert path.exists(), f"missing template {path.name}"
        used = domain.placeholders(path.read_text("utf-8"))
        assert used <= set(rule.fields()) | DERIVED, (path.name, used - set(rule.fields()))
    rendered = domain.render_all(domain.template_name(event_type, rule),
                                 {name: f"<{name}>" for name in rule.fields()})
    assert all(message.subject for message in rendered.values())
    assert "$" not in "".join(m.subject + m.body for m in rendered.values())


def test_docs_list_exactly_the_payload_fields_each_rule_reads():
    table = {}
    for line in DOCS.read_text("utf-8").splitlines():
        match = re.match(r"^\| `([a-z_]+\.[a-z_]+)` \| (\w+) \|(.*)\|(.*)\|(.*)\|(.*)\|$", line)
        if match:
            table[match.group(1)] = set(re.findall(r"`([a-z_]+)`", match.group(5)))
    assert set(table) == set(RULES)
    for event_type, rule in RULES.items():
        assert table[event_type] == set(rule.fields()), event_type


def test_recipients_of_the_rules_named_in_the_issue():
    def keys(event_type, **data):
        return commands.plan(envelope(event_type, **data)).keys

    v1 = "431102101001"
    assert keys("petition.assigned", petition_id="X", village_code=v1,
                responsible_person_id="P7") == ["person:P7"]
    assert keys("petition.overdue", village_code=v1, responsible_person_id="P7") == [
        "person:P7", "role:township_officer:431102101"]
    # a deadline before anyone is responsible (acceptance): the township officers only
    assert keys("petition.due_soon", village_code=v1, responsible_person_id=None) == [
        "role:township_officer:431102101"]
    assert keys("meeting.scheduled", village_code=v1) == [
        f"village:{v1}:liaisons", f"village:{v1}:cadres", f"village:{v1}:contact_members"]
    assert keys("resolution.overdue", village_code=v1, owner_person_id="C1") == [
        "person:C1", "role:township_officer:431102101"]
    for lower in ("low", "elevated"):
        assert keys("dispute.risk_raised", village_code=v1, risk_level=lower) == []
    assert keys("dispute.risk_raised", village_code=v1, risk_level="high") == [
        "role:township_officer:431102101", "role:district_admin:district"]
    assert RULES["dispute.risk_raised"].priority == domain.URGENT
    assert keys("clue.referred", reference_no="R") == [
        "role:discipline_inspector:district"]
    assert keys("meeting.missed", village_code=v1, month="2026-11") == [
        "role:township_officer:431102101"]
    assert keys("petition.received", village_code=v1) == []  # no rule: webhooks only


def test_adding_a_rule_is_one_entry():
    rules = {**RULES, "training.scheduled": domain.Rule(
        "registry", domain.LOW, (domain.person("trainer_id"), domain.township_officer()),
        reads=("training_id",))}
    the_plan = commands.plan(envelope("training.scheduled", trainer_id="L1",
                                      village_code="431102102003"), rules)
    assert the_plan.rule is rules["training.scheduled"]
    assert the_plan.keys == ["person:L1", "role:township_officer:431102102"]
    assert rules["training.scheduled"].fields() == ("trainer_id", "village_code", "training_id")
    assert domain.template_name("training.scheduled", the_plan.rule) == "training_scheduled"
