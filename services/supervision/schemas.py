"""The supervision service's public contract: commands in, views out, event payloads.

Amounts are exact decimal yuan as strings (``"1234.50"``): at most two decimals, never
negative, never a float. Clue content never appears in a view other than ``ClueContent``
nor in any event.
"""

from marshmallow import ValidationError, fields, validate, validates_schema

from services.chassis.events import EventCatalog
from services.chassis.schemas import PageQuery, Schema, digits, one_of, text
from services.supervision import domain

ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$", error="应为 1 到 40 位字母、数字、下划线或连字符")
STEP_KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="应为小写字母开头的标识")
PERIOD = validate.Regexp(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$",
                         error="应为 YYYY、YYYY-Qn 或 YYYY-MM")
MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="应为 YYYY-MM")


def identifier(required: bool = True, **kwargs) -> fields.String:
    return fields.String(required=required, validate=ID, **kwargs)


class Money(fields.Decimal):
    """Exact yuan in, ``"123.45"`` out; anything that is not exact to the fen is refused."""

    def __init__(self, **kwargs):
        metadata = {"type": "string", "format": "decimal", "example": "1234.50",
                    "description": "元, 最多两位小数", **kwargs.pop("metadata", {})}
        super().__init__(as_string=True, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):
            value = repr(value)
        amount = super()._deserialize(value, attr, data, **kwargs)
        errors = domain.amount_errors(amount)
        if errors:
            raise ValidationError(errors)
        return amount

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return format(value.quantize(domain.Decimal("0.01")), "f")


# --- commands -----------------------------------------------------------------------------

class SupervisionStepDef(Schema):
    key = fields.String(required=True, validate=STEP_KEY)
    name = text(50)


class PowerItemIn(Schema):
    id = identifier()
    category = one_of(domain.CATEGORIES)
    name = text(100)
    village_code = digits(12)
    steps = fields.List(fields.Nested(SupervisionStepDef), required=True,
                        validate=validate.Length(min=1, max=30, error="步骤应为 1 到 30 个"))
    requires_disclosure = fields.Boolean(load_default=False)

    @validates_schema
    def _unique_steps(self, data, **kwargs):
        keys = [step["key"] for step in data.get("steps", [])]
        if len(keys) != len(set(keys)):
            raise ValidationError({"steps": ["步骤标识不能重复"]})


class PowerItemQuery(PageQuery):
    category = one_of(domain.CATEGORIES, required=False)
    village = digits(12, required=False)


class ExerciseIn(Schema):
    item_id = identifier()
    title = text(200)
    started_on = fields.Date(load_default=None, allow_none=True)


class ExerciseQuery(PageQuery):
    state = one_of(domain.EXERCISE_STATES, required=False)


class ExerciseStepIn(Schema):
    step = fields.String(required=True, validate=STEP_KEY)
    done_on = fields.Date(required=True)
    responsible = text(100)
    evidence = text(2000, required=False, load_default="")


BENEFICIARIES = validate.Range(min=0, max=10_000_000, error="应为 0 到 10000000 之间的整数")


class DisclosureIn(Schema):
    kind = one_of(domain.DISCLOSURE_KINDS)
    village_code = digits(12)
    title = text(200)
    body = text(20000)
    amount = Money(load_default=None, allow_none=True)
    fund_source = text(100, required=False, load_default=None, allow_none=True)
    beneficiaries = fields.Integer(load_default=None, allow_none=True, strict=True,
                                   validate=BENEFICIARIES)
    exercise_id = identifier(required=False, load_default=None, allow_none=True)
    finance_month = fields.String(load_default=None, allow_none=True, validate=MONTH)
    window_days = fields.Integer(load_default=None, allow_none=True, strict=True,
                                 validate=validate.Range(min=1, max=60,
                                                         error="公示期应为 1 到 60 天"))

    @validates_schema
    def _kind_fields(self, data, **kwargs):
        errors = domain.disclosure_kind_errors(data)
        if errors:
            raise ValidationError(errors)


class DisclosureCorrectionIn(Schema):
    """Amount, fund source and beneficiaries left out are kept from the original."""

    title = text(200)
    body = text(20000)
    amount = Money(allow_none=True)
    fund_source = text(100, required=False, allow_none=True)
    beneficiaries = fields.Integer(allow_none=True, strict=True,
                                   validate=BENEFICIARIES)


class DisclosureQuery(PageQuery):
    village = digits(12, required=False)
    township = digits(9, required=False)
    kind = one_of(domain.DISCLOSURE_KINDS, required=False)
    period = fields.String(validate=PERIOD)
    include_superseded = fields.Boolean(load_default=False)


class ObjectionIn(Schema):
    content = text(2000)
    anonymous = fields.Boolean(load_default=True)
    person_id = identifier(required=False, load_default=None, allow_none=True)

    @validates_schema
    def _identity(self, data, **kwargs):
        if not data.get("anonymous") and not data.get("person_id"):
            raise ValidationError({"person_id": ["实名异议须填写登记人员编号"]})
        if data.get("anonymous") and data.get("person_id"):
            raise ValidationError({"person_id": ["匿名异议不能填写人员编号"]})


class ObjectionAnswerIn(Schema):
    answer = text(2000)
    upheld = fields.Boolean(required=True)


class MatterIn(Schema):
    village_code = digits(12)
    title = text(200)
    summary = text(2000, required=False, load_default="")
    owner = identifier()
    deadline = fields.Date(load_default=None, allow_none=True)


class MatterQuery(PageQuery):
    village = digits(12, required=False)
    township = digits(9, required=False)
    state = one_of(domain.MATTER_STATES, required=False)
    source = one_of(domain.MATTER_SOURCES, required=False)


class MatterRectifyIn(Schema):
    evidence = text(2000)


class MatterReferIn(Schema):
    summary = text(2000, required=False, load_default=None, allow_none=True)


CATEGORY = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$",
                           error="应为小写英文标识, 如 benefit_fund、village_finance")


class ClueIn(Schema):
    village_code = digits(12)
    # an identifier, not free text: it travels in clue events, where no content may go
    category = fields.String(required=True, validate=CATEGORY)
    content = text(20000)
    whistleblower = text(500, required=False, load_default=None, allow_none=True)
    source = one_of(domain.CLUE_SOURCES, load_default="direct")
    source_ref = identifier(required=False, load_default=None, allow_none=True)

    @validates_schema
    def _source_ref(self, data, **kwargs):
        if data.get("source") != "direct" and not data.get("source_ref"):
            raise ValidationError({"source_ref": ["来源为事项或信访时须填写其编号"]})


class ClueQuery(PageQuery):
    state = one_of(domain.CLUE_STATES, required=False)


class ClueConcludeIn(Schema):
    outcome = one_of(domain.CLUE_OUTCOMES)
    feedback = text(5000)


class AlertQuery(PageQuery):
    village = digits(12, required=False)
    township = digits(9, required=False)
    kind = one_of(domain.ALERT_KINDS, required=False)
    period = fields.String(validate=PERIOD)


class SupervisionStatisticsQuery(Schema):
    period = fields.String(required=True, validate=PERIOD)
    township = digits(9, required=False)


# --- views --------------------------------------------------------------------------------

class PowerItemView(Schema):
    id = fields.String()
    category = fields.String()
    name = fields.String()
    village_code = fields.String(allow_none=True)
    steps = fields.List(fields.Nested(SupervisionStepDef))
    requires_disclosure = fields.Boolean()
    active = fields.Boolean()


class ExerciseStepView(Schema):
    step = fields.String()
    name = fields.String()
    done_on = fields.Date()
    responsible = fields.String()
    evidence = fields.String()


class ProcedureAlertView(Schema):
    id = fields.String()
    kind = fields.String()
    step = fields.String(allow_none=True)
    summary = fields.String()
    matter_id = fields.String(allow_none=True)
    raised_at = fields.DateTime()


class AlertView(ProcedureAlertView):
    village_code = fields.String()
    township_code = fields.String()
    exercise_id = fields.String(allow_none=True)
    disclosure_id = fields.String(allow_none=True)
    period = fields.String()


class ExerciseView(Schema):
    id = fields.String()
    item_id = fields.String()
    item_name = fields.String()
    category = fields.String()
    village_code = fields.String()
    title = fields.String()
    state = fields.String()
    started_on = fields.Date()
    completed_on = fields.Date(allow_none=True)
    steps = fields.List(fields.Nested(ExerciseStepView))
    alerts = fields.List(fields.Nested(ProcedureAlertView))


class ObjectionView(Schema):
    id = fields.String()
    disclosure_id = fields.String()
    content = fields.String()
    anonymous = fields.Boolean()
    person_id = fields.String(allow_none=True, metadata={"description": "仅对工作人员返回"})
    filed_at = fields.DateTime()
    state = fields.String()
    answer = fields.String(allow_none=True)
    upheld = fields.Boolean(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)


class DisclosureSummary(Schema):
    id = fields.String()
    kind = fields.String()
    village_code = fields.String()
    village_name = fields.String(allow_none=True)
    township_code = fields.String()
    title = fields.String()
    amount = Money(allow_none=True)
    period = fields.String()
    published_at = fields.DateTime()
    window_ends_on = fields.Date()
    state = fields.String()
    corrects_id = fields.String(allow_none=True)
    superseded_by_id = fields.String(allow_none=True)


class DisclosureView(DisclosureSummary):
    body = fields.String()
    fund_source = fields.String(allow_none=True)
    beneficiaries = fields.Integer(allow_none=True)
    exercise_id = fields.String(allow_none=True)
    finance_month = fields.String(allow_none=True)
    window_open = fields.Boolean()
    objections = fields.List(fields.Nested(ObjectionView))
    history = fields.List(fields.Nested(DisclosureSummary),
                          metadata={"description": "本公开更正过的早前版本, 由近及远"})


class MatterView(Schema):
    id = fields.String()
    source = fields.String()
    source_ref = fields.String(allow_none=True)
    village_code = fields.String()
    township_code = fields.String()
    title = fields.String()
    summary = fields.String()
    owner = fields.String()
    deadline = fields.Date()
    state = fields.String()
    overdue = fields.Boolean()
    evidence = fields.String(allow_none=True)
    raised_at = fields.DateTime()
    rectified_on = fields.Date(allow_none=True)
    referred_topic = fields.Boolean()


class ClueView(Schema):
    """What the district administrator (and the referrer) may see: no content."""

    id = fields.String()
    reference_no = fields.String()
    village_code = fields.String()
    category = fields.String()
    source = fields.String()
    state = fields.String()
    outcome = fields.String(allow_none=True)
    referred_on = fields.Date()
    acknowledge_due = fields.Date()
    conclude_due = fields.Date()
    acknowledged_on = fields.Date(allow_none=True)
    concluded_on = fields.Date(allow_none=True)


class ClueContent(ClueView):
    """For ``discipline_inspector`` only; every read is audited."""

    source_ref = fields.String(allow_none=True)
    content = fields.String()
    whistleblower = fields.String(allow_none=True)
    feedback = fields.String(allow_none=True)
    referred_by = fields.String()


class ClueFeedbackView(ClueView):
    feedback = fields.String(allow_none=True)


class ClueReadView(Schema):
    reader = fields.String()
    person_id = fields.String(allow_none=True)
    roles = fields.String()
    read_at = fields.DateTime()


class DisclosureKindTotal(Schema):
    kind = fields.String()
    count = fields.Integer()
    amount = Money()


class DisclosureCountAmount(Schema):
    count = fields.Integer()
    amount = Money()


class SupervisionBlock(Schema):
    disclosures = fields.List(fields.Nested(DisclosureKindTotal))
    livelihood_projects = fields.Nested(DisclosureCountAmount)
    village_construction = fields.Nested(DisclosureCountAmount)
    procedure_alerts = fields.Integer()
    matters_raised = fields.Integer()
    matters_rectified = fields.Integer()
    rectification_rate = fields.Decimal(as_string=True, allow_none=True)
    clues_referred = fields.Integer()
    clues_by_outcome = fields.Dict(keys=fields.String(), values=fields.Integer())
    verified_cases = fields.Integer()


class SupervisionTownshipStatistics(Schema):
    township_code = fields.String()
    current = fields.Nested(SupervisionBlock)
    previous = fields.Nested(SupervisionBlock)
    verified_cases_change_percent = fields.Decimal(as_string=True, allow_none=True)


class SupervisionStatistics(Schema):
    period = fields.String()
    previous_period = fields.String()
    townships = fields.List(fields.Nested(SupervisionTownshipStatistics))
    total = fields.Nested(SupervisionTownshipStatistics)


class PowerCatalogueResult(Schema):
    added = fields.Integer()
    total = fields.Integer()


# --- events (ids and non-identifying facts only; never clue content) -----------------------

class ExerciseStartedEvent(Schema):
    exercise_id = identifier()
    item_id = identifier()
    category = one_of(domain.CATEGORIES)
    village_code = digits(12)
    started_on = fields.Date(required=True)


class ExerciseCompletedEvent(ExerciseStartedEvent):
    completed_on = fields.Date(required=True)
    alerts = fields.Integer(required=True)


class ProcedureViolatedEvent(Schema):
    alert_id = identifier()
    exercise_id = identifier()
    item_id = identifier()
    category = one_of(domain.CATEGORIES)
    village_code = digits(12)
    kind = one_of(domain.PROCEDURE_ALERTS)
    step = fields.String(allow_none=True, load_default=None)
    matter_id = identifier()


class DisclosurePublishedEvent(Schema):
    disclosure_id = identifier()
    kind = one_of(domain.DISCLOSURE_KINDS)
    village_code = digits(12)
    township_code = digits(9)
    amount = fields.String(allow_none=True, load_default=None)
    period = fields.String(required=True)
    window_ends_on = fields.Date(required=True)
    corrects_id = fields.String(allow_none=True, load_default=None)
    exercise_id = fields.String(allow_none=True, load_default=None)


class ObjectionFiledEvent(Schema):
    disclosure_id = identifier()
    objection_id = identifier()
    village_code = digits(12)
    anonymous = fields.Boolean(required=True)


class ObjectionAnsweredEvent(Schema):
    disclosure_id = identifier()
    objection_id = identifier()
    village_code = digits(12)
    upheld = fields.Boolean(required=True)


class DisclosureCorrectedEvent(Schema):
    disclosure_id = identifier()
    corrected_by = identifier()
    village_code = digits(12)


class WindowClosedEvent(Schema):
    disclosure_id = identifier()
    village_code = digits(12)
    window_ends_on = fields.Date(required=True)
    unanswered = fields.Integer(required=True)
    alert_id = fields.String(allow_none=True, load_default=None)


class FinanceMissingEvent(Schema):
    village_code = digits(12)
    township_code = digits(9)
    month = fields.String(required=True)


class MatterEvent(Schema):
    matter_id = identifier()
    village_code = digits(12)
    township_code = digits(9)
    source = one_of(domain.MATTER_SOURCES)
    source_ref = fields.String(allow_none=True, load_default=None)
    deadline = fields.Date(required=True)
    state = one_of(domain.MATTER_STATES)
    rectified_on = fields.Date(allow_none=True, load_default=None)


class MatterReferredEvent(Schema):
    """The contract the meetings service consumes (a topic, source ``supervision``)."""

    matter_id = identifier()
    village_code = digits(12)
    title = text(100)
    summary = text(2000)
    platform = one_of(("supervise",))


class ClueEvent(Schema):
    """Reference number, village, category, dates and state: nothing of the content."""

    reference_no = fields.String(required=True)
    village_code = digits(12)
    category = fields.String(required=True)
    state = one_of(domain.CLUE_STATES)
    outcome = one_of(domain.CLUE_OUTCOMES, required=False, allow_none=True, load_default=None)
    referred_on = fields.Date(required=True)
    acknowledge_due = fields.Date(required=True)
    conclude_due = fields.Date(required=True)
    acknowledged_on = fields.Date(allow_none=True, load_default=None)
    concluded_on = fields.Date(allow_none=True, load_default=None)
    overdue = one_of(("acknowledgement", "conclusion"), required=False, allow_none=True,
                     load_default=None)


EVENTS = EventCatalog("supervision")
for _name, _schema, _text in (
    ("power.exercise_started", ExerciseStartedEvent, "A village began exercising a power item."),
    ("power.exercise_completed", ExerciseCompletedEvent,
     "An exercise was completed; `alerts` counts its procedure alerts."),
    ("power.procedure_violated", ProcedureViolatedEvent,
     "A step out of order, a step skipped, or a benefit fund without disclosure; a "
     "supervision matter was raised."),
    ("disclosure.published", DisclosurePublishedEvent,
     "A disclosure was published with its objection window (a correction names the original)."),
    ("disclosure.objection_filed", ObjectionFiledEvent, "An objection was filed in the window."),
    ("disclosure.objection_answered", ObjectionAnsweredEvent, "An objection was answered."),
    ("disclosure.corrected", DisclosureCorrectedEvent,
     "An upheld objection led to a corrected re-disclosure."),
    ("disclosure.window_closed", WindowClosedEvent,
     "A window closed; `unanswered` > 0 raised an alert."),
    ("disclosure.finance_missing", FinanceMissingEvent,
     "A village published no finance disclosure for a month."),
    ("matter.raised", MatterEvent, "A supervision matter was raised."),
    ("matter.rectified", MatterEvent, "A matter was rectified with evidence."),
    ("matter.overdue", MatterEvent, "A matter passed its rectification deadline (once)."),
    ("matter.referred_to_meeting", MatterReferredEvent,
     "A matter goes back to the village's monthly meeting as a `supervise` topic."),
    ("clue.referred", ClueEvent, "A clue was referred to discipline inspection."),
    ("clue.acknowledged", ClueEvent, "Discipline inspection acknowledged a clue."),
    ("clue.review_started", ClueEvent, "Discipline inspection began reviewing a clue."),
    ("clue.concluded", ClueEvent, "A clue was concluded; the referrer gets feedback."),
    ("clue.overdue", ClueEvent, "A clue passed its acknowledgement or conclusion deadline "
     "(once each)."),
):
    EVENTS.register(_name, _schema, _text)


# --- inbound events (what other services publish to us) -----------------------------------

class TopicAccepted(Schema):
    topic_id = fields.String(required=True)
    village_code = digits(12)
    platform = fields.String(required=True)
    source = fields.String(required=True)
    source_ref = fields.String(allow_none=True, load_default=None)
    title = fields.String(required=True)

    class Meta:
        unknown = "exclude"


class PetitionReferred(Schema):
    petition_id = fields.String(required=True)
    village_code = digits(12)
    category = fields.String(required=True)
    summary = fields.String(load_default="")

    class Meta:
        unknown = "exclude"


class VillageChanged(Schema):
    code = digits(12)
    name = fields.String(required=True)
    township_code = digits(9)
    active = fields.Boolean(load_default=True)

    class Meta:
        unknown = "exclude"
