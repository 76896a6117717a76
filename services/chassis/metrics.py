"""Prometheus metrics per service container, and the entrypoint instrumentation.

Each container gets its own ``CollectorRegistry`` (the global one refuses a second container
in one process). Labels carry only bounded values: service, entrypoint, event type, outcome.
"""

import time

from nameko.extensions import DependencyProvider, SharedExtension
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

class ContainerMetrics:
    """The metric families every service exports, on one registry."""

    def __init__(self, service: str):
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.calls = Counter("yuelihui_entrypoint_calls", "Entrypoint calls by outcome.",
                             ["service", "entrypoint", "outcome"], registry=r)
        self.latency = Histogram("yuelihui_entrypoint_latency_seconds",
                                 "Entrypoint latency.", ["service", "entrypoint"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("yuelihui_entrypoint_errors", "Entrypoint errors by type.",
                              ["service", "entrypoint", "error"], registry=r)
        self.published = Counter("yuelihui_events_published", "Events published by the relay.",
                                 ["service", "event_type"], registry=r)
        self.consumed = Counter("yuelihui_events_consumed",
                                "Consumed events by outcome (applied, duplicate, retried, "
                                "dead_lettered).", ["service", "consumer", "outcome"],
                                registry=r)
        self.relay_failures = Counter("yuelihui_outbox_relay_failures",
                                      "Relay rounds that failed to publish.", ["service"],
                                      registry=r)
        self.http_requests = Counter("yuelihui_http_requests", "API requests by route template "
                                     "and status (gateway).", ["route", "method", "status"],
                                     registry=r)
        self.http_latency = Histogram("yuelihui_http_latency_seconds", "API latency by route "
                                      "template (gateway).", ["route", "method"],
                                      buckets=LATENCY_BUCKETS, registry=r)
        self.up = Gauge("yuelihui_up", "1 while the service container runs.", ["service"],
                        registry=r)
        self.up.labels(service).set(1)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class ContainerRegistry(SharedExtension):
    """One ``ContainerMetrics`` per container, shared by every extension that records."""

    _metrics: ContainerMetrics | None = None

    @property
    def metrics(self) -> ContainerMetrics:
        if self._metrics is None:
            self._metrics = ContainerMetrics(self.container.service_name)
        return self._metrics


class Metrics(DependencyProvider):
    """Counts and times every entrypoint call of the container."""

    registry = ContainerRegistry()

    def setup(self):
        self.metrics = self.registry.metrics
        self._started: dict = {}

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        name = worker_ctx.entrypoint.method_name
        service = self.metrics.service
        if started is not None:
            self.metrics.latency.labels(service, name).observe(time.perf_counter() - started)
        outcome = "ok" if exc_info is None else "error"
        self.metrics.calls.labels(service, name, outcome).inc()
        if exc_info is not None:
            self.metrics.errors.labels(service, name, exc_info[0].__name__).inc()

    def get_dependency(self, worker_ctx):
        return self.metrics
