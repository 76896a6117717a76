"""Typed domain errors that cross RPC as the same types (nameko's ``deserialize_to_instance``,
the ``@remote_error`` of nameko-examples).

Each carries the HTTP status the gateway answers with, a Chinese message for people and,
for validation, the field errors (``{field: [reasons]}``).
"""

from nameko.exceptions import deserialize_to_instance


class DomainError(Exception):
    status = 500
    slug = "error"
    title = "错误"

    def __init__(self, message: str = "", details: dict | None = None):
        super().__init__(message or self.title, details or {})

    @property
    def message(self) -> str:
        return self.args[0]

    @property
    def details(self) -> dict:
        return self.args[1]


@deserialize_to_instance
class ValidationFailed(DomainError):
    status, slug, title = 400, "validation", "输入有误"


@deserialize_to_instance
class Unauthenticated(DomainError):
    status, slug, title = 401, "unauthenticated", "需要登录"


@deserialize_to_instance
class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "无权访问"


@deserialize_to_instance
class NotFound(DomainError):
    status, slug, title = 404, "not-found", "未找到"


@deserialize_to_instance
class Conflict(DomainError):
    status, slug, title = 409, "conflict", "状态冲突"


@deserialize_to_instance
class TooLarge(DomainError):
    status, slug, title = 413, "too-large", "内容过大"


@deserialize_to_instance
class RateLimited(DomainError):
    status, slug, title = 429, "rate-limited", "请求过于频繁"


@deserialize_to_instance
class ServiceUnavailable(DomainError):
    status, slug, title = 503, "unavailable", "服务暂不可用"


def invalid(field: str, reason: str) -> ValidationFailed:
    """A validation error about one field."""
    return ValidationFailed(f"{field}: {reason}", {field: [reason]})
