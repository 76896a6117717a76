"""Meetings entrypoints: decode, ask the registry about people (outside any transaction),
call the use case, return the view. No rules here."""

import logging

import eventlet
from nameko.timer import timer

from services.chassis.actor import CurrentActor, rpc
from services.chassis.clock import Clock
from services.chassis.errors import NotFound, ServiceUnavailable
from services.chassis.rpc import ServiceRpc
from services.chassis.schemas import load
from services.chassis.subscriptions import subscribe
from services.chassis.web import ObservableService
from services.meetings import access, commands, domain, monthly
from services.meetings import schemas as s
from services.meetings.metrics import MeetingsDatabase
from services.meetings.models import Base

log = logging.getLogger(__name__)

TIMER_INTERVAL = 60  # seconds; every effect is claimed once, so any interval is safe
VILLAGE_SYNC_INTERVAL = 900  # the village copy is fed by events; this only catches up
REGISTRY_PAGE = 500
SYNC_ATTEMPTS, SYNC_PAUSE = 3, 1.0


class MeetingsService(ObservableService):
    name = "meetings"

    db = MeetingsDatabase(Base.metadata, s.EVENTS)
    actor = CurrentActor()
    clock = Clock()
    services = ServiceRpc()

    # --- events consumed ------------------------------------------------------------------

    @subscribe("registry", "village.*")
    def on_village(self, envelope):
        data = load(s.VillageChanged(), envelope["data"])
        with self.db.transaction() as tx:
            commands.upsert_village(tx, data, self.clock.now())

    @subscribe("petitions", "petition.referred_to_meeting")
    def on_petition_referred(self, envelope):
        data = load(s.PetitionReferred(), envelope["data"])
        with self.db.transaction() as tx:
            topic = commands.topic_from_referral(tx, "petition", data["petition_id"], data,
                                                 self.clock.now())
        log.info("petition referral %s: %s", envelope.get("id"),
                 f"topic {topic.id}" if topic else "already a topic")

    @subscribe("supervision", "matter.referred_to_meeting")
    def on_matter_referred(self, envelope):
        data = load(s.MatterReferred(), envelope["data"])
        with self.db.transaction() as tx:
            topic = commands.topic_from_referral(tx, "supervision", data["matter_id"], data,
                                                 self.clock.now())
        log.info("matter referral %s: %s", envelope.get("id"),
                 f"topic {topic.id}" if topic else "already a topic")

    # --- topics ---------------------------------------------------------------------------

    @rpc
    def propose_topic(self, code, data):
        data = load(s.TopicIn(), data)
        people = self._people(data.get("proposer_person_id"))
        with self.db.transaction() as tx:
            topic = commands.propose_topic(tx, self.actor, code, data, people, self.clock.now())
        return self._topic(topic.id)

    @rpc
    def list_topics(self, code, query=None):
        query = load(s.TopicQuery(), query)
        access.require_read(self.actor, code)
        with self.db.reading() as session:
            topics, total = commands.list_topics(session, code, query.get("state"),
                                                 query.get("platform"), query["page"],
                                                 query["page_size"])
        return _page([self._topic_view(t) for t in topics], total, query)

    @rpc
    def list_candidates(self, code, query=None):
        """Topics that may go on the agenda of the month (default: this month)."""
        query = load(s.TopicCandidateQuery(), query)
        access.require_read(self.actor, code)
        month = query.get("month") or domain.month_of(self.clock.now())
        with self.db.reading() as session:
            topics = commands.candidates(session, code, month)
        return {"items": [self._topic_view(t) for t in topics], "total": len(topics),
                "month": month}

    @rpc
    def get_topic(self, topic_id):
        return self._topic(topic_id)

    @rpc
    def vet_topic(self, topic_id, data):
        data = load(s.TopicVetIn(), data)
        with self.db.transaction() as tx:
            commands.vet_topic(tx, self.actor, topic_id, data)
        return self._topic(topic_id)

    @rpc
    def support_topic(self, topic_id, data=None):
        data = load(s.TopicSupportIn(), data)
        with self.db.transaction() as tx:
            commands.support_topic(tx, self.actor, topic_id, data["count"])
        return self._topic(topic_id)

    def _topic(self, topic_id):
        with self.db.reading() as session:
            topic = commands.get_topic(session, topic_id)
        access.require_read(self.actor, topic.village_code)
        return self._topic_view(topic)

    def _topic_view(self, topic):
        view = s.TopicView().dump(commands._row(topic))
        if not access.can_see_proposer_name(self.actor, topic.village_code):
            view.pop("proposer_name", None)
        return view

    # --- meetings -------------------------------------------------------------------------

    @rpc
    def schedule_meeting(self, code, data):
        data = load(s.MeetingIn(), data)
        people = self._people(data["convener_person_id"])
        with self.db.transaction() as tx:
            meeting = commands.schedule_meeting(tx, self.actor, code, data, people,
                                                self.clock.now())
        return self._meeting(meeting.id)

    @rpc
    def list_meetings(self, code, query=None):
        query = load(s.MeetingQuery(), query)
        access.require_read(self.actor, code)
        with self.db.reading() as session:
            meetings, total = commands.list_meetings(session, code, query.get("month"),
                                                     query.get("state"), query["page"],
                                                     query["page_size"])
            items = [s.MeetingView().dump(commands.meeting_detail(session, m))
                     for m in meetings]
        return _page(items, total, query)

    @rpc
    def get_meeting(self, meeting_id):
        return self._meeting(meeting_id)

    @rpc
    def cancel_meeting(self, meeting_id, data):
        data = load(s.MeetingCancelIn(), data)
        with self.db.transaction() as tx:
            commands.cancel_meeting(tx, self.actor, meeting_id, data["reason"])
        return self._meeting(meeting_id)

    @rpc
    def set_agenda(self, meeting_id, data):
        data = load(s.MeetingAgendaIn(), data)
        people = self._people(*[e for item in data["items"] for e in item["experts"]])
        with self.db.transaction() as tx:
            commands.set_agenda(tx, self.actor, meeting_id, data["items"], people)
        return self._meeting(meeting_id)

    @rpc
    def record_attendance(self, meeting_id, data):
        data = load(s.MeetingAttendanceIn(), data)
        people = self._people(*[a["person_id"] for a in data["attendees"]])
        quorum = domain.QuorumRule.from_config(self.services.config.get("MEETINGS"))
        with self.db.transaction() as tx:
            commands.record_attendance(tx, self.actor, meeting_id, data, people,
                                       self.clock.now(), quorum)
        return self._meeting(meeting_id)

    @rpc
    def hold_meeting(self, meeting_id, data):
        data = load(s.MeetingHoldIn(), data)
        quorum = domain.QuorumRule.from_config(self.services.config.get("MEETINGS"))
        with self.db.transaction() as tx:
            commands.hold_meeting(tx, self.actor, meeting_id, data["minutes"], quorum,
                                  self.clock.now())
        return self._meeting(meeting_id)

    @rpc
    def record_outcomes(self, meeting_id, data):
        data = load(s.MeetingOutcomesIn(), data)
        with self.db.transaction() as tx:
            commands.record_outcomes(tx, self.actor, meeting_id, data["items"])
        return self._meeting(meeting_id)

    @rpc
    def disclose_meeting(self, meeting_id):
        with self.db.transaction() as tx:
            commands.disclose_meeting(tx, self.actor, meeting_id, self.clock.now())
        return self._meeting(meeting_id)

    def _meeting(self, meeting_id):
        with self.db.reading() as session:
            meeting = commands.get_meeting(session, meeting_id)
            access.require_read(self.actor, meeting.village_code)
            return s.MeetingView().dump(commands.meeting_detail(session, meeting))

    # --- public summaries -----------------------------------------------------------------

    @rpc
    def get_summary(self, meeting_id):
        """Anyone, ``public`` included, reads a disclosed meeting's summary."""
        with self.db.reading() as session:
            meeting = session.get(commands.Meeting, meeting_id)
            if meeting is None or meeting.state != "disclosed":
                raise NotFound("没有已公开的会议纪要")
            return s.MeetingSummaryView().dump(commands.public_summary(session, meeting))

    @rpc
    def list_summaries(self, query=None):
        query = load(s.MeetingSummaryQuery(), query)
        with self.db.reading() as session:
            meetings, total = commands.disclosed_meetings(
                session, query.get("village"), query.get("month"), query["page"],
                query["page_size"])
            items = [s.MeetingSummaryView().dump(commands.public_summary(session, m))
                     for m in meetings]
        return _page(items, total, query)

    # --- resolutions ----------------------------------------------------------------------

    @rpc
    def adopt_resolution(self, meeting_id, data):
        data = load(s.ResolutionIn(), data)
        people = self._people(data["owner_person_id"])
        with self.db.transaction() as tx:
            resolution = commands.adopt_resolution(tx, self.actor, meeting_id, data, people,
                                                   self.clock.now())
        return self._resolution(resolution.id)

    @rpc
    def list_resolutions(self, query=None):
        query = load(s.ResolutionQuery(), query)
        with self.db.reading() as session:
            rows, total = commands.list_resolutions(session, self.actor, query.get("village"),
                                                    query.get("state"), query["page"],
                                                    query["page_size"])
            items = [s.ResolutionView().dump(commands.resolution_detail(session, r))
                     for r in rows]
        return _page(items, total, query)

    @rpc
    def get_resolution(self, resolution_id):
        return self._resolution(resolution_id)

    @rpc
    def progress_resolution(self, resolution_id, data):
        data = load(s.ResolutionProgressIn(), data)
        with self.db.transaction() as tx:
            commands.progress_resolution(tx, self.actor, resolution_id, data["note"],
                                         self.clock.now())
        return self._resolution(resolution_id)

    @rpc
    def complete_resolution(self, resolution_id, data):
        data = load(s.ResolutionCompleteIn(), data)
        with self.db.transaction() as tx:
            commands.complete_resolution(tx, self.actor, resolution_id, data["evidence"],
                                         self.clock.now())
        return self._resolution(resolution_id)

    @rpc
    def rate_resolution(self, resolution_id, data):
        data = load(s.ResolutionSatisfactionIn(), data)
        with self.db.transaction() as tx:
            commands.rate_resolution(tx, self.actor, resolution_id, data["score"])
        return self._resolution(resolution_id)

    def _resolution(self, resolution_id):
        with self.db.reading() as session:
            resolution = commands.get_resolution(session, resolution_id)
            access.require_read(self.actor, resolution.village_code)
            return s.ResolutionView().dump(commands.resolution_detail(session, resolution))

    # --- compliance and statistics --------------------------------------------------------

    @rpc
    def record_missed_reason(self, code, data):
        data = load(s.MeetingMissedIn(), data)
        with self.db.transaction() as tx:
            missed = monthly.record_missed_reason(tx, self.actor, code, data["month"],
                                                   data["reason"], self.clock.now())
            view = s.MeetingMissedView().dump(commands._row(missed))
        return view

    @rpc
    def compliance(self, query=None):
        query = load(s.MeetingComplianceQuery(), query)
        with self.db.reading() as session:
            report = monthly.compliance(session, self.actor, query["month"],
                                         query.get("township"))
        return s.MeetingComplianceView().dump(report)

    @rpc
    def meeting_stats(self, query):
        """Per township and month: villages, regular meetings held, missed, extra held."""
        query = load(s.MeetingStatsQuery(), query)
        access.require_statistics(self.actor)
        with self.db.reading() as session:
            rows = monthly.meeting_stats(session, query["month_from"], query["month_to"],
                                          query.get("township"))
        return {"items": s.MeetingStatsRow(many=True).dump(rows), "total": len(rows)}

    @rpc
    def resolution_stats(self, query):
        """Per township: resolutions adopted in the months, done, on time, overdue, rate."""
        query = load(s.MeetingStatsQuery(), query)
        access.require_statistics(self.actor)
        with self.db.reading() as session:
            rows = monthly.resolution_stats(session, query["month_from"], query["month_to"],
                                             query.get("township"))
        return {"items": s.ResolutionStatsRow(many=True).dump(rows), "total": len(rows)}

    # --- timers (every instance runs them; each effect is claimed once) -------------------

    @timer(interval=TIMER_INTERVAL)
    def check_month_end(self):
        monthly.mark_missed(self.db, self.clock.now(), int(self._setting(
            "missed_grace_days", monthly.MISSED_GRACE_DAYS)))

    @timer(interval=TIMER_INTERVAL)
    def check_reminders(self):
        days = int(self._setting("reminder_days", 3))
        monthly.send_reminders(self.db, self.clock.now(), days)

    @timer(interval=TIMER_INTERVAL)
    def check_overdue(self):
        monthly.mark_overdue(self.db, self.clock.now())

    def _setting(self, name, default):
        return (self.services.config.get("MEETINGS") or {}).get(name, default)

    @timer(interval=VILLAGE_SYNC_INTERVAL, eager=True)
    def sync_villages(self):
        """At start and now and then: the registry's villages, in case events were missed."""
        for attempt in range(1, SYNC_ATTEMPTS + 1):
            # at start-up the RPC reply consumer may not listen yet: give it a moment
            eventlet.sleep(SYNC_PAUSE * attempt)
            try:
                villages = self._registry_villages()
            except ServiceUnavailable as error:
                log.warning("village sync attempt %d failed: %s", attempt, error.message)
                continue
            commands.sync_villages(self.db, villages, self.clock.now())
            return

    def _registry_villages(self) -> list[dict]:
        villages, page = [], 1
        while True:
            answer = self.services.call("registry", "list_villages", query={
                "page": page, "page_size": REGISTRY_PAGE})
            villages.extend(answer["items"])
            if len(answer["items"]) < REGISTRY_PAGE:
                return villages
            page += 1

    # --- the registry, asked outside any transaction --------------------------------------

    def _people(self, *person_ids) -> dict:
        """person id → the registry's view of the person, or None if it does not exist."""
        people = {}
        for person_id in dict.fromkeys(p for p in person_ids if p):
            try:
                people[person_id] = self.services.call("registry", "get_person",
                                                       person_id=person_id)
            except NotFound:
                people[person_id] = None
        return people


def _page(items, total, query) -> dict:
    return {"items": items, "total": total, "page": query["page"],
            "page_size": query["page_size"]}
