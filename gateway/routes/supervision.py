"""Supervision endpoints: micro-power list and exercises, disclosures with objections (the
public board), supervision matters, clues to discipline inspection, statistics.

Roles here are the first gate; the service checks jurisdiction and object-level access
again (e.g. a liaison only for its village, clue content for discipline inspection only).
"""

from gateway.routes.table import ADMIN, ANYONE, STAFF, Route
from services.chassis.schemas import page_of
from services.supervision import schemas as sup

VILLAGE_WRITERS = frozenset(("district_admin", "township_officer", "liaison"))
RAISERS = frozenset(("district_admin", "township_officer", "cppcc_member"))
INSPECTOR = frozenset(("discipline_inspector",))
CLUE_READERS = frozenset(("district_admin", "township_officer", "cppcc_member",
                          "discipline_inspector"))
T = "supervision"



ROUTES = (
    # --- micro-power list (小微权力清单) ---------------------------------------------------
    Route("GET", "/power-items", ANYONE, "小微权力清单(区级清单, 指定村时含该村自增事项)", T,
          ("supervision", "list_power_items"), query=sup.PowerItemQuery,
          response=page_of(sup.PowerItemView)),
    Route("GET", "/power-items/<item_id>", ANYONE, "权力事项及其规定程序", T,
          ("supervision", "get_power_item"), response=sup.PowerItemView),
    Route("POST", "/power-items", frozenset(("district_admin", "township_officer")),
          "为村增加本村权力事项", T, ("supervision", "add_power_item"), body=sup.PowerItemIn,
          response=sup.PowerItemView, status=201),
    Route("POST", "/power-items/load-default", ADMIN, "载入默认清单(可重复执行, 只补缺失事项)",
          T, ("supervision", "load_catalogue"), response=sup.PowerCatalogueResult),
    Route("GET", "/villages/<code>/power-exercises", STAFF, "本村权力行使记录", T,
          ("supervision", "list_exercises"), query=sup.ExerciseQuery,
          response=page_of(sup.ExerciseView)),
    Route("POST", "/villages/<code>/power-exercises", VILLAGE_WRITERS, "开始一次权力行使", T,
          ("supervision", "start_exercise"), body=sup.ExerciseIn, response=sup.ExerciseView,
          status=201),
    Route("GET", "/power-exercises/<exercise_id>", STAFF, "权力行使详情(步骤与程序预警)", T,
          ("supervision", "get_exercise"), response=sup.ExerciseView),
    Route("POST", "/power-exercises/<exercise_id>/steps", VILLAGE_WRITERS,
          "登记一个程序步骤(日期、责任人、佐证); 顺序不符即预警", T,
          ("supervision", "record_step"), body=sup.ExerciseStepIn, response=sup.ExerciseView,
          status=201),
    Route("POST", "/power-exercises/<exercise_id>/complete", VILLAGE_WRITERS,
          "办结; 缺少步骤或惠民资金未公开即预警并生成监督事项", T,
          ("supervision", "complete_exercise"), response=sup.ExerciseView),
    Route("GET", "/alerts", STAFF, "程序预警与公示期未答复异议预警", T,
          ("supervision", "list_alerts"), query=sup.AlertQuery, response=page_of(sup.AlertView)),
    # --- disclosure (村务公开) and the public board -----------------------------------------
    Route("GET", "/disclosures", ANYONE, "村务公开栏: 按村、乡镇、类别、期间查询", T,
          ("supervision", "list_disclosures"), query=sup.DisclosureQuery,
          response=page_of(sup.DisclosureSummary)),
    Route("GET", "/disclosures/<disclosure_id>", ANYONE, "公开详情, 含异议答复与更正历史", T,
          ("supervision", "get_disclosure"), response=sup.DisclosureView),
    Route("POST", "/disclosures", VILLAGE_WRITERS, "发布村务公开(公示期默认 7 天)", T,
          ("supervision", "publish_disclosure"), body=sup.DisclosureIn,
          response=sup.DisclosureView, status=201),
    Route("POST", "/disclosures/<disclosure_id>/corrections", VILLAGE_WRITERS,
          "异议成立后更正重新公开(关联原公开)", T, ("supervision", "correct_disclosure"),
          body=sup.DisclosureCorrectionIn, response=sup.DisclosureView, status=201),
    Route("POST", "/disclosures/<disclosure_id>/objections", ANYONE,
          "公示期内提出异议(可匿名)", T, ("supervision", "file_objection"),
          body=sup.ObjectionIn, response=sup.ObjectionView, status=201, client_key=True),
    Route("POST", "/disclosures/<disclosure_id>/objections/<objection_id>/answer",
          VILLAGE_WRITERS, "答复异议(是否成立)", T, ("supervision", "answer_objection"),
          body=sup.ObjectionAnswerIn, response=sup.ObjectionView),
    # --- supervision matters (整改) -------------------------------------------------------
    Route("GET", "/matters", STAFF, "监督事项列表", T, ("supervision", "list_matters"),
          query=sup.MatterQuery, response=page_of(sup.MatterView)),
    Route("GET", "/matters/<matter_id>", STAFF, "监督事项详情", T,
          ("supervision", "get_matter"), response=sup.MatterView),
    Route("POST", "/matters", RAISERS, "提出监督事项(责任人、整改期限)", T,
          ("supervision", "raise_matter"), body=sup.MatterIn, response=sup.MatterView,
          status=201),
    Route("POST", "/matters/<matter_id>/rectify", STAFF, "整改完成(须附佐证)", T,
          ("supervision", "rectify_matter"), body=sup.MatterRectifyIn,
          response=sup.MatterView),
    Route("POST", "/matters/<matter_id>/refer-to-meeting", RAISERS,
          "提交本村月例会作为“民主监督”议题", T, ("supervision", "refer_matter_to_meeting"),
          body=sup.MatterReferIn, response=sup.MatterView),
    # --- clues to discipline inspection (问题线索移交) ----------------------------------------
    Route("POST", "/clues", RAISERS, "移交问题线索(内容加密保存)", T,
          ("supervision", "refer_clue"), body=sup.ClueIn, response=sup.ClueView, status=201),
    Route("GET", "/clues", CLUE_READERS, "线索列表: 编号、状态与期限, 不含内容", T,
          ("supervision", "list_clues"), query=sup.ClueQuery, response=page_of(sup.ClueView)),
    Route("GET", "/clues/<clue_id>", CLUE_READERS, "线索概况: 编号、状态与期限, 不含内容", T,
          ("supervision", "get_clue"), response=sup.ClueFeedbackView),
    Route("GET", "/clues/<clue_id>/content", INSPECTOR,
          "线索内容与举报人(仅纪委监委, 每次查阅留痕)", T, ("supervision", "read_clue"),
          response=sup.ClueContent),
    Route("GET", "/clues/<clue_id>/reads", frozenset(("district_admin", "discipline_inspector")),
          "线索内容查阅记录", T, ("supervision", "list_clue_reads"),
          response=page_of(sup.ClueReadView)),
    Route("POST", "/clues/<clue_id>/acknowledge", INSPECTOR, "签收线索", T,
          ("supervision", "acknowledge_clue"), response=sup.ClueView),
    Route("POST", "/clues/<clue_id>/review", INSPECTOR, "开始核查", T,
          ("supervision", "start_clue_review"), response=sup.ClueView),
    Route("POST", "/clues/<clue_id>/conclude", INSPECTOR, "办结并反馈移交人", T,
          ("supervision", "conclude_clue"), body=sup.ClueConcludeIn, response=sup.ClueView),
    # --- statistics -----------------------------------------------------------------------
    Route("GET", "/supervision/statistics", STAFF,
          "监督统计: 按期间与乡镇, 含上期对比(公开金额精确到分)", T,
          ("supervision", "statistics"), query=sup.SupervisionStatisticsQuery,
          response=sup.SupervisionStatistics),
)
