"""Notify's contract: commands in and views out. Notify publishes no events."""

from marshmallow import ValidationError, fields, validate, validates, validates_schema

from services.chassis.schemas import PageQuery, Schema, one_of, text
from services.notify import domain

CLOCK_TIME = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="应为 HH:MM 时间")


class InboxQuery(PageQuery):
    unread = fields.Boolean(load_default=False)


class InboxItemView(Schema):
    id = fields.Integer()
    event_type = fields.String()
    priority = fields.String()
    title = fields.String()
    body = fields.String()
    subject = fields.String(metadata={"description": "事件主体, 如 petition/P-1"})
    event_time = fields.DateTime()
    created_at = fields.DateTime()
    read = fields.Boolean()
    read_at = fields.DateTime(allow_none=True)


class InboxPage(Schema):
    items = fields.List(fields.Nested(InboxItemView))
    total = fields.Integer()
    unread = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class NotifyChannelList(fields.List):
    def __init__(self, **kwargs):
        super().__init__(one_of(domain.CHANNELS), validate=validate.Length(
            min=1, max=len(domain.CHANNELS), error="应列出 1 到 4 个渠道"), **kwargs)


class NotifyPreferenceIn(Schema):
    channels = fields.Dict(keys=one_of(domain.PRIORITIES), values=NotifyChannelList(),
                           load_default=dict)
    quiet_start = fields.String(load_default=None, allow_none=True, validate=CLOCK_TIME)
    quiet_end = fields.String(load_default=None, allow_none=True, validate=CLOCK_TIME)

    @validates_schema
    def _both_or_neither(self, data, **kwargs):
        if bool(data.get("quiet_start")) != bool(data.get("quiet_end")):
            raise ValidationError({"quiet_end": ["免打扰时段应同时给出开始和结束时间"]})


class NotifyPreferenceView(Schema):
    person_id = fields.String()
    channels = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    quiet_start = fields.String(allow_none=True)
    quiet_end = fields.String(allow_none=True)


class WebhookIn(Schema):
    agency = text(100)
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                     validate=validate.Length(max=500, error="长度应不超过 500"),
                     error_messages={"invalid": "应为 http 或 https 地址"})
    patterns = fields.List(fields.String(), required=True, validate=validate.Length(
        min=1, max=20, error="应给出 1 到 20 个事件类型模式"))

    @validates("patterns")
    def _patterns(self, value, **kwargs):
        bad = [p for p in value if not domain.PATTERN.match(p or "")]
        if bad:
            raise ValidationError(
                f"事件类型模式无效: {', '.join(bad)}(如 clue.referred、petition.*、#)")


class WebhookView(Schema):
    id = fields.String()
    agency = fields.String()
    url = fields.String()
    patterns = fields.List(fields.String())
    status = fields.String(metadata={"description": "active 或 suspended"})
    consecutive_failures = fields.Integer()
    created_at = fields.DateTime()
    suspended_at = fields.DateTime(allow_none=True)


class WebhookCreated(WebhookView):
    secret = fields.String(metadata={"description": "签名密钥, 仅在创建时返回一次"})


class WebhookPage(Schema):
    items = fields.List(fields.Nested(WebhookView))
    total = fields.Integer()


class WebhookAttemptView(Schema):
    attempt = fields.Integer()
    at = fields.DateTime()
    status_code = fields.Integer(allow_none=True)
    outcome = fields.String()
    error = fields.String(allow_none=True)


class WebhookDeliveryView(Schema):
    id = fields.Integer()
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    log = fields.List(fields.Nested(WebhookAttemptView))


class WebhookDeliveryPage(Schema):
    items = fields.List(fields.Nested(WebhookDeliveryView))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class NotifyPageQuery(PageQuery):
    pass


class FailedDeliveryView(Schema):
    id = fields.Integer()
    event_id = fields.String()
    event_type = fields.String()
    recipient = fields.String()
    channel = fields.String()
    priority = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class FailedDeliveryPage(Schema):
    items = fields.List(fields.Nested(FailedDeliveryView))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class NotifyDeliveryRetried(Schema):
    id = fields.Integer()
    status = fields.String()
