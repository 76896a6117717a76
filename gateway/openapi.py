"""The OpenAPI 3 document, generated from the route table and the marshmallow schemas."""

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from gateway.routes import PUBLIC, ROUTES
from services.chassis.schemas import Schema


class Problem(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "字段 → 原因列表"})


ERRORS = {400: "输入有误", 401: "需要登录", 403: "无权访问", 404: "未找到", 409: "状态冲突",
          413: "内容过大", 503: "服务暂不可用"}


def _schema_name(resolver_schema) -> str:
    cls = resolver_schema if isinstance(resolver_schema, type) else type(resolver_schema)
    return cls.__name__.removesuffix("Schema")


def build(version: str) -> dict:
    spec = APISpec(title="Yuelihui 月例会 API", version=version, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
                   info={"description": "村务民主协商监督月例会平台。错误均为 RFC 9457 "
                                        "application/problem+json。"},
                   servers=[{"url": "/api/v1"}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"})
    spec.components.schema("Problem", schema=Problem)
    paths: dict[str, dict] = {}
    for route in ROUTES:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.path)
        operation = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": _operation_id(route),
            "x-roles": sorted(route.roles),
            "responses": _responses(route),
        }
        if PUBLIC not in route.roles:
            operation["security"] = [{"bearer": []}]
        parameters = [{"in": "path", "name": name, "required": True,
                       "schema": {"type": "string"}}
                      for name in re.findall(r"<(?:\w+:)?(\w+)>", route.path)]
        if route.query:
            parameters.append({"in": "query", "schema": route.query})
        if parameters:
            operation["parameters"] = parameters
        if route.body:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": route.body}}}
        if route.csv_body:
            operation["requestBody"] = {"required": True, "content": {
                "text/csv": {"schema": {"type": "string"}}}}
        paths.setdefault(path, {})[route.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation_id(route) -> str:
    words = re.sub(r"<(?:\w+:)?(\w+)>", r"by_\1", route.path).strip("/").replace(".", "_")
    return f"{route.method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', words)}"


def _responses(route) -> dict:
    success = {"description": "成功"}
    if route.response:
        success["content"] = {"application/json": {"schema": route.response}}
    elif route.path == "/openapi.json":
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    responses = {str(route.status): success}
    problem_codes = [400, 503]
    if PUBLIC not in route.roles:
        problem_codes += [401, 403]
    if "<" in route.path:
        problem_codes.append(404)
    if route.method != "GET":
        problem_codes += [409, 413]
    for code in sorted(set(problem_codes)):
        responses[str(code)] = {"description": ERRORS[code], "content": {
            "application/problem+json": {"schema": "Problem"}}}
    return responses
