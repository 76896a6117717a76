"""Domain gauges of the meetings service, read from its database at scrape time (so every
instance reports the same truth): villages by compliance status this month, resolutions by
state. Labels are bounded: a status or a state, never an id."""

import logging

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.chassis import clock
from services.chassis.store import Database
from services.meetings import domain, monthly
from services.meetings.models import Resolution

log = logging.getLogger(__name__)


class MeetingsCollector:
    def __init__(self, engine):
        self.engine = engine

    def describe(self):
        return self._families()

    def collect(self):
        try:
            with Session(self.engine) as session:
                month = domain.month_of(clock.now())
                villages, held, scheduled, missed = monthly.month_facts(session, month)
                _, _, district = domain.compliance(
                    [(v.code, v.township_code) for v in villages], set(held), scheduled,
                    set(missed))
                states = dict(session.execute(select(Resolution.state, func.count())
                                              .group_by(Resolution.state)).all())
        except Exception:  # noqa: BLE001 - a scrape must not fail with the database
            log.warning("meetings metrics unavailable", exc_info=True)
            return []
        villages_family, resolutions_family = self._families()
        for status in domain.VILLAGE_STATUSES:
            villages_family.add_metric([status], district[status])
        for state in domain.RESOLUTION_STATE_NAMES:
            resolutions_family.add_metric([state], states.get(state, 0))
        return [villages_family, resolutions_family]

    @staticmethod
    def _families():
        return [GaugeMetricFamily("yuelihui_meetings_villages",
                                  "Villages by meeting status in the current month "
                                  "(Asia/Shanghai).", labels=["status"]),
                GaugeMetricFamily("yuelihui_meetings_resolutions", "Resolutions by state.",
                                  labels=["state"])]


class MeetingsDatabase(Database):
    """The service's database, plus its domain gauges on the container's registry."""

    def setup(self):
        super().setup()
        self.metrics_registry.metrics.registry.register(MeetingsCollector(self.engine))
