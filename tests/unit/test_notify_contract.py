"""Notify's rules against the publishers' registered event schemas (``schemas.EVENTS``).

A rule may only name an event type its source service registers, and read (or route on)
fields that the registered schema of that type has. A publisher renaming a field, or a rule
written against a guessed field name, fails here, in the unit tier.
"""

import pytest
from marshmallow import fields, validate
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.chassis.subscriptions import EventSubscription
from services.contracts import catalogs
from services.notify import commands, domain
from services.notify.rules import HIGH_RISK, RULES, SOURCES
from services.notify.service import NotifyService
from services.petitions import domain as petitions_domain
from tests.unit.notify_payloads import SAMPLES, envelope, payload

pytestmark = pytest.mark.unit

PUBLISHED = {catalog.source: catalog for catalog in catalogs()}


def contract_violations(rules: dict[str, domain.Rule]) -> list[str]:
    """Everything in ``rules`` that the publishers' registered schemas do not back."""
    problems = []
    for event_type, rule in rules.items():
        catalog = PUBLISHED.get(rule.source)
        if catalog is None:
            problems.append(f"{event_type}: source {rule.source!r} publishes no events")
            continue
        registered = catalog.types.get(event_type)
        if registered is None:
            problems.append(f"{event_type}: {rule.source} does not publish it")
            continue
        known = set(registered.schema().fields)
        for name in rule.fields():  # recipient fields (person, village) and `reads`
            if name not in known:
                problems.append(f"{event_type}: {rule.source} sends no field {name!r}")
    return problems


def test_every_rule_reads_only_fields_its_publisher_sends():
    assert contract_violations(RULES) == []


def test_every_rule_source_is_a_service_notify_subscribes_to():
    subscribed = {}  # source → the patterns of NotifyService's @subscribe entrypoints
    for member in vars(NotifyService).values():
        for entrypoint in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, EventSubscription):
                subscribed.setdefault(entrypoint.source, []).append(entrypoint.event_type)
    for event_type, rule in RULES.items():
        assert rule.source in SOURCES and rule.source in PUBLISHED, event_type
        assert domain.wants(subscribed.get(rule.source, ()), event_type), event_type


@pytest.mark.parametrize("broken,expected", [
    # the field names notify used to guess, before the publishers existed
    ({"petition.assigned": domain.Rule("petitions", domain.NORMAL, (domain.person("assignee_id"),),
                                       reads=("due_date",))},
     ["petition.assigned: petitions sends no field 'assignee_id'",
      "petition.assigned: petitions sends no field 'due_date'"]),
    ({"meeting.held": domain.Rule("meetings", domain.LOW, (domain.village("contact_members"),),
                                  reads=("held_on",))},
     ["meeting.held: meetings sends no field 'held_on'"]),
    ({"resolution.overdue": domain.Rule("meetings", domain.HIGH, (domain.person("owner_id"),))},
     ["resolution.overdue: meetings sends no field 'owner_id'"]),
    ({"clue.referred": domain.Rule("supervision", domain.HIGH,
                                   (domain.role("discipline_inspector"),), reads=("clue_id",))},
     ["clue.referred: supervision sends no field 'clue_id'"]),
    # a village-routed rule on an event without a village
    ({"village.updated": domain.Rule("registry", domain.LOW, (domain.township_officer(),))},
     ["village.updated: registry sends no field 'village_code'"]),
    # event types nobody publishes, or published by another service
    ({"petition.reminded": domain.Rule("petitions", domain.LOW, (domain.person("x"),))},
     ["petition.reminded: petitions does not publish it"]),
    ({"clue.referred": domain.Rule("petitions", domain.HIGH, (domain.role("x"),))},
     ["clue.referred: petitions does not publish it"]),
    ({"training.scheduled": domain.Rule("training", domain.LOW, ())},
     ["training.scheduled: source 'training' publishes no events"]),
])
def test_the_contract_check_catches_guessed_fields_and_unpublished_types(broken, expected):
    assert contract_violations(broken) == expected


def test_person_recipient_fields_are_ids_and_village_fields_are_village_codes():
    for event_type, rule in RULES.items():
        schema = PUBLISHED[rule.source].types[event_type].schema()
        wire = envelope(event_type)["data"]
        for recipients in rule.recipients:
            for name in recipients.reads:
                assert isinstance(schema.fields[name], fields.String), (event_type, name)
                if name == "village_code":  # 12 digits: township_officer() takes 9 of them
                    assert "village_code" in schema.validate({**wire, name: "4311021"})


def test_dispute_risk_condition_uses_the_petitions_risk_levels():
    schema = PUBLISHED["petitions"].types["dispute.risk_raised"].schema()
    choices = next(v.choices for v in schema.fields["risk_level"].validators
                   if isinstance(v, validate.OneOf))
    assert list(choices) == list(petitions_domain.RISK_LEVELS) == ["low", "elevated", "high"]
    assert set(HIGH_RISK) <= set(choices)
    rule = RULES["dispute.risk_raised"]
    routed = [level for level in choices
              if rule.recipient_keys(payload("dispute.risk_raised", risk_level=level))]
    assert routed == ["high"]


def test_samples_cover_every_rule():
    assert set(SAMPLES) == set(RULES)


@pytest.mark.parametrize("event_type", sorted(RULES))
def test_a_real_payload_reaches_recipients_and_fills_every_placeholder(event_type):
    """Built by the publisher's catalog (schema-checked), the event is routed and its three
    templates render without a single missing field ("—")."""
    event = envelope(event_type)
    the_plan = commands.plan(event)
    assert the_plan.rule is RULES[event_type]
    assert the_plan.keys, event_type
    rule = RULES[event_type]
    values = {**event["data"], "village_name": "一村", "event_type": event_type}
    for channel, message in domain.render_all(domain.template_name(event_type, rule),
                                              values).items():
        text = message.subject + message.body
        assert domain.MISSING not in text and "$" not in text, (event_type, channel, text)
