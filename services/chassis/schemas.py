"""Marshmallow helpers shared by every service's contract: Chinese messages, strict loading.

Unknown fields are refused (an unexpected ``phone`` must not slip into an event or a row),
and every failure becomes ``ValidationFailed`` with ``{field: [reasons]}``.
"""

import re
from functools import cache

import marshmallow
from marshmallow import ValidationError, fields, validate

from services.chassis.errors import ValidationFailed

# Chinese defaults for the messages people read; set once, for every schema of the platform.
_MESSAGES = {
    fields.Field: {"required": "必填字段", "null": "不能为空",
                   "validator_failed": "取值无效"},
    fields.String: {"invalid": "应为字符串", "invalid_utf8": "应为 UTF-8 字符串"},
    fields.Number: {"invalid": "应为数字", "too_large": "数字过大"},
    fields.Integer: {"invalid": "应为整数"},
    fields.Decimal: {"special": "不允许特殊数值"},
    fields.Boolean: {"invalid": "应为布尔值"},
    fields.DateTime: {"invalid": "应为 ISO 8601 日期时间", "format": "无法格式化"},
    fields.Date: {"invalid": "应为 YYYY-MM-DD 日期", "format": "无法格式化"},
    fields.List: {"invalid": "应为列表"},
    fields.Nested: {"type": "应为对象"},
}
for _field, _messages in _MESSAGES.items():
    _field.default_error_messages = {**_field.default_error_messages, **_messages}


class Schema(marshmallow.Schema):
    error_messages = {"unknown": "未知字段", "type": "应为 JSON 对象"}


def load(schema: marshmallow.Schema, data, partial: bool = False) -> dict:
    """Load ``data`` or raise ``ValidationFailed`` naming each bad field."""
    try:
        return schema.load(data if data is not None else {}, partial=partial)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationFailed("输入有误", _flatten(messages)) from exc


def _flatten(messages: dict, prefix: str = "") -> dict[str, list[str]]:
    """``{"a": {"0": {"b": [..]}}}`` → ``{"a.0.b": [..]}``: one key per bad field."""
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = [str(item) for item in value] if isinstance(value, list) else [str(value)]
    return flat


def _required(required: bool | None, kwargs: dict) -> bool:
    """Required unless told otherwise or given a default."""
    return ("load_default" not in kwargs) if required is None else required


def text(max_length: int, required: bool | None = None, **kwargs) -> fields.String:
    """A length-bounded string; required text may not be blank."""
    required = _required(required, kwargs)
    minimum = 1 if required else 0
    return fields.String(required=required,
                         validate=validate.Length(min=minimum, max=max_length,
                                                  error=f"长度应在 {minimum} 到 {max_length} 之间"),
                         **kwargs)


def one_of(choices, required: bool | None = None, **kwargs) -> fields.String:
    return fields.String(required=_required(required, kwargs),
                         validate=validate.OneOf(list(choices),
                                                 error="取值应为: " + ", ".join(choices)),
                         **kwargs)


def digits(length: int, required: bool | None = None, **kwargs) -> fields.String:
    pattern = re.compile(rf"^\d{{{length}}}$")
    return fields.String(required=_required(required, kwargs),
                         validate=validate.Regexp(pattern, error=f"应为 {length} 位数字"),
                         **kwargs)


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(
        min=1, max=1_000_000, error="应在 1 到 1000000 之间"))
    page_size = fields.Integer(load_default=50, validate=validate.Range(
        min=1, max=500, error="应在 1 到 500 之间"))


@cache
def page_of(item_schema):
    """``{"items": [...], "total": N, ...}``: every list endpoint pages the same way (one
    class per item schema, so the OpenAPI document names it once)."""
    return type(f"{item_schema.__name__}Page", (Schema,), {
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(),
        "page": fields.Integer(),
        "page_size": fields.Integer(),
    })
