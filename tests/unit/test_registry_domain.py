from decimal import Decimal

import pytest

from services.registry import domain

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("code, township, errors", [
    ("431102102016", "431102102", {}),
    ("43110210201", "431102102", {"code": ["村代码应为 12 位数字"]}),
    ("43110210201X", "431102102", {"code": ["村代码应为 12 位数字"]}),
    ("431102103016", "431102102", {"code": ["村代码应以所属乡镇代码 431102102 开头"]}),
])
def test_village_code_shape_and_prefix(code, township, errors):
    assert domain.village_code_errors(code, township) == errors


@pytest.mark.parametrize("person, missing", [
    ({"role": "liaison", "village_code": "431102102016", "source": "grid_worker"}, set()),
    ({"role": "liaison"}, {"village_code", "source"}),
    ({"role": "cppcc_member", "sector": "农业界"}, {"workstation_id"}),
    ({"role": "village_cadre", "village_code": "431102102016"}, {"post"}),
    ({"role": "expert", "department": "区农业农村局"}, {"field"}),
    ({"role": "department"}, set()),
])
def test_roles_carry_their_required_fields(person, missing):
    assert set(domain.person_errors(person)) == missing


def test_a_member_does_not_belong_to_a_village():
    errors = domain.person_errors({"role": "cppcc_member", "sector": "农业界",
                                   "workstation_id": "WS1", "village_code": "431102102016"})
    assert errors == {"village_code": ["角色 cppcc_member 不隶属于某个村"]}


def test_invalid_liaison_source_is_named():
    errors = domain.person_errors({"role": "liaison", "village_code": "431102102016",
                                   "source": "volunteer"})
    assert list(errors) == ["source"]


def test_changing_role_fields_clears_what_the_role_does_not_use():
    current = {name: None for name in ("name", "role", *domain.OPTIONAL_FIELDS)}
    current.update(name="甲", role="expert", department="区农业农村局", field="农技",
                   phone="13800000000")
    merged = domain.merged_person(current, {"role": "cppcc_leader"})
    assert merged["department"] is None and merged["field"] is None
    assert merged["phone"] == "13800000000"


def test_link_rules():
    assert domain.link_errors("member_village", "cppcc_member", True) == {}
    assert domain.link_errors("member_village", "liaison", True) == {
        "subject_id": ["member_village 的对象应为 cppcc_member"]}
    assert domain.link_errors("leader_township", None, False) == {
        "subject_id": ["对象不存在或已停用"], "target_code": ["乡镇不存在"]}


def test_coverage_lists_every_gap_sorted():
    report = domain.coverage(
        townships=["431102101", "431102102", "431102103"],
        villages=["431102101001", "431102101002", "431102102001"],
        member_villages=["431102101001"],
        liaison_villages=["431102101001", "431102101002"],
        workstation_townships=["431102101", "431102102"],
        leader_townships=["431102101"],
    )
    assert report.villages_without_member == ["431102101002", "431102102001"]
    assert report.villages_without_liaison == ["431102102001"]
    assert report.townships_without_workstation == ["431102103"]
    assert report.townships_outside_leader_area == ["431102102", "431102103"]
    assert not report.complete


def test_money_is_exact():
    assert domain.yuan_to_fen(Decimal("20000.00")) == 2_000_000
    assert domain.yuan_to_fen(Decimal("0.10")) == 10
    assert domain.fen_to_yuan(1_234_567) == Decimal("12345.67")
