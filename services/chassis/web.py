"""What every service process serves over HTTP: ``/health``, ``/health/live`` and ``/metrics``.

One nameko service per process, each on its own ``WEB_SERVER_ADDRESS``.
"""

import json
import logging

from nameko.web.handlers import http
from werkzeug.wrappers import Response

from services.chassis.logs import CallIdLogging
from services.chassis.metrics import Metrics
from services.chassis.secrets import SecretsGuard

log = logging.getLogger(__name__)


class ObservableService:
    """Base class of every service: metrics on every entrypoint, health and metrics endpoints."""

    metrics = Metrics()
    call_id_logging = CallIdLogging()
    secrets_guard = SecretsGuard()

    @http("GET", "/metrics")
    def prometheus_metrics(self, request):
        body, content_type = self.metrics.exposition()
        return Response(body, content_type=content_type)

    @http("GET", "/health/live")
    def liveness(self, request):
        return _json(200, {"status": "ok", "service": self.name})

    @http("GET", "/health")
    def readiness(self, request):
        """Ready when the service's own database answers."""
        checks = {}
        database = getattr(type(self), "db", None)
        if database is not None:
            try:
                self.db.engine.connect().close()
                checks["database"] = "ok"
            except Exception:  # noqa: BLE001 - a failed check is an answer, not a crash
                log.warning("readiness: database check failed", exc_info=True)
                checks["database"] = "failed"
        healthy = all(value == "ok" for value in checks.values())
        return _json(200 if healthy else 503,
                     {"status": "ok" if healthy else "failing", "service": self.name,
                      "checks": checks})


def _json(status: int, payload) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status,
                    content_type="application/json")
