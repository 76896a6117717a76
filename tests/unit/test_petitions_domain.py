"""Petitions rules without broker or database: transitions, deadlines, receipts, figures."""

from datetime import date
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet

from services.chassis.actor import Actor
from services.chassis.errors import Conflict
from services.chassis.vault import Vault
from services.petitions import access, domain
from services.petitions.domain import Deadline, Rules


def test_transitions_follow_the_lifecycle_and_name_the_state_when_refused():
    state = "received"
    for action in ("accept", "assign", "start", "answer", "request_review", "review",
                   "request_reexam", "reexamine", "close"):
        state = domain.transition(action, state)
    assert state == "closed"
    assert domain.transition("extend", "assigned") == "assigned"
    with pytest.raises(Conflict) as refused:
        domain.transition("answer", "received")
    assert refused.value.details == {"state": ["received"]}
    assert "已登记" in refused.value.message and "received" in refused.value.message
    for final in domain.FINAL:
        for action in domain.TRANSITIONS:
            with pytest.raises(Conflict):
                domain.transition(action, final)


def _petition(**values):
    base = {"state": "received", "accept_due": date(2026, 3, 17), "handle_due": None,
            "escalation_due": None, "review_due": None, "reexam_due": None}
    return SimpleNamespace(**{**base, **values})


def test_open_deadlines_per_state():
    assert domain.open_deadlines(_petition()) == [Deadline("accept", date(2026, 3, 17))]
    handling = _petition(state="assigned", handle_due=date(2026, 5, 1),
                         escalation_due=date(2026, 4, 1))
    assert domain.open_deadlines(handling) == [Deadline("handle", date(2026, 5, 1)),
                                               Deadline("escalation", date(2026, 4, 1))]
    assert domain.open_deadlines(_petition(state="answered")) == []
    assert domain.open_deadlines(_petition(state="review_requested",
                                           review_due=date(2026, 6, 1))) == [
        Deadline("review", date(2026, 6, 1))]


@pytest.mark.parametrize(("today", "signal"), [
    (date(2026, 4, 27), None), (date(2026, 4, 28), "due_soon"), (date(2026, 5, 1), "due_soon"),
    (date(2026, 5, 2), "overdue")])
def test_deadline_signal_by_calendar_day(today, signal):
    assert domain.deadline_signal(Deadline("handle", date(2026, 5, 1)), today, 3) == signal


def test_once_key_changes_with_the_due_day():
    first = domain.once_key("due_soon", "PT1", "handle", date(2026, 5, 1))
    extended = domain.once_key("due_soon", "PT1", "handle", date(2026, 5, 31))
    assert first != extended and "2026-05-31" in extended


def test_extension_once_and_bounded():
    rules = Rules()
    assert domain.extension_errors(30, rules, False) == {}
    assert "days" in domain.extension_errors(31, rules, False)
    assert "days" in domain.extension_errors(0, rules, False)
    assert "days" in domain.extension_errors(5, rules, True)


def test_rules_from_config_override_defaults():
    rules = Rules.from_config({"PETITIONS": {"accept_days": "10", "categories": ["land"]},
                               "DISPUTES": {"followup_days": 7}})
    assert (rules.accept_days, rules.categories, rules.followup_days, rules.handle_days) == (
        10, ("land",), 7, 60)


def test_receipt_codes_are_long_random_digits_stored_as_hashes():
    codes = {domain.new_receipt_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(domain.RECEIPT_PATTERN.match(code) and len(code) >= 16 for code in codes)
    code = codes.pop()
    assert domain.receipt_hash(code) != code and len(domain.receipt_hash(code)) == 64
    assert code not in domain.receipt_hash(code)


def test_identity_leaks_finds_name_phone_or_id_number():
    identity = {"name": "王秀英", "phone": "13912345678", "id_number": None}
    assert domain.identity_leaks("王秀英反映占地", identity) == ["name"]
    assert domain.identity_leaks("电话13912345678", identity) == ["phone"]
    assert domain.identity_leaks("村道占地", identity) == []
    assert domain.identity_leaks("王秀英", None) == []


def test_periods_and_on_time_rates():
    assert domain.month_bounds("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    assert domain.previous_period("2026-01") == "2025-12"
    cutoff = date(2026, 2, 1)
    assert domain.on_time([(date(2026, 1, 2), date(2026, 1, 2)),
                           (date(2026, 1, 3), date(2026, 1, 2)), (None, None)], cutoff) == {
        "total": 2, "on_time": 1, "rate": 0.5}
    assert domain.on_time([], cutoff)["rate"] is None


def test_unfinished_items_past_their_due_day_count_as_late():
    cutoff = date(2026, 2, 1)
    # a township that never answers: no perfect rate
    assert domain.on_time([(None, date(2026, 1, 20))], cutoff) == {
        "total": 1, "on_time": 0, "rate": 0.0}
    # still within its time limit at the cutoff (or due on it): not counted yet
    assert domain.on_time([(None, date(2026, 2, 1)), (None, date(2026, 2, 20))], cutoff) == {
        "total": 0, "on_time": 0, "rate": None}
    assert domain.on_time([(date(2026, 1, 5), date(2026, 1, 10)), (None, date(2026, 1, 10))],
                          cutoff)["rate"] == 0.5


def test_risk_raised_only_upwards():
    assert domain.risk_raised("low", "high") and domain.risk_raised("elevated", "high")
    assert not domain.risk_raised("high", "elevated") and not domain.risk_raised("low", "low")


def test_vault_rotation_keeps_data_readable_with_the_new_key_only():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = Vault(old).encrypt({"name": "王秀英"})
    assert "王秀英" not in token
    both = Vault(f"{new},{old}")
    rotated = both.rotate(token)
    assert Vault(new).decrypt(rotated) == {"name": "王秀英"}
    with pytest.raises(RuntimeError):
        Vault(new).decrypt(token)


def test_identity_access_by_role():
    petition = SimpleNamespace(village_code="431102101001", responsible_person_id="C1",
                               filed_by="liaison1", referred_to_supervision=True)
    allowed = [Actor(roles=("district_admin",), username="admin"),
               Actor(roles=("township_officer",), username="o1", townships=("431102101",)),
               Actor(roles=("department_officer",), username="c1", person_id="C1"),
               Actor(roles=("liaison",), username="liaison1", villages=("431102101001",))]
    refused = [Actor(roles=("township_officer",), username="o2", townships=("431102102",)),
               Actor(roles=("liaison",), username="liaison9", villages=("431102101001",)),
               Actor(roles=("discipline_inspector",), username="inspector"),
               Actor(roles=("public",)), Actor(roles=("system",), service="petitions")]
    assert all(access.can_read_identity(a, petition) for a in allowed)
    assert not any(access.can_read_identity(a, petition) for a in refused)
    assert access.can_read_petition(refused[2], petition)  # the inspector reads the referral
    assert not access.can_read_petition(refused[3], petition)
