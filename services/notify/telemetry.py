"""Notify's Prometheus metrics, on the container's registry (see ``docs/notify.md``).

Labels are bounded: channel, priority, outcome, source service, and the webhook
subscription id (administrators create few). No addresses, phones or person ids.
"""

import logging
from datetime import datetime

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from services.chassis import clock
from services.chassis.metrics import ContainerRegistry
from services.chassis.store import Database
from services.notify.models import InboxItem

log = logging.getLogger(__name__)

DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400)


class NotifyMetrics:
    def __init__(self, registry):
        r = registry
        self.notifications = Counter(
            "yuelihui_notify_notifications", "Notifications by channel, priority and final "
            "outcome (sent, skipped, dead, deferred, queued).",
            ["channel", "priority", "outcome"], registry=r)
        self.latency = Histogram(
            "yuelihui_notify_delivery_latency_seconds", "From the event's time to delivery.",
            ["channel"], buckets=DELAY_BUCKETS, registry=r)
        self.attempts = Counter(
            "yuelihui_notify_delivery_attempts", "Delivery attempts by channel and outcome "
            "(ok, failed).", ["channel", "outcome"], registry=r)
        self.retries = Counter(
            "yuelihui_notify_delivery_retries", "Failed attempts scheduled for a retry.",
            ["channel"], registry=r)
        self.dead = Counter(
            "yuelihui_notify_dead_letters", "Deliveries given up after the last attempt.",
            ["channel"], registry=r)
        self.webhooks = Counter(
            "yuelihui_notify_webhook_deliveries", "Webhook POSTs by subscription and outcome "
            "(delivered, failed, dead, suspended).", ["subscription", "outcome"], registry=r)
        self.lag = Histogram(
            "yuelihui_notify_event_lag_seconds", "From an event's time to its consumption.",
            ["source"], buckets=DELAY_BUCKETS, registry=r)


class UnreadCollector:
    """Unread inbox items, counted in the database at scrape time (true for all instances)."""

    def __init__(self, database: Database):
        self.database = database

    def describe(self):
        return [self._family()]

    @staticmethod
    def _family():
        return GaugeMetricFamily("yuelihui_notify_inbox_unread", "Unread inbox items in total.")

    def collect(self):
        try:
            with self.database.engine.connect() as connection:
                count = connection.execute(select(func.count()).select_from(InboxItem)
                                           .where(InboxItem.read_at.is_(None))).scalar_one()
        except Exception:  # noqa: BLE001 - a scrape must not fail with the database
            log.warning("inbox metrics unavailable", exc_info=True)
            return []
        family = self._family()
        family.add_metric([], count)
        return [family]


class Telemetry(DependencyProvider):
    registry = ContainerRegistry()

    def setup(self):
        registry = self.registry.metrics.registry
        self.metrics = NotifyMetrics(registry)
        database = next(ext for ext in self.container.dependencies if isinstance(ext, Database))
        registry.register(UnreadCollector(database))

    def get_dependency(self, worker_ctx):
        return self.metrics


def seconds_since(moment: datetime) -> float:
    return max(0.0, (clock.now() - moment).total_seconds())
