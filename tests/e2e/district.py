"""A small district for end-to-end tests: two townships, three villages, one of each role."""

from gateway import accounts
from services.chassis.actor import system_actor
from services.registry import importer

PASSWORD = "test-password-1"
T1, T2 = "431102101", "431102102"
V1, V2, V3 = "431102101001", "431102101002", "431102102001"

CSV = {
    "townships": f"code,name,kind\n{T1},测试一镇,township\n{T2},测试二镇,township\n",
    "villages": ("code,name,township_code,kind,pilot,consultation_room\n"
                 f"{V1},一村,{T1},village,true,一村协商议事室\n"
                 f"{V2},二村,{T1},village,false,\n"
                 f"{V3},三村,{T2},village,false,\n"),
    "workstations": "id,name,sector,annual_budget_yuan\nWS1,农业界委员工作室,农业界,20000.00\n",
    "people": ("id,name,role,phone,village_code,sector,workstation_id,source,post,department,"
               "field\n"
               "L1,联络员甲,liaison,13800000001," + V1 + ",,,capable_local,,,\n"
               "L2,联络员乙,liaison,13800000002," + V2 + ",,,grid_worker,,,\n"
               "C1,书记甲,village_cadre,13800000003," + V1 + ",,,,party_secretary,,\n"
               "M1,委员甲,cppcc_member,13800000004,,农业界,WS1,,,,\n"
               "K1,领导甲,cppcc_leader,,,,,,,,\n"
               "E1,专家甲,expert,,,,,,,区农业农村局,农业技术\n"
               "D1,区自然资源局,department,,,,,,,,\n"),
    "links": ("kind,subject_id,target_code\n"
              f"member_village,M1,{V1}\nworkstation_township,WS1,{T1}\n"
              f"leader_township,K1,{T1}\n"),
}

ACCOUNTS = (
    ("admin", "district_admin", None, (), ()),
    ("officer1", "township_officer", None, (T1,), ()),
    ("officer2", "township_officer", None, (T2,), ()),
    ("liaison1", "liaison", "L1", (), (V1,)),
    ("member1", "cppcc_member", "M1", (), (V1,)),
    ("inspector", "discipline_inspector", None, (), ()),
)


def seed(registry_transaction, gateway_transaction) -> None:
    for kind, text in CSV.items():
        with registry_transaction() as tx:
            importer.import_csv(tx, system_actor("test"), kind, text)
    with gateway_transaction() as tx:
        for username, role, person_id, townships, villages in ACCOUNTS:
            accounts.create(tx.session, username, PASSWORD, role, person_id=person_id,
                            townships=townships, villages=villages)
