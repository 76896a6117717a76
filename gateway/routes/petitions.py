"""Petitions endpoints: intake (staff and online), handling, receipts, disputes, statistics.

The service checks object-level access again (jurisdiction, responsible person, filer).
Public routes carry ``client_key``: the gateway passes a salted hash of the client address
for the service's rate limits, never the address.
"""

from gateway.routes.table import ADMIN, ANYONE, PUBLIC, STAFF, WRITERS, Route
from services.chassis.schemas import page_of
from services.petitions import schemas as p

FILERS = frozenset(("district_admin", "township_officer", "liaison"))
READERS = STAFF
TAG = "petitions"
DISPUTES = "disputes"


def _action(path, summary, method, body=None, roles=WRITERS):
    return Route("POST", f"/petitions/<petition_id>/{path}", roles, summary, TAG,
                 ("petitions", method), body=body, response=p.PetitionView)


def _dispute_action(path, summary, method, body, roles=FILERS | STAFF):
    return Route("POST", f"/disputes/<dispute_id>/{path}", roles, summary, DISPUTES,
                 ("petitions", method), body=body, response=p.DisputeView)


ROUTES = (
    # --- public: online intake and receipts ----------------------------------------------
    Route("POST", "/petitions/online", frozenset((PUBLIC,)),
          "网上信访(无需账号), 返回回执码; 按来源地址限流", TAG,
          ("petitions", "file_online_petition"), body=p.PublicPetitionIn,
          response=p.PetitionReceiptIssued, status=201, client_key=True),
    Route("GET", "/petitions/receipt/<code>", ANYONE,
          "凭回执码查询办理状态、期限与答复(不含身份信息)", TAG,
          ("petitions", "get_receipt"), response=p.PetitionReceiptView, client_key=True),
    Route("POST", "/petitions/receipt/<code>/request-review", ANYONE, "凭回执码申请复查", TAG,
          ("petitions", "receipt_request_review"), body=p.PetitionRequestIn,
          response=p.PetitionReceiptView, client_key=True),
    Route("POST", "/petitions/receipt/<code>/request-reexam", ANYONE, "凭回执码申请复核", TAG,
          ("petitions", "receipt_request_reexam"), body=p.PetitionRequestIn,
          response=p.PetitionReceiptView, client_key=True),
    Route("POST", "/petitions/receipt/<code>/close", ANYONE, "凭回执码确认办结并评价满意度",
          TAG, ("petitions", "receipt_close"), body=p.PetitionCloseIn,
          response=p.PetitionReceiptView, client_key=True),
    # --- staff ---------------------------------------------------------------------------
    Route("POST", "/petitions", FILERS, "登记信访事项(走访、来信、来电、联络员收集、月例会提出)",
          TAG, ("petitions", "file_petition"), body=p.PetitionIn, response=p.PetitionView,
          status=201),
    Route("GET", "/petitions", READERS, "信访事项列表(按辖区与角色), 分页", TAG,
          ("petitions", "list_petitions"), query=p.PetitionQuery,
          response=page_of(p.PetitionView)),
    Route("GET", "/petitions/statistics", WRITERS, "信访与矛盾纠纷统计(按月、乡镇, 含上期对比)",
          TAG, ("petitions", "statistics"), query=p.PetitionStatisticsQuery,
          response=p.PetitionStatisticsView),
    Route("GET", "/petitions/identity-reads", ADMIN, "身份信息查阅审计记录", TAG,
          ("petitions", "list_identity_reads"), query=p.IdentityReadQuery,
          response=page_of(p.IdentityReadView)),
    Route("GET", "/petitions/<petition_id>", READERS, "信访事项详情(不含身份信息)", TAG,
          ("petitions", "get_petition"), response=p.PetitionView),
    Route("GET", "/petitions/<petition_id>/identity", READERS,
          "信访人身份信息(仅限有权角色, 每次查阅留痕)", TAG, ("petitions", "get_identity"),
          response=p.PetitionIdentityView),
    _action("accept", "受理", "accept"),
    _action("not-accept", "不予受理(说明理由与有权处理机关)", "not_accept",
            p.PetitionNotAcceptIn),
    _action("assign", "交办责任人(登记册人员)", "assign", p.PetitionAssignIn),
    _action("start", "开始办理", "start", roles=READERS),
    _action("escalate", "上交乡镇或区直单位, 另设答复期限", "escalate", p.PetitionEscalateIn),
    _action("escalation-response", "记录乡镇或区直单位已答复(停止其答复期限)",
            "record_escalation_response", p.PetitionEscalationResponseIn),
    _action("extend", "延长办理期限(一次, 说明理由)", "extend", p.PetitionExtendIn),
    _action("answer", "出具处理意见(答复)", "answer", p.PetitionOpinionIn, roles=READERS),
    _action("request-review", "代信访人申请复查", "request_review", p.PetitionRequestIn,
            roles=FILERS),
    _action("review", "复查意见", "review", p.PetitionOpinionIn),
    _action("request-reexam", "代信访人申请复核", "request_reexam", p.PetitionRequestIn,
            roles=FILERS),
    _action("reexamine", "复核意见", "reexamine", p.PetitionOpinionIn),
    _action("close", "办结并记录满意度", "close", p.PetitionCloseIn, roles=FILERS),
    _action("refer-to-meeting", "提交村月例会作为议题", "refer_to_meeting",
            p.PetitionReferMeetingIn),
    _action("refer-to-supervision", "作为干部作风线索移交监督", "refer_to_supervision",
            p.PetitionReferSupervisionIn),
    # --- disputes ------------------------------------------------------------------------
    Route("POST", "/disputes", FILERS, "登记矛盾纠纷", DISPUTES, ("petitions", "register_dispute"),
          body=p.DisputeIn, response=p.DisputeView, status=201),
    Route("GET", "/disputes", READERS, "矛盾纠纷列表, 分页", DISPUTES,
          ("petitions", "list_disputes"), query=p.DisputeQuery,
          response=page_of(p.DisputeView)),
    Route("GET", "/disputes/<dispute_id>", READERS, "矛盾纠纷详情(不含当事人信息)", DISPUTES,
          ("petitions", "get_dispute"), response=p.DisputeView),
    Route("GET", "/disputes/<dispute_id>/parties", READERS,
          "当事人信息(仅限有权角色, 每次查阅留痕)", DISPUTES, ("petitions", "get_parties"),
          response=p.DisputePartiesView),
    _dispute_action("mediators", "指定调解员(登记册人员)", "assign_mediators",
                    p.DisputeMediatorsIn, roles=WRITERS),
    _dispute_action("sessions", "记录调解", "record_session", p.DisputeSessionIn),
    _dispute_action("agreement", "达成调解协议", "record_agreement", p.DisputeAgreementIn),
    _dispute_action("failure", "调解不成, 移送诉讼、仲裁或上级", "record_failure",
                    p.DisputeFailIn),
    _dispute_action("risk", "调整风险等级(升至 high 即时预警)", "set_risk", p.DisputeRiskIn),
    _dispute_action("followup", "记录回访", "record_followup", p.DisputeFollowupIn),
)
