"""Domain gauges of the supervision service, read from its database at scrape time (true for
every instance): open and overdue matters, clues by state, open objections. No ids in labels."""

import logging

from nameko.extensions import DependencyProvider
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.chassis.metrics import ContainerRegistry
from services.supervision.models import Clue, Matter, Objection

log = logging.getLogger(__name__)


class _Collector:
    def __init__(self, provider: "SupervisionGauges", service: str):
        self.provider, self.service = provider, service

    def describe(self):
        return []

    def collect(self):
        engine = self.provider.engine
        if engine is None:
            return []
        try:
            with Session(engine) as session:
                matters = session.execute(select(Matter.state, Matter.overdue, func.count())
                                          .group_by(Matter.state, Matter.overdue)).all()
                clues = session.execute(select(Clue.state, func.count())
                                        .group_by(Clue.state)).all()
                objections = session.scalar(select(func.count()).select_from(Objection)
                                            .where(Objection.state == "open"))
        except Exception:  # noqa: BLE001 - a scrape must not fail with the database
            log.warning("supervision gauges unavailable", exc_info=True)
            return []
        matter = GaugeMetricFamily("yuelihui_supervision_matters", "Supervision matters by "
                                   "state and whether overdue.",
                                   labels=["service", "state", "overdue"])
        for state, overdue, n in matters:
            matter.add_metric([self.service, state, "true" if overdue else "false"], n)
        clue = GaugeMetricFamily("yuelihui_supervision_clues", "Clues by state.",
                                 labels=["service", "state"])
        for state, n in clues:
            clue.add_metric([self.service, state], n)
        open_objections = GaugeMetricFamily("yuelihui_supervision_open_objections",
                                            "Objections not yet answered.", labels=["service"])
        open_objections.add_metric([self.service], objections or 0)
        return [matter, clue, open_objections]


class SupervisionGauges(DependencyProvider):
    metrics_registry = ContainerRegistry()

    def setup(self):
        self.engine = None
        metrics = self.metrics_registry.metrics
        metrics.registry.register(_Collector(self, metrics.service))

    def start(self):
        from services.chassis.store import make_engine

        self.engine = make_engine(self.container.config["DATABASE_URL"])

    def stop(self):
        if self.engine is not None:
            self.engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return None
