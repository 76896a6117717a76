"""Who is calling: the actor context that the gateway signs and every service verifies.

The gateway authenticates a person and passes a short-lived JWT (HS256, a secret shared
only by the platform's processes) in nameko context data. A service refuses any RPC whose
actor is missing, forged, expired or meant for another audience, then enforces
object-level access with the verified ``Actor``.
"""

from dataclasses import dataclass, field
from datetime import timedelta

import jwt
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc

from services.chassis import clock
from services.chassis.errors import Forbidden, Unauthenticated

CONTEXT_KEY = "yl_actor"
AUDIENCE = "yuelihui-services"
LIFETIME = timedelta(minutes=5)

DISTRICT_ROLES = {"district_admin"}


@dataclass(frozen=True)
class Actor:
    """A verified caller. Empty ``townships``/``villages`` with a district role mean all."""

    roles: tuple[str, ...]
    username: str = ""
    person_id: str | None = None
    townships: tuple[str, ...] = field(default_factory=tuple)
    villages: tuple[str, ...] = field(default_factory=tuple)
    service: str | None = None

    @property
    def is_system(self) -> bool:
        return "system" in self.roles

    def has(self, *roles: str) -> bool:
        return self.is_system or any(role in self.roles for role in roles)

    def require(self, *roles: str) -> None:
        if not self.has(*roles):
            raise Forbidden("当前角色无权执行此操作")

    def covers_village(self, village_code: str) -> bool:
        """Whether the village lies in this actor's jurisdiction."""
        if self.is_system or DISTRICT_ROLES & set(self.roles):
            return True
        if village_code in self.villages:
            return True
        return any(village_code.startswith(code) for code in self.townships)

    def covers_township(self, township_code: str) -> bool:
        if self.is_system or DISTRICT_ROLES & set(self.roles):
            return True
        return township_code in self.townships

    def claims(self) -> dict:
        return {
            "roles": list(self.roles),
            "username": self.username,
            "person_id": self.person_id,
            "townships": list(self.townships),
            "villages": list(self.villages),
            "service": self.service,
        }


PUBLIC = Actor(roles=("public",))


def sign(actor: Actor, secret: str) -> str:
    issued = clock.now()
    payload = {**actor.claims(), "aud": AUDIENCE, "iat": issued, "exp": issued + LIFETIME}
    return jwt.encode(payload, secret, algorithm="HS256")


def verify(token: str | None, secret: str) -> Actor:
    if not token:
        raise Unauthenticated("缺少经签名的调用者身份")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            # expiry is checked against the platform clock below, which tests may set
            options={"require": ["exp", "aud"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated("调用者身份签名无效") from exc
    if claims["exp"] < clock.now().timestamp():
        raise Unauthenticated("调用者身份已过期")
    return Actor(
        roles=tuple(claims.get("roles") or ()),
        username=claims.get("username") or "",
        person_id=claims.get("person_id"),
        townships=tuple(claims.get("townships") or ()),
        villages=tuple(claims.get("villages") or ()),
        service=claims.get("service"),
    )


def system_actor(service: str) -> Actor:
    """A service acting on its own behalf (timers, event handlers calling other services)."""
    return Actor(roles=("system",), username=service, service=service)


class VerifiedRpc(Rpc):
    """``@rpc`` that refuses a call before any worker runs unless its actor verifies."""

    def handle_message(self, body, message):
        context = self.unpack_message_headers(message)
        verify(context.get(CONTEXT_KEY), self.container.config["ACTOR_SECRET"])
        super().handle_message(body, message)


rpc = VerifiedRpc.decorator


class CurrentActor(DependencyProvider):
    """The verified actor of the running worker (system actor for timers and events)."""

    def get_dependency(self, worker_ctx):
        token = worker_ctx.context_data.get(CONTEXT_KEY)
        if token is None:
            return system_actor(self.container.service_name)
        try:
            return verify(token, self.container.config["ACTOR_SECRET"])
        except Unauthenticated:
            # never raise here (it would kill the container); an unverified caller has no role
            return Actor(roles=())
