"""RFC 9457 problem details: every error the API returns has this shape."""

import json

from werkzeug.wrappers import Response

from services.chassis.errors import DomainError

PROBLEM_TYPE = "https://yuelihui.org/problems/"
CONTENT_TYPE = "application/problem+json"


def problem(status: int, slug: str, title: str, detail: str = "",
            errors: dict | None = None, headers: dict | None = None) -> Response:
    body = {"type": PROBLEM_TYPE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    content_type=CONTENT_TYPE, headers=headers)


def from_error(error: DomainError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return problem(error.status, error.slug, error.title, error.message, error.details, headers)


def internal() -> Response:
    return problem(500, "internal", "服务器内部错误", "请求未能完成, 已记录, 请稍后重试")
