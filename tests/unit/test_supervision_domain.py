"""Pure supervision rules: procedures, money, windows, periods, clue states."""

from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from services.supervision import catalogue, domain
from services.supervision import schemas as s

pytestmark = pytest.mark.unit

FOUR = [key for key, _ in catalogue.FOUR_DELIBERATIONS_TWO_DISCLOSURES]
D = date(2026, 11, 2)


def test_steps_in_order_raise_nothing():
    recorded = {}
    for n, step in enumerate(FOUR):
        assert domain.step_alerts(FOUR, recorded, step, date(2026, 11, 1 + n)) == []
        recorded[step] = date(2026, 11, 1 + n)
    assert domain.completion_alerts(FOUR, set(recorded), set(), False, False) == []


def test_skipping_members_review_is_one_alert_then_not_again_at_completion():
    recorded = {"branch_proposal": D, "committees_deliberation": D}
    alerts = domain.step_alerts(FOUR, recorded, "villagers_resolution", D)
    assert alerts == [domain.Alert("out_of_order", "members_review")]
    recorded.update({"villagers_resolution": D, "resolution_disclosure": D,
                     "result_disclosure": D})
    assert domain.completion_alerts(FOUR, set(recorded), {"members_review"}, False,
                                    False) == []
    # never alerted before: the missing step is reported as skipped at completion
    assert domain.completion_alerts(FOUR, set(recorded), set(), False, False) == [
        domain.Alert("skipped", "members_review")]


def test_a_step_dated_before_an_earlier_step_is_out_of_order():
    recorded = {"branch_proposal": date(2026, 11, 5)}
    assert domain.step_alerts(FOUR, recorded, "committees_deliberation", date(2026, 11, 4)) == [
        domain.Alert("out_of_order", "committees_deliberation")]


def test_benefit_fund_without_disclosure_alerts():
    steps = ["a", "b"]
    assert domain.completion_alerts(steps, {"a", "b"}, set(), True, False) == [
        domain.Alert("no_disclosure", None)]
    assert domain.completion_alerts(steps, {"a", "b"}, set(), True, True) == []


@pytest.mark.parametrize("raw, errors", [
    (Decimal("12.34"), []), (Decimal("0"), []), (Decimal("-0.01"), ["金额不能为负数"]),
    (Decimal("1.234"), ["金额最多两位小数(精确到分)"]), (Decimal("NaN"), ["金额应为有限数值"]),
    (Decimal("1000000000000"), ["金额过大"]),
])
def test_amount_errors(raw, errors):
    assert domain.amount_errors(raw) == errors


def test_money_field_refuses_malformed_and_keeps_exact_fen():
    field = s.DisclosureIn().fields["amount"]
    assert field.deserialize("630000000.10") == Decimal("630000000.10")
    assert field.deserialize(0.1) == Decimal("0.1")
    for bad in ("abc", "-1", "1.001", "Infinity", True):
        with pytest.raises(ValidationError):
            field.deserialize(bad)
    assert domain.yuan_to_fen(Decimal("0.1")) == 10
    assert domain.fen_to_yuan(63000000010) == Decimal("630000000.10")


def test_window_and_deadlines():
    ends = domain.window_ends_on(date(2026, 11, 1), 7)
    assert ends == date(2026, 11, 8)
    assert domain.window_open(ends, date(2026, 11, 8))
    assert not domain.window_open(ends, date(2026, 11, 9))
    assert domain.is_overdue(date(2026, 11, 8), date(2026, 11, 9))
    assert not domain.is_overdue(date(2026, 11, 8), date(2026, 11, 8))


@pytest.mark.parametrize("period, months, previous", [
    ("2026-11", ["2026-11"], "2026-10"),
    ("2026-01", ["2026-01"], "2025-12"),
    ("2026-Q1", ["2026-01", "2026-02", "2026-03"], "2025-Q4"),
    ("2026-Q3", ["2026-07", "2026-08", "2026-09"], "2026-Q2"),
    ("2026", [f"2026-{m:02d}" for m in range(1, 13)], "2025"),
])
def test_periods(period, months, previous):
    assert domain.period_months(period) == months
    assert domain.previous_period(period) == previous


def test_previous_month_and_change():
    assert domain.previous_month(date(2026, 1, 15)) == "2025-12"
    assert domain.previous_month(date(2026, 11, 30)) == "2026-10"
    assert domain.change_percent(3, 4) == Decimal("-25.00")
    assert domain.change_percent(1, 0) is None
    assert domain.rate(1, 3) == Decimal("0.3333")


def test_clue_states_go_forward_only():
    assert domain.clue_next_state("referred", "acknowledge") == "acknowledged"
    assert domain.clue_next_state("acknowledged", "start_review") == "under_review"
    assert domain.clue_next_state("under_review", "conclude") == "concluded"
    assert domain.clue_next_state("referred", "conclude") is None
    assert domain.clue_next_state("concluded", "acknowledge") is None


def test_default_catalogue_covers_the_four_categories_with_unique_steps():
    categories = {item["category"] for item in catalogue.DEFAULT_ITEMS}
    assert categories == set(domain.CATEGORIES)
    for item in catalogue.DEFAULT_ITEMS:
        keys = [key for key, _ in item["steps"]]
        assert len(keys) == len(set(keys)), item["id"]
        if item["category"] == "benefit_fund":
            assert item["requires_disclosure"]
    assert [k for k, _ in catalogue.DEFAULT_ITEMS[0]["steps"]] == FOUR


def test_a_correction_keeps_omitted_fields_and_may_clear_one():
    original = {"amount": Decimal("10.00"), "fund_source": "区财政", "beneficiaries": 5}
    assert domain.corrected_fields(original, {"title": "t", "beneficiaries": 4}) == {
        "title": "t", "amount": Decimal("10.00"), "fund_source": "区财政", "beneficiaries": 4}
    cleared = domain.corrected_fields(original, {"fund_source": None})
    assert cleared["fund_source"] is None and cleared["amount"] == Decimal("10.00")
    assert domain.disclosure_kind_errors({"kind": "finance", "amount": None}) == {
        "finance_month": ["财务公开须注明所属月份"], "amount": ["此类公开须填写金额"]}
