"""The registry through the gateway: validation, errors, access rules, over real HTTP."""

import pytest

from services.registry.models import Base as RegistryBase
from tests.e2e.district import T1, T2, V1, V2, V3
from tests.helpers import table_counts

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def assert_problem(response, status, field=None):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    if field:
        assert field in body["errors"], body
        assert all(isinstance(reason, str) and reason for reason in body["errors"][field])
    assert "Traceback" not in response.text
    return body


BAD_REQUESTS = [
    # (user, method, path, kwargs, status, field)
    ("admin", "POST", "/villages", {"json": {"code": "43110210100", "name": "短码村",
                                             "township_code": T1}}, 400, "code"),
    ("admin", "POST", "/villages", {"json": {"code": "431102102009", "name": "错镇村",
                                             "township_code": T1}}, 400, "code"),
    ("admin", "POST", "/villages", {"json": {"code": "431102199001", "name": "无镇村",
                                             "township_code": "431102199"}}, 400, "township_code"),
    ("admin", "POST", "/villages", {"json": {"code": V1, "name": "重复村",
                                             "township_code": T1}}, 409, "code"),
    ("admin", "POST", "/villages", {"json": {"code": "431102101009", "name": "",
                                             "township_code": T1}}, 400, "name"),
    ("admin", "POST", "/villages", {"json": {"code": "431102101009", "name": "多字段村",
                                             "township_code": T1, "mayor": "x"}}, 400, "mayor"),
    ("admin", "POST", "/villages", {"data": "{not json", "headers": {
        "Content-Type": "application/json"}}, 400, "body"),
    ("admin", "POST", "/villages", {"json": ["a", "list"]}, 400, "body"),
    ("admin", "POST", "/villages", {"data": b"{" + b" " * (1 << 20) + b"}"}, 413, None),
    ("admin", "POST", "/people", {"json": {"name": "无村联络员", "role": "liaison"}}, 400,
     "village_code"),
    ("admin", "POST", "/people", {"json": {"name": "坏来源", "role": "liaison", "village_code": V1,
                                           "source": "volunteer"}}, 400, "source"),
    ("admin", "POST", "/people", {"json": {"name": "坏电话", "role": "department",
                                           "phone": "call me"}}, 400, "phone"),
    ("admin", "POST", "/people", {"json": {"name": "无村", "role": "resident_cadre",
                                           "village_code": "431102101099"}}, 400, "village_code"),
    ("admin", "POST", "/links", {"json": {"kind": "member_village", "subject_id": "L1",
                                          "target_code": V2}}, 400, "subject_id"),
    ("admin", "POST", "/links", {"json": {"kind": "member_village", "subject_id": "M1",
                                          "target_code": V1}}, 409, "target_code"),
    ("admin", "POST", "/trainings", {"json": {"date": "2026-13-01", "subject": "培训",
                                              "attendees": ["L1"]}}, 400, "date"),
    ("admin", "POST", "/trainings", {"json": {"date": "2026-03-01", "subject": "培训",
                                              "attendees": ["M1"]}}, 400, "attendees"),
    ("admin", "GET", "/villages", {"params": {"page_size": "1000"}}, 400, "page_size"),
    ("admin", "GET", "/villages", {"params": {"page": "first"}}, 400, "page"),
    ("admin", "PATCH", "/villages/431102101099", {"json": {"name": "不存在村"}}, 404, None),
    ("admin", "PATCH", f"/villages/{V1}", {"json": {"pilot": "maybe"}}, 400, "pilot"),
    ("admin", "POST", "/people/NOBODY/deactivate", {}, 404, None),
    ("admin", "GET", "/no/such/endpoint", {}, 404, None),
    ("admin", "POST", "/import/villages", {"data": "code,name\n431102101009,缺列村\n".encode()},
     400, "1.township_code"),
    ("admin", "POST", "/import/planets", {"data": b"name\nMars\n"}, 400, "kind"),
]


@pytest.mark.parametrize("user, method, path, kwargs, status, field", BAD_REQUESTS,
                         ids=[f"{r[1]} {r[2]} {r[4]} {r[5]}" for r in BAD_REQUESTS])
def test_bad_input_gets_a_clear_error_and_changes_nothing(system, user, method, path, kwargs,
                                                          status, field):
    before = table_counts(system.registry_url, RegistryBase.metadata)
    response = system.api.as_user(user).request(method, path, **kwargs)
    assert_problem(response, status, field)
    assert table_counts(system.registry_url, RegistryBase.metadata) == before


def test_import_reports_every_bad_row_with_its_line_and_writes_nothing(system):
    before = table_counts(system.registry_url, RegistryBase.metadata)
    csv = ("code,name,township_code,kind,pilot,consultation_room\n"
           f"431102101010,好村,{T1},village,false,\n"
           f"43110210101,短码村,{T1},village,false,\n"
           f"431102102011,错镇村,{T1},village,false,\n"
           f"431102101012,坏类村,{T1},hamlet,false,\n"
           f"431102101010,重复村,{T1},village,false,\n")
    response = system.api.as_user("admin").post("/import/villages", data=csv.encode())
    body = assert_problem(response, 400)
    assert set(body["errors"]) == {"3.code", "4.code", "5.kind", "6.code"}
    assert body["errors"]["6.code"] == ["与第 2 行重复"]
    assert table_counts(system.registry_url, RegistryBase.metadata) == before


def test_import_writes_all_rows_and_is_harmless_twice(system):
    csv = ("code,name,township_code,kind,pilot,consultation_room\n"
           f"431102101010,甲村,{T1},village,false,甲村协商议事室\n"
           f"431102102010,乙村,{T2},community,false,\n").encode()
    admin = system.api.as_user("admin")
    first = admin.post("/import/villages", data=csv)
    assert first.status_code == 200, first.text
    assert first.json() == {"kind": "villages", "rows": 2, "created": 2, "updated": 0,
                            "unchanged": 0}
    again = admin.post("/import/villages", data=csv).json()
    assert again["unchanged"] == 2 and again["created"] == 0
    assert admin.get("/villages").json()["total"] == 5


def test_create_update_and_deactivate_a_person(system):
    admin = system.api.as_user("admin")
    created = admin.post("/people", json={"name": "新联络员", "role": "liaison",
                                          "village_code": V2, "source": "reserve_cadre",
                                          "phone": "13900000000"})
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["role"] == "liaison" and person["phone"] == "13900000000"
    updated = admin.patch(f"/people/{person['id']}", json={"source": "grid_worker"}).json()
    assert updated["source"] == "grid_worker"
    gone = admin.post(f"/people/{person['id']}/deactivate")
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert_problem(admin.post(f"/people/{person['id']}/deactivate"), 409)
    listed = admin.get("/people", params={"village": V2, "role": "liaison"}).json()
    assert [p["id"] for p in listed["items"]] == ["L2"]  # deactivated people are kept, not listed
    with_inactive = admin.get("/people", params={"village": V2, "include_inactive": "true"})
    assert person["id"] in [p["id"] for p in with_inactive.json()["items"]]


def test_village_detail_lists_its_contacts(system):
    detail = system.api.as_user("admin").get(f"/villages/{V1}").json()
    assert detail["name"] == "一村" and detail["township_name"] == "测试一镇"
    assert [p["id"] for p in detail["contact_members"]] == ["M1"]
    assert [p["id"] for p in detail["liaisons"]] == ["L1"]
    assert [p["id"] for p in detail["cadres"]] == ["C1"]


def test_paging_and_name_search(system):
    admin = system.api.as_user("admin")
    page = admin.get("/villages", params={"township": T1, "page_size": 1, "page": 2}).json()
    assert page["total"] == 2 and [v["code"] for v in page["items"]] == [V2]
    found = admin.get("/villages", params={"q": "三"}).json()
    assert [v["code"] for v in found["items"]] == [V3]


def test_coverage_through_the_api(system):
    report = system.api.as_user("admin").get("/coverage").json()
    assert report["complete"] is False
    assert [v["code"] for v in report["villages_without_member"]] == [V2, V3]
    assert [v["code"] for v in report["villages_without_liaison"]] == [V3]
    assert [t["code"] for t in report["townships_without_workstation"]] == [T2]
    assert [t["code"] for t in report["townships_outside_leader_area"]] == [T2]


# --- access ------------------------------------------------------------------------------

def test_no_token_is_401_and_a_bad_token_is_401(system):
    anonymous = system.api.as_user(None)
    body = assert_problem(anonymous.get("/people"), 401)
    assert body["detail"] == "此操作需要登录"
    assert anonymous.get("/people").headers["WWW-Authenticate"] == "Bearer"
    assert_problem(anonymous.get("/people", headers={"Authorization": "Bearer not.a.jwt"}), 401)
    assert_problem(anonymous.get("/people", headers={"Authorization": "Basic YWRtaW4="}), 401)


def test_wrong_password_is_401(system):
    response = system.api.http.post(system.api.url("/auth/token"),
                                    json={"username": "admin", "password": "wrong-password"})
    assert_problem(response, 401)
    assert response.json()["detail"] == "用户名或密码错误"


def test_a_liaison_reads_only_its_own_villages_people(system):
    liaison = system.api.as_user("liaison1")
    own = liaison.get("/people", params={"village": V1})
    assert own.status_code == 200 and {p["id"] for p in own.json()["items"]} == {"L1", "C1"}
    assert_problem(liaison.get("/people", params={"village": V2}), 403)
    assert_problem(liaison.get("/people/L2"), 403)
    everyone = {p["id"] for p in liaison.get("/people").json()["items"]}
    assert "L2" not in everyone and {"L1", "M1", "E1"} <= everyone
    other_village = liaison.get(f"/villages/{V2}").json()
    assert "liaisons" not in other_village


def test_writes_need_the_district_or_the_townships_officer(system):
    officer1, officer2 = system.api.as_user("officer1"), system.api.as_user("officer2")
    village = {"code": "431102101020", "name": "新村", "township_code": T1}
    assert_problem(officer2.post("/villages", json=village), 403)
    assert officer1.post("/villages", json=village).status_code == 201
    assert_problem(system.api.as_user("liaison1").post("/villages", json={
        **village, "code": "431102101021"}), 403)
    assert_problem(officer1.post("/townships", json={"code": "431102120", "name": "新镇",
                                                    "kind": "township"}), 403)


def test_public_reads_township_and_village_names_only(system):
    anonymous = system.api.as_user(None)
    villages = anonymous.get("/villages").json()
    assert villages["total"] == 3
    assert set(villages["items"][0]) == {"code", "name", "township_code"}
    assert set(anonymous.get(f"/villages/{V1}").json()) == {"code", "name", "township_code"}
    assert set(anonymous.get("/townships").json()["items"][0]) == {"code", "name",
                                                                   "township_code"}


def test_phones_only_for_roles_that_need_them(system):
    assert system.api.as_user("admin").get("/people/L1").json()["phone"] == "13800000001"
    assert system.api.as_user("officer1").get("/people/L1").json()["phone"] == "13800000001"
    assert "phone" not in system.api.as_user("officer2").get("/people/L1").json()
    assert "phone" not in system.api.as_user("member1").get("/people/L1").json()
    assert "phone" not in system.api.as_user("liaison1").get("/people/L1").json()


def test_a_service_that_is_down_is_a_503_not_a_hang(start_system):
    system = start_system(extra_config={"gateway": {"RPC_TIMEOUT": 2}})
    admin = system.api.as_user("admin")
    system.containers["registry"].stop()
    assert_problem(admin.get("/villages"), 503)


def test_password_guessing_is_throttled_per_username_and_address(start_system):
    from datetime import timedelta

    from services.chassis import clock

    # behind one trusted proxy (an ingress) that appends the caller's address
    system = start_system(extra_config={"gateway": {"TRUSTED_PROXIES": 1}})

    def login(username, password, address="203.0.113.7"):
        return system.api.http.post(system.api.url("/auth/token"),
                                    json={"username": username, "password": password},
                                    headers={"X-Forwarded-For": address})

    for _ in range(5):
        assert login("officer1", "guess-guess").status_code == 401
    refused = login("officer1", "test-password-1")  # even the right password, for a while
    body = assert_problem(refused, 429)
    assert "15 分钟" in body["detail"]
    assert login("officer2", "test-password-1").status_code == 200  # other accounts
    # the account's owner elsewhere is not locked out by someone guessing
    assert login("officer1", "test-password-1", "198.51.100.4").status_code == 200
    clock.advance(timedelta(minutes=16))
    assert login("officer1", "test-password-1").status_code == 200
