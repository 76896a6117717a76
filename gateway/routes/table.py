"""The API: one declarative table of every endpoint, who may call it, and what it carries.

The gateway dispatches, authorises and documents (OpenAPI) from this table alone, so the
authorisation matrix is this table. Each service's endpoints live in a module of this
package; adding a service's API is one module and one line in ``ROUTES`` below.
Services check object-level access again themselves.
"""

from dataclasses import dataclass

from marshmallow import fields

from services.chassis.schemas import Schema, text

PUBLIC = "public"
ROLES = ("district_admin", "township_officer", "liaison", "cppcc_member",
         "discipline_inspector", "department_officer")
ANYONE = frozenset((PUBLIC, *ROLES))
STAFF = frozenset(ROLES)
WRITERS = frozenset(("district_admin", "township_officer"))
ADMIN = frozenset(("district_admin",))


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # werkzeug rule under /api/v1; <name> becomes an RPC keyword argument
    roles: frozenset
    summary: str
    tag: str
    rpc: tuple[str, str] | None = None  # (service, method); None: handled by the gateway
    query: type | None = None
    body: type | None = None
    response: type | None = None
    status: int = 200
    csv_body: bool = False  # body is text/csv, passed as data={"kind": <kind>, "csv": text}
    client_key: bool = False  # pass client=<salted hash of the client address> (rate limits)

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


class TokenRequest(Schema):
    username = text(64)
    password = text(200)


class TokenResponse(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class Me(Schema):
    username = fields.String()
    roles = fields.List(fields.String())
    person_id = fields.String(allow_none=True)
    townships = fields.List(fields.String())
    villages = fields.List(fields.String())


GATEWAY_ROUTES = (
    Route("POST", "/auth/token", ANYONE, "登录, 取得访问令牌", "auth", body=TokenRequest,
          response=TokenResponse),
    Route("GET", "/me", STAFF, "当前账号", "auth", response=Me),
    Route("GET", "/openapi.json", ANYONE, "本 API 的 OpenAPI 文档", "meta"),
)
