"""The gateway: authenticates, authorises from the route table, calls the services by RPC
and answers JSON, or RFC 9457 problems. Entrypoints only; the table is in ``routes.py``."""

import hashlib
import hmac
import json
import logging
import time
from functools import cache

from nameko.exceptions import RemoteError
from nameko.web.handlers import http
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from gateway import accounts, openapi, problems
from gateway.clients import client_address
from gateway.models import Base
from gateway.routes import ROUTES, Route
from services.chassis.actor import PUBLIC, Actor
from services.chassis.errors import (
    DomainError,
    Forbidden,
    TooLarge,
    Unauthenticated,
    ValidationFailed,
)
from services.chassis.rpc import ServiceRpc
from services.chassis.schemas import load
from services.chassis.store import Database
from services.chassis.web import ObservableService

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
URLS = Map([Rule(route.path, endpoint=route, methods=[route.method]) for route in ROUTES],
           strict_slashes=False)
VERSION = "0.1.0"


@cache
def openapi_document() -> str:
    return json.dumps(openapi.build(VERSION), ensure_ascii=False)


class GatewayService(ObservableService):
    name = "gateway"

    db = Database(Base.metadata)
    services = ServiceRpc()

    @http("GET,POST,PATCH,PUT,DELETE", f"{API_PREFIX}/<path:path>")
    def api(self, request, path):
        started = time.perf_counter()
        template = "unmatched"
        try:
            route, params = URLS.bind("localhost").match(f"/{path}", method=request.method)
            template = route.path
            response = self._handle(request, route, params)
        except DomainError as error:
            response = problems.from_error(error)
        except NotFound:
            response = problems.problem(404, "not-found", "未找到", "没有这个 API 路径")
        except MethodNotAllowed:
            response = problems.problem(405, "method-not-allowed", "不支持该请求方法")
        except RemoteError:
            log.exception("a service failed while answering %s %s", request.method, template)
            response = problems.internal()
        except Exception:  # noqa: BLE001 - never a traceback to a client
            log.exception("gateway failed on %s %s", request.method, template)
            response = problems.internal()
        self.metrics.http_requests.labels(template, request.method,
                                          str(response.status_code)).inc()
        self.metrics.http_latency.labels(template, request.method).observe(
            time.perf_counter() - started)
        return response

    def _handle(self, request, route: Route, params: dict) -> Response:
        actor = self._actor(request)
        if not set(actor.roles) & route.roles:
            if actor is PUBLIC:
                raise Unauthenticated("此操作需要登录")
            raise Forbidden("当前角色无权执行此操作")
        kwargs = dict(params)
        if route.query:
            query = request.args.to_dict()
            load(route.query(), query)
            kwargs["query"] = query
        if route.body:
            body = self._json_body(request)
            load(route.body(), body)
            kwargs["data"] = body
        if route.csv_body:
            kwargs = {"data": {"kind": kwargs.pop("kind"), "csv": self._csv_body(request)}}
        if route.client_key:
            kwargs["client"] = self._client_key(request)
        if route.rpc:
            result = self.services.call(*route.rpc, actor, **kwargs)
        else:
            result = self._local(request, route, actor, kwargs)
        if isinstance(result, Response):
            return result
        return Response(json.dumps(result, ensure_ascii=False), status=route.status,
                        content_type="application/json")

    def _local(self, request, route: Route, actor: Actor, kwargs: dict):
        """The few endpoints the gateway answers itself."""
        if route.path == "/auth/token":
            username, password = kwargs["data"]["username"], kwargs["data"]["password"]
            with self.db.reading() as session:
                client = self._client_key(request)
                accounts.refuse_if_throttled(session, username, client)
                try:
                    account = accounts.authenticate(session, username, password)
                except Unauthenticated:
                    with self.db.transaction() as tx:
                        accounts.record_failure(tx.session, username, client)
                    raise
            return accounts.issue_token(account, self.config["JWT_SECRET"])
        if route.path == "/me":
            return {"username": actor.username, "roles": list(actor.roles),
                    "person_id": actor.person_id, "townships": list(actor.townships),
                    "villages": list(actor.villages)}
        return Response(openapi_document(), content_type="application/json")

    @property
    def config(self) -> dict:
        return self.services.config

    def _actor(self, request) -> Actor:
        header = request.headers.get("Authorization", "")
        if not header:
            return PUBLIC
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Authorization 头应为 Bearer 令牌")
        return accounts.actor_from_token(token.strip(), self.config["JWT_SECRET"])

    def _client_key(self, request) -> str:
        """The client address as a salted hash: services rate-limit on it, never see it."""
        salt = self.config.get("CLIENT_KEY_SALT") or self.config["ACTOR_SECRET"]
        address = client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                                 int(self.config.get("TRUSTED_PROXIES", 0)))
        return hmac.new(salt.encode(), address.encode(), hashlib.sha256).hexdigest()

    def _read_body(self, request, limit: int) -> bytes:
        if request.content_length is not None and request.content_length > limit:
            raise TooLarge(f"请求体超过 {limit} 字节")
        raw = request.stream.read(limit + 1)
        if len(raw) > limit:
            raise TooLarge(f"请求体超过 {limit} 字节")
        return raw

    def _json_body(self, request) -> dict:
        raw = self._read_body(request, int(self.config.get("MAX_BODY_BYTES", 1 << 20)))
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationFailed("请求体不是有效的 JSON", {"body": ["不是有效的 JSON"]}) from exc
        if not isinstance(body, dict):
            raise ValidationFailed("请求体应为 JSON 对象", {"body": ["应为 JSON 对象"]})
        return body

    def _csv_body(self, request) -> str:
        raw = self._read_body(request, int(self.config.get("MAX_IMPORT_BYTES", 20 << 20)))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed("CSV 应为 UTF-8 编码", {"csv": ["应为 UTF-8 编码"]}) from exc

