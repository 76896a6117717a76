"""Registry endpoints: places, people, links, trainings, coverage, import."""

from gateway.routes.table import ADMIN, ANYONE, STAFF, WRITERS, Route
from services.registry import schemas as registry


def page(schema):
    return registry.page_of(schema)


ROUTES = (
    # --- places --------------------------------------------------------------------------
    Route("GET", "/townships", ANYONE, "乡镇(街道)列表", "registry",
          ("registry", "list_townships"), response=page(registry.TownshipView)),
    Route("POST", "/townships", ADMIN, "登记乡镇(街道)", "registry",
          ("registry", "register_township"), body=registry.TownshipIn,
          response=registry.TownshipView, status=201),
    Route("PATCH", "/townships/<code>", ADMIN, "修改乡镇(街道)", "registry",
          ("registry", "update_township"), body=registry.TownshipUpdate,
          response=registry.TownshipView),
    Route("GET", "/villages", ANYONE, "村(社区)列表, 可按乡镇与名称查询, 分页", "registry",
          ("registry", "list_villages"), query=registry.VillageQuery,
          response=page(registry.VillageView)),
    Route("POST", "/villages", WRITERS, "登记村(社区)", "registry",
          ("registry", "register_village"), body=registry.VillageIn,
          response=registry.VillageDetail, status=201),
    Route("GET", "/villages/<code>", ANYONE, "村(社区)详情, 含联系委员、联络员与村干部",
          "registry", ("registry", "get_village"), response=registry.VillageDetail),
    Route("PATCH", "/villages/<code>", WRITERS, "修改村(社区)", "registry",
          ("registry", "update_village"), body=registry.VillageUpdate,
          response=registry.VillageDetail),
    # --- people --------------------------------------------------------------------------
    Route("GET", "/people", STAFF, "人员列表, 可按村、角色与姓名查询, 分页", "registry",
          ("registry", "list_people"), query=registry.PeopleQuery,
          response=page(registry.PersonView)),
    Route("POST", "/people", WRITERS, "登记人员或单位", "registry",
          ("registry", "register_person"), body=registry.PersonIn,
          response=registry.PersonView, status=201),
    Route("GET", "/people/<person_id>", STAFF, "人员详情", "registry",
          ("registry", "get_person"), response=registry.PersonView),
    Route("PATCH", "/people/<person_id>", WRITERS, "修改人员", "registry",
          ("registry", "update_person"), body=registry.PersonUpdate,
          response=registry.PersonView),
    Route("POST", "/people/<person_id>/deactivate", WRITERS, "停用人员(保留历史)", "registry",
          ("registry", "deactivate_person"), response=registry.PersonView),
    Route("GET", "/workstations", STAFF, "委员工作室列表", "registry",
          ("registry", "list_workstations"), response=page(registry.WorkstationView)),
    Route("POST", "/workstations", ADMIN, "登记委员工作室", "registry",
          ("registry", "register_workstation"), body=registry.WorkstationIn,
          response=registry.WorkstationView, status=201),
    Route("PATCH", "/workstations/<workstation_id>", ADMIN, "修改委员工作室", "registry",
          ("registry", "update_workstation"), body=registry.WorkstationUpdate,
          response=registry.WorkstationView),
    Route("GET", "/links", STAFF, "联系关系列表", "registry", ("registry", "list_links"),
          query=registry.LinkQuery, response=page(registry.LinkView)),
    Route("POST", "/links", WRITERS, "建立联系关系(班子成员联片、工作室联系乡镇、委员联系村)",
          "registry", ("registry", "link"), body=registry.LinkIn, response=registry.LinkView,
          status=201),
    Route("POST", "/links/remove", WRITERS, "解除联系关系", "registry",
          ("registry", "unlink"), body=registry.LinkIn, response=registry.LinkView),
    Route("GET", "/trainings", STAFF, "联络员培训列表", "registry",
          ("registry", "list_trainings"), query=registry.TrainingQuery,
          response=page(registry.TrainingView)),
    Route("POST", "/trainings", WRITERS, "登记联络员培训", "registry",
          ("registry", "record_training"), body=registry.TrainingIn,
          response=registry.TrainingView, status=201),
    Route("GET", "/coverage", STAFF, "三级联系闭环覆盖情况, 列出每个缺口", "registry",
          ("registry", "coverage"), response=registry.CoverageView),
    Route("POST", "/import/<kind>", ADMIN, "CSV 批量导入(全部有效才写入)", "registry",
          ("registry", "import_csv"), response=registry.ImportResult, csv_body=True),
)
