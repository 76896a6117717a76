"""The meetings service's public contract: commands in, views out, event payloads, and the
payloads it consumes from petitions and supervision."""


from marshmallow import EXCLUDE, ValidationError, fields, validate, validates, validates_schema

from services.chassis.events import EventCatalog
from services.chassis.schemas import PageQuery, Schema, digits, one_of, text
from services.meetings import domain

ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$", error="应为 1 到 40 位字母、数字、下划线或连字符")
# years are bounded so that month arithmetic (next month, local day) never overflows
FIRST_YEAR, LAST_YEAR = 2000, 2100
MONTH = validate.Regexp(r"^(20\d\d|2100)-(0[1-9]|1[0-2])$",
                        error=f"应为 {FIRST_YEAR} 到 {LAST_YEAR} 年间的 YYYY-MM 月份")


def identifier(required: bool = True, **kwargs) -> fields.String:
    return fields.String(required=required, validate=ID, **kwargs)


def month(required: bool = True, **kwargs) -> fields.String:
    return fields.String(required=required, validate=MONTH, **kwargs)


def aware(required: bool = True, **kwargs) -> fields.AwareDateTime:
    return fields.AwareDateTime(required=required, error_messages={
        "invalid": "应为 ISO 8601 日期时间", "invalid_awareness": "应带时区"},
        validate=_in_years, **kwargs)


def _in_years(moment) -> None:
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValidationError(f"应在 {FIRST_YEAR} 到 {LAST_YEAR} 年之间")


def count(minimum: int = 0, maximum: int = 100000, **kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(
        min=minimum, max=maximum, error=f"应在 {minimum} 到 {maximum} 之间"), **kwargs)


# --- commands ---------------------------------------------------------------------------

class TopicIn(Schema):
    title = text(100)
    description = text(2000, load_default="")
    source = one_of(domain.SOURCES)
    platform = one_of(domain.PLATFORMS)
    proposer_person_id = identifier(required=False, load_default=None, allow_none=True)
    proposer_name = text(100, required=False, load_default=None, allow_none=True,
                         metadata={"description": "提出议题的村民姓名(保密, 可匿名不填)"})
    supporters = count(1, 100000, load_default=1)

    @validates_schema
    def _proposer(self, data, **kwargs):
        if data.get("proposer_person_id") and data.get("proposer_name"):
            raise ValidationError({"proposer_name": ["登记人员与村民姓名只能填一项"]})
        if data["source"] in ("petition", "supervision"):
            raise ValidationError({"source": ["信访与监督来源的议题由相应服务转入"]})


class TopicQuery(PageQuery):
    state = one_of(tuple(domain.TOPIC_STATE_NAMES), required=False)
    platform = one_of(domain.PLATFORMS, required=False)


class TopicCandidateQuery(Schema):
    month = month(required=False)


class TopicVetIn(Schema):
    decision = one_of(("accept", "merge", "reject"))
    reason = text(500, required=False)
    merge_into = identifier(required=False)

    @validates_schema
    def _needs(self, data, **kwargs):
        if data["decision"] == "reject" and not data.get("reason"):
            raise ValidationError({"reason": ["不采纳须说明理由"]})
        if data["decision"] == "merge" and not data.get("merge_into"):
            raise ValidationError({"merge_into": ["合并须指明目标议题"]})


class TopicSupportIn(Schema):
    count = count(1, 10000, load_default=1)


class MeetingIn(Schema):
    kind = one_of(domain.MEETING_KINDS, load_default="regular")
    starts_at = aware()
    place = text(100)
    convener_person_id = identifier()


class MeetingQuery(PageQuery):
    month = month(required=False)
    state = one_of(tuple(domain.MEETING_STATE_NAMES), required=False)


class MeetingCancelIn(Schema):
    reason = text(500)


class MeetingAgendaItemIn(Schema):
    topic_id = identifier()
    experts = fields.List(identifier(), load_default=list,
                          validate=validate.Length(max=20, error="每个议题至多邀请 20 位专家"))


class MeetingAgendaIn(Schema):
    items = fields.List(fields.Nested(MeetingAgendaItemIn), required=True,
                        validate=validate.Length(min=1, max=30, error="议程应有 1 到 30 个议题"))

    @validates("items")
    def _distinct(self, items, **kwargs):
        ids = [item["topic_id"] for item in items]
        if len(ids) != len(set(ids)):
            raise ValidationError("同一议题不能重复列入")


class MeetingAttendeeIn(Schema):
    person_id = identifier()
    role = one_of(domain.ATTENDEE_ROLES)


class MeetingAttendanceIn(Schema):
    attendees = fields.List(fields.Nested(MeetingAttendeeIn), required=True,
                            validate=validate.Length(min=1, max=200, error="应为 1 到 200 人"))
    villager_representatives = count(0, 10000, required=False)


class MeetingHoldIn(Schema):
    minutes = text(20000)


class MeetingExpertOpinionIn(Schema):
    person_id = identifier()
    opinion = text(2000)


class MeetingOutcomeIn(Schema):
    topic_id = identifier()
    outcome = one_of(domain.OUTCOMES)
    discussion = text(5000)
    expert_opinions = fields.List(fields.Nested(MeetingExpertOpinionIn), load_default=list)


class MeetingOutcomesIn(Schema):
    items = fields.List(fields.Nested(MeetingOutcomeIn), required=True,
                        validate=validate.Length(min=1, max=30, error="应为 1 到 30 项"))


class ResolutionIn(Schema):
    topic_id = identifier()
    owner_person_id = identifier()
    department = text(100, required=False, load_default=None, allow_none=True)
    text = text(2000)
    deadline = fields.Date(required=True)


class ResolutionProgressIn(Schema):
    note = text(2000)


class ResolutionCompleteIn(Schema):
    evidence = text(2000)


class ResolutionSatisfactionIn(Schema):
    score = fields.Integer(strict=True, required=True, validate=validate.Range(
        min=1, max=5, error="应为 1 到 5 分"))


class ResolutionQuery(PageQuery):
    village = digits(12, required=False)
    state = one_of(tuple(domain.RESOLUTION_STATE_NAMES), required=False)


class MeetingMissedIn(Schema):
    month = month()
    reason = text(500)


class MeetingComplianceQuery(Schema):
    month = month()
    township = digits(9, required=False)


class MeetingSummaryQuery(PageQuery):
    village = digits(12, required=False)
    month = month(required=False)


class MeetingStatsQuery(Schema):
    month_from = month()
    month_to = month()
    township = digits(9, required=False)


# --- views ------------------------------------------------------------------------------

class TopicView(Schema):
    id = fields.String()
    village_code = fields.String()
    title = fields.String()
    description = fields.String()
    source = fields.String()
    source_ref = fields.String(allow_none=True)
    platform = fields.String()
    proposer_person_id = fields.String(allow_none=True)
    proposer_name = fields.String(allow_none=True, metadata={
        "description": "仅对本村联络员、村干部与区管理员返回"})
    supporters = fields.Integer()
    state = fields.String()
    reject_reason = fields.String(allow_none=True)
    merged_into = fields.String(allow_none=True)
    meeting_id = fields.String(allow_none=True)
    last_deferred_month = fields.String(allow_none=True)
    proposed_at = fields.DateTime()


class TopicCandidates(Schema):
    month = fields.String()
    items = fields.List(fields.Nested(TopicView))
    total = fields.Integer()


class MeetingExpertView(Schema):
    person_id = fields.String()
    opinion = fields.String(allow_none=True)


class MeetingAgendaItemView(Schema):
    topic_id = fields.String()
    title = fields.String()
    platform = fields.String()
    position = fields.Integer()
    state = fields.String()
    outcome = fields.String(allow_none=True)
    discussion = fields.String(allow_none=True)
    experts = fields.List(fields.Nested(MeetingExpertView))


class MeetingAttendeeView(Schema):
    person_id = fields.String()
    role = fields.String()


class MeetingView(Schema):
    id = fields.String()
    village_code = fields.String()
    month = fields.String()
    kind = fields.String()
    starts_at = fields.DateTime()
    place = fields.String()
    convener_person_id = fields.String()
    state = fields.String()
    minutes = fields.String(allow_none=True)
    villager_representatives = fields.Integer()
    held_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    disclosed_at = fields.DateTime(allow_none=True)
    agenda = fields.List(fields.Nested(MeetingAgendaItemView))
    attendees = fields.List(fields.Nested(MeetingAttendeeView))


class ResolutionProgressView(Schema):
    note = fields.String()
    by = fields.String()
    at = fields.DateTime()


class ResolutionView(Schema):
    id = fields.String()
    meeting_id = fields.String()
    topic_id = fields.String()
    village_code = fields.String()
    text = fields.String()
    owner_person_id = fields.String()
    department = fields.String(allow_none=True)
    deadline = fields.Date()
    state = fields.String()
    evidence = fields.String(allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    was_overdue = fields.Boolean()
    adopted_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    progress = fields.List(fields.Nested(ResolutionProgressView))


class MeetingSummaryTopicView(Schema):
    title = fields.String()
    platform = fields.String()
    supporters = fields.Integer()
    outcome = fields.String(allow_none=True)
    discussion = fields.String(allow_none=True)


class MeetingSummaryResolutionView(Schema):
    text = fields.String()
    department = fields.String(allow_none=True)
    deadline = fields.Date()
    state = fields.String()
    satisfaction = fields.Integer(allow_none=True)


class MeetingSummaryView(Schema):
    """What ``public`` reads of a disclosed meeting: no names of anyone."""

    meeting_id = fields.String()
    village_code = fields.String()
    village_name = fields.String()
    month = fields.String()
    kind = fields.String()
    held_at = fields.DateTime()
    place = fields.String()
    attendance = fields.Dict(keys=fields.String(), values=fields.Integer(),
                             metadata={"description": "签到人数按角色, 另含村民代表人数"})
    topics = fields.List(fields.Nested(MeetingSummaryTopicView))
    resolutions = fields.List(fields.Nested(MeetingSummaryResolutionView))
    disclosed_at = fields.DateTime()


class MeetingMissedView(Schema):
    village_code = fields.String()
    month = fields.String()
    reason = fields.String(allow_none=True)


class MeetingComplianceVillageView(Schema):
    code = fields.String()
    name = fields.String()
    township_code = fields.String()
    status = fields.String()
    meeting_id = fields.String(allow_none=True)
    missed_reason = fields.String(allow_none=True)


class MeetingComplianceCounts(Schema):
    villages = fields.Integer()
    held = fields.Integer()
    scheduled = fields.Integer()
    missed = fields.Integer()
    not_scheduled = fields.Integer()
    held_rate = fields.Float()


class MeetingComplianceTownshipView(MeetingComplianceCounts):
    township_code = fields.String()


class MeetingComplianceView(Schema):
    month = fields.String()
    district = fields.Nested(MeetingComplianceCounts)
    townships = fields.List(fields.Nested(MeetingComplianceTownshipView))
    villages = fields.List(fields.Nested(MeetingComplianceVillageView))


class MeetingStatsRow(Schema):
    township_code = fields.String()
    month = fields.String()
    villages = fields.Integer()
    held = fields.Integer()
    missed = fields.Integer()
    extra_held = fields.Integer()


class ResolutionStatsRow(Schema):
    township_code = fields.String()
    adopted = fields.Integer()
    done = fields.Integer()
    done_on_time = fields.Integer()
    overdue = fields.Integer()
    open = fields.Integer()
    completion_rate = fields.Float()
    average_satisfaction = fields.Float(allow_none=True)


# --- events we publish (ids and non-identifying facts only) -------------------------------

class TopicEvent(Schema):
    topic_id = identifier()
    village_code = digits(12)
    platform = one_of(domain.PLATFORMS)
    source = one_of(domain.SOURCES)
    source_ref = fields.String(allow_none=True, load_default=None)
    title = text(100)
    supporters = fields.Integer(required=True)
    proposer_person_id = fields.String(allow_none=True, load_default=None)


class TopicAcceptedEvent(Schema):
    """The contract with supervision (docs/architecture.md)."""

    topic_id = identifier()
    village_code = digits(12)
    platform = one_of(domain.PLATFORMS)
    source = one_of(domain.SOURCES)
    source_ref = fields.String(allow_none=True, load_default=None)
    title = text(100)


class TopicRejectedEvent(Schema):
    topic_id = identifier()
    village_code = digits(12)
    source = one_of(domain.SOURCES)
    source_ref = fields.String(allow_none=True, load_default=None)
    reason = text(500)


class TopicMergedEvent(Schema):
    topic_id = identifier()
    village_code = digits(12)
    merged_into = identifier()
    supporters = fields.Integer(required=True)
    source = one_of(domain.SOURCES)
    source_ref = fields.String(allow_none=True, load_default=None)


class MeetingEvent(Schema):
    meeting_id = identifier()
    village_code = digits(12)
    month = month()
    kind = one_of(domain.MEETING_KINDS)
    starts_at = fields.DateTime(required=True)
    convener_person_id = identifier()


class MeetingCancelledEvent(Schema):
    meeting_id = identifier()
    village_code = digits(12)
    month = month()
    kind = one_of(domain.MEETING_KINDS)
    reason = text(500)


class AttendeeEvent(Schema):
    person_id = identifier()
    role = one_of(domain.ATTENDEE_ROLES)


class OutcomeEvent(Schema):
    topic_id = identifier()
    outcome = one_of(domain.OUTCOMES, allow_none=True)


class MeetingHeldEvent(Schema):
    meeting_id = identifier()
    village_code = digits(12)
    month = month()
    kind = one_of(domain.MEETING_KINDS)
    held_at = fields.DateTime(required=True)
    attendees = fields.List(fields.Nested(AttendeeEvent), required=True)
    villager_representatives = fields.Integer(required=True)
    topic_ids = fields.List(identifier(), required=True)


class MeetingMissedEvent(Schema):
    village_code = digits(12)
    township_code = digits(9)
    month = month()
    reason = fields.String(allow_none=True, load_default=None)


class MeetingDisclosedEvent(Schema):
    meeting_id = identifier()
    village_code = digits(12)
    month = month()
    outcomes = fields.List(fields.Nested(OutcomeEvent), required=True)
    resolution_ids = fields.List(identifier(), required=True)


class ResolutionEvent(Schema):
    resolution_id = identifier()
    meeting_id = identifier()
    topic_id = identifier()
    village_code = digits(12)
    owner_person_id = identifier()
    department = fields.String(allow_none=True, load_default=None)
    deadline = fields.Date(required=True)
    state = one_of(tuple(domain.RESOLUTION_STATE_NAMES))


class ResolutionCompletedEvent(ResolutionEvent):
    on_time = fields.Boolean(required=True)
    satisfaction = fields.Integer(allow_none=True, load_default=None)


EVENTS = EventCatalog("meetings")
EVENTS.register("topic.proposed", TopicEvent, "A topic was proposed for a village (by a person, "
                "a villager whose name stays private, or referred by another service).")
EVENTS.register("topic.accepted", TopicAcceptedEvent, "A topic was accepted for consultation.")
EVENTS.register("topic.rejected", TopicRejectedEvent, "A topic was not accepted, with a reason.")
EVENTS.register("topic.merged", TopicMergedEvent, "A topic was merged into another; "
                "`supporters` is the target's new total.")
EVENTS.register("meeting.scheduled", MeetingEvent, "A village's meeting was scheduled.")
EVENTS.register("meeting.cancelled", MeetingCancelledEvent, "A scheduled meeting was cancelled.")
EVENTS.register("meeting.reminder_due", MeetingEvent, "A meeting is a few days away "
                "(`MEETINGS.reminder_days`); published once per meeting.")
EVENTS.register("meeting.held", MeetingHeldEvent, "A meeting was held: attendee person ids with "
                "their role at the meeting, for evaluation.")
EVENTS.register("meeting.missed", MeetingMissedEvent, "A month ended without a held regular "
                "meeting in the village; published once per village and month.")
EVENTS.register("meeting.disclosed", MeetingDisclosedEvent, "A held meeting's summary was "
                "made public.")
EVENTS.register("resolution.adopted", ResolutionEvent, "A resolution with an owner and a "
                "deadline was adopted on an agreed topic.")
EVENTS.register("resolution.progressed", ResolutionEvent, "Progress was reported on a "
                "resolution.")
EVENTS.register("resolution.completed", ResolutionCompletedEvent, "A resolution was done "
                "(with evidence), or villagers rated it (`satisfaction`).")
EVENTS.register("resolution.overdue", ResolutionEvent, "A resolution's deadline passed "
                "unfinished; published once.")


# --- events we consume (the publishers follow these; unknown fields are ignored) ---------

class Consumed(Schema):
    class Meta:
        unknown = EXCLUDE  # adding a field is a compatible change for the publisher


class PetitionReferred(Consumed):
    """``petitions`` → ``petition.referred_to_meeting``."""

    petition_id = identifier()
    village_code = digits(12)
    title = text(100)
    summary = text(2000, load_default="")
    platform = one_of(domain.PLATFORMS, load_default="villager_voice")
    category = text(50, required=False, load_default=None, allow_none=True)


class MatterReferred(Consumed):
    """``supervision`` → ``matter.referred_to_meeting``."""

    matter_id = identifier()
    village_code = digits(12)
    title = text(100)
    summary = text(2000, load_default="")
    platform = one_of(domain.PLATFORMS, load_default="supervise")


class VillageChanged(Consumed):
    """``registry`` → ``village.registered`` / ``village.updated``."""

    code = digits(12)
    name = text(50)
    township_code = digits(9)
    active = fields.Boolean(required=True)
