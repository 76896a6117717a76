"""The default micro-power catalogue (小微权力清单) that ships with the project.

Each item: a stable id, a category, a Chinese name and its mandated procedure as ordered
steps ``(key, name)``. ``requires_disclosure`` items (惠民资金) must be disclosed before an
exercise is completed. Villages use these items and add local ones of their own.
``install`` is idempotent: it inserts the items that are missing and leaves the rest alone.
"""

# 四议两公开: the procedure of every major decision
FOUR_DELIBERATIONS_TWO_DISCLOSURES = (
    ("branch_proposal", "村党组织提议"),
    ("committees_deliberation", "村“两委”会议商议"),
    ("members_review", "党员大会审议"),
    ("villagers_resolution", "村民会议或村民代表会议决议"),
    ("resolution_disclosure", "决议公开"),
    ("result_disclosure", "实施结果公开"),
)

_BENEFIT_STEPS = (
    ("application", "农户申请"),
    ("household_survey", "入户调查核实"),
    ("democratic_appraisal", "村民代表民主评议"),
    ("disclosure", "村内公示"),
    ("township_review", "乡镇审核审批"),
    ("result_disclosure", "结果公开"),
)

DEFAULT_ITEMS = (
    # --- major decisions (重大决策) -----------------------------------------------------------
    {"id": "MD01", "category": "major_decision", "name": "村级重大事项决策",
     "steps": FOUR_DELIBERATIONS_TWO_DISCLOSURES},
    {"id": "MD02", "category": "major_decision", "name": "村级工程项目建设",
     "steps": FOUR_DELIBERATIONS_TWO_DISCLOSURES},
    {"id": "MD03", "category": "major_decision", "name": "村集体资产资源处置与租赁",
     "steps": FOUR_DELIBERATIONS_TWO_DISCLOSURES},
    # --- daily management (日常管理) ---------------------------------------------------------
    {"id": "DM01", "category": "daily_management", "name": "村级财务收支管理",
     "steps": (("application", "经办人申请"), ("audit", "村务监督委员会审核"),
               ("approval", "村党组织书记审批"), ("bookkeeping", "报乡镇代理记账"),
               ("disclosure", "按月公开"))},
    {"id": "DM02", "category": "daily_management", "name": "村级印章使用管理",
     "steps": (("application", "申请用印"), ("review", "审核"), ("register", "登记用印"),
               ("archive", "存档备查"))},
    {"id": "DM03", "category": "daily_management", "name": "村干部误工补贴发放",
     "steps": (("record", "考勤记录"), ("review", "村务监督委员会审核"),
               ("disclosure", "公示"), ("payment", "发放"))},
    # --- convenience services (便民服务) -----------------------------------------------------
    {"id": "CS01", "category": "convenience_service", "name": "出具证明材料",
     "steps": (("application", "村民申请"), ("verification", "核实"), ("issue", "出具证明"),
               ("register", "登记存档"))},
    {"id": "CS02", "category": "convenience_service", "name": "农村宅基地建房申请初审",
     "steps": (("application", "农户申请"), ("site_check", "实地查看"),
               ("villagers_review", "村民代表评议"), ("disclosure", "公示"),
               ("report", "报乡镇审批"))},
    # --- benefit funds (惠民资金) -------------------------------------------------------------
    {"id": "BF01", "category": "benefit_fund", "name": "最低生活保障对象评定",
     "steps": _BENEFIT_STEPS, "requires_disclosure": True},
    {"id": "BF02", "category": "benefit_fund", "name": "惠农补贴资金发放",
     "steps": (("list", "核定补贴名单"), ("disclosure", "名单公示"),
               ("township_review", "乡镇审核"), ("payment", "一卡通发放"),
               ("result_disclosure", "发放结果公开")), "requires_disclosure": True},
    {"id": "BF03", "category": "benefit_fund", "name": "农村危房改造补助",
     "steps": _BENEFIT_STEPS, "requires_disclosure": True},
)


def steps_json(steps) -> list[dict]:
    return [{"key": key, "name": name} for key, name in steps]


def install(connection, table) -> int:
    """Insert the default items that are missing; returns how many were added."""
    from sqlalchemy import insert, select

    existing = set(connection.execute(select(table.c.id)).scalars())
    rows = [{"id": item["id"], "category": item["category"], "name": item["name"],
             "village_code": None, "steps": steps_json(item["steps"]),
             "requires_disclosure": bool(item.get("requires_disclosure")), "active": True}
            for item in DEFAULT_ITEMS if item["id"] not in existing]
    if rows:
        connection.execute(insert(table), rows)
    return len(rows)
