"""Meetings endpoints: topics, meetings, attendance, outcomes, resolutions, disclosure,
monthly compliance.

Roles here are the first gate; the service checks the village of each object again (a
liaison or cadre only for its own villages, a member only for its linked villages, a township
officer only for its township)."""

from gateway.routes.table import ANYONE, Route
from services.chassis.schemas import page_of
from services.meetings import schemas as m

# village cadres have no login accounts yet; the role is ready for when they do
MANAGERS = frozenset(("district_admin", "liaison", "village_cadre"))
FOLLOWERS = MANAGERS | {"cppcc_member"}
READERS = FOLLOWERS | {"township_officer"}
OVERSIGHT = frozenset(("district_admin", "township_officer"))
TAG = "meetings"



ROUTES = (
    # --- topics --------------------------------------------------------------------------
    Route("GET", "/villages/<code>/topics", READERS, "本村议题列表, 可按状态与平台筛选", TAG,
          ("meetings", "list_topics"), query=m.TopicQuery, response=page_of(m.TopicView)),
    Route("POST", "/villages/<code>/topics", MANAGERS, "提出议题(村民姓名保密, 可匿名)", TAG,
          ("meetings", "propose_topic"), body=m.TopicIn, response=m.TopicView, status=201),
    Route("GET", "/villages/<code>/candidates", READERS,
          "某月可列入议程的议题(已采纳, 及以前月份暂缓的)", TAG,
          ("meetings", "list_candidates"), query=m.TopicCandidateQuery,
          response=m.TopicCandidates),
    Route("GET", "/topics/<topic_id>", READERS, "议题详情", TAG, ("meetings", "get_topic"),
          response=m.TopicView),
    Route("POST", "/topics/<topic_id>/vet", MANAGERS, "审核议题: 采纳、合并或不采纳(附理由)",
          TAG, ("meetings", "vet_topic"), body=m.TopicVetIn, response=m.TopicView),
    Route("POST", "/topics/<topic_id>/support", MANAGERS, "附议: 增加提出同一事项的人数", TAG,
          ("meetings", "support_topic"), body=m.TopicSupportIn, response=m.TopicView),
    # --- meetings ------------------------------------------------------------------------
    Route("GET", "/villages/<code>/meetings", READERS, "本村会议列表", TAG,
          ("meetings", "list_meetings"), query=m.MeetingQuery, response=page_of(m.MeetingView)),
    Route("POST", "/villages/<code>/meetings", MANAGERS,
          "安排会议(每村每月一次例会; 取消后可另行安排)", TAG,
          ("meetings", "schedule_meeting"), body=m.MeetingIn, response=m.MeetingView,
          status=201),
    Route("GET", "/meetings/<meeting_id>", READERS, "会议详情: 议程、签到、结果", TAG,
          ("meetings", "get_meeting"), response=m.MeetingView),
    Route("POST", "/meetings/<meeting_id>/cancel", MANAGERS, "取消会议", TAG,
          ("meetings", "cancel_meeting"), body=m.MeetingCancelIn, response=m.MeetingView),
    Route("PUT", "/meetings/<meeting_id>/agenda", MANAGERS,
          "设定议程: 有序的已采纳议题及每个议题邀请的专家", TAG,
          ("meetings", "set_agenda"), body=m.MeetingAgendaIn, response=m.MeetingView),
    Route("POST", "/meetings/<meeting_id>/attendance", FOLLOWERS,
          "签到: 登记人员及其会上角色, 村民代表人数", TAG,
          ("meetings", "record_attendance"), body=m.MeetingAttendanceIn,
          response=m.MeetingView),
    Route("POST", "/meetings/<meeting_id>/hold", MANAGERS,
          "记录会议已召开(检查议程与法定到会要求), 附会议记录", TAG,
          ("meetings", "hold_meeting"), body=m.MeetingHoldIn, response=m.MeetingView),
    Route("POST", "/meetings/<meeting_id>/outcomes", MANAGERS,
          "记录议题结果(议定、未议定、暂缓)、讨论摘要与专家意见", TAG,
          ("meetings", "record_outcomes"), body=m.MeetingOutcomesIn, response=m.MeetingView),
    Route("POST", "/meetings/<meeting_id>/resolutions", MANAGERS,
          "就已议定议题形成议定事项: 内容、责任人、责任单位、办结期限", TAG,
          ("meetings", "adopt_resolution"), body=m.ResolutionIn, response=m.ResolutionView,
          status=201),
    Route("POST", "/meetings/<meeting_id>/disclose", MANAGERS, "公开会议结果", TAG,
          ("meetings", "disclose_meeting"), response=m.MeetingView),
    Route("GET", "/meetings/<meeting_id>/summary", ANYONE,
          "已公开会议的结果摘要(不含任何人员姓名)", TAG, ("meetings", "get_summary"),
          response=m.MeetingSummaryView),
    Route("GET", "/meeting-summaries", ANYONE, "已公开会议的结果摘要列表", TAG,
          ("meetings", "list_summaries"), query=m.MeetingSummaryQuery,
          response=page_of(m.MeetingSummaryView)),
    # --- resolutions ---------------------------------------------------------------------
    Route("GET", "/resolutions", READERS, "议定事项列表(本人可见范围)", TAG,
          ("meetings", "list_resolutions"), query=m.ResolutionQuery,
          response=page_of(m.ResolutionView)),
    Route("GET", "/resolutions/<resolution_id>", READERS, "议定事项详情与进展", TAG,
          ("meetings", "get_resolution"), response=m.ResolutionView),
    Route("POST", "/resolutions/<resolution_id>/progress", FOLLOWERS, "报告议定事项落实进展",
          TAG, ("meetings", "progress_resolution"), body=m.ResolutionProgressIn,
          response=m.ResolutionView),
    Route("POST", "/resolutions/<resolution_id>/complete", MANAGERS, "议定事项办结(附佐证)",
          TAG, ("meetings", "complete_resolution"), body=m.ResolutionCompleteIn,
          response=m.ResolutionView),
    Route("POST", "/resolutions/<resolution_id>/satisfaction", MANAGERS,
          "登记村民满意度(1 到 5 分, 办结后)", TAG, ("meetings", "rate_resolution"),
          body=m.ResolutionSatisfactionIn, response=m.ResolutionView),
    # --- monthly compliance --------------------------------------------------------------
    Route("POST", "/villages/<code>/missed", MANAGERS, "登记某月未召开例会的原因", TAG,
          ("meetings", "record_missed_reason"), body=m.MeetingMissedIn,
          response=m.MeetingMissedView),
    Route("GET", "/compliance", OVERSIGHT,
          "某月各村例会开展情况(已召开、已安排、未召开、未安排)及乡镇与全区比率", TAG,
          ("meetings", "compliance"), query=m.MeetingComplianceQuery,
          response=m.MeetingComplianceView),
)
