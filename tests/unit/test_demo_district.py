"""Shape of the demo district: the importer, the loop report and the e2e tests rely on it."""

import csv
import re
from collections import Counter

import pytest

from services.registry import demo

pytestmark = pytest.mark.unit

# Columns each role must fill; every other column must be ''.
REQUIRED = {
    "cppcc_member": {"sector", "workstation_id"},
    "cppcc_leader": set(),
    "liaison": {"village_code", "source"},
    "village_cadre": {"village_code", "post"},
    "resident_cadre": {"village_code"},
    "expert": {"department", "field"},
    "department": set(),
}


@pytest.fixture(scope="module")
def rows():
    return demo.demo_rows()


@pytest.fixture(scope="module")
def by_id(rows):
    return {p["id"]: p for p in rows["people"]}


def links_of(rows, kind):
    return [
        (link["subject_id"], link["target_code"]) for link in rows["links"] if link["kind"] == kind
    ]


def test_columns_and_kinds_are_the_import_contract(rows):
    assert demo.KINDS == ("townships", "villages", "workstations", "people", "links", "trainings")
    assert tuple(rows) == demo.KINDS
    assert demo.COLUMNS["villages"] == [
        "code",
        "name",
        "township_code",
        "kind",
        "pilot",
        "consultation_room",
    ]
    for kind in demo.KINDS:
        for row in rows[kind]:
            assert list(row) == demo.COLUMNS[kind]
            assert all(isinstance(value, str) for value in row.values())


def test_townships(rows):
    townships = rows["townships"]
    assert len(townships) == 16
    codes = [t["code"] for t in townships]
    assert len(set(codes)) == 16
    assert len({t["name"] for t in townships}) == 16
    for township in townships:
        assert re.fullmatch(r"431102\d{3}", township["code"])
        if township["kind"] == "street":
            assert township["name"].endswith("街道")
            assert "431102001" <= township["code"] <= "431102005"
        else:
            assert township["kind"] == "township"
            assert township["name"][-1] in "镇乡"
            assert township["code"] >= "431102100"
    assert Counter(t["kind"] for t in townships) == {"street": 5, "township": 11}


def test_villages(rows):
    township_codes = {t["code"] for t in rows["townships"]}
    villages = rows["villages"]
    assert len(villages) == 334
    assert len({v["code"] for v in villages}) == 334
    for village in villages:
        assert re.fullmatch(r"\d{12}", village["code"])
        assert village["township_code"] in township_codes
        assert village["code"].startswith(village["township_code"])
        suffix = {"village": "村", "community": "社区"}[village["kind"]]
        assert village["name"].endswith(suffix)
        assert village["pilot"] in {"true", "false"}
        assert village["consultation_room"] == village["name"] + "协商议事室"
    per_township = Counter(v["township_code"] for v in villages)
    assert set(per_township) == township_codes
    assert all(12 <= n <= 30 for n in per_township.values())
    assert len(set(per_township.values())) > 5  # uneven
    names = Counter((v["township_code"], v["name"]) for v in villages)
    assert max(names.values()) == 1


def test_pilots(rows):
    township_of_name = {t["code"]: t["name"] for t in rows["townships"]}
    pilots = {v["name"]: v for v in rows["villages"] if v["pilot"] == "true"}
    assert set(pilots) == {"石烟塘村", "永连村"}
    assert township_of_name[pilots["石烟塘村"]["township_code"]] == "富家桥镇"
    assert township_of_name[pilots["永连村"]["township_code"]] == "邮亭圩镇"
    assert demo.PILOT_VILLAGES == {name: v["code"] for name, v in pilots.items()}


def test_workstations(rows):
    workstations = rows["workstations"]
    assert 6 <= len(workstations) <= 10
    assert len({w["id"] for w in workstations}) == len(workstations)
    assert len({w["sector"] for w in workstations}) == len(workstations)
    for ws in workstations:
        assert re.fullmatch(r"WS\d{2}", ws["id"])
        assert ws["name"].endswith("委员工作室")
        assert ws["sector"].endswith("界")
        assert ws["annual_budget_yuan"] == "20000.00"
    per_ws = Counter(subject for subject, _ in links_of(rows, "workstation_township"))
    assert set(per_ws) == {w["id"] for w in workstations}
    assert all(2 <= n <= 3 for n in per_ws.values())


def test_people_fill_exactly_their_role_columns(rows):
    people = rows["people"]
    assert len({p["id"] for p in people}) == len(people)
    village_codes = {v["code"] for v in rows["villages"]}
    sector_of = {w["id"]: w["sector"] for w in rows["workstations"]}
    for person in people:
        assert re.fullmatch(r"P\d{4}", person["id"])
        required = REQUIRED[person["role"]]
        for column in demo.COLUMNS["people"]:
            if column in required or column in {"id", "name", "role"}:
                assert person[column], (person["id"], column)
            elif column != "phone":
                assert person[column] == "", (person["id"], column)
        if person["role"] == "department":
            assert person["phone"] == ""
        else:
            assert person["phone"] == "" or re.fullmatch(r"1[358]\d{9}", person["phone"])
            assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", person["name"])
        if "village_code" in required:
            assert person["village_code"] in village_codes
        if person["role"] == "cppcc_member":
            assert person["sector"] == sector_of[person["workstation_id"]]
        if person["role"] == "liaison":
            assert person["source"] in {"capable_local", "reserve_cadre", "grid_worker"}
        if person["role"] == "village_cadre":
            assert person["post"] in {"party_secretary", "committee_director", "committee_member"}
    phones = [p["phone"] for p in people if p["phone"]]
    assert len(set(phones)) == len(phones)


def test_people_counts(rows):
    roles = Counter(p["role"] for p in rows["people"])
    assert roles["cppcc_leader"] == 5
    assert 55 <= roles["cppcc_member"] <= 65
    assert 10 <= roles["expert"] <= 14
    assert 8 <= roles["department"] <= 12
    secretaries = Counter(
        p["village_code"]
        for p in rows["people"]
        if p["role"] == "village_cadre" and p["post"] == "party_secretary"
    )
    assert set(secretaries) == {v["code"] for v in rows["villages"]}
    assert set(secretaries.values()) == {1}
    liaisons = Counter(p["village_code"] for p in rows["people"] if p["role"] == "liaison")
    assert max(liaisons.values()) == 2
    assert len(liaisons) == 332
    resident = {p["village_code"] for p in rows["people"] if p["role"] == "resident_cadre"}
    assert 100 <= len(resident) <= 234


def test_links_refer_to_existing_subjects_and_targets(rows, by_id):
    townships = {t["code"] for t in rows["townships"]}
    villages = {v["code"] for v in rows["villages"]}
    workstations = {w["id"] for w in rows["workstations"]}
    role = {pid: p["role"] for pid, p in by_id.items()}
    expected = {
        "leader_township": (lambda s: role.get(s) == "cppcc_leader", townships),
        "workstation_township": (lambda s: s in workstations, townships),
        "member_village": (lambda s: role.get(s) == "cppcc_member", villages),
    }
    for link in rows["links"]:
        subject_ok, targets = expected[link["kind"]]
        assert subject_ok(link["subject_id"]), link
        assert link["target_code"] in targets, link
    triples = [tuple(link.values()) for link in rows["links"]]
    assert len(set(triples)) == len(triples)
    areas = Counter(subject for subject, _ in links_of(rows, "leader_township"))
    assert len(areas) == 5
    assert all(3 <= n <= 4 for n in areas.values())
    members = Counter(subject for subject, _ in links_of(rows, "member_village"))
    assert set(members) == {pid for pid, r in role.items() if r == "cppcc_member"}
    assert min(members.values()) >= 3


def test_gap_constants_are_exactly_the_computed_gaps(rows):
    townships = {t["code"] for t in rows["townships"]}
    villages = {v["code"] for v in rows["villages"]}
    with_member = {target for _, target in links_of(rows, "member_village")}
    with_liaison = {p["village_code"] for p in rows["people"] if p["role"] == "liaison"}
    with_ws = {target for _, target in links_of(rows, "workstation_township")}
    in_area = {target for _, target in links_of(rows, "leader_township")}

    assert set(demo.GAP_VILLAGES_WITHOUT_MEMBER) == villages - with_member
    assert set(demo.GAP_VILLAGES_WITHOUT_LIAISON) == villages - with_liaison
    assert set(demo.GAP_TOWNSHIPS_WITHOUT_WORKSTATION) == townships - with_ws
    assert set(demo.GAP_TOWNSHIPS_OUTSIDE_LEADER_AREA) == townships - in_area
    assert len(demo.GAP_VILLAGES_WITHOUT_MEMBER) == 3
    assert len(demo.GAP_VILLAGES_WITHOUT_LIAISON) == 2
    assert len(demo.GAP_TOWNSHIPS_WITHOUT_WORKSTATION) == 1
    assert len(demo.GAP_TOWNSHIPS_OUTSIDE_LEADER_AREA) == 1
    assert not set(demo.GAP_VILLAGES_WITHOUT_MEMBER) & set(demo.GAP_VILLAGES_WITHOUT_LIAISON)
    pilots = set(demo.PILOT_VILLAGES.values())
    assert not pilots & (
        set(demo.GAP_VILLAGES_WITHOUT_MEMBER) | set(demo.GAP_VILLAGES_WITHOUT_LIAISON)
    )
    assert demo.GAP_TOWNSHIPS_WITHOUT_WORKSTATION != demo.GAP_TOWNSHIPS_OUTSIDE_LEADER_AREA


def test_trainings(rows, by_id):
    trainings = rows["trainings"]
    townships = {t["code"] for t in rows["townships"]}
    assert len({t["id"] for t in trainings}) == len(trainings)
    assert Counter(t["township_code"] for t in trainings) == {code: 2 for code in townships}
    township_of_village = {v["code"]: v["township_code"] for v in rows["villages"]}
    for training in trainings:
        assert re.fullmatch(r"TR\d{2}", training["id"])
        assert re.fullmatch(r"20(19|20)-\d{2}-\d{2}", training["date"])
        assert training["subject"]
        attendees = training["attendees"].split(";")
        assert attendees and len(set(attendees)) == len(attendees)
        for pid in attendees:
            assert by_id[pid]["role"] == "liaison"
            assert township_of_village[by_id[pid]["village_code"]] == training["township_code"]


def test_demo_accounts_refer_to_existing_records(rows, by_id):
    townships = {t["code"]: t["name"] for t in rows["townships"]}
    villages = {v["code"] for v in rows["villages"]}
    accounts = {a["username"]: a for a in demo.DEMO_ACCOUNTS}
    assert set(accounts) == {"admin", "township", "liaison", "member", "inspector", "department"}
    assert demo.DEMO_PASSWORD == "yuelihui-demo"
    roles = {
        "admin": "district_admin",
        "township": "township_officer",
        "liaison": "liaison",
        "member": "cppcc_member",
        "inspector": "discipline_inspector",
        "department": "department_officer",
    }
    for username, account in accounts.items():
        assert set(account) == {
            "username",
            "password",
            "role",
            "person_id",
            "townships",
            "villages",
            "display_name",
        }
        assert account["password"] == demo.DEMO_PASSWORD
        assert account["role"] == roles[username]
        assert account["display_name"]
        assert set(account["townships"]) <= set(townships)
        assert set(account["villages"]) <= villages
        if account["person_id"]:
            assert account["person_id"] in by_id
    for username in ("admin", "inspector"):
        assert accounts[username]["person_id"] == ""
        assert accounts[username]["townships"] == accounts[username]["villages"] == []
    assert [townships[c] for c in accounts["township"]["townships"]] == ["富家桥镇"]

    pilot = demo.PILOT_VILLAGES["石烟塘村"]
    liaison = by_id[accounts["liaison"]["person_id"]]
    assert liaison["role"] == "liaison" and liaison["village_code"] == pilot
    assert accounts["liaison"]["villages"] == [pilot]

    member_id = accounts["member"]["person_id"]
    assert by_id[member_id]["role"] == "cppcc_member"
    linked = [
        target for subject, target in links_of(rows, "member_village") if subject == member_id
    ]
    assert pilot in linked
    assert sorted(accounts["member"]["villages"]) == sorted(linked)

    assert by_id[accounts["department"]["person_id"]]["role"] == "department"


def test_deterministic():
    first, second = demo.demo_rows(), demo.demo_rows()
    assert first == second
    first["villages"][0]["name"] = "changed"
    assert demo.demo_rows() == second


def test_write_csv_round_trips(tmp_path, rows):
    paths = demo.write_csv(tmp_path / "demo")
    assert set(paths) == set(demo.KINDS)
    for kind, path in paths.items():
        assert path.name == f"{kind}.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == demo.COLUMNS[kind]
            assert list(reader) == rows[kind]
