"""The petitions service's public contract: commands in, views out, event payloads.

Views never carry an identity except ``PetitionIdentityView`` / ``DisputePartiesView``,
which only authorised callers get, each read audited. Events carry ids and
non-identifying facts only.
"""

from marshmallow import ValidationError, fields, validate, validates_schema

from services.chassis.events import EventCatalog
from services.chassis.schemas import PageQuery, Schema, digits, one_of, text
from services.petitions import domain

ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$", error="应为 1 到 40 位字母、数字、下划线或连字符")
PHONE = validate.Regexp(r"^\+?[0-9-]{5,20}$", error="电话号码格式无效")
ID_NUMBER = validate.Regexp(r"^\d{17}[\dXx]$", error="身份证号应为 18 位")
PERIOD = validate.Regexp(r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$",
                         error="应为 1970 到 2999 年间的 YYYY-MM 月份")


def identifier(required: bool = True, **kwargs) -> fields.String:
    return fields.String(required=required, validate=ID, **kwargs)


# --- commands -----------------------------------------------------------------------------

class PetitionerIdentity(Schema):
    name = text(50)
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE)
    id_number = fields.String(load_default=None, allow_none=True, validate=ID_NUMBER)


class PublicPetitionIn(Schema):
    """What anyone may file online without an account."""

    category = text(40, metadata={"description": "配置的类别之一, 如 land, homestead"})
    agri_related = fields.Boolean(load_default=False)
    village_code = digits(12)
    summary = text(2000)
    details = text(10000, required=False, load_default="")
    anonymous = fields.Boolean(load_default=False)
    identity = fields.Nested(PetitionerIdentity, load_default=None, allow_none=True)

    @validates_schema
    def _identity_or_anonymous(self, data, **kwargs):
        if data.get("anonymous") and data.get("identity"):
            raise ValidationError({"identity": ["匿名信访不应填写身份信息"]})
        if not data.get("anonymous") and not data.get("identity"):
            raise ValidationError({"identity": ["实名信访须填写信访人姓名, 或选择匿名"]})


class PetitionIn(PublicPetitionIn):
    channel = one_of(domain.CHANNELS)


class PetitionNotAcceptIn(Schema):
    reason = text(1000)
    competent_body = text(100)


class PetitionAssignIn(Schema):
    person_id = identifier()


class PetitionEscalateIn(Schema):
    target_kind = one_of(domain.ESCALATION_TARGETS)
    target = text(100, metadata={"description": "乡镇代码或区直单位名称/编号"})
    days = fields.Integer(load_default=None, allow_none=True,
                          validate=validate.Range(min=1, max=90, error="应在 1 到 90 之间"))


class PetitionEscalationResponseIn(Schema):
    note = text(2000, required=False, load_default="",
                metadata={"description": "乡镇或区直单位的答复要点"})


class PetitionExtendIn(Schema):
    days = fields.Integer(required=True)
    reason = text(1000)


class PetitionOpinionIn(Schema):
    opinion = text(5000)


class PetitionRequestIn(Schema):
    reason = text(2000, required=False, load_default="")


class PetitionCloseIn(Schema):
    satisfaction = fields.Integer(required=True, validate=validate.Range(
        min=1, max=5, error="满意度应为 1 到 5"))


class PetitionReferMeetingIn(Schema):
    title = text(100)
    summary = text(2000)
    platform = one_of(domain.PLATFORMS, load_default="villager_voice")


class PetitionReferSupervisionIn(Schema):
    summary = text(2000)


class PetitionQuery(PageQuery):
    state = one_of(domain.STATES, required=False)
    village = digits(12, required=False)
    township = digits(9, required=False)
    category = text(40, required=False)


class PetitionStatisticsQuery(Schema):
    period = fields.String(required=True, validate=PERIOD)
    township = digits(9, required=False)


class IdentityReadQuery(PageQuery):
    subject_id = identifier(required=False)


class DisputeParty(Schema):
    name = text(50)
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE)
    id_number = fields.String(load_default=None, allow_none=True, validate=ID_NUMBER)


class DisputeIn(Schema):
    type = one_of(domain.DISPUTE_TYPES)
    village_code = digits(12)
    description = text(5000)
    risk_level = one_of(domain.RISK_LEVELS, load_default="low")
    parties = fields.List(fields.Nested(DisputeParty), required=True, validate=validate.Length(
        min=2, max=100, error="当事人应为 2 到 100 人"))
    mediator_ids = fields.List(identifier(), load_default=list, validate=validate.Length(
        max=10, error="调解员至多 10 人"))


class DisputeMediatorsIn(Schema):
    person_ids = fields.List(identifier(), required=True, validate=validate.Length(
        min=1, max=10, error="调解员应为 1 到 10 人"))


class DisputeSessionIn(Schema):
    date = fields.Date(required=True)
    notes = text(5000)


class DisputeAgreementIn(Schema):
    text = text(5000)


class DisputeFailIn(Schema):
    referral = one_of(domain.REFERRALS)


class DisputeRiskIn(Schema):
    level = one_of(domain.RISK_LEVELS)


class DisputeFollowupIn(Schema):
    notes = text(2000)


class DisputeQuery(PageQuery):
    state = one_of(domain.DISPUTE_STATES, required=False)
    village = digits(12, required=False)
    township = digits(9, required=False)


# --- views --------------------------------------------------------------------------------

class PetitionStepView(Schema):
    action = fields.String()
    state = fields.String()
    at = fields.DateTime()
    reason = fields.String(allow_none=True, metadata={
        "description": "信访人申请复查或复核的理由"})


class PetitionDeadlinesView(Schema):
    accept_due = fields.Date(allow_none=True)
    handle_due = fields.Date(allow_none=True)
    escalation_due = fields.Date(allow_none=True)
    review_request_until = fields.Date(allow_none=True)
    review_due = fields.Date(allow_none=True)
    reexam_request_until = fields.Date(allow_none=True)
    reexam_due = fields.Date(allow_none=True)


class PetitionAnswersView(Schema):
    answer = fields.String(allow_none=True)
    review_answer = fields.String(allow_none=True)
    reexam_answer = fields.String(allow_none=True)
    not_accepted_reason = fields.String(allow_none=True)
    competent_body = fields.String(allow_none=True)


class PetitionReceiptView(PetitionDeadlinesView, PetitionAnswersView):
    """What the receipt code shows: status, deadlines, answers; nothing identifying."""

    state = fields.String()
    state_name = fields.String()
    category = fields.String()
    received_on = fields.Date()
    extended_days = fields.Integer(allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    steps = fields.List(fields.Nested(PetitionStepView))


class PetitionReceiptIssued(PetitionReceiptView):
    receipt_code = fields.String(metadata={"description": "仅此一次返回, 请妥善保存"})


class PetitionView(PetitionDeadlinesView, PetitionAnswersView):
    id = fields.String()
    state = fields.String()
    state_name = fields.String()
    channel = fields.String()
    category = fields.String()
    agri_related = fields.Boolean()
    village_code = fields.String()
    township_code = fields.String()
    summary = fields.String()
    details = fields.String()
    anonymous = fields.Boolean()
    has_receipt = fields.Boolean()
    received_on = fields.Date()
    accepted_on = fields.Date(allow_none=True)
    responsible_person_id = fields.String(allow_none=True)
    escalated_to_kind = fields.String(allow_none=True)
    escalated_to = fields.String(allow_none=True)
    escalation_responded_on = fields.Date(allow_none=True)
    escalation_response = fields.String(allow_none=True)
    extended_days = fields.Integer(allow_none=True)
    extension_reason = fields.String(allow_none=True)
    answered_on = fields.Date(allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    closed_on = fields.Date(allow_none=True)
    referred_to_meeting = fields.Boolean()
    referred_to_supervision = fields.Boolean()
    referred_to_supervision_on = fields.Date(allow_none=True)
    supervision_summary = fields.String(allow_none=True)
    steps = fields.List(fields.Nested(PetitionStepView))


class PetitionReferralView(Schema):
    """What a discipline inspector reads of a petition referred to supervision: the referral,
    not the details, answers or history (``PetitionView`` fields, a subset)."""

    id = fields.String()
    village_code = fields.String()
    township_code = fields.String()
    category = fields.String()
    state = fields.String()
    state_name = fields.String()
    received_on = fields.Date()
    accepted_on = fields.Date(allow_none=True)
    answered_on = fields.Date(allow_none=True)
    closed_on = fields.Date(allow_none=True)
    referred_to_supervision = fields.Boolean()
    referred_to_supervision_on = fields.Date(allow_none=True)
    supervision_summary = fields.String(allow_none=True)


class PetitionIdentityView(Schema):
    petition_id = fields.String()
    anonymous = fields.Boolean()
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    id_number = fields.String(allow_none=True)


class IdentityReadView(Schema):
    subject_kind = fields.String()
    subject_id = fields.String()
    username = fields.String()
    role = fields.String()
    person_id = fields.String(allow_none=True)
    read_at = fields.DateTime()


class PetitionStageOnTime(Schema):
    total = fields.Integer()
    on_time = fields.Integer()
    rate = fields.Float(allow_none=True)


class PetitionOnTimeView(Schema):
    accept = fields.Nested(PetitionStageOnTime)
    handle = fields.Nested(PetitionStageOnTime)
    review = fields.Nested(PetitionStageOnTime)
    reexam = fields.Nested(PetitionStageOnTime)


class PetitionFigures(Schema):
    received = fields.Integer()
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_channel = fields.Dict(keys=fields.String(), values=fields.Integer())
    agri_related = fields.Integer()
    not_accepted = fields.Integer()
    answered = fields.Integer()
    closed = fields.Integer()
    on_time = fields.Nested(PetitionOnTimeView)


class DisputeFigures(Schema):
    registered = fields.Integer()
    mediated = fields.Integer()
    agreed = fields.Integer()
    referred = fields.Integer()
    agreement_rate = fields.Float(allow_none=True)
    high_risk = fields.Integer()


class PetitionPeriodFigures(Schema):
    period = fields.String()
    petitions = fields.Nested(PetitionFigures)
    disputes = fields.Nested(DisputeFigures)


class PetitionTownshipFigures(Schema):
    township_code = fields.String()
    current = fields.Nested(PetitionPeriodFigures)
    previous = fields.Nested(PetitionPeriodFigures)


class PetitionStatisticsView(Schema):
    period = fields.String()
    previous_period = fields.String()
    township = fields.String(allow_none=True)
    current = fields.Nested(PetitionPeriodFigures)
    previous = fields.Nested(PetitionPeriodFigures)
    townships = fields.List(fields.Nested(PetitionTownshipFigures))


class DisputeSessionView(Schema):
    date = fields.Date()
    notes = fields.String()


class DisputeView(Schema):
    id = fields.String()
    type = fields.String()
    village_code = fields.String()
    township_code = fields.String()
    description = fields.String()
    party_count = fields.Integer()
    risk_level = fields.String()
    state = fields.String()
    mediator_ids = fields.List(fields.String())
    registered_on = fields.Date()
    sessions = fields.List(fields.Nested(DisputeSessionView))
    agreement = fields.String(allow_none=True)
    resolved_on = fields.Date(allow_none=True)
    judicial_confirmation_until = fields.Date(allow_none=True)
    reminder = fields.String(allow_none=True)
    referral = fields.String(allow_none=True)
    followup_due = fields.Date(allow_none=True)
    followed_up_on = fields.Date(allow_none=True)


class DisputePartiesView(Schema):
    dispute_id = fields.String()
    parties = fields.List(fields.Nested(DisputeParty))


# --- events (ids and non-identifying facts only) ------------------------------------------

class PetitionEvent(Schema):
    petition_id = identifier()
    village_code = digits(12)
    township_code = digits(9)
    category = fields.String(required=True)
    channel = one_of(domain.CHANNELS)
    agri_related = fields.Boolean(required=True)
    state = one_of(domain.STATES)
    responsible_person_id = fields.String(allow_none=True, load_default=None)
    stage = fields.String(allow_none=True, load_default=None)
    due = fields.Date(allow_none=True, load_default=None)
    escalated_to_kind = fields.String(allow_none=True, load_default=None)
    satisfaction = fields.Integer(allow_none=True, load_default=None)


class ReferredToMeetingEvent(Schema):
    """Contract with meetings (docs/architecture.md)."""

    petition_id = identifier()
    village_code = digits(12)
    title = text(100)
    summary = text(2000)
    platform = one_of(domain.PLATFORMS)
    category = fields.String(required=True)


class ReferredToSupervisionEvent(Schema):
    """Contract with supervision (docs/architecture.md)."""

    petition_id = identifier()
    village_code = digits(12)
    category = fields.String(required=True)
    summary = text(2000)


class DisputeEvent(Schema):
    dispute_id = identifier()
    village_code = digits(12)
    township_code = digits(9)
    type = one_of(domain.DISPUTE_TYPES)
    state = one_of(domain.DISPUTE_STATES)
    risk_level = one_of(domain.RISK_LEVELS)
    party_count = fields.Integer(required=True)
    sessions = fields.Integer(allow_none=True, load_default=None)
    referral = fields.String(allow_none=True, load_default=None)
    judicial_confirmation_until = fields.Date(allow_none=True, load_default=None)
    followup_due = fields.Date(allow_none=True, load_default=None)


class RiskRaisedEvent(DisputeEvent):
    previous_level = one_of(domain.RISK_LEVELS, allow_none=True, load_default=None)
    urgent = fields.Boolean(required=True)


EVENTS = EventCatalog("petitions")
_PETITION_EVENTS = {
    "petition.received": "A petition was filed (no identity; channel, category, village).",
    "petition.accepted": "A petition was accepted; `due` is the handling deadline.",
    "petition.not_accepted": "A petition was not accepted and redirected to a competent body.",
    "petition.assigned": "A petition was assigned to a responsible person (registry id).",
    "petition.escalated": "A petition was escalated to a township or department; `due` is its "
                          "response deadline.",
    "petition.extended": "The handling deadline was extended once; `due` is the new deadline.",
    "petition.answered": "The handling opinion was given; `due` ends the review request window.",
    "petition.review_requested": "The petitioner asked for review (复查); `due` is its deadline.",
    "petition.reviewed": "The review was answered.",
    "petition.reexam_requested": "The petitioner asked for re-examination (复核).",
    "petition.reexamined": "The re-examination was answered.",
    "petition.closed": "The petition was closed, with the petitioner's satisfaction 1-5.",
    "petition.due_soon": "A deadline (`stage`, `due`) is near; published once per deadline.",
    "petition.overdue": "A deadline (`stage`, `due`) has passed; published once per deadline.",
}
for _name, _description in _PETITION_EVENTS.items():
    EVENTS.register(_name, PetitionEvent, _description)
EVENTS.register("petition.referred_to_meeting", ReferredToMeetingEvent,
                "Referred to the village's monthly meeting as a topic (source `petition`).")
EVENTS.register("petition.referred_to_supervision", ReferredToSupervisionEvent,
                "Referred to supervision as a clue about cadre conduct.")
_DISPUTE_EVENTS = {
    "dispute.registered": "A dispute was registered (party count only, no party data).",
    "dispute.mediation_held": "A mediation session was held; `sessions` counts them.",
    "dispute.resolved": "Mediation reached an agreement; parties may seek judicial confirmation "
                        "until `judicial_confirmation_until`; follow-up visit due `followup_due`.",
    "dispute.referred": "Mediation failed; referred to litigation, arbitration or a higher level.",
    "dispute.followup_due": "The follow-up visit (回访) after an agreement is due.",
}
for _name, _description in _DISPUTE_EVENTS.items():
    EVENTS.register(_name, DisputeEvent, _description)
EVENTS.register("dispute.risk_raised", RiskRaisedEvent,
                "The risk level rose; `urgent` when it is `high` (possible mass incident).")
