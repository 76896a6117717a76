"""Calls to other services: signed actor attached, and a timeout (nameko's proxy has none)."""

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import MethodProxy, ReplyListener

from services.chassis.actor import CONTEXT_KEY, Actor, sign, system_actor
from services.chassis.errors import ServiceUnavailable


class ServiceRpc(DependencyProvider):
    """``self.services.call("registry", "get_village", actor, code=...)``."""

    rpc_reply_listener = ReplyListener()

    def setup(self):
        self.timeout = float(self.container.config.get("RPC_TIMEOUT", 10))
        self.secret = self.container.config["ACTOR_SECRET"]

    def get_dependency(self, worker_ctx):
        return _Caller(self, worker_ctx)

    @property
    def config(self) -> dict:
        return self.container.config


class _Caller:
    def __init__(self, provider: ServiceRpc, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx
        self.config = provider.container.config

    def call(self, service: str, method: str, actor: Actor | None = None, **kwargs):
        """Call and wait at most RPC_TIMEOUT seconds; remote domain errors re-raise as-is."""
        provider = self._provider
        actor = actor or system_actor(provider.container.service_name)
        self._worker_ctx.data[CONTEXT_KEY] = sign(actor, provider.secret)
        # a request nobody took within the timeout expires in its queue: the caller has been
        # told 503, so it must not run later (a retry would apply it twice)
        proxy = MethodProxy(self._worker_ctx, service, method, provider.rpc_reply_listener,
                            expiration=provider.timeout)
        try:
            reply = proxy.call_async(**kwargs)
        except UnknownService as exc:
            raise ServiceUnavailable(f"服务 {service} 未运行") from exc
        timeout = ServiceUnavailable(f"服务 {service} 响应超时")
        with eventlet.Timeout(provider.timeout, timeout):
            return reply.result()
