"""Domain gauges read from the database at scrape time (true whichever instance answers):
petitions open by state, deadlines overdue by stage, open disputes by risk level.
Labels are bounded (states, stages, levels): never ids or personal data."""

import logging

from nameko.extensions import DependencyProvider
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.chassis import clock
from services.chassis.metrics import ContainerRegistry
from services.chassis.store import make_engine
from services.petitions import domain
from services.petitions.models import Dispute, Petition

log = logging.getLogger(__name__)

OPEN_STATES = tuple(state for state in domain.STATES if state not in domain.FINAL)


def figures(session: Session, today) -> dict:
    open_by_state = dict(session.execute(
        select(Petition.state, func.count()).where(Petition.state.in_(OPEN_STATES))
        .group_by(Petition.state)).all())
    overdue: dict[str, int] = {}
    for petition in session.scalars(select(Petition).where(Petition.state.in_(OPEN_STATES))):
        for deadline in domain.open_deadlines(petition):
            if today > deadline.due:
                overdue[deadline.stage] = overdue.get(deadline.stage, 0) + 1
    disputes = dict(session.execute(
        select(Dispute.risk_level, func.count()).where(
            Dispute.state.in_(("registered", "mediating"))).group_by(Dispute.risk_level)).all())
    return {"open": open_by_state, "overdue": overdue, "disputes": disputes}


class PetitionGauges(DependencyProvider):
    registry = ContainerRegistry()

    def setup(self):
        self.engine = make_engine(self.container.config["DATABASE_URL"])
        metrics = self.registry.metrics
        metrics.registry.register(_Collector(self.engine, metrics.service))

    def stop(self):
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        return None


class _Collector:
    def __init__(self, engine, service: str):
        self.engine, self.service = engine, service

    def describe(self):
        return self._families()

    def collect(self):
        try:
            with Session(self.engine) as session:
                found = figures(session, clock.today_local())
        except Exception:  # noqa: BLE001 - a scrape must not fail with the database
            log.warning("petition gauges unavailable", exc_info=True)
            return []
        open_, overdue, disputes = self._families()
        for state in OPEN_STATES:
            open_.add_metric([self.service, state], found["open"].get(state, 0))
        for stage in ("accept", "handle", "escalation", "review", "reexam"):
            overdue.add_metric([self.service, stage], found["overdue"].get(stage, 0))
        for level in domain.RISK_LEVELS:
            disputes.add_metric([self.service, level], found["disputes"].get(level, 0))
        return [open_, overdue, disputes]

    def _families(self):
        return [
            GaugeMetricFamily("yuelihui_petitions_open", "Open petitions by state.",
                              labels=["service", "state"]),
            GaugeMetricFamily("yuelihui_petitions_overdue",
                              "Open petitions past a deadline, by stage.",
                              labels=["service", "stage"]),
            GaugeMetricFamily("yuelihui_disputes_open", "Disputes under mediation by risk level.",
                              labels=["service", "risk_level"]),
        ]
